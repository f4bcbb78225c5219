/* control_wire.c - the only place control messages are packed and unpacked; see control.h.
 * Decoded strings are bounded copies; anything that does not fit is an error, not a truncation,
 * so the daemon never acts on a half-read key. */
#include "common/control.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "proto/control.pb-c.h"

static int copy_str(char *dst, size_t cap, const char *src)
{
	if (!src) {
		dst[0] = '\0';
		return 0;
	}
	size_t n = strnlen(src, cap);
	if (n >= cap)
		return -EINVAL;
	memcpy(dst, src, n + 1);
	return 0;
}

int control_request_pack(const struct control_request *req, uint8_t *buf, size_t cap)
{
	Omx__CtlRequest m = OMX__CTL_REQUEST__INIT;
	m.version = CONTROL_VERSION;
	m.op = (uint32_t)req->op;
	m.cluster_key = (char *)req->cluster_key;
	m.timeout_ms = req->timeout_ms;
	m.offset = req->offset;
	uint32_t groups[CONTROL_GROUPS_MAX];
	if (req->op == CONTROL_OP_OMFS) {
		if (req->omfs_len > CONTROL_OMFS_MAX || req->ngroups > CONTROL_GROUPS_MAX)
			return -EMSGSIZE;
		m.node = req->node;
		m.uid = req->uid;
		m.gid = req->gid;
		memcpy(groups, req->groups, req->ngroups * sizeof(groups[0]));
		m.n_groups = req->ngroups;
		m.groups = groups;
		m.omfs.data = (uint8_t *)req->omfs;
		m.omfs.len = req->omfs_len;
	}
	size_t n = omx__ctl_request__get_packed_size(&m);
	if (n > cap || n > CONTROL_MSG_MAX)
		return -EMSGSIZE;
	return (int)omx__ctl_request__pack(&m, buf);
}

int control_request_unpack(const uint8_t *buf, size_t len, struct control_request *ret)
{
	if (len > CONTROL_MSG_MAX)
		return -EMSGSIZE;
	Omx__CtlRequest *m = omx__ctl_request__unpack(NULL, len, buf);
	if (!m)
		return -EBADMSG;
	int r = 0;
	if (m->version != CONTROL_VERSION)
		r = -EPROTONOSUPPORT;
	else if (m->op < CONTROL_OP_JOIN || m->op > CONTROL_OP_OMFS)
		r = -EINVAL;
	else if (m->omfs.len > CONTROL_OMFS_MAX || m->n_groups > CONTROL_GROUPS_MAX)
		r = -EINVAL;
	else if (strnlen(m->cluster_key, CONTROL_KEY_MAX) >= CONTROL_KEY_MAX)
		r = -EINVAL;
	if (r == 0) {
		ret->op = (enum control_op)m->op;
		r = copy_str(ret->cluster_key, sizeof(ret->cluster_key), m->cluster_key);
		ret->timeout_ms = m->timeout_ms;
		ret->offset = m->offset;
		ret->node = m->node;
		ret->uid = m->uid;
		ret->gid = m->gid;
		ret->ngroups = (uint32_t)m->n_groups;
		if (m->n_groups) /* protobuf-c leaves the array NULL when empty */
			memcpy(ret->groups, m->groups, m->n_groups * sizeof(ret->groups[0]));
		ret->omfs_len = m->omfs.len;
		if (m->omfs.len)
			memcpy(ret->omfs, m->omfs.data, m->omfs.len);
	}
	if (m->cluster_key)
		memset(m->cluster_key, 0, strlen(m->cluster_key)); /* secret material */
	omx__ctl_request__free_unpacked(m, NULL);
	return r;
}

