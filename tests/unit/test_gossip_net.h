/* test_gossip_net.h - a tiny in-memory network that drives several gossip cores in one process.
 *
 * Header-only helper for tests/unit/test_gossip*.c. Packets are copied into a FIFO with a fixed
 * latency; a node can be cut off (down: nothing in or out) or stopped (crashed: also no ticks).
 * Signatures are either a cheap keyed checksum (fake) or real Ed25519 (libsodium crypto_sign).
 * The transport identity handed to gossip_handle is the sender's key, as CURVE would report.
 */
#pragma once
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/gossip.h"

#define TN_MAX	 64
#define TN_LAT	 2 /* ms */
#define TN_STEP	 5 /* ms */

struct tn_pkt {
	int from, to;
	uint64_t at;
	size_t len;
	uint8_t *data;
	struct tn_pkt *next;
};

struct tn;

struct tn_node {
	struct tn *net;
	int idx;
	struct gossip *g;
	uint8_t pk[32];
	uint8_t sk[64];
	char addr[64];
	bool down, stopped;
	int ev[8];	 /* events seen, by kind */
	uint16_t last_self_id;
};

struct tn {
	int n;
	uint64_t now;
	bool real_sig;
	struct tn_node node[TN_MAX];
	struct tn_pkt *head, *tail;
	uint64_t sent, dropped;
	int drop_pct; /* random loss */
	bool partition; /* nodes [0, n/2) and [n/2, n) cannot talk */
	void (*tap)(struct tn *t, const uint8_t *data, size_t len); /* sees every packet sent */
	uint64_t rng;
};

static inline uint64_t tn_rand(struct tn *t)
{
	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	return t->rng;
}

static inline int tn_by_addr(struct tn *t, const char *addr)
{
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->node[i].addr, addr) == 0)
			return i;
	return -1;
}

static inline void tn_send(void *ctx, const char *addr, const uint8_t *to_key, const uint8_t *data,
			   size_t len)
{
	struct tn_node *src = ctx;
	struct tn *t = src->net;
	int to = tn_by_addr(t, addr);
	t->sent++;
	if (t->tap)
		t->tap(t, data, len);
	if (to < 0 || src->down || t->node[to].down ||
	    (t->partition && (src->idx < t->n / 2) != (to < t->n / 2)) ||
	    (t->drop_pct && (int)(tn_rand(t) % 100) < t->drop_pct)) {
		t->dropped++;
		return;
	}
	if (to_key && memcmp(to_key, t->node[to].pk, 32) != 0) {
		t->dropped++; /* CURVE would refuse a connection to the wrong key */
		return;
	}
	struct tn_pkt *p = calloc(1, sizeof(*p));
	p->data = malloc(len ? len : 1);
	memcpy(p->data, data, len);
	p->len = len;
	p->from = src->idx;
	p->to = to;
	p->at = t->now + TN_LAT;
	if (t->tail)
		t->tail->next = p;
	else
		t->head = p;
	t->tail = p;
}

/* Fake signature: a keyed BLAKE2b of the data under the public key (cheap, checks integrity
 * and binds the signer's key, not unforgeable: fine for tests of the protocol logic). */
static inline void tn_fake_sig(const uint8_t pk[32], const uint8_t *data, size_t len,
			       uint8_t sig[64])
{
	crypto_generichash(sig, 64, data, len, pk, 32);
}

static inline void tn_sign(void *ctx, const uint8_t *data, size_t len, uint8_t sig[64])
{
	struct tn_node *nd = ctx;
	if (nd->net->real_sig)
		crypto_sign_detached(sig, NULL, data, len, nd->sk);
	else
		tn_fake_sig(nd->pk, data, len, sig);
}

static inline int tn_verify(void *ctx, const uint8_t pk[32], const uint8_t *data, size_t len,
			    const uint8_t sig[64])
{
	struct tn_node *nd = ctx;
	if (nd->net->real_sig)
		return crypto_sign_verify_detached(sig, data, len, pk) == 0 ? 0 : -1;
	uint8_t s[64];
	tn_fake_sig(pk, data, len, s);
	return memcmp(s, sig, 64) == 0 ? 0 : -1;
}

static inline int tn_peer_check(void *ctx, const uint8_t pk[32], const uint8_t *peer,
				size_t peer_len)
{
	return peer_len == 32 && memcmp(pk, peer, 32) == 0 ? 0 : -1;
}

