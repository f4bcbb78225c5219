/* test_control.c - control protocol: request and reply round trips, and rejection of
 * malformed, foreign-version and out-of-range messages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/control.h"
#include "proto/control.pb-c.h"

static uint8_t buf[CONTROL_MSG_MAX];

static void test_request_round_trip(void **state)
{
	struct control_request a = { .op = CONTROL_OP_JOIN, .timeout_ms = 4000, .offset = 7 };
	strcpy(a.cluster_key, "omx1-abcdef");
	int n = control_request_pack(&a, buf, sizeof(buf));
	assert_true(n > 0);
	struct control_request b;
	memset(&b, 0xaa, sizeof(b));
	assert_int_equal(control_request_unpack(buf, (size_t)n, &b), 0);
	assert_int_equal(b.op, CONTROL_OP_JOIN);
	assert_string_equal(b.cluster_key, "omx1-abcdef");
	assert_int_equal(b.timeout_ms, 4000);
	assert_int_equal(b.offset, 7);

	struct control_request c = { .op = CONTROL_OP_STATUS };
	n = control_request_pack(&c, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(control_request_unpack(buf, (size_t)n, &b), 0);
	assert_int_equal(b.op, CONTROL_OP_STATUS);
	assert_string_equal(b.cluster_key, "");
	/* too small a buffer */
	assert_int_equal(control_request_pack(&a, buf, 3), -EMSGSIZE);
}

static void test_request_rejects(void **state)
{
	struct control_request r;
	/* garbage */
	const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	assert_int_equal(control_request_unpack(junk, sizeof(junk), &r), -EBADMSG);
	/* empty: version 0 */
	assert_int_equal(control_request_unpack(buf, 0, &r), -EPROTONOSUPPORT);

	Omx__CtlRequest m = OMX__CTL_REQUEST__INIT;
	m.version = CONTROL_VERSION + 1;
	m.op = CONTROL_OP_NODES;
	size_t n = omx__ctl_request__pack(&m, buf);
	assert_int_equal(control_request_unpack(buf, n, &r), -EPROTONOSUPPORT);

	m.version = CONTROL_VERSION;
	m.op = 0;
	n = omx__ctl_request__pack(&m, buf);
	assert_int_equal(control_request_unpack(buf, n, &r), -EINVAL);
	m.op = 99;
	n = omx__ctl_request__pack(&m, buf);
	assert_int_equal(control_request_unpack(buf, n, &r), -EINVAL);

	/* a key longer than CONTROL_KEY_MAX */
	char *big = malloc(CONTROL_KEY_MAX + 10);
	assert_non_null(big);
	memset(big, 'k', CONTROL_KEY_MAX + 9);
	big[CONTROL_KEY_MAX + 9] = '\0';
	m.op = CONTROL_OP_JOIN;
	m.cluster_key = big;
	n = omx__ctl_request__pack(&m, buf);
	assert_int_equal(control_request_unpack(buf, n, &r), -EINVAL);
	free(big);

	/* every truncation of a valid request either decodes or fails cleanly */
	struct control_request a = { .op = CONTROL_OP_JOIN, .timeout_ms = 1 };
	strcpy(a.cluster_key, "omx1-xyz");
	int len = control_request_pack(&a, buf, sizeof(buf));
	assert_true(len > 0);
	for (int cut = 0; cut < len; cut++) {
		int e = control_request_unpack(buf, (size_t)cut, &r);
		assert_true(e == 0 || e == -EBADMSG || e == -EINVAL || e == -EPROTONOSUPPORT);
	}
	assert_int_equal(control_request_unpack(buf, CONTROL_MSG_MAX + 1, &r), -EMSGSIZE);
}

