/* gossip.c - lifecycle, packet dispatch, timers and the self record of the gossip core.
 *
 *   gossip_handle(bytes) -> size check -> decode (gossip_wire.c) -> transport identity check
 *        -> piggybacked updates (records: gossip_members.c, accusations: gossip_swim.c)
 *        -> body: ping/ack/ping-req/nack (gossip_swim.c), push/pull (gossip_pushpull.c)
 *   gossip_tick(now) -> probes and suspicions, gossip rounds, push/pull and join retries,
 *        republishing our record, reclaiming dead members (gossip_tick.c)
 *
 * The self record: version grows with every record we publish; a change of anything but the
 * load figures is published at once (membership class), load changes only when significant and
 * no faster than max(info_min_interval, n * GOSSIP_INFO_MS_PER_NODE), and the record is
 * refreshed at least every max(info_max_interval, n * GOSSIP_REFRESH_MS_PER_NODE) — at 1,000
 * nodes each node republishes at most every 10 s, which keeps load traffic within budget.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/gossip_int.h"

const char *gossip_state_name(enum gossip_state s)
{
	switch (s) {
	case GOSSIP_ALIVE:
		return "alive";
	case GOSSIP_SUSPECT:
		return "suspect";
	case GOSSIP_DEAD:
		return "dead";
	case GOSSIP_LEFT:
		return "left";
	}
	return "unknown";
}

void gossip_timing_lan(struct gossip_timing *ret)
{
	*ret = (struct gossip_timing){
		.probe_interval_ms = 400,
		.probe_timeout_ms = 200,
		.indirect_checks = 4,
		.suspicion_mult = 1,
		.suspicion_max_mult = 6,
		.gossip_interval_ms = 150,
		.gossip_fanout = 3,
		.retransmit_mult = 4,
		.pushpull_interval_ms = 30000,
		.info_min_interval_ms = 5000,
		.info_max_interval_ms = 60000,
		.dead_reclaim_ms = 300000,
		.awareness_max = 8,
	};
}

void gossip_timing_wan(struct gossip_timing *ret)
{
	*ret = (struct gossip_timing){
		.probe_interval_ms = 5000,
		.probe_timeout_ms = 3000,
		.indirect_checks = 3,
		.suspicion_mult = 6,
		.suspicion_max_mult = 6,
		.gossip_interval_ms = 500,
		.gossip_fanout = 4,
		.retransmit_mult = 4,
		.pushpull_interval_ms = 60000,
		.info_min_interval_ms = 15000,
		.info_max_interval_ms = 120000,
		.dead_reclaim_ms = 1800000,
		.awareness_max = 8,
	};
}

int gossip_timing_by_name(const char *name, struct gossip_timing *ret)
{
	if (!name)
		return -EINVAL;
	if (strcmp(name, "lan") == 0) {
		gossip_timing_lan(ret);
		return 0;
	}
	if (strcmp(name, "wan") == 0) {
		gossip_timing_wan(ret);
		return 0;
	}
	return -EINVAL;
}

uint64_t gossip_rand(struct gossip *g)
{
	/* xoshiro256** */
	uint64_t *s = g->rng;
	uint64_t x = s[1] * 5;
	uint64_t r = ((x << 7) | (x >> 57)) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = (s[3] << 45) | (s[3] >> 19);
	return r;
}

