/* gossip_broadcast.c - the piggyback queue (memberlist's TransmitLimitedQueue, two classes).
 *
 * One slot per subject member holds the newest thing to tell about it (its record, or an
 * accusation); a newer one replaces it and restarts its count. Slots sit in buckets by how
 * often they were sent, so a packet takes the least-sent first (newest first within a bucket)
 * in O(packet). Two classes: membership (joins, state changes, refutations, leaves,
 * accusations: retransmit_mult * ceil(log10(n+1)) sends, most of the byte budget) and load-only
 * record updates (ceil(log10(n+1)) sends, a small share of each packet, a bounded queue where
 * the most-sent are evicted first). Load therefore spreads like MOSIX's load window: a bounded
 * trickle of fresh entries per packet, with push/pull digests completing what piggybacking
 * misses, so bandwidth does not grow with the update rate.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/gossip_int.h"

#define LOAD_QUEUE_MAX 64

uint32_t gossip_retransmit_limit(const struct gossip *g, bool load_only)
{
	uint32_t l = (uint32_t)ceil(log10((double)g->n_live + 1.0));
	if (l < 1)
		l = 1;
	if (load_only) {
		/* anti-entropy completes what a short push misses; in small clusters, where bytes do
		 * not matter but a 30 s push/pull wait would, every load change is pushed 3 times */
		if (g->n_live < GOSSIP_SMALL_CLUSTER)
			return 3;
		return (l + 1) / 2;
	}
	return l * (g->t.retransmit_mult ? g->t.retransmit_mult : 1);
}

static struct gbcast *slot(struct gossip *g, uint32_t s1)
{
	return &g->bq[s1 - 1];
}

static void unlink_slot(struct gossip *g, uint32_t s1)
{
	struct gbcast *b = slot(g, s1);
	if (b->prev)
		slot(g, b->prev)->next = b->next;
	else
		g->bq_head[b->load_only][b->bucket] = b->next;
	if (b->next)
		slot(g, b->next)->prev = b->prev;
	b->prev = b->next = 0;
}

static void link_slot(struct gossip *g, uint32_t s1)
{
	struct gbcast *b = slot(g, s1);
	b->bucket = b->transmits < GOSSIP_BQ_BUCKETS ? b->transmits : GOSSIP_BQ_BUCKETS - 1;
	b->prev = 0;
	b->next = g->bq_head[b->load_only][b->bucket];
	if (b->next)
		slot(g, b->next)->prev = s1;
	g->bq_head[b->load_only][b->bucket] = s1;
}

static void free_slot(struct gossip *g, uint32_t s1)
{
	struct gbcast *b = slot(g, s1);
	unlink_slot(g, s1);
	struct gmember *e = gossip_find(g, b->key);
	if (e && e->bq == s1)
		e->bq = 0;
	if (b->rec)
		gossip_rec_unref(g->pool, b->rec);
	g->bq_count[b->load_only]--;
	memset(b, 0, sizeof(*b));
	b->next = g->bq_free;
	g->bq_free = s1;
	g->bq_used--;
}

static uint32_t alloc_slot(struct gossip *g)
{
	if (!g->bq_free) {
		size_t ncap = g->bq_cap ? g->bq_cap * 2 : 32;
		struct gbcast *nb = realloc(g->bq, ncap * sizeof(*nb));
		if (!nb)
			return 0;
		memset(nb + g->bq_cap, 0, (ncap - g->bq_cap) * sizeof(*nb));
		for (size_t i = ncap; i > g->bq_cap; i--) {
			nb[i - 1].next = g->bq_free;
			g->bq_free = (uint32_t)i;
		}
		g->bq = nb;
		g->bq_cap = ncap;
	}
	uint32_t s1 = g->bq_free;
	g->bq_free = slot(g, s1)->next;
	memset(slot(g, s1), 0, sizeof(struct gbcast));
	g->bq_used++;
	return s1;
}

/* Evict the most-sent load-only slot. */
static void evict_load(struct gossip *g)
{
	for (int b = GOSSIP_BQ_BUCKETS - 1; b >= 0; b--) {
		uint32_t s1 = g->bq_head[1][b];
		if (s1) {
			free_slot(g, s1);
			return;
		}
	}
}

/* Find or make the slot for subject key; NULL on OOM. */
static uint32_t slot_for(struct gossip *g, const uint8_t key[GOSSIP_KEY_LEN], bool load_only)
{
	struct gmember *e = gossip_find(g, key);
	if (e && e->bq) {
		uint32_t s1 = e->bq;
		struct gbcast *b = slot(g, s1);
		unlink_slot(g, s1);
		if (b->rec)
			gossip_rec_unref(g->pool, b->rec);
		b->rec = NULL;
		g->bq_count[b->load_only]--;
		/* a newer record replaces the slot: it keeps membership news (state, incarnation) that
		 * was not sent often enough yet, and load news stays load news */
		b->load_only = (uint8_t)(b->load_only && load_only);
		b->transmits = 0;
		g->bq_count[b->load_only]++;
		return s1;
	}
	if (load_only && g->bq_count[1] >= LOAD_QUEUE_MAX)
		evict_load(g);
	uint32_t s1 = alloc_slot(g);
	if (!s1)
		return 0;
	struct gbcast *b = slot(g, s1);
	memcpy(b->key, key, GOSSIP_KEY_LEN);
	b->used = 1;
	b->load_only = load_only;
	g->bq_count[b->load_only]++;
	e = gossip_find(g, key);
	if (e)
		e->bq = s1;
	return s1;
}

