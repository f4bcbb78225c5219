/* gossip_sim_engine.h - the event engine of bench/gossip_sim.c (a header because every bench .c file
 * is its own executable; only gossip_sim.c includes it).
 *
 * Time is in microseconds; the cores see milliseconds. Events: packet delivery, a core's
 * deadline (lazily rescheduled: an event whose time is not the node's current schedule is
 * stale and skipped), and each node's load change every ~5 s. Packets are copied once.
 */
#pragma once
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gossip/gossip.h"

struct sim_opts {
	uint32_t nodes;
	uint64_t seconds;
	uint64_t seed;
	double loss;	   /* probability a packet is lost */
	double slow;	   /* fraction of slow nodes */
	double slow_ms;	   /* a slow node handles packets and timers up to this late */
	double lat_base_ms, lat_mean_ms; /* latency = base + exponential(mean) */
	double churn_per_min; /* fraction of nodes replaced per minute (churn scenario) */
	const char *profile;
	const char *scenario;
};

enum { EV_DELIVER, EV_TICK, EV_LOAD };

struct sim_ev {
	uint64_t t, seq;
	uint32_t node, type;
	struct sim_pkt *p;
};

struct sim_pkt {
	uint32_t from, len;
	uint8_t data[];
};

struct sim;

struct snode {
	struct gossip *g;
	struct sim *s;
	uint8_t key[32];
	char addr[24];
	uint32_t idx;
	bool crashed, slow, started;
	uint64_t sched_us;
	uint64_t learned_us;
	uint64_t crash_us, first_susp_us, first_dead_us, all_dead_us;
	uint32_t dead_known;
	uint64_t fp_inc;
	struct gossip_info info;
};

struct sim {
	struct sim_opts o;
	struct gossip_timing timing;
	struct gossip_pool *pool;
	struct snode *node;
	uint32_t n, cap, live;
	uint64_t now_us, seq, rng;
	struct sim_ev *heap;
	size_t nh, hcap;
	bool setup, partitioned;
	/* tracked update */
	bool track_active;
	uint32_t track_origin;
	uint64_t track_version, track_t0;
	/* counters */
	uint64_t false_pos, false_susp, false_susp_slow, lost, delivered;
	uint32_t crashes, joins;
};

struct sim_traffic {
	double msgs_per_node_s, bytes_per_node_s;
	uint64_t false_pos, false_susp;
};