uint64_t gossip_key_prefix(const uint8_t key[GOSSIP_KEY_LEN])
{
	uint64_t p = 0;
	for (int i = 7; i >= 0; i--)
		p = (p << 8) | key[i];
	return p;
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void copy_str(char *dst, const char *src, size_t cap)
{
	memcpy(dst, src, strnlen(src, cap - 1));
}

/* Copy with every byte after the strings' NUL zeroed, so records compare with memcmp. */
void gossip_normalize_info(struct gossip_info *dst, const struct gossip_info *src)
{
	memset(dst, 0, sizeof(*dst));
	copy_str(dst->name, src->name, sizeof(dst->name));
	copy_str(dst->addr, src->addr, sizeof(dst->addr));
	copy_str(dst->kernel, src->kernel, sizeof(dst->kernel));
	dst->cpus = src->cpus;
	dst->cpu_quota_milli = src->cpu_quota_milli;
	dst->speed_mhz = src->speed_mhz;
	dst->load_milli = src->load_milli;
	dst->cpu_usage_milli = src->cpu_usage_milli;
	dst->mem_total_kb = src->mem_total_kb;
	dst->mem_free_kb = src->mem_free_kb;
	dst->guests = src->guests;
	dst->accept_guests = src->accept_guests;
	memcpy(dst->vdso_fp, src->vdso_fp, GOSSIP_FP_LEN);
	dst->cpu_features = src->cpu_features;
	dst->xsave_size = src->xsave_size;
}

void gossip_publish_self(struct gossip *g, uint64_t now, bool membership)
{
	struct gossip_rec r;
	memset(&r, 0, sizeof(r));
	memcpy(r.key, g->cfg.self_key, GOSSIP_KEY_LEN);
	r.id = g->self_id;
	r.state = g->leaving ? GOSSIP_LEFT : GOSSIP_ALIVE;
	uint64_t inc = g->self ? g->self->incarnation : 0;
	uint64_t ver = g->self ? g->self->version : 0;
	r.incarnation = inc > g->inc_floor ? inc : g->inc_floor;
	r.version = (ver > g->ver_floor ? ver : g->ver_floor) + 1;
	r.info = g->want_info;
	r.has_sig = 1;
	int n = gossip_wire_rec_signed_bytes(&r, g->sigbuf, sizeof(g->sigbuf));
	if (n < 0)
		return;
	g->ops.sign(g->ops.ctx, g->sigbuf, (size_t)n, r.sig);
	struct gossip_rec *rec = gossip_pool_intern(g->pool, &r);
	if (!rec)
		return;
	struct gmember *e = g->self ? gossip_find(g, g->self->key) : NULL;
	g->self = rec;
	if (e) {
		gossip_member_set_rec(g, e, rec, now);
	} else if (!gossip_member_add(g, rec, now)) {
		g->self = NULL;
		return;
	}
	g->info_pub_ms = now;
	g->info_dirty = false;
	g->sorted_dirty = true;
	gossip_bq_rec(g, rec, !membership);
}

struct gossip *gossip_new(const struct gossip_config *cfg, const struct gossip_info *self,
			  uint64_t now_ms)
{
	if (!cfg || !self || !cfg->ops.send || !cfg->ops.sign || !cfg->ops.verify)
		return NULL;
	struct gossip *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->cfg = *cfg;
	g->ops = cfg->ops;
	g->t = cfg->timing;
	if (!g->t.probe_interval_ms || !g->t.gossip_interval_ms)
		gossip_timing_lan(&g->t);
	g->pool = cfg->pool;
	if (!g->pool) {
		g->pool = gossip_pool_new();
		g->own_pool = true;
		if (!g->pool) {
			free(g);
			return NULL;
		}
	}
	uint64_t seed = cfg->seed ^ gossip_key_prefix(cfg->self_key);
	for (int i = 0; i < 4; i++)
		g->rng[i] = splitmix(&seed);
	g->epoch = now_ms;
	g->now = now_ms;
	if (cfg->self_id) {
		g->self_id = cfg->self_id;
	} else {
		/* provisional until the membership is known (gossip_settle_id); from its own
		 * range so it does not make a member with a small id move */
		uint32_t span = 65536u - GOSSIP_PROVISIONAL_ID_MIN;
		g->self_id = (uint16_t)(GOSSIP_PROVISIONAL_ID_MIN +
					gossip_key_prefix(cfg->self_key) % span);
		g->id_provisional = true;
		g->id_settle_ms = now_ms; /* nobody to learn from unless gossip_join() is called */
	}
	gossip_normalize_info(&g->want_info, self);
	gossip_publish_self(g, now_ms, true);
	if (!g->self) {
		gossip_free(&g);
		return NULL;
	}
	g->next_probe_ms = now_ms + gossip_rand(g) % g->t.probe_interval_ms;
	g->next_gossip_ms = now_ms + gossip_rand(g) % g->t.gossip_interval_ms;
	g->next_pushpull_ms = now_ms + g->t.pushpull_interval_ms / 2 +
			      gossip_rand(g) % (g->t.pushpull_interval_ms / 2 + 1);
	g->next_reclaim_ms = now_ms + g->t.probe_interval_ms;
	return g;
}

void gossip_free(struct gossip **gp)
{
	if (!gp || !*gp)
		return;
	struct gossip *g = *gp;
	gossip_bq_free_all(g);
	for (size_t i = 0; i < g->n; i++)
		gossip_rec_unref(g->pool, g->m[i].rec);
	free(g->m);
	free(g->hash);
	free(g->susp);
	free(g->sorted);
	for (size_t i = 0; i < g->n_join; i++)
		free(g->join_addrs[i]);
	free(g->join_addrs);
	if (g->own_pool)
		gossip_pool_free(&g->pool);
	free(g);
	*gp = NULL;
}

void gossip_send_msg(struct gossip *g, const char *addr, const uint8_t *to_key, struct gw_msg *m,
		     bool piggyback)
{
	struct gw_update upd[64];
	memcpy(m->sender, g->cfg.self_key, GOSSIP_KEY_LEN);
	m->sender_id = g->self_id;
	g->n_sel = 0;
	if (piggyback) {
		m->upd = upd;
		m->n_upd = gossip_bq_select(g, upd, 64, GOSSIP_PKT_BUDGET);
	}
	if (m->body == GW_GOSSIP && m->n_upd == 0)
		return;
	int len = gossip_wire_encode(m, g->buf, sizeof(g->buf));
	if (len < 0) {
		g->n_sel = 0;
		return;
	}
	gossip_bq_commit(g);
	g->stats.tx_msgs++;
	g->stats.tx_bytes += (uint64_t)len;
	if (m->body == GW_PUSHPULL)
		g->stats.tx_pushpull_bytes += (uint64_t)len;
	else if (m->body == GW_GOSSIP || m->body == GW_NONE)
		g->stats.tx_gossip_bytes += (uint64_t)len;
	else
		g->stats.tx_probe_bytes += (uint64_t)len;
	g->ops.send(g->ops.ctx, addr, to_key, g->buf, (size_t)len);
}

void gossip_join(struct gossip *g, uint64_t now_ms, const char *const *addrs, size_t n)
{
	if (!g)
		return;
	char **na = calloc(n + 1, sizeof(*na));
	if (!na)
		return;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!addrs[i] || !addrs[i][0] || strlen(addrs[i]) >= GOSSIP_ADDR_MAX)
			continue;
		na[k] = strdup(addrs[i]);
		if (!na[k])
			break;
		k++;
	}
	for (size_t i = 0; i < g->n_join; i++)
		free(g->join_addrs[i]);
	free(g->join_addrs);
	g->join_addrs = na;
	g->n_join = k;
	g->joined = false;
	gossip_pp_send_join(g, now_ms);
	if (g->id_provisional && k && !g->id_join_started) {
		/* wait for the membership, or give up on the seeds: counted from the first join
		 * only (omxd calls gossip_join again on every retry) */
		g->id_join_started = true;
		g->id_settle_ms = now_ms + GOSSIP_JOIN_SETTLE_TRIES * (g->next_join_ms - now_ms);
	}
}