static inline void tn_event(void *ctx, enum gossip_event_kind k, const struct gossip_member *m)
{
	struct tn_node *nd = ctx;
	nd->ev[k]++;
	if (k == GOSSIP_EV_SELF_ID)
		nd->last_self_id = m->id;
}

static inline void tn_info(struct gossip_info *info, int i)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "node%d", i);
	snprintf(info->addr, sizeof(info->addr), "tcp://10.0.0.%d:4660", i + 1);
	info->cpus = 2;
	info->load_milli = 100;
	info->mem_total_kb = 1 << 20;
	info->mem_free_kb = 1 << 19;
	info->accept_guests = true;
	snprintf(info->kernel, sizeof(info->kernel), "6.18.0");
}

/* Make node i (keys derived from seed i unless real signatures). */
static inline struct gossip *tn_start(struct tn *t, int i, uint16_t id, bool fixed)
{
	struct tn_node *nd = &t->node[i];
	nd->net = t;
	nd->idx = i;
	if (!nd->pk[0] && !nd->pk[1]) {
		uint8_t seed[32] = { 0 };
		seed[0] = (uint8_t)(i + 1);
		seed[1] = 0x5a;
		crypto_sign_seed_keypair(nd->pk, nd->sk, seed);
	}
	struct gossip_info info;
	tn_info(&info, i);
	memcpy(nd->addr, info.addr, sizeof(nd->addr) - 1);
	struct gossip_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.self_key, nd->pk, 32);
	cfg.self_id = id;
	cfg.fixed_id = fixed;
	gossip_timing_lan(&cfg.timing);
	cfg.seed = 1000 + (uint64_t)i;
	cfg.ops = (struct gossip_ops){ .ctx = nd, .send = tn_send, .sign = tn_sign,
				       .verify = tn_verify, .peer_check = tn_peer_check,
				       .event = tn_event };
	nd->g = gossip_new(&cfg, &info, t->now);
	nd->stopped = false;
	nd->down = false;
	if (i >= t->n)
		t->n = i + 1;
	return nd->g;
}

static inline void tn_init(struct tn *t, int n, bool real_sig)
{
	memset(t, 0, sizeof(*t));
	t->real_sig = real_sig;
	t->now = 1000000;
	t->rng = 88172645463325252ull;
	for (int i = 0; i < n; i++)
		tn_start(t, i, 0, false);
}

static inline void tn_deliver(struct tn *t)
{
	while (t->head && t->head->at <= t->now) {
		struct tn_pkt *p = t->head;
		t->head = p->next;
		if (!t->head)
			t->tail = NULL;
		struct tn_node *dst = &t->node[p->to];
		if (!dst->down && !dst->stopped && dst->g)
			(void)gossip_handle(dst->g, t->now, p->data, p->len, t->node[p->from].pk,
					    32);
		free(p->data);
		free(p);
	}
}

static inline void tn_run(struct tn *t, uint64_t ms)
{
	uint64_t end = t->now + ms;
	while (t->now < end) {
		t->now += TN_STEP;
		tn_deliver(t);
		for (int i = 0; i < t->n; i++) {
			struct tn_node *nd = &t->node[i];
			if (nd->g && !nd->stopped && gossip_next_deadline(nd->g) <= t->now)
				gossip_tick(nd->g, t->now);
		}
	}
}

static inline void tn_join_all(struct tn *t, int boot)
{
	const char *a[1] = { t->node[boot].addr };
	for (int i = 0; i < t->n; i++)
		if (i != boot)
			gossip_join(t->node[i].g, t->now, a, 1);
}

/* State of node `of` in node `viewer`'s table, -1 if unknown. */
static inline int tn_state(struct tn *t, int viewer, int of)
{
	struct gossip *g = t->node[viewer].g;
	struct gossip_member m;
	for (size_t i = 0; gossip_member_at(g, i, &m) == 0; i++)
		if (memcmp(m.pubkey, t->node[of].pk, 32) == 0)
			return (int)m.state;
	return -1;
}

static inline void tn_free(struct tn *t)
{
	while (t->head) {
		struct tn_pkt *p = t->head;
		t->head = p->next;
		free(p->data);
		free(p);
	}
	for (int i = 0; i < t->n; i++)
		gossip_free(&t->node[i].g);
}