static void test_reply_round_trip(void **state)
{
	struct control_reply *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	assert_non_null(a);
	assert_non_null(b);
	a->error = -ETIMEDOUT;
	strcpy(a->message, "no bootstrap node answered");
	a->total = 500;
	a->n_nodes = CONTROL_NODES_PER_REPLY;
	for (size_t i = 0; i < a->n_nodes; i++) {
		struct control_node *n = &a->nodes[i];
		n->id = (uint16_t)(i + 1);
		n->state = (uint32_t)(i % 4);
		snprintf(n->name, sizeof(n->name), "node-%zu-%s", i, "with-a-long-host-name");
		snprintf(n->addr, sizeof(n->addr), "10.0.%zu.%zu:4660", i / 256, i % 256);
		n->cpus = 64;
		n->load_milli = 12345;
		n->mem_free_kb = 1ull << 40;
		n->age_ms = 999999;
		n->is_self = i == 3;
		memset(n->pubkey, (int)i, sizeof(n->pubkey));
		snprintf(n->kernel, sizeof(n->kernel), "6.18.0-%zu", i);
		n->version = 1ull << 50;
	}
	a->has_status = true;
	a->status.node_id = 65535;
	strcpy(a->status.state, "alive");
	strcpy(a->status.cluster_id, "0123456789abcdef");
	for (int i = 0; i < CONTROL_COUNTERS_MAX + 5; i++)
		control_status_add_counter(&a->status, "gossip_drop_replay_with_a_long_name", (uint64_t)i);
	assert_int_equal(a->status.n_counters, CONTROL_COUNTERS_MAX);
	assert_int_equal(strlen(a->status.counters[0].name), CONTROL_COUNTER_NAME_MAX - 1);

	int n = control_reply_pack(a, buf, sizeof(buf));
	assert_true(n > 0);
	assert_true(n < CONTROL_MSG_MAX);
	assert_int_equal(control_reply_unpack(buf, (size_t)n, b), 0);
	assert_int_equal(b->error, -ETIMEDOUT);
	assert_string_equal(b->message, a->message);
	assert_int_equal(b->total, 500);
	assert_int_equal(b->n_nodes, a->n_nodes);
	for (size_t i = 0; i < a->n_nodes; i++)
		assert_memory_equal(&a->nodes[i], &b->nodes[i], sizeof(a->nodes[i]));
	assert_true(b->has_status);
	assert_int_equal(b->status.node_id, 65535);
	assert_string_equal(b->status.cluster_id, "0123456789abcdef");
	assert_int_equal(b->status.n_counters, CONTROL_COUNTERS_MAX);
	assert_int_equal(b->status.counters[9].value, 9);
	free(a);
	free(b);
}

static void test_reply_rejects(void **state)
{
	struct control_reply *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	Omx__CtlReply m = OMX__CTL_REPLY__INIT;
	m.version = CONTROL_VERSION;
	m.error = 5; /* errors are negative */
	size_t n = omx__ctl_reply__pack(&m, buf);
	assert_int_equal(control_reply_unpack(buf, n, r), -EINVAL);

	m.error = 0;
	Omx__CtlNode node = OMX__CTL_NODE__INIT, *np = &node;
	node.id = 70000; /* out of range */
	m.n_nodes = 1;
	m.nodes = &np;
	n = omx__ctl_reply__pack(&m, buf);
	assert_int_equal(control_reply_unpack(buf, n, r), -EINVAL);
	node.id = 1;
	uint8_t shortkey[5] = { 0 };
	node.pubkey.data = shortkey;
	node.pubkey.len = 5;
	n = omx__ctl_reply__pack(&m, buf);
	assert_int_equal(control_reply_unpack(buf, n, r), -EINVAL);
	node.pubkey.len = 0;
	char longname[200];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	node.name = longname;
	n = omx__ctl_reply__pack(&m, buf);
	assert_int_equal(control_reply_unpack(buf, n, r), -EINVAL);
	node.name = "ok";
	n = omx__ctl_reply__pack(&m, buf);
	assert_int_equal(control_reply_unpack(buf, n, r), 0);
	assert_int_equal(r->n_nodes, 1);
	assert_string_equal(r->nodes[0].name, "ok");

	const uint8_t junk[] = { 0x22, 0xff, 0xff };
	assert_int_equal(control_reply_unpack(junk, sizeof(junk), r), -EBADMSG);
	free(r);
}

static void test_call_without_daemon(void **state)
{
	struct control_request req = { .op = CONTROL_OP_STATUS };
	struct control_reply *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	assert_int_equal(control_call("/nonexistent-omx-dir", &req, 100, r), -ENOENT);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_round_trip), cmocka_unit_test(test_request_rejects),
		cmocka_unit_test(test_reply_round_trip),   cmocka_unit_test(test_reply_rejects),
		cmocka_unit_test(test_call_without_daemon),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
