/* gossip_pool.c - interning of immutable signed node records.
 *
 * A record is identified by (origin key, version) and compared in full (memcmp of the zeroed
 * struct from `id` on), so two different records with the same version from an equivocating
 * origin are kept apart. Records are refcounted; the last unref unlinks and frees. The pool is
 * a chained hash table that doubles when it gets crowded.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/gossip_int.h"

struct gossip_pool {
	struct gossip_rec **tab;
	size_t cap, n;
};

struct gossip_pool *gossip_pool_new(void)
{
	struct gossip_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cap = 64;
	p->tab = calloc(p->cap, sizeof(*p->tab));
	if (!p->tab) {
		free(p);
		return NULL;
	}
	return p;
}

void gossip_pool_free(struct gossip_pool **pp)
{
	if (!pp || !*pp)
		return;
	struct gossip_pool *p = *pp;
	for (size_t i = 0; i < p->cap; i++) {
		struct gossip_rec *r = p->tab[i];
		while (r) {
			struct gossip_rec *next = r->pool_next;
			free(r);
			r = next;
		}
	}
	free(p->tab);
	free(p);
	*pp = NULL;
}

static size_t rec_hash(const struct gossip_rec *r)
{
	uint64_t h = gossip_key_prefix(r->key) ^ (r->version * 0x9e3779b97f4a7c15ull);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 29;
	return (size_t)h;
}

/* Bytes compared for equality: everything after the bookkeeping fields. */
#define REC_CMP_OFF offsetof(struct gossip_rec, id)
#define REC_CMP_LEN (sizeof(struct gossip_rec) - REC_CMP_OFF)

static bool rec_equal(const struct gossip_rec *a, const struct gossip_rec *b)
{
	return a->version == b->version && a->incarnation == b->incarnation &&
	       memcmp((const uint8_t *)a + REC_CMP_OFF, (const uint8_t *)b + REC_CMP_OFF,
		      REC_CMP_LEN) == 0;
}

static void pool_grow(struct gossip_pool *p)
{
	size_t ncap = p->cap * 2;
	struct gossip_rec **nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return; /* keep the crowded table; still correct */
	for (size_t i = 0; i < p->cap; i++) {
		struct gossip_rec *r = p->tab[i];
		while (r) {
			struct gossip_rec *next = r->pool_next;
			size_t b = rec_hash(r) & (ncap - 1);
			r->pool_next = nt[b];
			nt[b] = r;
			r = next;
		}
	}
	free(p->tab);
	p->tab = nt;
	p->cap = ncap;
}

struct gossip_rec *gossip_pool_intern(struct gossip_pool *p, const struct gossip_rec *r)
{
	size_t b = rec_hash(r) & (p->cap - 1);
	for (struct gossip_rec *x = p->tab[b]; x; x = x->pool_next) {
		if (rec_equal(x, r)) {
			x->refs++;
			return x;
		}
	}
	struct gossip_rec *n = malloc(sizeof(*n));
	if (!n)
		return NULL;
	memcpy(n, r, sizeof(*n));
	n->refs = 1;
	n->has_sig = 1;
	n->wire_len = (uint16_t)gossip_wire_rec_size(n);
	n->pool_next = p->tab[b];
	p->tab[b] = n;
	p->n++;
	if (p->n > p->cap)
		pool_grow(p);
	return n;
}

void gossip_rec_ref(struct gossip_rec *r)
{
	r->refs++;
}

void gossip_rec_unref(struct gossip_pool *p, struct gossip_rec *r)
{
	if (!r || --r->refs > 0)
		return;
	size_t b = rec_hash(r) & (p->cap - 1);
	for (struct gossip_rec **pp = &p->tab[b]; *pp; pp = &(*pp)->pool_next) {
		if (*pp == r) {
			*pp = r->pool_next;
			p->n--;
			break;
		}
	}
	free(r);
}
