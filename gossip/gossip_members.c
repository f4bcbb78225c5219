/* gossip_members.c - the member table and what happens when a signed record arrives.
 *
 * Members live in one array in probe order (shuffled after every probe round, new members are
 * inserted at a random position, as memberlist does) with an open-addressing hash index on the
 * key. An entry is 24 bytes and points to a pooled record, so 10^8 entries fit a simulator.
 *
 * Record rules (the security model of the mesh): a record is accepted only if its version is
 * newer than the one held (else counted as a replay, without checking its signature: the cheap
 * drop), it carries a signature, and the signature verifies over its canonical re-encoding.
 * Our own old records coming back (e.g. from a previous run) make us jump our version and
 * incarnation past them. Ids: a node without a persisted id settles on the smallest id unused in
 * its view once it knows the membership (gossip_settle_id). Conflicts: the smaller key keeps the
 * id; the other moves to the next id unused in its view (GOSSIP_EV_SELF_ID), unless its id is
 * fixed (GOSSIP_EV_ID_CONFLICT).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/gossip_int.h"

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static size_t hslot(const struct gossip *g, uint64_t prefix)
{
	return (size_t)mix64(prefix) & (g->hcap - 1);
}

struct gmember *gossip_find(const struct gossip *g, const uint8_t key[GOSSIP_KEY_LEN])
{
	if (!g->hcap)
		return NULL;
	size_t i = hslot(g, gossip_key_prefix(key));
	for (;;) {
		uint32_t v = g->hash[i];
		if (!v)
			return NULL;
		struct gmember *e = &g->m[v - 1];
		if (memcmp(e->rec->key, key, GOSSIP_KEY_LEN) == 0)
			return e;
		i = (i + 1) & (g->hcap - 1);
	}
}

struct gmember *gossip_find_prefix(const struct gossip *g, uint64_t prefix)
{
	if (!g->hcap)
		return NULL;
	size_t i = hslot(g, prefix);
	for (;;) {
		uint32_t v = g->hash[i];
		if (!v)
			return NULL;
		struct gmember *e = &g->m[v - 1];
		if (gossip_key_prefix(e->rec->key) == prefix)
			return e;
		i = (i + 1) & (g->hcap - 1);
	}
}

static void hash_insert(struct gossip *g, size_t idx)
{
	size_t i = hslot(g, gossip_key_prefix(g->m[idx].rec->key));
	while (g->hash[i])
		i = (i + 1) & (g->hcap - 1);
	g->hash[i] = (uint32_t)idx + 1;
}

void gossip_members_rebuild_hash(struct gossip *g)
{
	memset(g->hash, 0, g->hcap * sizeof(*g->hash));
	for (size_t i = 0; i < g->n; i++)
		hash_insert(g, i);
}

static int grow(struct gossip *g)
{
	if (g->n + 1 > g->cap) {
		size_t ncap = g->cap + g->cap / 8 + 16;
		struct gmember *nm = realloc(g->m, ncap * sizeof(*nm));
		if (!nm)
			return -ENOMEM;
		g->m = nm;
		g->cap = ncap;
	}
	/* load factor <= 3/4 */
	if ((g->n + 1) * 4 > g->hcap * 3) {
		size_t nh = g->hcap ? g->hcap * 2 : 64;
		uint32_t *h = calloc(nh, sizeof(*h));
		if (!h)
			return -ENOMEM;
		free(g->hash);
		g->hash = h;
		g->hcap = nh;
		gossip_members_rebuild_hash(g);
	}
	return 0;
}

static bool is_live(uint8_t s)
{
	return s == GOSSIP_ALIVE || s == GOSSIP_SUSPECT;
}

struct gmember *gossip_member_add(struct gossip *g, struct gossip_rec *rec, uint64_t now)
{
	if (grow(g) < 0) {
		gossip_rec_unref(g->pool, rec);
		return NULL;
	}
	size_t idx = g->n++;
	struct gmember *e = &g->m[idx];
	g->sorted_dirty = true;
	memset(e, 0, sizeof(*e));
	e->rec = rec;
	e->state = rec->state == GOSSIP_LEFT ? GOSSIP_LEFT : GOSSIP_ALIVE;
	e->state_t = e->info_t = gossip_t32(g, now);
	if (is_live(e->state)) {
		g->n_live++;
		e->flags |= GM_RETRY;
	}
	hash_insert(g, idx);
	/* random position in the probe order */
	size_t j = (size_t)(gossip_rand(g) % g->n);
	if (j != idx) {
		struct gmember tmp = g->m[j];
		g->m[j] = g->m[idx];
		g->m[idx] = tmp;
		/* both slots point at the other index now: fix them */
		size_t a = hslot(g, gossip_key_prefix(g->m[j].rec->key));
		while (g->hash[a] != idx + 1)
			a = (a + 1) & (g->hcap - 1);
		size_t b = hslot(g, gossip_key_prefix(g->m[idx].rec->key));
		while (g->hash[b] != j + 1)
			b = (b + 1) & (g->hcap - 1);
		g->hash[a] = (uint32_t)j + 1;
		g->hash[b] = (uint32_t)idx + 1;
		e = &g->m[j];
	}
	return e;
}

