/* test_gossip.c - the gossip core driven through an in-memory network (test_gossip_net.h):
 * join and convergence, failure detection, refutation, leave, id conflicts, restart. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "test_gossip_net.h"

static int count_state(struct tn *t, int viewer, enum gossip_state s)
{
	int c = 0;
	for (int i = 0; i < t->n; i++)
		if (tn_state(t, viewer, i) == (int)s)
			c++;
	return c;
}

static void test_join_converge(void **state)
{
	struct tn t;
	tn_init(&t, 8, false);
	tn_join_all(&t, 0);
	tn_run(&t, 5000);
	for (int v = 0; v < t.n; v++) {
		assert_int_equal(gossip_member_count(t.node[v].g), 8);
		assert_int_equal(count_state(&t, v, GOSSIP_ALIVE), 8);
	}
	/* ids are distinct and every view agrees on them */
	for (int i = 0; i < t.n; i++) {
		struct gossip_member m;
		uint16_t id = gossip_self_id(t.node[i].g);
		for (int v = 0; v < t.n; v++) {
			assert_int_equal(gossip_member_by_id(t.node[v].g, id, &m), 0);
			assert_memory_equal(m.pubkey, t.node[i].pk, 32);
		}
	}
	/* stable order by id */
	struct gossip_member a, b;
	for (size_t i = 1; gossip_member_at(t.node[0].g, i, &b) == 0; i++) {
		assert_int_equal(gossip_member_at(t.node[0].g, i - 1, &a), 0);
		assert_true(a.id <= b.id);
	}
	assert_int_equal(gossip_member_at(t.node[0].g, 8, &a), -ENOENT);
	tn_free(&t);
}

static void test_failure_detection(void **state)
{
	struct tn t;
	tn_init(&t, 8, false);
	tn_join_all(&t, 0);
	tn_run(&t, 5000);
	t.node[3].stopped = true;
	t.node[3].down = true;
	tn_run(&t, 30000);
	for (int v = 0; v < t.n; v++) {
		if (v == 3)
			continue;
		assert_int_equal(tn_state(&t, v, 3), GOSSIP_DEAD);
		assert_int_equal(count_state(&t, v, GOSSIP_ALIVE), 7);
	}
	/* and it is forgotten after dead_reclaim_ms */
	struct gossip_timing lan;
	gossip_timing_lan(&lan);
	tn_run(&t, lan.dead_reclaim_ms + 10000);
	assert_int_equal(tn_state(&t, 0, 3), -1);
	assert_int_equal(gossip_member_count(t.node[0].g), 7);
	tn_free(&t);
}

/* A member that crashes right after joining: the retry before accusing (GM_RETRY) delays its
 * detection by at most one probe period, never indefinitely. */
static void test_crash_after_join(void **state)
{
	struct tn t;
	tn_init(&t, 8, false);
	tn_join_all(&t, 0);
	tn_run(&t, 1500);
	t.node[5].stopped = true;
	t.node[5].down = true;
	uint64_t start = t.now;
	bool all_dead = false;
	while (!all_dead && t.now - start < 30000) {
		tn_run(&t, 100);
		all_dead = true;
		for (int v = 0; v < t.n; v++)
			if (v != 5 && tn_state(&t, v, 5) != GOSSIP_DEAD)
				all_dead = false;
	}
	assert_true(all_dead);
	assert_true(t.now - start <= 12000);
	uint64_t reprobes = 0;
	for (int v = 0; v < t.n; v++)
		if (v != 5)
			reprobes += gossip_get_stats(t.node[v].g)->reprobes;
	assert_true(reprobes > 0);
	tn_free(&t);
}

