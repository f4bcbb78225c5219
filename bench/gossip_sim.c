/* gossip_sim.c - discrete-event simulator driving the real gossip core for 1,000-10,000 nodes.
 *
 * Every node is a struct gossip from gossip/ (the same code omxd runs); the simulator only
 * replaces the network and the clock: a binary heap of events (packet deliveries and each
 * core's next deadline) in microseconds, seeded loss, latency (base + exponential tail),
 * slow nodes (extra inbound delay), partitions (two halves) and churn (crashes and joins).
 * Signatures are a cheap keyed checksum of 64 bytes (so bandwidth counts a real signature's
 * size), peer_check is off. All cores share one record pool, so 10,000 x 10,000 member entries
 * take 24 bytes each plus one copy of every live record.
 *
 * Usage: gossip_sim [--nodes N] [--seconds S] [--seed X] [--loss P] [--slow F] [--profile lan|wan]
 *                   [--scenario update|failure|fp|partition|churn|goals] [--baseline KIND]
 * Scenarios print their figures; `goals` runs the goals at --nodes (default 1,000)
 * and prints each figure next to a baseline from the same run, with PASS/FAIL.
 * The engine is in bench/gossip_sim_engine.h; scenarios are below.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/gossip_sim_engine.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(uint64_t *v, size_t n, double p)
{
	if (!n)
		return -1;
	qsort(v, n, sizeof(*v), cmp_u64);
	size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return (double)v[i] / 1e6; /* us -> s */
}

/* ---- dissemination ---- */

struct dissem {
	double t50, t99, t100; /* seconds, worst over the updates; t100 < 0: never complete */
	double avg50, avg99, avg100;
	double reached_pct;    /* mean % of live nodes reached by the end of the window */
	int complete;	       /* updates that reached every live node */
	int updates;
};

static struct dissem run_dissemination(struct sim *s, int updates, uint64_t window_ms)
{
	struct dissem d = { 0 };
	d.updates = updates;
	uint64_t *lt = calloc(s->n, sizeof(*lt));
	for (int u = 0; u < updates; u++) {
		uint32_t origin = (uint32_t)(sim_rand(s) % s->n);
		while (s->node[origin].crashed)
			origin = (uint32_t)(sim_rand(s) % s->n);
		sim_track_start(s, origin);
		sim_run_for(s, window_ms);
		size_t k = 0, live = 0;
		for (uint32_t i = 0; i < s->n; i++) {
			if (s->node[i].crashed)
				continue;
			live++;
			if (s->node[i].learned_us)
				lt[k++] = s->node[i].learned_us - s->track_t0;
		}
		sim_track_stop(s);
		double t50 = k * 2 >= live ? pct(lt, k, 50.0 * (double)live / (double)k) : -1;
		double t99 = k * 100 >= live * 99 ? pct(lt, k, 99.0 * (double)live / (double)k) : -1;
		double t100 = k == live ? pct(lt, k, 100) : -1;
		if (t100 >= 0)
			d.complete++;
		d.reached_pct += 100.0 * (double)k / (double)live / updates;
		if (t50 > d.t50 || t50 < 0)
			d.t50 = t50 < 0 || d.t50 < 0 ? -1 : t50;
		if (d.t99 >= 0 && (t99 > d.t99 || t99 < 0))
			d.t99 = t99;
		if (d.t100 >= 0 && (t100 > d.t100 || t100 < 0))
			d.t100 = t100;
		d.avg50 += t50 / updates;
		d.avg99 += t99 / updates;
		d.avg100 += t100 / updates;
	}
	free(lt);
	return d;
}

static void print_dissem(const char *label, const struct dissem *d)
{
	printf("%-34s 50%%: worst %6.3f s  99%%: worst %6.3f s  100%%: worst %6.3f s  "
	       "complete %d/%d  reached %.2f%%\n",
	       label, d->t50, d->t99, d->t100, d->complete, d->updates, d->reached_pct);
}

/* ---- failure detection ---- */

struct detect {
	double susp_med, susp_p99;   /* crash -> first SUSPECT anywhere */
	double first_med, first_p99; /* crash -> first DEAD anywhere */
	double all_med, all_p99;     /* crash -> every live node holds it dead */
	int undetected;
	int victims;
};

