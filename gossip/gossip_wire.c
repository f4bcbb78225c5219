/* gossip_wire.c - the one place where gossip datagrams are packed and unpacked (proto/gossip.proto).
 *
 * Decoding turns an Envelope into a struct gw_msg of plain C values and checks every field's
 * range (key and signature lengths, string lengths against the C buffers, id 1..65535, known
 * enum values); anything else is -EBADMSG and the caller counts it as malformed. Signatures are
 * checked elsewhere, but over bytes produced here from the C struct (the canonical encoding:
 * fields in number order, sig empty, no unknown fields), never over the received layout.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/gossip_int.h"
#include "proto/gossip.pb-c.h"

/* ---- C -> protobuf ---- */

static void info_to_pb(const struct gossip_info *in, Omx__Gossip__NodeInfo *pb)
{
	omx__gossip__node_info__init(pb);
	pb->name = (char *)in->name;
	pb->addr = (char *)in->addr;
	pb->cpus = in->cpus;
	pb->cpu_quota_milli = in->cpu_quota_milli;
	pb->speed_mhz = in->speed_mhz;
	pb->load_milli = in->load_milli;
	pb->cpu_usage_milli = in->cpu_usage_milli;
	pb->mem_total_kb = in->mem_total_kb;
	pb->mem_free_kb = in->mem_free_kb;
	pb->guests = in->guests;
	pb->accept_guests = in->accept_guests;
	pb->kernel = (char *)in->kernel;
	static const uint8_t zero_fp[GOSSIP_FP_LEN];
	if (memcmp(in->vdso_fp, zero_fp, GOSSIP_FP_LEN) != 0) {
		pb->vdso_fp.data = (uint8_t *)in->vdso_fp;
		pb->vdso_fp.len = GOSSIP_FP_LEN;
	}
	pb->cpu_features = in->cpu_features;
	pb->xsave_size = in->xsave_size;
}

static void rec_to_pb(const struct gossip_rec *r, Omx__Gossip__NodeRecord *pb,
		      Omx__Gossip__NodeInfo *info, bool with_sig)
{
	omx__gossip__node_record__init(pb);
	info_to_pb(&r->info, info);
	pb->format = GOSSIP_WIRE_VERSION;
	pb->key.data = (uint8_t *)r->key;
	pb->key.len = GOSSIP_KEY_LEN;
	pb->id = r->id;
	pb->incarnation = r->incarnation;
	pb->version = r->version;
	pb->state = r->state;
	pb->info = info;
	if (with_sig && r->has_sig) {
		pb->sig.data = (uint8_t *)r->sig;
		pb->sig.len = GOSSIP_SIG_LEN;
	}
}

static void acc_to_pb(const struct gossip_acc *a, Omx__Gossip__Accusation *pb, bool with_sig)
{
	omx__gossip__accusation__init(pb);
	pb->format = GOSSIP_WIRE_VERSION;
	pb->kind = a->kind;
	pb->target.data = (uint8_t *)a->target;
	pb->target.len = GOSSIP_KEY_LEN;
	pb->incarnation = a->incarnation;
	pb->accuser.data = (uint8_t *)a->accuser;
	pb->accuser.len = GOSSIP_KEY_LEN;
	if (with_sig && a->has_sig) {
		pb->sig.data = (uint8_t *)a->sig;
		pb->sig.len = GOSSIP_SIG_LEN;
	}
}

int gossip_wire_rec_signed_bytes(const struct gossip_rec *r, uint8_t *buf, size_t cap)
{
	Omx__Gossip__NodeRecord pb;
	Omx__Gossip__NodeInfo info;
	rec_to_pb(r, &pb, &info, false);
	size_t n = omx__gossip__node_record__get_packed_size(&pb);
	if (n > cap)
		return -EMSGSIZE;
	return (int)omx__gossip__node_record__pack(&pb, buf);
}