static void node_to_msg(const struct control_node *n, Omx__CtlNode *m)
{
	omx__ctl_node__init(m);
	m->id = n->id;
	m->pubkey.data = (uint8_t *)n->pubkey;
	m->pubkey.len = sizeof(n->pubkey);
	m->state = n->state;
	m->name = (char *)n->name;
	m->addr = (char *)n->addr;
	m->cpus = n->cpus;
	m->cpu_quota_milli = n->cpu_quota_milli;
	m->speed_mhz = n->speed_mhz;
	m->load_milli = n->load_milli;
	m->cpu_usage_milli = n->cpu_usage_milli;
	m->mem_total_kb = n->mem_total_kb;
	m->mem_free_kb = n->mem_free_kb;
	m->guests = n->guests;
	m->accept_guests = n->accept_guests;
	m->kernel = (char *)n->kernel;
	m->age_ms = n->age_ms;
	m->is_self = n->is_self;
	m->incarnation = n->incarnation;
	m->version = n->version;
	m->cpu_features = n->cpu_features;
	m->xsave_size = n->xsave_size;
}

static int node_from_msg(const Omx__CtlNode *m, struct control_node *n)
{
	if (m->id > 65535 || (m->pubkey.len != 0 && m->pubkey.len != sizeof(n->pubkey)))
		return -EINVAL;
	memset(n, 0, sizeof(*n));
	n->id = (uint16_t)m->id;
	if (m->pubkey.len)
		memcpy(n->pubkey, m->pubkey.data, sizeof(n->pubkey));
	n->state = m->state;
	if (copy_str(n->name, sizeof(n->name), m->name) < 0 ||
	    copy_str(n->addr, sizeof(n->addr), m->addr) < 0 ||
	    copy_str(n->kernel, sizeof(n->kernel), m->kernel) < 0)
		return -EINVAL;
	n->cpus = m->cpus;
	n->cpu_quota_milli = m->cpu_quota_milli;
	n->speed_mhz = m->speed_mhz;
	n->load_milli = m->load_milli;
	n->cpu_usage_milli = m->cpu_usage_milli;
	n->mem_total_kb = m->mem_total_kb;
	n->mem_free_kb = m->mem_free_kb;
	n->guests = m->guests;
	n->accept_guests = m->accept_guests;
	n->age_ms = m->age_ms;
	n->is_self = m->is_self;
	n->incarnation = m->incarnation;
	n->version = m->version;
	n->cpu_features = m->cpu_features;
	n->xsave_size = m->xsave_size;
	return 0;
}

int control_reply_pack(const struct control_reply *rep, uint8_t *buf, size_t cap)
{
	Omx__CtlReply m = OMX__CTL_REPLY__INIT;
	Omx__CtlNode nodes[CONTROL_NODES_PER_REPLY], *nodep[CONTROL_NODES_PER_REPLY];
	Omx__CtlStatus st = OMX__CTL_STATUS__INIT;
	Omx__CtlCounter ctr[CONTROL_COUNTERS_MAX], *ctrp[CONTROL_COUNTERS_MAX];
	m.version = CONTROL_VERSION;
	m.error = rep->error;
	m.message = (char *)rep->message;
	size_t nn = rep->n_nodes < CONTROL_NODES_PER_REPLY ? rep->n_nodes : CONTROL_NODES_PER_REPLY;
	for (size_t i = 0; i < nn; i++) {
		node_to_msg(&rep->nodes[i], &nodes[i]);
		nodep[i] = &nodes[i];
	}
	m.n_nodes = nn;
	m.nodes = nodep;
	m.total = rep->total;
	if (rep->has_status) {
		const struct control_status *s = &rep->status;
		st.node_id = s->node_id;
		st.name = (char *)s->name;
		st.addr = (char *)s->addr;
		st.state = (char *)s->state;
		st.cluster_id = (char *)s->cluster_id;
		st.members = s->members;
		st.alive = s->alive;
		st.uptime_ms = s->uptime_ms;
		st.pubkey.data = (uint8_t *)s->pubkey;
		st.pubkey.len = sizeof(s->pubkey);
		size_t nc = s->n_counters < CONTROL_COUNTERS_MAX ? s->n_counters : CONTROL_COUNTERS_MAX;
		for (size_t i = 0; i < nc; i++) {
			omx__ctl_counter__init(&ctr[i]);
			ctr[i].name = (char *)s->counters[i].name;
			ctr[i].value = s->counters[i].value;
			ctrp[i] = &ctr[i];
		}
		st.n_counters = nc;
		st.counters = ctrp;
		m.status = &st;
	}
	if (rep->omfs_len > CONTROL_OMFS_MAX)
		return -EMSGSIZE;
	m.omfs.data = (uint8_t *)rep->omfs;
	m.omfs.len = rep->omfs_len;
	size_t n = omx__ctl_reply__get_packed_size(&m);
	if (n > cap || n > CONTROL_MSG_MAX)
		return -EMSGSIZE;
	return (int)omx__ctl_reply__pack(&m, buf);
}

