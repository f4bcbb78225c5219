/* gossip_pushpull.c - scuttlebutt-style anti-entropy and joining.
 *
 *   A                                   B
 *   |-- PushPull{digest of page p} ---->|   digest = (key prefix, version) of members in page p
 *   |<- PushPull{RESPONSE, records B    |   records: what A lacks or holds older
 *   |            has newer, wants} -----|   wants: digest entries where B lacks or is older
 *   |-- PushPull{RECORDS, wanted} ----->|
 *
 * A page is the set of members whose key prefix has `page` in its top `page_bits` bits; the
 * page count grows with the cluster so a digest stays below GOSSIP_PP_DIGEST_MAX entries (a
 * 10,000-member digest would not fit a datagram). Dead members are left out of digests and
 * responses (their records look alive to a receiver). Records pulled this way are old news and
 * are not re-broadcast, except the joiner's own record, which the bootstrap announces.
 *
 * Join: PushPull{JOIN, records = our record} to each bootstrap address with no key (the address
 * is all we know); the answer carries every record the bootstrap holds, split in packets.
 *
 * A periodic exchange that got no answer within two probe intervals is started again with
 * another random member, up to GOSSIP_PP_RETRIES times per period.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/gossip_int.h"

static uint32_t page_bits(const struct gossip *g)
{
	uint32_t bits = 0;
	while (bits < 16 && (g->n >> bits) > GOSSIP_PP_DIGEST_MAX)
		bits++;
	return bits;
}

static bool in_page(const uint8_t key[GOSSIP_KEY_LEN], uint32_t bits, uint32_t page)
{
	return bits == 0 || (uint32_t)(gossip_key_prefix(key) >> (64 - bits)) == page;
}

static bool shareable(const struct gossip *g, const struct gmember *e)
{
	return e->state != GOSSIP_DEAD;
}

/* Send records (and, in the first packet, a digest) in as many packets as needed. */
static void send_records(struct gossip *g, const char *addr, const uint8_t *to_key,
			 uint32_t flags, uint32_t bits, uint32_t page, struct gw_digest *dig,
			 size_t n_dig, const struct gossip_rec **recs, size_t n_recs)
{
	size_t i = 0;
	bool first = true;
	while (first || i < n_recs) {
		struct gw_msg m;
		memset(&m, 0, sizeof(m));
		m.body = GW_PUSHPULL;
		m.pp_flags = flags;
		m.pp_page_bits = bits;
		m.pp_page = page;
		size_t budget = GOSSIP_PP_BUDGET;
		if (first) {
			m.digest = dig;
			m.n_digest = n_dig;
			budget -= n_dig * 16 < budget / 2 ? n_dig * 16 : budget / 2;
		}
		size_t start = i;
		while (i < n_recs && (size_t)recs[i]->wire_len + 8 <= budget) {
			budget -= recs[i]->wire_len + 8;
			i++;
		}
		if (i == start && i < n_recs && !first)
			i++; /* cannot happen with bounded records; never loop forever */
		m.out_recs = recs + start;
		m.n_recs = i - start;
		if (!first)
			m.pp_flags |= GW_PP_RECORDS;
		gossip_send_msg(g, addr, to_key, &m, false);
		first = false;
	}
}

static size_t build_digest(struct gossip *g, uint32_t bits, uint32_t page, struct gw_digest *d)
{
	size_t n = 0;
	for (size_t i = 0; i < g->n; i++) {
		struct gmember *e = &g->m[i];
		if (!shareable(g, e) || !in_page(e->rec->key, bits, page))
			continue;
		d[n].key = gossip_key_prefix(e->rec->key);
		d[n].version = e->rec->version;
		n++;
	}
	return n;
}

void gossip_pp_send_join(struct gossip *g, uint64_t now)
{
	const struct gossip_rec *self = g->self;
	for (size_t i = 0; i < g->n_join; i++) {
		if (strcmp(g->join_addrs[i], self->info.addr) == 0)
			continue;
		send_records(g, g->join_addrs[i], NULL, GW_PP_JOIN, 0, 0, NULL, 0, &self, 1);
		g->stats.pushpulls++;
	}
	g->next_join_ms = now + 2 * (uint64_t)g->t.probe_interval_ms + 1000;
}