int gossip_wire_acc_signed_bytes(const struct gossip_acc *a, uint8_t *buf, size_t cap)
{
	Omx__Gossip__Accusation pb;
	acc_to_pb(a, &pb, false);
	size_t n = omx__gossip__accusation__get_packed_size(&pb);
	if (n > cap)
		return -EMSGSIZE;
	return (int)omx__gossip__accusation__pack(&pb, buf);
}

size_t gossip_wire_rec_size(const struct gossip_rec *r)
{
	Omx__Gossip__NodeRecord pb;
	Omx__Gossip__NodeInfo info;
	rec_to_pb(r, &pb, &info, true);
	return omx__gossip__node_record__get_packed_size(&pb);
}

/* Heap storage for one encode: protobuf structs pointing into the caller's C structs. */
struct enc_store {
	Omx__Gossip__Update *upd;
	Omx__Gossip__Update **updp;
	Omx__Gossip__NodeRecord *recs;
	Omx__Gossip__NodeInfo *infos;
	Omx__Gossip__NodeRecord **recp;
	Omx__Gossip__Accusation *accs;
	Omx__Gossip__Digest *dig;
	Omx__Gossip__Digest **digp;
};

static void enc_store_free(struct enc_store *s)
{
	free(s->upd);
	free(s->updp);
	free(s->recs);
	free(s->infos);
	free(s->recp);
	free(s->accs);
	free(s->dig);
	free(s->digp);
}

static int enc_store_alloc(struct enc_store *s, const struct gw_msg *m)
{
	size_t nrec = m->n_upd + m->n_recs;
	memset(s, 0, sizeof(*s));
	s->upd = calloc(m->n_upd + 1, sizeof(*s->upd));
	s->updp = calloc(m->n_upd + 1, sizeof(*s->updp));
	s->recs = calloc(nrec + 1, sizeof(*s->recs));
	s->infos = calloc(nrec + 1, sizeof(*s->infos));
	s->recp = calloc(m->n_recs + 1, sizeof(*s->recp));
	s->accs = calloc(m->n_upd + 1, sizeof(*s->accs));
	s->dig = calloc(m->n_digest + 1, sizeof(*s->dig));
	s->digp = calloc(m->n_digest + 1, sizeof(*s->digp));
	if (!s->upd || !s->updp || !s->recs || !s->infos || !s->recp || !s->accs || !s->dig ||
	    !s->digp) {
		enc_store_free(s);
		return -ENOMEM;
	}
	return 0;
}