void gossip_members_shuffle(struct gossip *g)
{
	for (size_t i = g->n; i > 1; i--) {
		size_t j = (size_t)(gossip_rand(g) % i);
		struct gmember tmp = g->m[i - 1];
		g->m[i - 1] = g->m[j];
		g->m[j] = tmp;
	}
	gossip_members_rebuild_hash(g);
}

void gossip_fill_member(const struct gossip *g, const struct gmember *e, struct gossip_member *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->id = e->rec->id;
	memcpy(ret->pubkey, e->rec->key, GOSSIP_KEY_LEN);
	ret->state = (enum gossip_state)e->state;
	ret->incarnation = e->rec->incarnation;
	ret->version = e->rec->version;
	ret->info = e->rec->info;
	ret->info_ms = g->epoch + e->info_t;
	ret->state_ms = g->epoch + e->state_t;
	ret->is_self = e->rec == g->self;
}

void gossip_emit(struct gossip *g, enum gossip_event_kind k, const struct gmember *e)
{
	if (!g->ops.event)
		return;
	struct gossip_member m;
	gossip_fill_member(g, e, &m);
	g->ops.event(g->ops.ctx, k, &m);
}

void gossip_member_set_state(struct gossip *g, struct gmember *e, enum gossip_state s, uint64_t now)
{
	if (e->state == s)
		return;
	bool was = is_live(e->state);
	e->state = (uint8_t)s;
	e->state_t = gossip_t32(g, now);
	if (was && !is_live(s))
		g->n_live--;
	else if (!was && is_live(s)) {
		g->n_live++;
		e->flags |= GM_RETRY; /* back from dead or left */
	}
	if (s != GOSSIP_SUSPECT)
		gossip_suspicion_drop(g, e->rec->key);
	gossip_emit(g, GOSSIP_EV_STATE, e);
}

void gossip_member_set_rec(struct gossip *g, struct gmember *e, struct gossip_rec *rec, uint64_t now)
{
	struct gossip_rec *old = e->rec;
	e->rec = rec;
	e->info_t = gossip_t32(g, now);
	if (old->id != rec->id)
		g->sorted_dirty = true;
	gossip_rec_unref(g->pool, old);
}

void gossip_members_reclaim(struct gossip *g, uint64_t now)
{
	if (g->n == g->n_live)
		return; /* nobody dead or left: nothing to scan (the simulator runs this 2,000x/s) */
	uint32_t t = gossip_t32(g, now);
	bool removed = false;
	for (size_t i = 0; i < g->n;) {
		struct gmember *e = &g->m[i];
		if ((e->state != GOSSIP_DEAD && e->state != GOSSIP_LEFT) || e->rec == g->self ||
		    t - e->state_t < g->t.dead_reclaim_ms || t < e->state_t) {
			i++;
			continue;
		}
		gossip_emit(g, GOSSIP_EV_FORGET, e);
		gossip_bq_drop_key(g, e->rec->key);
		gossip_suspicion_drop(g, e->rec->key);
		gossip_rec_unref(g->pool, e->rec);
		g->m[i] = g->m[--g->n];
		removed = true;
	}
	if (removed) {
		g->sorted_dirty = true;
		gossip_members_rebuild_hash(g);
		if (g->probe_idx > g->n)
			g->probe_idx = 0;
	}
}