static inline uint64_t sim_rand(struct sim *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline double sim_unif(struct sim *s)
{
	return (double)(sim_rand(s) >> 11) / 9007199254740992.0;
}

/* ---- heap ---- */

static inline bool ev_less(const struct sim_ev *a, const struct sim_ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static inline void sim_push(struct sim *s, uint64_t t, uint32_t node, uint32_t type,
			    struct sim_pkt *p)
{
	if (s->nh == s->hcap) {
		s->hcap = s->hcap ? s->hcap * 2 : 1024;
		s->heap = realloc(s->heap, s->hcap * sizeof(*s->heap));
		if (!s->heap)
			abort();
	}
	struct sim_ev e = { t, s->seq++, node, type, p };
	size_t i = s->nh++;
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (!ev_less(&e, &s->heap[up]))
			break;
		s->heap[i] = s->heap[up];
		i = up;
	}
	s->heap[i] = e;
}

static inline struct sim_ev sim_pop(struct sim *s)
{
	struct sim_ev top = s->heap[0];
	struct sim_ev last = s->heap[--s->nh];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->nh)
			break;
		if (c + 1 < s->nh && ev_less(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!ev_less(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nh)
		s->heap[i] = last;
	return top;
}

/* ---- ops ---- */

static inline uint32_t key_idx(const uint8_t *key)
{
	return (uint32_t)key[28] | (uint32_t)key[29] << 8 | (uint32_t)key[30] << 16 |
	       (uint32_t)key[31] << 24;
}

static inline void fake_sig(const uint8_t *key, const uint8_t *data, size_t len, uint8_t sig[64])
{
	uint64_t h = 0xcbf29ce484222325ull ^ key_idx(key);
	for (size_t i = 0; i < len; i++)
		h = (h ^ data[i]) * 0x100000001b3ull;
	for (int i = 0; i < 8; i++)
		memcpy(sig + 8 * i, &h, 8);
}

static inline void op_sign(void *ctx, const uint8_t *data, size_t len, uint8_t sig[64])
{
	struct snode *nd = ctx;
	fake_sig(nd->key, data, len, sig);
}

static inline int op_verify(void *ctx, const uint8_t pk[32], const uint8_t *data, size_t len,
			    const uint8_t sig[64])
{
	uint8_t s[64];
	fake_sig(pk, data, len, s);
	return memcmp(s, sig, 64) == 0 ? 0 : -1;
}

static inline void sim_resched(struct sim *s, uint32_t i);

static inline void op_send(void *ctx, const char *addr, const uint8_t *to_key, const uint8_t *data,
			   size_t len)
{
	struct snode *src = ctx;
	struct sim *s = src->s;
	if (addr[0] != 'n')
		return;
	uint32_t to = (uint32_t)strtoul(addr + 1, NULL, 10);
	if (to >= s->n || (s->partitioned && (src->idx < s->n / 2) != (to < s->n / 2)) ||
	    sim_unif(s) < s->o.loss) {
		s->lost++;
		return;
	}
	double lat = s->o.lat_base_ms - s->o.lat_mean_ms * log(1.0 - sim_unif(s));
	if (s->node[to].slow)
		lat += sim_unif(s) * s->o.slow_ms;
	struct sim_pkt *p = malloc(sizeof(*p) + len);
	if (!p)
		abort();
	p->from = src->idx;
	p->len = (uint32_t)len;
	memcpy(p->data, data, len);
	sim_push(s, s->now_us + (uint64_t)(lat * 1000.0), to, EV_DELIVER, p);
}

static inline void op_event(void *ctx, enum gossip_event_kind k, const struct gossip_member *m)
{
	struct snode *obs = ctx;
	struct sim *s = obs->s;
	if (s->setup || m->is_self)
		return;
	if ((k == GOSSIP_EV_UPDATE || k == GOSSIP_EV_JOIN) && s->track_active && !obs->learned_us &&
	    m->version >= s->track_version && key_idx(m->pubkey) == s->track_origin)
		obs->learned_us = s->now_us;
	if (k != GOSSIP_EV_STATE)
		return;
	uint32_t v = key_idx(m->pubkey);
	if (v >= s->n)
		return;
	struct snode *x = &s->node[v];
	if (m->state == GOSSIP_DEAD) {
		if (x->crashed) {
			if (!x->first_dead_us)
				x->first_dead_us = s->now_us;
			if (++x->dead_known >= s->live && !x->all_dead_us)
				x->all_dead_us = s->now_us;
		} else if (m->incarnation + 1 > x->fp_inc) {
			s->false_pos++;
			x->fp_inc = m->incarnation + 1;
		}
	} else if (m->state == GOSSIP_SUSPECT && !x->crashed) {
		s->false_susp++;
		s->false_susp_slow += x->slow;
	} else if (m->state == GOSSIP_SUSPECT && !x->first_susp_us) {
		x->first_susp_us = s->now_us;
	}
}

/* ---- nodes ---- */

static inline struct gossip *sim_make_core(struct sim *s, uint32_t i)
{
	struct snode *nd = &s->node[i];
	memset(nd, 0, sizeof(*nd));
	nd->s = s;
	nd->idx = i;
	for (int b = 0; b < 28; b += 8) {
		uint64_t r = sim_rand(s);
		memcpy(nd->key + b, &r, b + 8 <= 28 ? 8 : 4);
	}
	nd->key[28] = (uint8_t)i;
	nd->key[29] = (uint8_t)(i >> 8);
	nd->key[30] = (uint8_t)(i >> 16);
	nd->key[31] = (uint8_t)(i >> 24);
	snprintf(nd->addr, sizeof(nd->addr), "n%u", i);
	struct gossip_info *in = &nd->info;
	snprintf(in->name, sizeof(in->name), "node-%u", i);
	snprintf(in->addr, sizeof(in->addr), "n%u", i);
	snprintf(in->kernel, sizeof(in->kernel), "6.18.0-sim");
	in->cpus = 4;
	in->speed_mhz = 2400;
	in->load_milli = (uint32_t)(sim_rand(s) % 4000);
	in->mem_total_kb = 16u << 20;
	in->mem_free_kb = 8u << 20;
	in->accept_guests = true;
	in->cpu_features = 0x2e7;
	in->xsave_size = 2696;
	struct gossip_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.self_key, nd->key, 32);
	cfg.timing = s->timing;
	cfg.self_id = (uint16_t)(i % 65535 + 1); /* persisted ids: no start-up conflict storm */
	cfg.seed = s->o.seed * 1000003 + i;
	cfg.pool = s->pool;
	cfg.ops = (struct gossip_ops){ .ctx = nd, .send = op_send, .sign = op_sign,
				       .verify = op_verify, .event = op_event };
	nd->slow = sim_unif(s) < s->o.slow;
	nd->g = gossip_new(&cfg, in, s->now_us / 1000);
	if (!nd->g)
		abort();
	nd->started = true;
	s->live++;
	return nd->g;
}

static inline void sim_resched(struct sim *s, uint32_t i)
{
	struct snode *nd = &s->node[i];
	if (nd->crashed)
		return;
	uint64_t t = gossip_next_deadline(nd->g) * 1000;
	if (t <= s->now_us)
		t = s->now_us + 1000; /* the cores count in ms */
	if (nd->slow)
		t += (uint64_t)(sim_unif(s) * s->o.slow_ms * 1000.0);
	if (t == nd->sched_us)
		return;
	nd->sched_us = t;
	sim_push(s, t, i, EV_TICK, NULL);
}

static inline void sim_load_change(struct sim *s, uint32_t i)
{
	struct snode *nd = &s->node[i];
	if (nd->crashed)
		return;
	double f = 0.7 + 0.6 * sim_unif(s);
	uint32_t l = (uint32_t)(nd->info.load_milli * f) + (uint32_t)(sim_rand(s) % 200);
	nd->info.load_milli = l > 64000 ? 64000 : l;
	nd->info.mem_free_kb = (8u << 20) + sim_rand(s) % (1u << 20);
	gossip_set_info(nd->g, s->now_us / 1000, &nd->info);
	sim_resched(s, i);
	sim_push(s, s->now_us + 4000000 + sim_rand(s) % 2000000, i, EV_LOAD, NULL);
}

static inline void sim_step(struct sim *s)
{
	struct sim_ev e = sim_pop(s);
	s->now_us = e.t;
	struct snode *nd = &s->node[e.node];
	switch (e.type) {
	case EV_DELIVER:
		if (!nd->crashed) {
			s->delivered++;
			(void)gossip_handle(nd->g, s->now_us / 1000, e.p->data, e.p->len,
					    s->node[e.p->from].key, 32);
			sim_resched(s, e.node);
		}
		free(e.p);
		break;
	case EV_TICK:
		if (nd->crashed || e.t != nd->sched_us)
			break;
		nd->sched_us = 0;
		gossip_tick(nd->g, s->now_us / 1000);
		sim_resched(s, e.node);
		break;
	case EV_LOAD:
		sim_load_change(s, e.node);
		break;
	}
}

static inline void sim_run_for(struct sim *s, uint64_t ms)
{
	uint64_t end = s->now_us + ms * 1000;
	while (s->nh && s->heap[0].t <= end)
		sim_step(s);
	s->now_us = end;
}

static inline struct sim *sim_new(const struct sim_opts *o, const struct gossip_timing *t)
{
	struct sim *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->o = *o;
	s->rng = o->seed;
	if (t)
		s->timing = *t;
	else if (gossip_timing_by_name(o->profile, &s->timing) < 0)
		abort();
	s->pool = gossip_pool_new();
	s->cap = o->nodes + o->nodes / 2 + 16;
	s->node = calloc(s->cap, sizeof(*s->node));
	if (!s->pool || !s->node)
		abort();
	s->n = o->nodes;
	s->now_us = 1000000;
	s->setup = true;
	for (uint32_t i = 0; i < s->n; i++)
		sim_make_core(s, i);
	/* start converged: every core learns every other's record directly */
	for (uint32_t i = 0; i < s->n; i++)
		for (uint32_t j = 0; j < s->n; j++)
			if (i != j && gossip_learn_from(s->node[i].g, s->now_us / 1000,
							s->node[j].g) < 0)
				abort();
	s->setup = false;
	for (uint32_t i = 0; i < s->n; i++) {
		sim_resched(s, i);
		sim_push(s, s->now_us + sim_rand(s) % 5000000, i, EV_LOAD, NULL);
	}
	return s;
}

static inline void sim_free(struct sim **sp)
{
	struct sim *s = *sp;
	for (uint32_t i = 0; i < s->n; i++)
		gossip_free(&s->node[i].g);
	for (size_t i = 0; i < s->nh; i++)
		free(s->heap[i].p);
	free(s->heap);
	free(s->node);
	gossip_pool_free(&s->pool);
	free(s);
	*sp = NULL;
}

static inline void sim_crash(struct sim *s, uint32_t i)
{
	if (s->node[i].crashed)
		return;
	s->node[i].crashed = true;
	s->node[i].crash_us = s->now_us;
	s->live--;
	s->crashes++;
}

static inline void sim_partition(struct sim *s, bool on)
{
	s->partitioned = on;
}

static inline void sim_track_start(struct sim *s, uint32_t origin)
{
	for (uint32_t i = 0; i < s->n; i++)
		s->node[i].learned_us = 0;
	struct snode *nd = &s->node[origin];
	snprintf(nd->info.name, sizeof(nd->info.name), "node-%u-%" PRIu64, origin,
		 s->now_us / 1000);
	s->track_active = true;
	s->track_origin = origin;
	s->track_t0 = s->now_us;
	s->track_version = gossip_self_version(nd->g) + 1;
	gossip_set_info(nd->g, s->now_us / 1000, &nd->info);
	nd->learned_us = s->now_us;
	sim_resched(s, origin);
}

static inline void sim_track_stop(struct sim *s)
{
	s->track_active = false;
}

static inline void sim_sum_tx(struct sim *s, uint64_t *msgs, uint64_t *bytes)
{
	*msgs = *bytes = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		const struct gossip_stats *st = gossip_get_stats(s->node[i].g);
		*msgs += st->tx_msgs;
		*bytes += st->tx_bytes;
	}
}