static struct detect run_failures(struct sim *s, int victims, uint64_t spacing_ms,
				  uint64_t tail_ms)
{
	struct detect r = { 0 };
	r.victims = victims;
	uint32_t *v = calloc((size_t)victims, sizeof(*v));
	for (int i = 0; i < victims; i++) {
		uint32_t x;
		do
			x = (uint32_t)(sim_rand(s) % s->n);
		while (s->node[x].crashed || s->node[x].slow);
		v[i] = x;
		sim_crash(s, x);
		sim_run_for(s, spacing_ms);
	}
	sim_run_for(s, tail_ms);
	uint64_t *first = calloc((size_t)victims, sizeof(*first));
	uint64_t *all = calloc((size_t)victims, sizeof(*all));
	uint64_t *susp = calloc((size_t)victims, sizeof(*susp));
	size_t nf = 0, na = 0, ns = 0;
	for (int i = 0; i < victims; i++) {
		struct snode *x = &s->node[v[i]];
		susp[ns++] = x->first_susp_us ? x->first_susp_us - x->crash_us : UINT64_MAX / 2;
		if (!x->first_dead_us) {
			r.undetected++;
			first[nf++] = UINT64_MAX / 2;
			continue;
		}
		first[nf++] = x->first_dead_us - x->crash_us;
		if (x->all_dead_us)
			all[na++] = x->all_dead_us - x->crash_us;
	}
	r.susp_med = pct(susp, ns, 50);
	r.susp_p99 = pct(susp, ns, 99);
	free(susp);
	r.first_med = pct(first, nf, 50);
	r.first_p99 = pct(first, nf, 99);
	r.all_med = na ? pct(all, na, 50) : -1;
	r.all_p99 = na == nf ? pct(all, na, 99) : -1;
	free(first);
	free(all);
	free(v);
	return r;
}

static void print_detect(const char *label, const struct detect *d)
{
	printf("%-34s first SUSPECT: median %5.2f s  p99 %5.2f s  first DEAD: median %6.2f s  "
	       "p99 %6.2f s   everyone: median %6.2f s  p99 %6.2f s  undetected %d/%d\n",
	       label, d->susp_med, d->susp_p99, d->first_med, d->first_p99, d->all_med,
	       d->all_p99, d->undetected, d->victims);
}

/* ---- traffic ---- */

static void print_traffic(const char *label, const struct sim_traffic *t)
{
	printf("%-34s %.1f msgs/s and %.0f B/s sent per node, false positives %" PRIu64
	       ", suspicions of live nodes (summed over views) %" PRIu64 "\n",
	       label, t->msgs_per_node_s, t->bytes_per_node_s, t->false_pos, t->false_susp);
}

/* ---- goals ---- */

static int verdict(const char *what, double v, double limit, double base, const char *unit)
{
	bool ok = v >= 0 && v <= limit;
	printf("  %-52s %9.3f %-4s (goal <= %g, baseline %9.3f)  %s\n", what, v, unit, limit,
	       base, ok ? "PASS" : "FAIL");
	return ok ? 0 : 1;
}

static void tm_memberlist(struct gossip_timing *t)
{
	gossip_timing_lan(t);
	t->probe_interval_ms = 1000;
	t->probe_timeout_ms = 500;
	t->indirect_checks = 3;
	t->suspicion_mult = 4;
	t->suspicion_max_mult = 6;
	t->gossip_interval_ms = 200;
	t->gossip_fanout = 3;
	t->retransmit_mult = 4;
}

static void tm_no_lifeguard(struct gossip_timing *t)
{
	gossip_timing_lan(t);
	t->awareness_max = 1;	  /* no local health multiplier */
	t->suspicion_max_mult = 1; /* fixed suspicion timeout, confirmations change nothing */
}