void gossip_bq_rec(struct gossip *g, struct gossip_rec *rec, bool load_only)
{
	uint32_t s1 = slot_for(g, rec->key, load_only);
	if (!s1)
		return;
	struct gbcast *b = slot(g, s1);
	gossip_rec_ref(rec);
	b->rec = rec;
	link_slot(g, s1);
}

void gossip_bq_acc(struct gossip *g, const struct gossip_acc *a)
{
	uint32_t s1 = slot_for(g, a->target, false);
	if (!s1)
		return;
	struct gbcast *b = slot(g, s1);
	b->acc = *a;
	link_slot(g, s1);
}

void gossip_bq_drop_key(struct gossip *g, const uint8_t key[GOSSIP_KEY_LEN])
{
	struct gmember *e = gossip_find(g, key);
	if (e && e->bq)
		free_slot(g, e->bq);
}

bool gossip_bq_pending_key(const struct gossip *g, const uint8_t key[GOSSIP_KEY_LEN])
{
	struct gmember *e = gossip_find(g, key);
	return e && e->bq;
}

void gossip_bq_free_all(struct gossip *g)
{
	for (size_t i = 0; i < g->bq_cap; i++)
		if (g->bq[i].used && g->bq[i].rec)
			gossip_rec_unref(g->pool, g->bq[i].rec);
	free(g->bq);
	g->bq = NULL;
	g->bq_cap = g->bq_used = 0;
	g->bq_free = 0;
}

static size_t take_class(struct gossip *g, int cls, struct gw_update *upd, size_t n, size_t max,
			 size_t *budget)
{
	for (int bk = 0; bk < GOSSIP_BQ_BUCKETS && n < max; bk++) {
		for (uint32_t s1 = g->bq_head[cls][bk]; s1 && n < max; s1 = slot(g, s1)->next) {
			struct gbcast *b = slot(g, s1);
			size_t sz = b->rec ? (size_t)b->rec->wire_len + 6 : GOSSIP_ACC_WIRE_SIZE;
			if (sz > *budget)
				continue;
			*budget -= sz;
			upd[n].rec = b->rec;
			upd[n].acc = b->rec ? NULL : &b->acc;
			g->sel[g->n_sel++] = s1;
			n++;
		}
	}
	return n;
}

size_t gossip_bq_select(struct gossip *g, struct gw_update *upd, size_t max, size_t budget)
{
	size_t cap = sizeof(g->sel) / sizeof(g->sel[0]);
	if (max > cap)
		max = cap;
	g->n_sel = 0;
	size_t load_budget = budget < GOSSIP_LOAD_BUDGET ? budget : GOSSIP_LOAD_BUDGET;
	size_t mem_budget = budget - load_budget;
	size_t n = take_class(g, 0, upd, 0, max, &mem_budget);
	load_budget += mem_budget; /* unused membership room is free for load */
	return take_class(g, 1, upd, n, max, &load_budget);
}

void gossip_bq_commit(struct gossip *g)
{
	uint32_t lim[2] = { gossip_retransmit_limit(g, false), gossip_retransmit_limit(g, true) };
	for (size_t i = 0; i < g->n_sel; i++) {
		uint32_t s1 = g->sel[i];
		struct gbcast *b = slot(g, s1);
		if (!b->used)
			continue;
		if (!b->rec)
			g->stats.pb_acc_bytes += GOSSIP_ACC_WIRE_SIZE;
		else if (b->load_only)
			g->stats.pb_load_bytes += b->rec->wire_len + 6u;
		else
			g->stats.pb_member_bytes += b->rec->wire_len + 6u;
		unlink_slot(g, s1);
		b->transmits++;
		if (b->transmits >= lim[b->load_only])
			free_slot(g, s1);
		else
			link_slot(g, s1);
	}
	g->n_sel = 0;
}

void gossip_gossip_tick(struct gossip *g, uint64_t now)
{
	if (now < g->next_gossip_ms)
		return;
	g->next_gossip_ms = now + g->t.gossip_interval_ms;
	if (!g->bq_used)
		return;
	uint32_t fanout = g->bq_count[0] ? g->t.gossip_fanout : 1;
	for (uint32_t i = 0; i < fanout && g->bq_used; i++) {
		struct gmember *e = gossip_random_member(g, NULL);
		if (!e)
			return;
		struct gw_msg m;
		memset(&m, 0, sizeof(m));
		m.body = GW_GOSSIP;
		gossip_send_msg(g, e->rec->info.addr, e->rec->key, &m, true);
	}
}