/* Start the period's exchange with a random member (other than `not`) and wait for its answer:
 * a lost request or answer would otherwise leave us a whole period behind (at 20 % loss a third
 * of the exchanges). */
static void pp_exchange(struct gossip *g, uint64_t now, const uint8_t *not)
{
	g->pp_waiting = false;
	struct gmember *e = gossip_random_member(g, not);
	if (!e || g->leaving)
		return;
	char addr[GOSSIP_ADDR_MAX];
	uint8_t key[GOSSIP_KEY_LEN];
	memcpy(addr, e->rec->info.addr, sizeof(addr));
	memcpy(key, e->rec->key, sizeof(key));
	gossip_pp_start(g, now, addr, key);
	g->pp_waiting = true;
	memcpy(g->pp_wait_key, key, GOSSIP_KEY_LEN);
	g->pp_wait_ms = now + 2ull * g->t.probe_interval_ms;
}

uint64_t gossip_pp_deadline(const struct gossip *g)
{
	return g->pp_waiting ? g->pp_wait_ms : UINT64_MAX;
}

void gossip_pp_tick(struct gossip *g, uint64_t now)
{
	if (g->n_join && !g->joined && !g->leaving && now >= g->next_join_ms)
		gossip_pp_send_join(g, now);
	if (g->pp_waiting && now >= g->pp_wait_ms) {
		g->pp_waiting = false;
		if (g->pp_retries > 0) {
			g->pp_retries--;
			g->stats.pushpull_retries++;
			uint8_t not[GOSSIP_KEY_LEN];
			memcpy(not, g->pp_wait_key, GOSSIP_KEY_LEN);
			pp_exchange(g, now, not);
		}
	}
	if (!g->t.pushpull_interval_ms || now < g->next_pushpull_ms)
		return;
	/* jitter +-10 % so nodes started together do not synchronise */
	uint64_t iv = g->t.pushpull_interval_ms;
	g->next_pushpull_ms = now + iv - iv / 10 + gossip_rand(g) % (iv / 5 + 1);
	if (!g->leaving)
		gossip_swim_reconnect(g, now);
	g->pp_retries = GOSSIP_PP_RETRIES;
	pp_exchange(g, now, NULL);
}

void gossip_pp_start(struct gossip *g, uint64_t now, const char *addr, const uint8_t *key)
{
	uint32_t bits = page_bits(g);
	uint32_t page = bits ? g->pp_page++ & ((1u << bits) - 1) : 0;
	struct gw_digest *d = calloc(g->n + 1, sizeof(*d));
	if (!d)
		return;
	size_t n = build_digest(g, bits, page, d);
	if (n > GOSSIP_PP_DIGEST_MAX * 2)
		n = GOSSIP_PP_DIGEST_MAX * 2; /* a skewed page: the rest waits for another round */
	send_records(g, addr, key, 0, bits, page, d, n, NULL, 0);
	g->stats.pushpulls++;
	free(d);
}

/* Digest lookup table: open addressing over the digest's key prefixes. */
struct dtab {
	size_t cap;
	uint32_t *slot; /* digest index + 1 */
};

static int dtab_build(struct dtab *t, const struct gw_digest *d, size_t n)
{
	t->cap = 16;
	while (t->cap < 2 * n)
		t->cap *= 2;
	t->slot = calloc(t->cap, sizeof(*t->slot));
	if (!t->slot)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t h = (size_t)(d[i].key * 0x9e3779b97f4a7c15ull >> 20) & (t->cap - 1);
		while (t->slot[h])
			h = (h + 1) & (t->cap - 1);
		t->slot[h] = (uint32_t)i + 1;
	}
	return 0;
}

static const struct gw_digest *dtab_find(const struct dtab *t, const struct gw_digest *d,
					 uint64_t key)
{
	size_t h = (size_t)(key * 0x9e3779b97f4a7c15ull >> 20) & (t->cap - 1);
	while (t->slot[h]) {
		if (d[t->slot[h] - 1].key == key)
			return &d[t->slot[h] - 1];
		h = (h + 1) & (t->cap - 1);
	}
	return NULL;
}