int gossip_wire_encode(const struct gw_msg *m, uint8_t *buf, size_t cap)
{
	struct enc_store s;
	int r = enc_store_alloc(&s, m);
	if (r < 0)
		return r;
	Omx__Gossip__Envelope env = OMX__GOSSIP__ENVELOPE__INIT;
	Omx__Gossip__Ping ping = OMX__GOSSIP__PING__INIT;
	Omx__Gossip__Ack ack = OMX__GOSSIP__ACK__INIT;
	Omx__Gossip__PingReq preq = OMX__GOSSIP__PING_REQ__INIT;
	Omx__Gossip__Nack nack = OMX__GOSSIP__NACK__INIT;
	Omx__Gossip__PushPull pp = OMX__GOSSIP__PUSH_PULL__INIT;
	Omx__Gossip__Gossip gsp = OMX__GOSSIP__GOSSIP__INIT;
	size_t ri = 0;

	env.version = GOSSIP_WIRE_VERSION;
	env.sender.data = (uint8_t *)m->sender;
	env.sender.len = GOSSIP_KEY_LEN;
	env.sender_id = m->sender_id;
	switch (m->body) {
	case GW_PING:
		ping.seq = m->seq;
		ping.target.data = (uint8_t *)m->target;
		ping.target.len = GOSSIP_KEY_LEN;
		ping.reply_addr = (char *)m->reply_addr;
		ping.suspect = m->suspect;
		ping.incarnation = m->incarnation;
		env.body_case = OMX__GOSSIP__ENVELOPE__BODY_PING;
		env.ping = &ping;
		break;
	case GW_ACK:
		ack.seq = m->seq;
		env.body_case = OMX__GOSSIP__ENVELOPE__BODY_ACK;
		env.ack = &ack;
		break;
	case GW_PING_REQ:
		preq.seq = m->seq;
		preq.target.data = (uint8_t *)m->target;
		preq.target.len = GOSSIP_KEY_LEN;
		env.body_case = OMX__GOSSIP__ENVELOPE__BODY_PING_REQ;
		env.ping_req = &preq;
		break;
	case GW_NACK:
		nack.seq = m->seq;
		env.body_case = OMX__GOSSIP__ENVELOPE__BODY_NACK;
		env.nack = &nack;
		break;
	case GW_PUSHPULL:
		pp.flags = m->pp_flags;
		pp.page_bits = m->pp_page_bits;
		pp.page = m->pp_page;
		for (size_t i = 0; i < m->n_digest; i++) {
			omx__gossip__digest__init(&s.dig[i]);
			s.dig[i].key = m->digest[i].key;
			s.dig[i].version = m->digest[i].version;
			s.digp[i] = &s.dig[i];
		}
		pp.n_digest = m->n_digest;
		pp.digest = s.digp;
		for (size_t i = 0; i < m->n_recs; i++, ri++) {
			rec_to_pb(m->out_recs[i], &s.recs[ri], &s.infos[ri], true);
			s.recp[i] = &s.recs[ri];
		}
		pp.n_records = m->n_recs;
		pp.records = s.recp;
		env.body_case = OMX__GOSSIP__ENVELOPE__BODY_PUSH_PULL;
		env.push_pull = &pp;
		break;
	case GW_GOSSIP:
	case GW_NONE:
		env.body_case = OMX__GOSSIP__ENVELOPE__BODY_GOSSIP;
		env.gossip = &gsp;
		break;
	}
	for (size_t i = 0; i < m->n_upd; i++) {
		omx__gossip__update__init(&s.upd[i]);
		if (m->upd[i].rec) {
			rec_to_pb(m->upd[i].rec, &s.recs[ri], &s.infos[ri], true);
			s.upd[i].u_case = OMX__GOSSIP__UPDATE__U_RECORD;
			s.upd[i].record = &s.recs[ri++];
		} else {
			acc_to_pb(m->upd[i].acc, &s.accs[i], true);
			s.upd[i].u_case = OMX__GOSSIP__UPDATE__U_ACCUSATION;
			s.upd[i].accusation = &s.accs[i];
		}
		s.updp[i] = &s.upd[i];
	}
	env.n_updates = m->n_upd;
	env.updates = s.updp;

	size_t n = omx__gossip__envelope__get_packed_size(&env);
	if (n > cap) {
		enc_store_free(&s);
		return -EMSGSIZE;
	}
	n = omx__gossip__envelope__pack(&env, buf);
	enc_store_free(&s);
	return (int)n;
}

/* ---- protobuf -> C ---- */

static bool copy_str(char *dst, size_t cap, const char *src)
{
	memset(dst, 0, cap);
	if (!src)
		return true;
	size_t n = strlen(src);
	if (n >= cap)
		return false;
	memcpy(dst, src, n);
	return true;
}

static bool copy_key(uint8_t dst[GOSSIP_KEY_LEN], const ProtobufCBinaryData *b)
{
	if (b->len != GOSSIP_KEY_LEN)
		return false;
	memcpy(dst, b->data, GOSSIP_KEY_LEN);
	return true;
}

static bool copy_sig(uint8_t dst[GOSSIP_SIG_LEN], uint8_t *has, const ProtobufCBinaryData *b)
{
	memset(dst, 0, GOSSIP_SIG_LEN);
	*has = 0;
	if (b->len == 0)
		return true;
	if (b->len != GOSSIP_SIG_LEN)
		return false;
	memcpy(dst, b->data, GOSSIP_SIG_LEN);
	*has = 1;
	return true;
}

