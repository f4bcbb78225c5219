/* test_gossip_ids.c - small node ids: a node without a persisted id holds a provisional id until
 * it knows the membership, then settles on the smallest free id (announced by
 * GOSSIP_EV_SELF_ID); simultaneous joins end with distinct ids every view agrees on; a restart
 * keeps the persisted id, and a restart that lost it takes its old id back. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "test_gossip_net.h"

/* Every node settled, ids distinct, every view maps each id to its owner's key, and the daemon
 * was told the final id. Returns the largest id. */
static int check_ids(struct tn *t)
{
	int max = 0;
	for (int i = 0; i < t->n; i++) {
		struct gossip *g = t->node[i].g;
		uint16_t id = gossip_self_id(g);
		assert_true(gossip_self_id_settled(g));
		assert_true(id >= 1 && id < GOSSIP_PROVISIONAL_ID_MIN);
		assert_true(t->node[i].ev[GOSSIP_EV_SELF_ID] >= 1);
		assert_int_equal(t->node[i].last_self_id, id);
		if (id > max)
			max = id;
		for (int j = 0; j < i; j++)
			assert_int_not_equal(gossip_self_id(t->node[j].g), id);
		for (int v = 0; v < t->n; v++) {
			struct gossip_member m;
			assert_int_equal(gossip_member_by_id(t->node[v].g, id, &m), 0);
			assert_memory_equal(m.pubkey, t->node[i].pk, 32);
		}
	}
	return max;
}

static void join_one(struct tn *t, int i, int boot)
{
	const char *a[1] = { t->node[boot].addr };
	gossip_join(t->node[i].g, t->now, a, 1);
}

/* Start node i without a persisted id and join it through boot before its first tick, as omxd
 * does (a node that is not joining anyone settles alone at its first tick). */
static void start_join(struct tn *t, int i, int boot)
{
	tn_start(t, i, 0, false);
	join_one(t, i, boot);
}

static void test_two_nodes(void **state)
{
	struct tn t;
	tn_init(&t, 1, false);
	start_join(&t, 1, 0);
	for (int i = 0; i < 2; i++) {
		uint16_t id = gossip_self_id(t.node[i].g);
		assert_false(gossip_self_id_settled(t.node[i].g));
		assert_true(id >= GOSSIP_PROVISIONAL_ID_MIN);
	}
	tn_run(&t, 20);
	/* node 0 joins nobody: it settles at once; node 1 waits for the answer of its seed */
	assert_true(gossip_self_id_settled(t.node[0].g));
	assert_int_equal(gossip_self_id(t.node[0].g), 1);
	tn_run(&t, 2000);
	assert_int_equal(gossip_self_id(t.node[1].g), 2);
	assert_int_equal(check_ids(&t), 2);
	for (int i = 0; i < 2; i++)
		assert_int_equal(t.node[i].ev[GOSSIP_EV_SELF_ID], 1);
	tn_free(&t);
}