static inline struct sim_traffic sim_traffic(struct sim *s, uint64_t ms)
{
	uint64_t m0, b0, m1, b1, fp0 = s->false_pos, fs0 = s->false_susp;
	sim_sum_tx(s, &m0, &b0);
	sim_run_for(s, ms);
	sim_sum_tx(s, &m1, &b1);
	struct sim_traffic t;
	double d = (double)s->live * (double)ms / 1000.0;
	t.msgs_per_node_s = (double)(m1 - m0) / d;
	t.bytes_per_node_s = (double)(b1 - b0) / d;
	t.false_pos = s->false_pos - fp0;
	t.false_susp = s->false_susp - fs0;
	return t;
}

/* Seconds until every live node holds exactly the live nodes as alive/suspect (-1: never). */
static inline double sim_run_until_converged(struct sim *s, uint64_t max_ms)
{
	for (uint64_t t = 0; t <= max_ms; t += 1000) {
		bool ok = true;
		for (uint32_t i = 0; i < s->n && ok; i++)
			if (!s->node[i].crashed && gossip_live_count(s->node[i].g) != s->live)
				ok = false;
		if (ok)
			return (double)t / 1000.0;
		sim_run_for(s, 1000);
	}
	return -1;
}

/* Replace churn_per_min of the nodes per minute: crash one, start a fresh one that joins
 * through three random live nodes. */