struct gmember *gossip_random_member(struct gossip *g, const uint8_t *not_key)
{
	if (g->n_live <= 1 || g->n == 0)
		return NULL;
	for (int tries = 0; tries < 8; tries++) {
		struct gmember *e = &g->m[gossip_rand(g) % g->n];
		if (is_live(e->state) && e->rec != g->self &&
		    (!not_key || memcmp(e->rec->key, not_key, GOSSIP_KEY_LEN) != 0))
			return e;
	}
	size_t start = (size_t)(gossip_rand(g) % g->n);
	for (size_t k = 0; k < g->n; k++) {
		struct gmember *e = &g->m[(start + k) % g->n];
		if (is_live(e->state) && e->rec != g->self &&
		    (!not_key || memcmp(e->rec->key, not_key, GOSSIP_KEY_LEN) != 0))
			return e;
	}
	return NULL;
}

uint16_t gossip_pick_free_id(const struct gossip *g, uint16_t from)
{
	uint8_t *used = calloc(65536 / 8, 1);
	uint32_t id = from ? from : 1;
	if (!used)
		return (uint16_t)id; /* no memory: plain next id, conflicts resolve again */
	for (size_t i = 0; i < g->n; i++)
		if (g->m[i].rec != g->self)
			used[g->m[i].rec->id / 8] |= (uint8_t)(1u << (g->m[i].rec->id % 8));
	for (uint32_t k = 0; k < 65535; k++) {
		uint32_t c = ((id - 1 + k) % 65535) + 1;
		if (!(used[c / 8] & (1u << (c % 8)))) {
			id = c;
			break;
		}
	}
	free(used);
	return (uint16_t)id;
}

/* Our id changed: publish, tell the daemon (it persists the id), and in a small cluster, where
 * a few random piggybacks can miss a member (the seed, say, which then hands our old id to the
 * next joiner), tell each live member directly, once. */
static void announce_id(struct gossip *g, uint64_t now)
{
	gossip_publish_self(g, now, true);
	struct gmember *self = gossip_find(g, g->self->key);
	if (self)
		gossip_emit(g, GOSSIP_EV_SELF_ID, self);
	if (g->n_live > GOSSIP_SMALL_CLUSTER)
		return;
	for (size_t i = 0; i < g->n; i++) {
		const struct gmember *e = &g->m[i];
		if (e->rec != g->self && is_live(e->state))
			gossip_send_direct(g, e, g->self, NULL);
	}
}

void gossip_settle_id(struct gossip *g, uint64_t now)
{
	g->id_provisional = false;
	uint16_t id = gossip_pick_free_id(g, 1);
	if (g->id_previous && g->id_previous < GOSSIP_PROVISIONAL_ID_MIN &&
	    gossip_pick_free_id(g, g->id_previous) == g->id_previous)
		id = g->id_previous; /* our id of a previous run, still free */
	g->self_id = id;
	/* a member we did not know yet may claim it too: check_id_conflict settles that */
	announce_id(g, now);
}

void gossip_check_id_conflict(struct gossip *g, uint64_t now, const struct gmember *e)
{
	if (e->rec == g->self || e->rec->id != g->self_id || !is_live(e->state) || g->leaving ||
	    g->id_provisional)
		return; /* a provisional id is given up anyway (gossip_settle_id) */
	if (memcmp(e->rec->key, g->self->key, GOSSIP_KEY_LEN) > 0) {
		/* we keep it; make sure the other side hears our claim soon */
		gossip_bq_rec(g, g->self, false);
		return;
	}
	if (g->cfg.fixed_id) {
		gossip_emit(g, GOSSIP_EV_ID_CONFLICT, e);
		return;
	}
	/* move a moment later, once the other claims sent at the same time are in too */
	if (!g->id_move_ms)
		g->id_move_ms = now + g->t.gossip_interval_ms;
}

void gossip_move_id(struct gossip *g, uint64_t now)
{
	g->id_move_ms = 0;
	if (g->cfg.fixed_id || g->leaving || g->id_provisional)
		return;
	/* every smaller key we know on our id keeps it or moves too: take the rank-th free id
	 * after it, so nodes that settled on the same id at once (simultaneous joins) spread out
	 * in one step instead of colliding again on the next one */
	uint16_t old = g->self_id;
	size_t rank = 0;
	for (size_t i = 0; i < g->n; i++)
		if (g->m[i].rec != g->self && g->m[i].rec->id == old && is_live(g->m[i].state) &&
		    memcmp(g->m[i].rec->key, g->self->key, GOSSIP_KEY_LEN) < 0)
			rank++;
	if (!rank)
		return; /* the smaller key moved away or died meanwhile */
	uint16_t id = old;
	for (size_t k = 0; k < rank && k < 65535; k++)
		id = gossip_pick_free_id(g, (uint16_t)(id == 65535 ? 1 : id + 1));
	g->self_id = id;
	announce_id(g, now);
}