/* One after the other, as an operator adds machines: exactly 1..8. */
static void test_eight_in_turn(void **state)
{
	struct tn t;
	tn_init(&t, 1, false);
	tn_run(&t, 100);
	for (int i = 1; i < 8; i++) {
		start_join(&t, i, i - 1); /* through the previous newcomer */
		tn_run(&t, 1500);
		assert_int_equal(gossip_self_id(t.node[i].g), i + 1);
	}
	tn_run(&t, 3000);
	assert_int_equal(check_ids(&t), 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(t.node[i].ev[GOSSIP_EV_SELF_ID], 1);
	tn_free(&t);
}

/* 2 and 49 nodes join through the same seed at the same moment: they all pick the same smallest
 * free id first; conflicts (smaller key keeps it) spread them out. */
static void simultaneous(int n, uint64_t ms, int max_id)
{
	struct tn t;
	tn_init(&t, 1, false);
	tn_run(&t, 100);
	for (int i = 1; i < n; i++)
		start_join(&t, i, 0);
	tn_run(&t, ms);
	int max = check_ids(&t);
	assert_true(max <= max_id);
	/* conflicts are settled in a few waves, not one collision per pair (each SELF_ID is a
	 * write of the daemon's id file) */
	int events = 0;
	for (int i = 0; i < n; i++)
		events += t.node[i].ev[GOSSIP_EV_SELF_ID];
	assert_true(events <= 3 * n);
	tn_free(&t);
}

static void test_two_at_once(void **state)
{
	simultaneous(3, 5000, 3);
}

static void test_fifty_at_once(void **state)
{
	simultaneous(50, 10000, 50);
}

/* A restart keeps the persisted id (passed back in config.self_id), even if a smaller one is
 * free; a restart that lost it (self_id 0) takes it back from its old record if still free. */
static void test_restart_keeps_id(void **state)
{
	struct tn t;
	tn_init(&t, 1, false);
	tn_run(&t, 100);
	for (int i = 1; i < 6; i++) {
		start_join(&t, i, 0);
		tn_run(&t, 1000);
	}
	tn_run(&t, 3000);
	check_ids(&t);
	uint16_t id3 = gossip_self_id(t.node[3].g), id4 = gossip_self_id(t.node[4].g);
	/* node 1 leaves for good: id 2 is free once it is forgotten, but node 3 keeps its id */
	gossip_leave(t.node[1].g, t.now);
	tn_run(&t, 2000);
	gossip_free(&t.node[1].g);
	t.node[1].stopped = t.node[1].down = true;
	gossip_free(&t.node[3].g);
	t.node[3].down = true;
	tn_run(&t, 5000);
	memset(t.node[3].ev, 0, sizeof(t.node[3].ev));
	tn_start(&t, 3, id3, false);
	assert_true(gossip_self_id_settled(t.node[3].g));
	join_one(&t, 3, 0);
	tn_run(&t, 5000);
	assert_int_equal(gossip_self_id(t.node[3].g), id3);
	assert_int_equal(t.node[3].ev[GOSSIP_EV_SELF_ID], 0);
	/* node 4 restarts without its id file: its old record comes back with the join answer */
	gossip_free(&t.node[4].g);
	t.node[4].down = true;
	tn_run(&t, 3000);
	memset(t.node[4].ev, 0, sizeof(t.node[4].ev));
	start_join(&t, 4, 0);
	tn_run(&t, 5000);
	assert_true(gossip_self_id_settled(t.node[4].g));
	assert_int_equal(gossip_self_id(t.node[4].g), id4);
	assert_int_equal(t.node[4].ev[GOSSIP_EV_SELF_ID], 1);
	assert_int_equal(t.node[4].last_self_id, id4);
	for (int v = 0; v < 6; v++) {
		if (v == 1)
			continue;
		struct gossip_member m;
		assert_int_equal(gossip_member_by_id(t.node[v].g, id3, &m), 0);
		assert_memory_equal(m.pubkey, t.node[3].pk, 32);
		assert_int_equal(gossip_member_by_id(t.node[v].g, id4, &m), 0);
		assert_memory_equal(m.pubkey, t.node[4].pk, 32);
	}
	tn_free(&t);
}

/* Seeds that never answer: the node settles by itself after GOSSIP_JOIN_SETTLE_TRIES attempts. */
static void test_unanswered_join(void **state)
{
	struct tn t;
	tn_init(&t, 1, false);
	t.node[0].down = true;
	start_join(&t, 1, 0);
	tn_run(&t, 3000);
	assert_false(gossip_self_id_settled(t.node[1].g));
	/* omxd calls gossip_join again on every retry: that must not put settling off */
	for (int k = 0; k < 10; k++) {
		join_one(&t, 1, 0);
		tn_run(&t, 1000);
	}
	assert_true(gossip_self_id_settled(t.node[1].g));
	tn_run(&t, 10000);
	assert_true(gossip_self_id_settled(t.node[1].g));
	assert_int_equal(gossip_self_id(t.node[1].g), 1);
	assert_int_equal(t.node[1].last_self_id, 1);
	tn_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_nodes),
		cmocka_unit_test(test_eight_in_turn),
		cmocka_unit_test(test_two_at_once),
		cmocka_unit_test(test_fifty_at_once),
		cmocka_unit_test(test_restart_keeps_id),
		cmocka_unit_test(test_unanswered_join),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