static int status_from_msg(const Omx__CtlStatus *m, struct control_status *s)
{
	if (m->node_id > 65535 || (m->pubkey.len != 0 && m->pubkey.len != sizeof(s->pubkey)) ||
	    m->n_counters > CONTROL_COUNTERS_MAX)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->node_id = (uint16_t)m->node_id;
	if (copy_str(s->name, sizeof(s->name), m->name) < 0 ||
	    copy_str(s->addr, sizeof(s->addr), m->addr) < 0 ||
	    copy_str(s->state, sizeof(s->state), m->state) < 0 ||
	    copy_str(s->cluster_id, sizeof(s->cluster_id), m->cluster_id) < 0)
		return -EINVAL;
	s->members = m->members;
	s->alive = m->alive;
	s->uptime_ms = m->uptime_ms;
	if (m->pubkey.len)
		memcpy(s->pubkey, m->pubkey.data, sizeof(s->pubkey));
	for (size_t i = 0; i < m->n_counters; i++) {
		if (copy_str(s->counters[i].name, sizeof(s->counters[i].name),
			     m->counters[i]->name) < 0)
			return -EINVAL;
		s->counters[i].value = m->counters[i]->value;
	}
	s->n_counters = m->n_counters;
	return 0;
}

int control_reply_unpack(const uint8_t *buf, size_t len, struct control_reply *ret)
{
	if (len > CONTROL_MSG_MAX)
		return -EMSGSIZE;
	Omx__CtlReply *m = omx__ctl_reply__unpack(NULL, len, buf);
	if (!m)
		return -EBADMSG;
	int r = 0;
	if (m->version != CONTROL_VERSION)
		r = -EPROTONOSUPPORT;
	else if (m->n_nodes > CONTROL_NODES_PER_REPLY || m->error > 0 ||
		 m->omfs.len > CONTROL_OMFS_MAX)
		r = -EINVAL;
	if (r == 0) {
		ret->error = m->error;
		r = copy_str(ret->message, sizeof(ret->message), m->message);
	}
	for (size_t i = 0; r == 0 && i < m->n_nodes; i++)
		r = node_from_msg(m->nodes[i], &ret->nodes[i]);
	if (r == 0) {
		ret->n_nodes = m->n_nodes;
		ret->total = m->total;
		ret->has_status = m->status != NULL;
		if (m->status)
			r = status_from_msg(m->status, &ret->status);
		ret->omfs_len = m->omfs.len;
		if (m->omfs.len)
			memcpy(ret->omfs, m->omfs.data, m->omfs.len);
	}
	omx__ctl_reply__free_unpacked(m, NULL);
	return r;
}

void control_status_add_counter(struct control_status *st, const char *name, uint64_t value)
{
	if (st->n_counters >= CONTROL_COUNTERS_MAX) {
		static atomic_bool warned;
		if (!atomic_exchange(&warned, true))
			log_warn("status: more than %d counters, '%s' and later ones not shown",
				 CONTROL_COUNTERS_MAX, name);
		return;
	}
	struct control_counter *c = &st->counters[st->n_counters++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->value = value;
}