static bool info_from_pb(struct gossip_info *out, const Omx__Gossip__NodeInfo *pb)
{
	memset(out, 0, sizeof(*out));
	if (!pb)
		return true;
	if (!copy_str(out->name, sizeof(out->name), pb->name) ||
	    !copy_str(out->addr, sizeof(out->addr), pb->addr) ||
	    !copy_str(out->kernel, sizeof(out->kernel), pb->kernel))
		return false;
	out->cpus = pb->cpus;
	out->cpu_quota_milli = pb->cpu_quota_milli;
	out->speed_mhz = pb->speed_mhz;
	out->load_milli = pb->load_milli;
	out->cpu_usage_milli = pb->cpu_usage_milli;
	out->mem_total_kb = pb->mem_total_kb;
	out->mem_free_kb = pb->mem_free_kb;
	out->guests = pb->guests;
	out->accept_guests = pb->accept_guests;
	if (pb->vdso_fp.len == GOSSIP_FP_LEN)
		memcpy(out->vdso_fp, pb->vdso_fp.data, GOSSIP_FP_LEN);
	else if (pb->vdso_fp.len != 0)
		return false;
	out->cpu_features = pb->cpu_features;
	out->xsave_size = pb->xsave_size;
	return true;
}

static bool rec_from_pb(struct gossip_rec *out, const Omx__Gossip__NodeRecord *pb)
{
	memset(out, 0, sizeof(*out));
	if (pb->format != GOSSIP_WIRE_VERSION || pb->id == 0 || pb->id > 65535 ||
	    (pb->state != GOSSIP_ALIVE && pb->state != GOSSIP_LEFT) || pb->version == 0)
		return false;
	if (!copy_key(out->key, &pb->key) || !copy_sig(out->sig, &out->has_sig, &pb->sig) ||
	    !info_from_pb(&out->info, pb->info))
		return false;
	out->id = (uint16_t)pb->id;
	out->incarnation = pb->incarnation;
	out->version = pb->version;
	out->state = (uint8_t)pb->state;
	return true;
}

static bool acc_from_pb(struct gossip_acc *out, const Omx__Gossip__Accusation *pb)
{
	memset(out, 0, sizeof(*out));
	if (pb->format != GOSSIP_WIRE_VERSION ||
	    (pb->kind != GOSSIP_ACC_SUSPECT && pb->kind != GOSSIP_ACC_DEAD))
		return false;
	if (!copy_key(out->target, &pb->target) || !copy_key(out->accuser, &pb->accuser) ||
	    !copy_sig(out->sig, &out->has_sig, &pb->sig))
		return false;
	out->kind = (uint8_t)pb->kind;
	out->incarnation = pb->incarnation;
	return true;
}

void gossip_wire_msg_release(struct gw_msg *m)
{
	if (!m)
		return;
	free(m->digest);
	free(m->recs);
	free(m->upd);
	free(m->upd_recs);
	free(m->upd_accs);
	m->digest = NULL;
	m->recs = NULL;
	m->upd = NULL;
	m->upd_recs = NULL;
	m->upd_accs = NULL;
	m->n_digest = m->n_recs = m->n_upd = 0;
}

static int decode_pushpull(struct gw_msg *m, const Omx__Gossip__PushPull *pp)
{
	if (pp->page_bits > 16 || pp->page >= (1u << pp->page_bits) || pp->flags > 7)
		return -EBADMSG;
	m->pp_flags = pp->flags;
	m->pp_page_bits = pp->page_bits;
	m->pp_page = pp->page;
	m->digest = calloc(pp->n_digest + 1, sizeof(*m->digest));
	m->recs = calloc(pp->n_records + 1, sizeof(*m->recs));
	if (!m->digest || !m->recs)
		return -ENOMEM;
	for (size_t i = 0; i < pp->n_digest; i++) {
		m->digest[i].key = pp->digest[i]->key;
		m->digest[i].version = pp->digest[i]->version;
	}
	m->n_digest = pp->n_digest;
	for (size_t i = 0; i < pp->n_records; i++)
		if (!rec_from_pb(&m->recs[i], pp->records[i]))
			return -EBADMSG;
	m->n_recs = pp->n_records;
	return 0;
}