/* True if only the load figures differ. */
static bool info_load_only(const struct gossip_info *a, const struct gossip_info *b)
{
	struct gossip_info x = *a, y = *b;
	x.load_milli = y.load_milli = 0;
	x.cpu_usage_milli = y.cpu_usage_milli = 0;
	x.mem_free_kb = y.mem_free_kb = 0;
	x.guests = y.guests = 0;
	return memcmp(&x, &y, sizeof(x)) == 0;
}

static int verify_rec(struct gossip *g, const struct gossip_rec *r)
{
	if (!r->has_sig) {
		g->stats.drop_unsigned++;
		return -EPERM;
	}
	int n = gossip_wire_rec_signed_bytes(r, g->sigbuf, sizeof(g->sigbuf));
	if (n < 0 || g->ops.verify(g->ops.ctx, r->key, g->sigbuf, (size_t)n, r->sig) != 0) {
		g->stats.drop_badsig++;
		return -EPERM;
	}
	return 0;
}

/* One of our own records from the past (a previous run) came back: jump past it. */
static int on_own_record(struct gossip *g, uint64_t now, const struct gossip_rec *r)
{
	/* our current record coming back is old news; another record of ours under the same
	 * version is from a previous run (a seed that missed our last update of that run made us
	 * jump only to that version): jump past it too, or members holding it drop ours */
	if (r->version < g->self->version ||
	    (r->version == g->self->version &&
	     memcmp(r->sig, g->self->sig, GOSSIP_SIG_LEN) == 0)) {
		g->stats.drop_replay++;
		return -EALREADY;
	}
	int err = verify_rec(g, r);
	if (err < 0)
		return err;
	if (g->id_provisional)
		g->id_previous = r->id; /* we had an id in a previous run: take it back if free */
	/* publish_self publishes max(version, ver_floor) + 1 and max(incarnation, inc_floor) */
	if (r->version > g->ver_floor)
		g->ver_floor = r->version;
	if (r->incarnation + 1 > g->inc_floor)
		g->inc_floor = r->incarnation + 1;
	gossip_publish_self(g, now, true);
	return 0;
}

static void on_changed_record(struct gossip *g, uint64_t now, struct gmember *e,
			      struct gossip_rec *rec, bool rebroadcast)
{
	struct gossip_rec *old = e->rec;
	bool newer_inc = rec->incarnation > old->incarnation;
	bool load_only = rec->state == old->state && rec->id == old->id && !newer_inc &&
			 info_load_only(&rec->info, &old->info);
	gossip_rec_ref(rec);
	gossip_member_set_rec(g, e, rec, now);
	if (rec->state == GOSSIP_LEFT) {
		gossip_member_set_state(g, e, GOSSIP_LEFT, now);
	} else if (e->state == GOSSIP_LEFT || ((e->state == GOSSIP_SUSPECT ||
						 e->state == GOSSIP_DEAD) && newer_inc)) {
		gossip_member_set_state(g, e, GOSSIP_ALIVE, now);
	}
	gossip_emit(g, GOSSIP_EV_UPDATE, e);
	if (rebroadcast)
		gossip_bq_rec(g, rec, load_only);
	if (!load_only)
		gossip_check_id_conflict(g, now, e);
}

int gossip_on_record(struct gossip *g, uint64_t now, const struct gossip_rec *r, bool rebroadcast)
{
	if (memcmp(r->key, g->self->key, GOSSIP_KEY_LEN) == 0)
		return on_own_record(g, now, r);
	struct gmember *e = gossip_find(g, r->key);
	if (e && r->version <= e->rec->version) {
		g->stats.drop_replay++;
		return -EALREADY;
	}
	int err = verify_rec(g, r);
	if (err < 0)
		return err;
	struct gossip_rec *rec = gossip_pool_intern(g->pool, r);
	if (!rec)
		return -ENOMEM;
	if (e) {
		on_changed_record(g, now, e, rec, rebroadcast);
		gossip_rec_unref(g->pool, rec);
		return 0;
	}
	e = gossip_member_add(g, rec, now);
	if (!e)
		return -ENOMEM;
	gossip_emit(g, GOSSIP_EV_JOIN, e);
	if (e->state != GOSSIP_LEFT) {
		if (rebroadcast)
			gossip_bq_rec(g, e->rec, false);
		gossip_check_id_conflict(g, now, e);
	}
	return 0;
}
