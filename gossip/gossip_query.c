/* gossip_query.c - read-only views of the core for the daemon, tests and the simulator.
 *
 * gossip_member_at() promises a stable order by node id; the member array itself is in probe
 * order (reshuffled every round), so a sorted index of (id, key prefix) is rebuilt lazily when
 * the membership or an id changed. It is a cache: the const accessors update it through a cast.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/gossip_int.h"

uint16_t gossip_self_id(const struct gossip *g)
{
	return g->self_id;
}

bool gossip_self_id_settled(const struct gossip *g)
{
	return !g->id_provisional;
}

size_t gossip_member_count(const struct gossip *g)
{
	return g->n;
}

size_t gossip_live_count(const struct gossip *g)
{
	return g->n_live;
}

uint64_t gossip_self_version(const struct gossip *g)
{
	return g->self->version;
}

uint64_t gossip_self_incarnation(const struct gossip *g)
{
	return g->self->incarnation;
}

const struct gossip_stats *gossip_get_stats(const struct gossip *g)
{
	return &g->stats;
}

static int cmp_sort(const void *a, const void *b)
{
	const struct gsort *x = a, *y = b;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->prefix < y->prefix ? -1 : x->prefix > y->prefix;
}

static int refresh_sorted(struct gossip *g)
{
	if (!g->sorted_dirty && g->n_sorted == g->n)
		return 0;
	struct gsort *s = realloc(g->sorted, (g->n + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	g->sorted = s;
	for (size_t i = 0; i < g->n; i++) {
		s[i].prefix = gossip_key_prefix(g->m[i].rec->key);
		s[i].id = g->m[i].rec->id;
	}
	qsort(s, g->n, sizeof(*s), cmp_sort);
	g->n_sorted = g->n;
	g->sorted_dirty = false;
	return 0;
}

int gossip_member_at(const struct gossip *g, size_t i, struct gossip_member *ret)
{
	struct gossip *mg = (struct gossip *)g; /* cache update only */
	int r = refresh_sorted(mg);
	if (r < 0)
		return r;
	if (i >= g->n_sorted)
		return -ENOENT;
	const struct gmember *e = gossip_find_prefix(g, g->sorted[i].prefix);
	if (!e)
		return -ENOENT;
	gossip_fill_member(g, e, ret);
	return 0;
}

static bool live(uint8_t s)
{
	return s == GOSSIP_ALIVE || s == GOSSIP_SUSPECT;
}

/* The owner of an id: a live member before a dead/left one, then the smaller key. */
int gossip_member_by_id(const struct gossip *g, uint16_t id, struct gossip_member *ret)
{
	const struct gmember *best = NULL;
	for (size_t i = 0; i < g->n; i++) {
		const struct gmember *e = &g->m[i];
		if (e->rec->id != id)
			continue;
		if (!best || (live(e->state) && !live(best->state)) ||
		    (live(e->state) == live(best->state) &&
		     memcmp(e->rec->key, best->rec->key, GOSSIP_KEY_LEN) < 0))
			best = e;
	}
	if (!best)
		return -ENOENT;
	gossip_fill_member(g, best, ret);
	return 0;
}

int gossip_learn_from(struct gossip *g, uint64_t now_ms, const struct gossip *other)
{
	const struct gossip_rec *r = other->self;
	if (memcmp(r->key, g->self->key, GOSSIP_KEY_LEN) == 0)
		return -EINVAL;
	struct gmember *e = gossip_find(g, r->key);
	if (e && e->rec->version >= r->version)
		return 0;
	struct gossip_rec *rec = gossip_pool_intern(g->pool, r);
	if (!rec)
		return -ENOMEM;
	if (e) {
		gossip_member_set_rec(g, e, rec, now_ms);
		if (rec->state == GOSSIP_LEFT)
			gossip_member_set_state(g, e, GOSSIP_LEFT, now_ms);
		return 0;
	}
	e = gossip_member_add(g, rec, now_ms);
	if (!e)
		return -ENOMEM;
	gossip_emit(g, GOSSIP_EV_JOIN, e);
	gossip_check_id_conflict(g, now_ms, e);
	return 0;
}