static int decode_body(struct gw_msg *m, const Omx__Gossip__Envelope *env)
{
	switch (env->body_case) {
	case OMX__GOSSIP__ENVELOPE__BODY_PING:
		m->body = GW_PING;
		m->seq = env->ping->seq;
		if (!copy_str(m->reply_addr, sizeof(m->reply_addr), env->ping->reply_addr))
			return -EBADMSG;
		m->suspect = env->ping->suspect;
		m->incarnation = env->ping->incarnation;
		return copy_key(m->target, &env->ping->target) ? 0 : -EBADMSG;
	case OMX__GOSSIP__ENVELOPE__BODY_ACK:
		m->body = GW_ACK;
		m->seq = env->ack->seq;
		return 0;
	case OMX__GOSSIP__ENVELOPE__BODY_PING_REQ:
		m->body = GW_PING_REQ;
		m->seq = env->ping_req->seq;
		return copy_key(m->target, &env->ping_req->target) ? 0 : -EBADMSG;
	case OMX__GOSSIP__ENVELOPE__BODY_NACK:
		m->body = GW_NACK;
		m->seq = env->nack->seq;
		return 0;
	case OMX__GOSSIP__ENVELOPE__BODY_PUSH_PULL:
		m->body = GW_PUSHPULL;
		return decode_pushpull(m, env->push_pull);
	case OMX__GOSSIP__ENVELOPE__BODY_GOSSIP:
		m->body = GW_GOSSIP;
		return 0;
	default:
		return -EBADMSG;
	}
}

static int decode_updates(struct gw_msg *m, const Omx__Gossip__Envelope *env)
{
	size_t n = env->n_updates;
	m->upd = calloc(n + 1, sizeof(*m->upd));
	m->upd_recs = calloc(n + 1, sizeof(*m->upd_recs));
	m->upd_accs = calloc(n + 1, sizeof(*m->upd_accs));
	if (!m->upd || !m->upd_recs || !m->upd_accs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const Omx__Gossip__Update *u = env->updates[i];
		if (u->u_case == OMX__GOSSIP__UPDATE__U_RECORD) {
			if (!rec_from_pb(&m->upd_recs[i], u->record))
				return -EBADMSG;
			m->upd[i].rec = &m->upd_recs[i];
		} else if (u->u_case == OMX__GOSSIP__UPDATE__U_ACCUSATION) {
			if (!acc_from_pb(&m->upd_accs[i], u->accusation))
				return -EBADMSG;
			m->upd[i].acc = &m->upd_accs[i];
		} else {
			return -EBADMSG;
		}
	}
	m->n_upd = n;
	return 0;
}

int gossip_wire_decode(const uint8_t *data, size_t len, struct gw_msg *ret)
{
	struct gw_msg m;
	memset(&m, 0, sizeof(m));
	Omx__Gossip__Envelope *env = omx__gossip__envelope__unpack(NULL, len, data);
	if (!env)
		return -EBADMSG;
	int r = -EBADMSG;
	if (env->version != GOSSIP_WIRE_VERSION || !copy_key(m.sender, &env->sender) ||
	    env->sender_id == 0 || env->sender_id > 65535)
		goto out;
	m.sender_id = (uint16_t)env->sender_id;
	r = decode_body(&m, env);
	if (r < 0)
		goto out;
	r = decode_updates(&m, env);
out:
	omx__gossip__envelope__free_unpacked(env, NULL);
	if (r < 0) {
		gossip_wire_msg_release(&m);
		return r == -ENOMEM ? -ENOMEM : -EBADMSG;
	}
	*ret = m;
	return 0;
}