/* Send one record or accusation directly to a member, outside the piggyback queue. */
void gossip_send_direct(struct gossip *g, const struct gmember *to, const struct gossip_rec *rec,
			const struct gossip_acc *acc)
{
	struct gw_update u = { .rec = rec, .acc = acc };
	struct gw_msg m;
	memset(&m, 0, sizeof(m));
	m.body = GW_GOSSIP;
	m.upd = &u;
	m.n_upd = 1;
	char addr[GOSSIP_ADDR_MAX];
	uint8_t key[GOSSIP_KEY_LEN];
	memcpy(addr, to->rec->info.addr, sizeof(addr));
	memcpy(key, to->rec->key, sizeof(key));
	gossip_send_msg(g, addr, key, &m, false);
}

void gossip_check_stale_origin(struct gossip *g, uint64_t now, const struct gossip_rec *r,
			       const uint8_t sender[GOSSIP_KEY_LEN])
{
	if (memcmp(r->key, sender, GOSSIP_KEY_LEN) != 0)
		return;
	struct gmember *e = gossip_find(g, r->key);
	if (!e || e->rec == g->self || e->rec->version < r->version)
		return;
	if (e->rec->version == r->version && memcmp(e->rec->sig, r->sig, GOSSIP_SIG_LEN) == 0)
		return; /* the very record we hold */
	if (!gossip_notice_allowed(g, now))
		return;
	/* the origin speaks with an older version than we hold, or another record under the same
	 * version: it restarted and lost its counters (and jumped only past the older record a
	 * seed had). Show it the record we hold so it can jump past it. */
	gossip_send_direct(g, e, e->rec, NULL);
}