static inline struct sim_traffic sim_churn(struct sim *s, uint64_t ms)
{
	double per_s = s->o.churn_per_min * s->n / 60.0;
	double acc = 0;
	uint64_t m0, b0, m1, b1, fp0 = s->false_pos;
	sim_sum_tx(s, &m0, &b0);
	for (uint64_t t = 0; t < ms; t += 1000) {
		for (acc += per_s; acc >= 1.0 && s->n < s->cap; acc -= 1.0) {
			uint32_t v;
			do
				v = (uint32_t)(sim_rand(s) % s->n);
			while (s->node[v].crashed);
			sim_crash(s, v);
			uint32_t j = s->n++;
			sim_make_core(s, j);
			const char *boot[3];
			for (int b = 0; b < 3; b++) {
				uint32_t x;
				do
					x = (uint32_t)(sim_rand(s) % j);
				while (s->node[x].crashed);
				boot[b] = s->node[x].addr;
			}
			gossip_join(s->node[j].g, s->now_us / 1000, boot, 3);
			sim_resched(s, j);
			sim_push(s, s->now_us + 5000000, j, EV_LOAD, NULL);
			s->joins++;
		}
		sim_run_for(s, 1000);
	}
	sim_sum_tx(s, &m1, &b1);
	struct sim_traffic t;
	double d = (double)s->live * (double)ms / 1000.0;
	t.msgs_per_node_s = (double)(m1 - m0) / d;
	t.bytes_per_node_s = (double)(b1 - b0) / d;
	t.false_pos = s->false_pos - fp0;
	t.false_susp = 0;
	return t;
}