static void respond(struct gossip *g, const struct gw_msg *m, const struct gmember *to)
{
	bool join = m->pp_flags & GW_PP_JOIN;
	const struct gossip_rec **recs = calloc(g->n + 1, sizeof(*recs));
	struct gw_digest *wants = calloc(m->n_digest + 1, sizeof(*wants));
	struct dtab t = { 0 };
	if (!recs || !wants || dtab_build(&t, m->digest, m->n_digest) < 0)
		goto out;
	size_t nr = 0, nw = 0;
	for (size_t i = 0; i < g->n; i++) {
		const struct gmember *e = &g->m[i];
		if (e == to) { /* a restarted joiner must see its old record to jump past it */
			if (join)
				recs[nr++] = e->rec;
			continue;
		}
		if (!shareable(g, e))
			continue;
		if (!join && !in_page(e->rec->key, m->pp_page_bits, m->pp_page))
			continue;
		const struct gw_digest *d = dtab_find(&t, m->digest, gossip_key_prefix(e->rec->key));
		if (!d || d->version < e->rec->version)
			recs[nr++] = e->rec;
	}
	for (size_t i = 0; i < m->n_digest; i++) {
		const struct gmember *e = gossip_find_prefix(g, m->digest[i].key);
		if (!e || e->rec->version < m->digest[i].version) {
			wants[nw].key = m->digest[i].key;
			wants[nw].version = e ? e->rec->version : 0;
			nw++;
		}
	}
	char addr[GOSSIP_ADDR_MAX];
	uint8_t key[GOSSIP_KEY_LEN];
	memcpy(addr, to->rec->info.addr, sizeof(addr));
	memcpy(key, to->rec->key, sizeof(key));
	send_records(g, addr, key, GW_PP_RESPONSE | (join ? GW_PP_JOIN : 0), m->pp_page_bits,
		     m->pp_page, wants, nw, recs, nr);
out:
	free(t.slot);
	free(recs);
	free(wants);
}

static void send_wanted(struct gossip *g, const struct gw_msg *m, const struct gmember *to)
{
	const struct gossip_rec **recs = calloc(m->n_digest + 1, sizeof(*recs));
	if (!recs)
		return;
	size_t nr = 0;
	for (size_t i = 0; i < m->n_digest; i++) {
		const struct gmember *e = gossip_find_prefix(g, m->digest[i].key);
		if (e && shareable(g, e) && e->rec->version > m->digest[i].version)
			recs[nr++] = e->rec;
	}
	if (nr) {
		char addr[GOSSIP_ADDR_MAX];
		uint8_t key[GOSSIP_KEY_LEN];
		memcpy(addr, to->rec->info.addr, sizeof(addr));
		memcpy(key, to->rec->key, sizeof(key));
		send_records(g, addr, key, GW_PP_RECORDS, 0, 0, NULL, 0, recs, nr);
	}
	free(recs);
}

void gossip_pp_on_msg(struct gossip *g, uint64_t now, const struct gw_msg *m)
{
	bool request = !(m->pp_flags & (GW_PP_RESPONSE | GW_PP_RECORDS));
	bool announce = request && (m->pp_flags & GW_PP_JOIN);
	for (size_t i = 0; i < m->n_recs; i++)
		if (gossip_on_record(g, now, &m->recs[i], announce) == -EALREADY)
			gossip_check_stale_origin(g, now, &m->recs[i], m->sender);
	const struct gmember *from = gossip_find(g, m->sender);
	if (!from)
		return; /* we cannot answer someone we do not know */
	if (!announce && (from->state == GOSSIP_DEAD || from->state == GOSSIP_LEFT))
		return;
	if (request) {
		respond(g, m, from);
	} else if (m->pp_flags & GW_PP_RESPONSE) {
		if (g->pp_waiting && memcmp(m->sender, g->pp_wait_key, GOSSIP_KEY_LEN) == 0)
			g->pp_waiting = false;
		if (m->pp_flags & GW_PP_JOIN) {
			g->joined = true;
			/* the rest of the answer is on its way: settle our id once it is in */
			uint64_t t = now + g->t.probe_timeout_ms;
			if (g->id_provisional && t < g->id_settle_ms)
				g->id_settle_ms = t;
		}
		if (m->n_digest)
			send_wanted(g, m, from);
	}
}