static void test_refutation(void **state)
{
	struct tn t;
	tn_init(&t, 6, false);
	tn_join_all(&t, 0);
	tn_run(&t, 5000);
	/* node 2 is unreachable long enough to be suspected, then comes back */
	t.node[2].down = true;
	tn_run(&t, 4000);
	int suspected = 0;
	for (int v = 0; v < t.n; v++)
		if (v != 2 && (tn_state(&t, v, 2) == GOSSIP_SUSPECT ||
			       tn_state(&t, v, 2) == GOSSIP_DEAD))
			suspected++;
	assert_true(suspected > 0);
	t.node[2].down = false;
	tn_run(&t, 10000);
	for (int v = 0; v < t.n; v++)
		assert_int_equal(tn_state(&t, v, 2), GOSSIP_ALIVE);
	assert_true(gossip_self_incarnation(t.node[2].g) >= 1);
	assert_true(gossip_get_stats(t.node[2].g)->false_suspicions_refuted >= 1);
	tn_free(&t);
}

static void test_leave(void **state)
{
	struct tn t;
	tn_init(&t, 6, false);
	tn_join_all(&t, 0);
	tn_run(&t, 5000);
	assert_false(gossip_leave_done(t.node[4].g, t.now));
	gossip_leave(t.node[4].g, t.now);
	uint64_t start = t.now;
	while (!gossip_leave_done(t.node[4].g, t.now))
		tn_run(&t, 50);
	assert_true(t.now - start <= 3000);
	t.node[4].stopped = true;
	t.node[4].down = true;
	tn_run(&t, 2000);
	for (int v = 0; v < t.n; v++) {
		if (v != 4)
			assert_int_equal(tn_state(&t, v, 4), GOSSIP_LEFT);
	}
	/* no one declares a left node dead */
	for (int v = 0; v < t.n; v++)
		if (v != 4)
			assert_int_equal(gossip_get_stats(t.node[v].g)->deaths, 0);
	tn_free(&t);
}

/* Two keys claim id 7: the smaller key keeps it, the other moves and raises EV_SELF_ID. */
static void test_id_conflict(void **state)
{
	struct tn t;
	memset(&t, 0, sizeof(t));
	t.now = 1000000;
	t.rng = 1;
	for (int i = 0; i < 4; i++)
		tn_start(&t, i, i < 2 ? 0 : 7, false);
	tn_join_all(&t, 0);
	tn_run(&t, 5000);
	int small = memcmp(t.node[2].pk, t.node[3].pk, 32) < 0 ? 2 : 3;
	int big = 5 - small;
	assert_int_equal(gossip_self_id(t.node[small].g), 7);
	assert_int_not_equal(gossip_self_id(t.node[big].g), 7);
	assert_int_equal(t.node[big].ev[GOSSIP_EV_SELF_ID], 1);
	assert_int_equal(t.node[big].last_self_id, gossip_self_id(t.node[big].g));
	assert_int_equal(t.node[small].ev[GOSSIP_EV_SELF_ID], 0);
	for (int v = 0; v < 4; v++) {
		struct gossip_member m;
		assert_int_equal(gossip_member_by_id(t.node[v].g, 7, &m), 0);
		assert_memory_equal(m.pubkey, t.node[small].pk, 32);
		assert_int_equal(gossip_member_by_id(t.node[v].g, gossip_self_id(t.node[big].g),
						     &m), 0);
		assert_memory_equal(m.pubkey, t.node[big].pk, 32);
	}
	tn_free(&t);
}

/* A fixed id is never changed: the larger key reports the conflict instead. */
static void test_id_conflict_fixed(void **state)
{
	struct tn t;
	memset(&t, 0, sizeof(t));
	t.now = 1000000;
	t.rng = 1;
	tn_start(&t, 0, 0, false);
	tn_start(&t, 1, 9, true);
	tn_start(&t, 2, 9, true);
	tn_join_all(&t, 0);
	tn_run(&t, 5000);
	int big = memcmp(t.node[1].pk, t.node[2].pk, 32) > 0 ? 1 : 2;
	assert_int_equal(gossip_self_id(t.node[1].g), 9);
	assert_int_equal(gossip_self_id(t.node[2].g), 9);
	assert_true(t.node[big].ev[GOSSIP_EV_ID_CONFLICT] >= 1);
	assert_int_equal(t.node[3 - big].ev[GOSSIP_EV_ID_CONFLICT], 0);
	tn_free(&t);
}