static void handle_updates(struct gossip *g, uint64_t now, const struct gw_msg *m)
{
	uint64_t inc = g->self->incarnation;
	for (size_t i = 0; i < m->n_upd; i++) {
		if (m->upd[i].rec) {
			if (gossip_on_record(g, now, m->upd[i].rec, true) == -EALREADY)
				gossip_check_stale_origin(g, now, m->upd[i].rec, m->sender);
		}
		else if (m->upd[i].acc) {
			(void)gossip_on_accusation(g, now, m->upd[i].acc);
		}
	}
	if (g->self->incarnation != inc) {
		/* we refuted something this sender told us: tell it first, directly (it may hold
		 * us dead and never gossip to us, e.g. across a healed partition) */
		const struct gmember *from = gossip_find(g, m->sender);
		if (from)
			gossip_send_direct(g, from, g->self, NULL);
	}
}

int gossip_handle(struct gossip *g, uint64_t now_ms, const uint8_t *data, size_t len,
		  const uint8_t *peer, size_t peer_len)
{
	if (!g)
		return -EINVAL;
	g->now = now_ms;
	g->stats.rx_msgs++;
	g->stats.rx_bytes += len;
	if (len > GOSSIP_MSG_MAX) {
		g->stats.drop_oversize++;
		return -EMSGSIZE;
	}
	if (!data && len)
		return -EINVAL;
	struct gw_msg m;
	int r = gossip_wire_decode(data ? data : (const uint8_t *)"", len, &m);
	if (r < 0) {
		if (r == -ENOMEM)
			return r;
		g->stats.drop_malformed++;
		return -EBADMSG;
	}
	if (g->ops.peer_check && g->ops.peer_check(g->ops.ctx, m.sender, peer, peer_len) != 0) {
		g->stats.drop_impostor++;
		gossip_wire_msg_release(&m);
		return -EPERM;
	}
	if (memcmp(m.sender, g->cfg.self_key, GOSSIP_KEY_LEN) == 0) {
		gossip_wire_msg_release(&m); /* our own packet looped back */
		return 0;
	}
	handle_updates(g, now_ms, &m);
	gossip_swim_heard_from(g, now_ms, m.sender);
	switch (m.body) {
	case GW_PING:
		gossip_swim_on_ping(g, now_ms, &m);
		break;
	case GW_ACK:
		gossip_swim_on_ack(g, now_ms, &m);
		break;
	case GW_PING_REQ:
		gossip_swim_on_ping_req(g, now_ms, &m);
		break;
	case GW_NACK:
		gossip_swim_on_nack(g, now_ms, &m);
		break;
	case GW_PUSHPULL:
		gossip_pp_on_msg(g, now_ms, &m);
		break;
	case GW_GOSSIP:
	case GW_NONE:
		break;
	}
	gossip_wire_msg_release(&m);
	return 0;
}
