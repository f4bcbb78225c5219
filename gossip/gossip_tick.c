/* gossip_tick.c - timers of the gossip core, republishing our own record, and graceful leave.
 *
 * gossip_tick() runs every engine whose deadline passed; gossip_next_deadline() is the minimum
 * of those deadlines, so a driver (omxd's zloop, the simulator's event queue) sleeps exactly
 * until there is work. Member entries keep 32-bit times relative to an epoch that is moved
 * forward long before they could overflow.
 */
#include <errno.h>
#include <string.h>

#include "gossip/gossip_int.h"

#define GOSSIP_INFO_MS_PER_NODE	   50
#define GOSSIP_REFRESH_MS_PER_NODE 120
#define REBASE_AFTER		   (1ull << 31)

static uint64_t info_min_ms(const struct gossip *g)
{
	uint64_t a = g->t.info_min_interval_ms, b = (uint64_t)g->n_live * GOSSIP_INFO_MS_PER_NODE;
	return a > b ? a : b;
}

static uint64_t info_max_ms(const struct gossip *g)
{
	uint64_t a = g->t.info_max_interval_ms, b = (uint64_t)g->n_live * GOSSIP_REFRESH_MS_PER_NODE;
	uint64_t m = a > b ? a : b;
	return m ? m : UINT64_MAX / 4;
}

static bool big_delta(uint64_t a, uint64_t b, uint64_t floor)
{
	uint64_t d = a > b ? a - b : b - a;
	uint64_t rel = a / 4;
	return d >= (rel > floor ? rel : floor);
}

/* Load changes worth a new record before the refresh interval. */
static bool significant(const struct gossip_info *old, const struct gossip_info *now)
{
	return big_delta(old->load_milli, now->load_milli, 250) ||
	       big_delta(old->cpu_usage_milli, now->cpu_usage_milli, 250) ||
	       big_delta(old->mem_free_kb, now->mem_free_kb, 64 * 1024) ||
	       old->guests != now->guests;
}

static bool static_fields_differ(const struct gossip_info *a, const struct gossip_info *b)
{
	struct gossip_info x = *a, y = *b;
	x.load_milli = y.load_milli = 0;
	x.cpu_usage_milli = y.cpu_usage_milli = 0;
	x.mem_free_kb = y.mem_free_kb = 0;
	x.guests = y.guests = 0;
	return memcmp(&x, &y, sizeof(x)) != 0;
}

static uint64_t info_deadline(const struct gossip *g)
{
	if (g->leaving)
		return UINT64_MAX;
	if (g->info_dirty && significant(&g->self->info, &g->want_info))
		return g->info_pub_ms + info_min_ms(g);
	return g->info_pub_ms + info_max_ms(g);
}

static void info_tick(struct gossip *g, uint64_t now)
{
	if (now >= info_deadline(g))
		gossip_publish_self(g, now, false);
}

static void rebase(struct gossip *g, uint64_t now)
{
	if (now < g->epoch || now - g->epoch < REBASE_AFTER)
		return;
	uint64_t delta64 = now - g->epoch - REBASE_AFTER / 2;
	uint32_t delta = (uint32_t)delta64;
	for (size_t i = 0; i < g->n; i++) {
		struct gmember *e = &g->m[i];
		e->state_t = e->state_t > delta ? e->state_t - delta : 0;
		e->info_t = e->info_t > delta ? e->info_t - delta : 0;
	}
	g->epoch += delta64;
}

void gossip_tick(struct gossip *g, uint64_t now_ms)
{
	if (!g)
		return;
	g->now = now_ms;
	rebase(g, now_ms);
	gossip_swim_tick(g, now_ms);
	gossip_gossip_tick(g, now_ms);
	gossip_pp_tick(g, now_ms);
	info_tick(g, now_ms);
	if (g->id_provisional && now_ms >= g->id_settle_ms && !g->leaving)
		gossip_settle_id(g, now_ms);
	if (g->id_move_ms && now_ms >= g->id_move_ms)
		gossip_move_id(g, now_ms);
	if (now_ms >= g->next_reclaim_ms) {
		g->next_reclaim_ms = now_ms + g->t.probe_interval_ms;
		gossip_members_reclaim(g, now_ms);
	}
}

static void lower(uint64_t *d, uint64_t v)
{
	if (v < *d)
		*d = v;
}

uint64_t gossip_next_deadline(const struct gossip *g)
{
	uint64_t d = gossip_swim_deadline(g);
	lower(&d, g->next_gossip_ms);
	if (g->t.pushpull_interval_ms)
		lower(&d, g->next_pushpull_ms);
	lower(&d, gossip_pp_deadline(g));
	if (g->n_join && !g->joined && !g->leaving)
		lower(&d, g->next_join_ms);
	lower(&d, info_deadline(g));
	if (g->id_provisional && !g->leaving)
		lower(&d, g->id_settle_ms);
	if (g->id_move_ms)
		lower(&d, g->id_move_ms);
	lower(&d, g->next_reclaim_ms);
	return d;
}

void gossip_set_info(struct gossip *g, uint64_t now_ms, const struct gossip_info *info)
{
	if (!g || !info)
		return;
	struct gossip_info n;
	gossip_normalize_info(&n, info);
	if (memcmp(&n, &g->want_info, sizeof(n)) == 0)
		return;
	g->want_info = n;
	if (g->leaving)
		return;
	if (static_fields_differ(&n, &g->self->info)) {
		gossip_publish_self(g, now_ms, true);
		return;
	}
	g->info_dirty = memcmp(&n, &g->self->info, sizeof(n)) != 0;
}

void gossip_leave(struct gossip *g, uint64_t now_ms)
{
	if (!g || g->leaving)
		return;
	g->leaving = true;
	g->leave_ms = now_ms;
	gossip_publish_self(g, now_ms, true);
	struct gmember *e = gossip_find(g, g->self->key);
	if (e)
		gossip_member_set_state(g, e, GOSSIP_LEFT, now_ms);
	g->next_gossip_ms = now_ms;
	gossip_gossip_tick(g, now_ms);
}

bool gossip_leave_done(const struct gossip *g, uint64_t now_ms)
{
	if (!g || !g->leaving)
		return false;
	if (g->n_live == 0)
		return true; /* nobody to tell */
	if (!gossip_bq_pending_key(g, g->self->key))
		return true; /* sent the full retransmit count */
	uint64_t bound = 2ull * g->t.probe_interval_ms + 5ull * g->t.gossip_interval_ms;
	return now_ms >= g->leave_ms + bound;
}