/* A node restarts with a fresh core (version 1): it must jump past its old records. */
static void test_restart(void **state)
{
	struct tn t;
	tn_init(&t, 5, false);
	tn_join_all(&t, 0);
	tn_run(&t, 5000);
	struct gossip_info info;
	tn_info(&info, 3);
	for (int k = 0; k < 5; k++) {
		info.load_milli += 5000;
		info.guests++;
		gossip_set_info(t.node[3].g, t.now, &info);
		tn_run(&t, 6000);
	}
	uint64_t old_ver = gossip_self_version(t.node[3].g);
	assert_true(old_ver >= 4);
	uint16_t id = gossip_self_id(t.node[3].g);
	gossip_free(&t.node[3].g);
	t.node[3].down = true;
	tn_run(&t, 30000);
	assert_int_equal(tn_state(&t, 0, 3), GOSSIP_DEAD);
	tn_start(&t, 3, id, false);
	const char *a[1] = { t.node[0].addr };
	gossip_join(t.node[3].g, t.now, a, 1);
	tn_run(&t, 8000);
	assert_true(gossip_self_version(t.node[3].g) > old_ver);
	for (int v = 0; v < t.n; v++)
		assert_int_equal(tn_state(&t, v, 3), GOSSIP_ALIVE);
	tn_free(&t);
}

static uint64_t held_version(struct tn *t, int viewer, int of)
{
	struct gossip_member m;
	for (size_t i = 0; gossip_member_at(t->node[viewer].g, i, &m) == 0; i++)
		if (memcmp(m.pubkey, t->node[of].pk, 32) == 0)
			return m.version;
	return 0;
}

/* The seed missed the restarting node's last record: the node first jumps only to the version
 * the seed had, which equals the one the others hold; they must show it theirs (same version,
 * other signature) so it jumps again, or they would drop its records as replays and keep it
 * dead. */
static void test_restart_seed_behind(void **state)
{
	struct tn t;
	tn_init(&t, 4, false);
	tn_join_all(&t, 0);
	tn_run(&t, 5000);
	t.node[0].down = true;
	struct gossip_info info;
	tn_info(&info, 3);
	snprintf(info.name, sizeof(info.name), "renamed");
	gossip_set_info(t.node[3].g, t.now, &info);
	tn_run(&t, 2000);
	uint64_t old_ver = gossip_self_version(t.node[3].g);
	uint16_t id = gossip_self_id(t.node[3].g);
	gossip_free(&t.node[3].g);
	t.node[3].down = true;
	t.node[0].down = false;
	tn_run(&t, 30000);
	assert_int_equal(held_version(&t, 1, 3), old_ver);
	assert_true(held_version(&t, 0, 3) < old_ver); /* the precondition of this test */
	tn_start(&t, 3, id, false);
	const char *a[1] = { t.node[0].addr };
	gossip_join(t.node[3].g, t.now, a, 1);
	tn_run(&t, 8000);
	uint64_t v = gossip_self_version(t.node[3].g);
	assert_true(v > old_ver);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(held_version(&t, k, 3), v);
		assert_int_equal(tn_state(&t, k, 3), GOSSIP_ALIVE);
	}
	tn_free(&t);
}

/* A 3+3 partition long enough for both sides to declare the other dead heals by itself. */
static void test_partition_heals(void **state)
{
	struct tn t;
	tn_init(&t, 6, false);
	tn_join_all(&t, 0);
	tn_run(&t, 5000);
	t.partition = true;
	tn_run(&t, 60000);
	assert_int_equal(tn_state(&t, 0, 5), GOSSIP_DEAD);
	assert_int_equal(tn_state(&t, 5, 0), GOSSIP_DEAD);
	assert_int_equal(tn_state(&t, 0, 1), GOSSIP_ALIVE);
	t.partition = false;
	tn_run(&t, 90000);
	for (int v = 0; v < t.n; v++)
		assert_int_equal(count_state(&t, v, GOSSIP_ALIVE), 6);
	tn_free(&t);
}