static inline void sim_print_stats(struct sim *s)
{
	struct gossip_stats t = { 0 };
	uint64_t failed_by_slow = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		const struct gossip_stats *st = gossip_get_stats(s->node[i].g);
		if (s->node[i].slow)
			failed_by_slow += st->probe_failures;
		t.probes += st->probes;
		t.probe_failures += st->probe_failures;
		t.suspicions += st->suspicions;
		t.false_suspicions_refuted += st->false_suspicions_refuted;
		t.deaths += st->deaths;
		t.pushpulls += st->pushpulls;
		t.drop_replay += st->drop_replay;
		t.drop_badsig += st->drop_badsig;
		t.drop_malformed += st->drop_malformed;
		t.tx_bytes += st->tx_bytes;
		t.tx_probe_bytes += st->tx_probe_bytes;
		t.tx_gossip_bytes += st->tx_gossip_bytes;
		t.tx_pushpull_bytes += st->tx_pushpull_bytes;
		t.pb_member_bytes += st->pb_member_bytes;
		t.pb_load_bytes += st->pb_load_bytes;
		t.pb_acc_bytes += st->pb_acc_bytes;
	}
	long rss_pages = 0;
	FILE *f = fopen("/proc/self/statm", "re");
	if (f) {
		long size;
		if (fscanf(f, "%ld %ld", &size, &rss_pages) != 2)
			rss_pages = 0;
		fclose(f);
	}
	printf("totals: probes %" PRIu64 ", failed %" PRIu64 ", suspicions %" PRIu64
	       ", refuted %" PRIu64 ", deaths %" PRIu64 ", push/pulls %" PRIu64
	       ", replays dropped %" PRIu64 ", bad sigs %" PRIu64 ", malformed %" PRIu64
	       "; packets delivered %" PRIu64 ", lost %" PRIu64 "; RSS %.0f MiB\n",
	       t.probes, t.probe_failures, t.suspicions, t.false_suspicions_refuted, t.deaths,
	       t.pushpulls, t.drop_replay, t.drop_badsig, t.drop_malformed, s->delivered, s->lost,
	       rss_pages * 4096.0 / 1048576.0);
	printf("failed probes by slow nodes %" PRIu64 " of %" PRIu64 "; suspicions of live nodes "
	       "(summed over views) that were slow %" PRIu64 " of %" PRIu64 "\n",
	       failed_by_slow, t.probe_failures, s->false_susp_slow, s->false_susp);
	double b = t.tx_bytes ? (double)t.tx_bytes / 100.0 : 1.0;
	printf("bytes sent (whole run): probes %.1f%%, gossip %.1f%%, push/pull %.1f%%; "
	       "piggybacked in them: membership records %.1f%%, load records %.1f%%, "
	       "accusations %.1f%%\n",
	       t.tx_probe_bytes / b, t.tx_gossip_bytes / b, t.tx_pushpull_bytes / b,
	       t.pb_member_bytes / b, t.pb_load_bytes / b, t.pb_acc_bytes / b);
}

static inline int sim_parse_opts(int argc, char **argv, struct sim_opts *o)
{
	*o = (struct sim_opts){ .nodes = 1000, .seconds = 60, .seed = 1, .slow_ms = 200,
				.lat_base_ms = 0.2, .lat_mean_ms = 0.5, .churn_per_min = 0.01,
				.profile = "lan", .scenario = "fp" };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v && strcmp(a, "--help") != 0) {
			fprintf(stderr, "%s needs a value\n", a);
			return -EINVAL;
		}
		if (strcmp(a, "--nodes") == 0)
			o->nodes = (uint32_t)strtoul(v, NULL, 10);
		else if (strcmp(a, "--seconds") == 0)
			o->seconds = strtoull(v, NULL, 10);
		else if (strcmp(a, "--seed") == 0)
			o->seed = strtoull(v, NULL, 10);
		else if (strcmp(a, "--loss") == 0)
			o->loss = strtod(v, NULL);
		else if (strcmp(a, "--slow") == 0)
			o->slow = strtod(v, NULL);
		else if (strcmp(a, "--slow-ms") == 0)
			o->slow_ms = strtod(v, NULL);
		else if (strcmp(a, "--latency-ms") == 0)
			o->lat_mean_ms = strtod(v, NULL);
		else if (strcmp(a, "--churn") == 0)
			o->churn_per_min = strtod(v, NULL);
		else if (strcmp(a, "--profile") == 0)
			o->profile = v;
		else if (strcmp(a, "--scenario") == 0)
			o->scenario = v;
		else {
			fprintf(stderr,
				"usage: gossip_sim [--nodes N] [--seconds S] [--seed X] [--loss P]\n"
				"  [--slow FRACTION] [--slow-ms MS] [--latency-ms MEAN] [--churn F]\n"
				"  [--profile lan|wan]\n"
				"  [--scenario update|failure|fp|partition|churn|goals]\n");
			return -EINVAL;
		}
		i++;
	}
	struct gossip_timing t;
	if (o->nodes < 4 || gossip_timing_by_name(o->profile, &t) < 0 || o->loss < 0 ||
	    o->loss >= 1) {
		fprintf(stderr, "bad options\n");
		return -EINVAL;
	}
	return 0;
}