static int goals(const struct sim_opts *o0)
{
	struct sim_opts o = *o0;
	int fails = 0;
	printf("== goals at %u nodes, profile %s, seed %" PRIu64 " ==\n", o.nodes, o.profile,
	       o.seed);

	/* 1. dissemination without loss: ours vs memberlist defaults */
	struct sim *s = sim_new(&o, NULL);
	sim_run_for(s, 5000);
	struct dissem d = run_dissemination(s, 20, 5000);
	struct sim_traffic tr = sim_traffic(s, 60000);
	sim_free(&s);
	struct gossip_timing ml;
	tm_memberlist(&ml);
	s = sim_new(&o, &ml);
	sim_run_for(s, 5000);
	struct dissem db = run_dissemination(s, 20, 5000);
	struct sim_traffic trb = sim_traffic(s, 60000);
	sim_free(&s);
	print_dissem("update, 0% loss", &d);
	print_dissem("  baseline memberlist timing", &db);

	/* 2. 20 % loss: ours vs push-only */
	struct sim_opts ol = o;
	ol.loss = 0.20;
	s = sim_new(&ol, NULL);
	sim_run_for(s, 5000);
	uint32_t pp = s->timing.pushpull_interval_ms;
	struct dissem dl = run_dissemination(s, 5, pp + pp / 10);
	sim_free(&s);
	struct gossip_timing nopp;
	if (gossip_timing_by_name(o.profile, &nopp) < 0)
		return 2;
	nopp.pushpull_interval_ms = 0;
	s = sim_new(&ol, &nopp);
	sim_run_for(s, 5000);
	struct dissem dlb = run_dissemination(s, 5, pp + pp / 10);
	sim_free(&s);
	print_dissem("update, 20% loss", &dl);
	print_dissem("  baseline push only", &dlb);

	/* 3. failure detection: ours vs memberlist timing */
	s = sim_new(&o, NULL);
	sim_run_for(s, 5000);
	struct detect fd = run_failures(s, 40, 1500, 30000);
	sim_free(&s);
	s = sim_new(&o, &ml);
	sim_run_for(s, 5000);
	struct detect fdb = run_failures(s, 40, 1500, 60000);
	sim_free(&s);
	print_detect("failure detection", &fd);
	print_detect("  baseline memberlist timing", &fdb);

	/* 4. false positives: 10 simulated minutes, 10 % loss, 5 % slow nodes */
	struct sim_opts of = o;
	of.loss = 0.10;
	of.slow = 0.05;
	s = sim_new(&of, NULL);
	sim_run_for(s, 5000);
	struct sim_traffic tf = sim_traffic(s, 600000);
	uint64_t fp = tf.false_pos;
	print_traffic("10 min, 10% loss, 5% slow", &tf);
	sim_free(&s);
	struct gossip_timing nl;
	tm_no_lifeguard(&nl);
	s = sim_new(&of, &nl);
	sim_run_for(s, 5000);
	struct sim_traffic tfb = sim_traffic(s, 600000);
	uint64_t fpb = tfb.false_pos;
	print_traffic("  baseline without Lifeguard", &tfb);
	sim_free(&s);
	print_traffic("steady state, 0% loss", &tr);
	print_traffic("  baseline memberlist timing", &trb);

	printf("\n== verdict (%u nodes) ==\n", o.nodes);
	fails += verdict("update reaches 99% of nodes (worst of 20), s", d.t99, 1.0, db.t99, "s");
	fails += verdict("update reaches every node (worst of 20), s", d.t100, 1.0, db.t100, "s");
	fails += verdict("20% loss: time to reach every node (worst of 5), s", dl.t100, pp / 1000.0,
			 dlb.t100 < 0 ? 1e9 : dlb.t100, "s");
	printf("  %-52s %8.2f%%  (baseline push only %.2f%%)\n",
	       "20% loss: nodes reached within the push/pull period", dl.reached_pct,
	       dlb.reached_pct);
	fails += verdict("failure detection median, s", fd.first_med, 3.0, fdb.first_med, "s");
	fails += verdict("failure detection p99, s", fd.first_p99, 6.0, fdb.first_p99, "s");
	fails += verdict("false positives in 10 min at 10% loss + slow nodes", (double)fp, 0,
			 (double)fpb, "");
	fails += verdict("bytes per node per second (steady state)", tr.bytes_per_node_s, 10000,
			 trb.bytes_per_node_s, "B/s");
	fails += verdict("bytes per node per second (10% loss, slow nodes)", tf.bytes_per_node_s,
			 10000, tfb.bytes_per_node_s, "B/s");
	printf("%s\n", fails ? "SOME GOALS FAILED" : "ALL GOALS PASS");
	return fails ? 1 : 0;
}

/* ---- single scenarios ---- */

static int scenario(const struct sim_opts *o)
{
	struct sim *s = sim_new(o, NULL);
	if (!s)
		return 1;
	sim_run_for(s, 5000);
	uint64_t secs = o->seconds;
	if (strcmp(o->scenario, "update") == 0) {
		int k = (int)(secs / 5 ? secs / 5 : 1);
		struct dissem d = run_dissemination(s, k, 5000);
		print_dissem("update", &d);
	} else if (strcmp(o->scenario, "failure") == 0) {
		int k = (int)(secs / 2 ? secs / 2 : 1);
		struct detect d = run_failures(s, k, 1000, 30000);
		print_detect("failure detection", &d);
	} else if (strcmp(o->scenario, "partition") == 0) {
		sim_partition(s, true);
		sim_run_for(s, secs * 1000);
		sim_partition(s, false);
		double t = sim_run_until_converged(s, 600000);
		printf("partition of %" PRIu64 " s healed: every node sees every live node alive "
		       "after %.1f s\n",
		       secs, t);
	} else if (strcmp(o->scenario, "churn") == 0) {
		struct sim_traffic t = sim_churn(s, secs * 1000);
		print_traffic("churn", &t);
		double c = sim_run_until_converged(s, 300000);
		printf("churn: %u crashes, %u joins; converged %.1f s after churn stopped\n",
		       s->crashes, s->joins, c);
	} else { /* fp: steady state with the given loss and slow nodes */
		struct sim_traffic t = sim_traffic(s, secs * 1000);
		print_traffic("steady state", &t);
	}
	sim_print_stats(s);
	sim_free(&s);
	return 0;
}

int main(int argc, char **argv)
{
	struct sim_opts o;
	setvbuf(stdout, NULL, _IOLBF, 0); /* progress of long runs shows line by line */
	int r = sim_parse_opts(argc, argv, &o);
	if (r < 0)
		return 2;
	if (strcmp(o.scenario, "goals") == 0)
		return goals(&o);
	return scenario(&o);
}