/* Load changes are published rate-limited, static changes at once. */
static void test_info_rate_limit(void **state)
{
	struct tn t;
	tn_init(&t, 3, false);
	tn_join_all(&t, 0);
	tn_run(&t, 3000);
	struct gossip_info info;
	tn_info(&info, 1);
	uint64_t v0 = gossip_self_version(t.node[1].g);
	for (int k = 0; k < 200; k++) { /* 20 s of wildly changing load */
		info.load_milli = (k % 2) ? 100 : 4000;
		gossip_set_info(t.node[1].g, t.now, &info);
		tn_run(&t, 100);
	}
	uint64_t published = gossip_self_version(t.node[1].g) - v0;
	assert_true(published >= 3 && published <= 5); /* every info_min_interval (5 s) */
	/* a static change goes out immediately */
	uint64_t v1 = gossip_self_version(t.node[1].g);
	snprintf(info.name, sizeof(info.name), "renamed");
	gossip_set_info(t.node[1].g, t.now, &info);
	assert_int_equal(gossip_self_version(t.node[1].g), v1 + 1);
	tn_run(&t, 2000);
	struct gossip_member m;
	assert_int_equal(gossip_member_by_id(t.node[0].g, gossip_self_id(t.node[1].g), &m), 0);
	assert_string_equal(m.info.name, "renamed");
	tn_free(&t);
}

/* A periodic push/pull that gets no answer is retried with another member; an answered one is
 * not. */
static void test_pushpull_retry(void **state)
{
	struct tn t;
	tn_init(&t, 5, false);
	tn_join_all(&t, 0);
	tn_run(&t, 70000); /* two to three exchange periods each */
	uint64_t pp = 0, retries = 0;
	for (int v = 0; v < t.n; v++) {
		pp += gossip_get_stats(t.node[v].g)->pushpulls;
		retries += gossip_get_stats(t.node[v].g)->pushpull_retries;
	}
	assert_true(pp >= 10);
	assert_int_equal(retries, 0);
	t.drop_pct = 40;
	tn_run(&t, 120000);
	for (int v = 0; v < t.n; v++)
		retries += gossip_get_stats(t.node[v].g)->pushpull_retries;
	assert_true(retries > 0);
	tn_free(&t);
}

/* Real Ed25519 signatures end to end. */
static void test_real_signatures(void **state)
{
	struct tn t;
	tn_init(&t, 4, true);
	tn_join_all(&t, 0);
	tn_run(&t, 5000);
	for (int v = 0; v < t.n; v++)
		assert_int_equal(count_state(&t, v, GOSSIP_ALIVE), 4);
	for (int v = 0; v < t.n; v++)
		assert_int_equal(gossip_get_stats(t.node[v].g)->drop_badsig, 0);
	tn_free(&t);
}

static void test_names_and_timing(void **state)
{
	struct gossip_timing lan, wan, x;
	gossip_timing_lan(&lan);
	gossip_timing_wan(&wan);
	assert_int_equal(gossip_timing_by_name("lan", &x), 0);
	assert_memory_equal(&x, &lan, sizeof(x));
	assert_int_equal(gossip_timing_by_name("wan", &x), 0);
	assert_memory_equal(&x, &wan, sizeof(x));
	assert_int_equal(gossip_timing_by_name("moon", &x), -EINVAL);
	assert_true(wan.probe_interval_ms > lan.probe_interval_ms);
	assert_string_equal(gossip_state_name(GOSSIP_ALIVE), "alive");
	assert_string_equal(gossip_state_name(GOSSIP_SUSPECT), "suspect");
	assert_string_equal(gossip_state_name(GOSSIP_DEAD), "dead");
	assert_string_equal(gossip_state_name(GOSSIP_LEFT), "left");
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_timing),
		cmocka_unit_test(test_join_converge),
		cmocka_unit_test(test_failure_detection),
		cmocka_unit_test(test_crash_after_join),
		cmocka_unit_test(test_refutation),
		cmocka_unit_test(test_leave),
		cmocka_unit_test(test_id_conflict),
		cmocka_unit_test(test_id_conflict_fixed),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_restart_seed_behind),
		cmocka_unit_test(test_partition_heals),
		cmocka_unit_test(test_info_rate_limit),
		cmocka_unit_test(test_real_signatures),
		cmocka_unit_test(test_pushpull_retry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
