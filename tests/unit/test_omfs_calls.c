/* test_omfs_calls.c - the oMFS calls table (omfs/omfs_calls.h): blocking requests released by
 * a reply matched on xid and node, by their node's failure, by the send function's error, by
 * their deadline or by closing; asynchronous calls; lock waits without deadline. The test's main
 * thread plays omxd's loop (woken through an eventfd), requesters run in their own threads. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "omfs/omfs_calls.h"
#include "omfs/omfs_wire.h"

struct loop {
	int efd;
	struct omfs_calls *calls;
	/* what send_fn saw last */
	uint32_t node;
	uint64_t xid;
	uint8_t req[64];
	size_t len;
	int sent;
	int send_error; /* returned by send_fn */
};

static void wake(void *ctx)
{
	struct loop *l = ctx;
	uint64_t one = 1;
	assert_int_equal(write(l->efd, &one, sizeof(one)), (ssize_t)sizeof(one));
}

static int send_fn(void *ctx, uint32_t node, uint64_t xid, const uint8_t *req, size_t len)
{
	struct loop *l = ctx;
	l->node = node;
	l->xid = xid;
	l->len = len < sizeof(l->req) ? len : sizeof(l->req);
	memcpy(l->req, req, l->len);
	l->sent++;
	return l->send_error;
}

/* Waits for a wake-up (up to 2 s), then flushes like omxd's loop. */
static void loop_turn(struct loop *l)
{
	struct pollfd p = { .fd = l->efd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 2000), 1);
	uint64_t v;
	assert_int_equal(read(l->efd, &v, sizeof(v)), (ssize_t)sizeof(v));
	omfs_calls_flush(l->calls, send_fn, l);
}

static void loop_init(struct loop *l, uint32_t timeout_ms)
{
	memset(l, 0, sizeof(*l));
	l->efd = eventfd(0, EFD_CLOEXEC);
	assert_true(l->efd >= 0);
	struct omfs_calls_config cfg = { .wake = wake, .wake_ctx = l, .timeout_ms = timeout_ms };
	assert_int_equal(omfs_calls_new(&cfg, &l->calls), 0);
}

static void loop_fini(struct loop *l)
{
	omfs_calls_free(&l->calls);
	assert_null(l->calls);
	close(l->efd);
}

struct requester {
	pthread_t th;
	struct omfs_calls *calls;
	uint32_t node;
	const uint8_t *req;
	size_t len;
	int rc;
	uint8_t *resp;
	size_t resp_len;
	uint64_t took_ms;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *requester_main(void *arg)
{
	struct requester *q = arg;
	uint64_t t0 = now_ms();
	q->rc = omfs_calls_request(q->calls, q->node, q->req, q->len, &q->resp, &q->resp_len);
	q->took_ms = now_ms() - t0;
	return NULL;
}

static void requester_start(struct requester *q, struct loop *l, uint32_t node, const char *req)
{
	memset(q, 0, sizeof(*q));
	q->calls = l->calls;
	q->node = node;
	q->req = (const uint8_t *)req;
	q->len = strlen(req);
	assert_int_equal(pthread_create(&q->th, NULL, requester_main, q), 0);
}

static void requester_join(struct requester *q)
{
	assert_int_equal(pthread_join(q->th, NULL), 0);
}

static void test_reply_matched_by_xid_and_node(void **state)
{
	struct loop l;
	loop_init(&l, 0);
	struct requester q;
	requester_start(&q, &l, 5, "hello");
	loop_turn(&l);
	assert_int_equal(l.sent, 1);
	assert_int_equal(l.node, 5);
	assert_memory_equal(l.req, "hello", 5);
	/* a reply from another node, or for another xid, does not complete the call */
	assert_int_equal(omfs_calls_complete(l.calls, 6, l.xid, 0, (const uint8_t *)"x", 1), -ENOENT);
	assert_int_equal(omfs_calls_complete(l.calls, 5, l.xid + 100, 0, (const uint8_t *)"x", 1),
			 -ENOENT);
	assert_int_equal(omfs_calls_count(l.calls), 1);
	assert_int_equal(omfs_calls_complete(l.calls, 5, l.xid, 0, (const uint8_t *)"world", 5), 0);
	requester_join(&q);
	assert_int_equal(q.rc, 0);
	assert_int_equal(q.resp_len, 5);
	assert_memory_equal(q.resp, "world", 5);
	free(q.resp);
	/* a duplicate reply finds nothing */
	assert_int_equal(omfs_calls_complete(l.calls, 5, l.xid, 0, (const uint8_t *)"x", 1), -ENOENT);
	assert_int_equal(omfs_calls_count(l.calls), 0);
	loop_fini(&l);
}

static void test_node_failure_releases_at_once(void **state)
{
	struct loop l;
	loop_init(&l, 60000);
	struct requester a, b;
	requester_start(&a, &l, 5, "to five");
	loop_turn(&l);
	requester_start(&b, &l, 6, "to six");
	loop_turn(&l);
	omfs_calls_fail_node(l.calls, 5, -ENOTCONN);
	requester_join(&a);
	assert_int_equal(a.rc, -ENOTCONN);
	assert_true(a.took_ms < 5000);
	assert_int_equal(omfs_calls_count(l.calls), 1); /* node 6's call is untouched */
	omfs_calls_fail_all(l.calls, -ENOTCONN);
	requester_join(&b);
	assert_int_equal(b.rc, -ENOTCONN);
	loop_fini(&l);
}

static void test_send_error_and_timeout(void **state)
{
	struct loop l;
	loop_init(&l, 200);
	struct requester q;
	l.send_error = -EHOSTUNREACH;
	requester_start(&q, &l, 9, "x");
	loop_turn(&l);
	requester_join(&q);
	assert_int_equal(q.rc, -EHOSTUNREACH);
	l.send_error = 0;
	requester_start(&q, &l, 9, "never answered");
	loop_turn(&l);
	requester_join(&q);
	assert_int_equal(q.rc, -ETIMEDOUT);
	assert_true(q.took_ms >= 150 && q.took_ms < 2000);
	assert_int_equal(omfs_calls_count(l.calls), 0);
	loop_fini(&l);
}

static void test_closed_refuses_at_once(void **state)
{
	struct loop l;
	loop_init(&l, 0);
	omfs_calls_set_closed(l.calls, -ENOTCONN);
	uint8_t *resp;
	size_t len;
	assert_int_equal(omfs_calls_request(l.calls, 3, (const uint8_t *)"x", 1, &resp, &len),
			 -ENOTCONN);
	omfs_calls_set_closed(l.calls, 0);
	struct requester q;
	requester_start(&q, &l, 3, "x");
	loop_turn(&l);
	omfs_calls_set_closed(l.calls, -ESHUTDOWN); /* fails the call in flight too */
	requester_join(&q);
	assert_int_equal(q.rc, -ESHUTDOWN);
	loop_fini(&l);
}

struct async_result {
	int calls, err;
	size_t len;
	uint8_t data[16];
};

static void async_done(void *ctx, int err, uint8_t *reply, size_t len)
{
	struct async_result *a = ctx;
	a->calls++;
	a->err = err;
	a->len = len;
	if (reply)
		memcpy(a->data, reply, len < sizeof(a->data) ? len : sizeof(a->data));
	free(reply);
}

static void encode_lock(int wait, uint8_t **buf, size_t *len)
{
	struct omfs_req r;
	memset(&r, 0, sizeof(r));
	r.version = OMFS_PROTO_VERSION;
	r.op = OMFS_OP_FLOCK;
	r.fh = 1;
	r.flock_op = LOCK_EX | (wait ? 0 : LOCK_NB);
	assert_int_equal(omfs_wire_req_encode(&r, buf, len), 0);
	assert_int_equal(omfs_wire_req_may_block(*buf, *len), wait);
}

static void test_async_and_lock_waits(void **state)
{
	struct loop l;
	loop_init(&l, 100);
	struct async_result a = { 0 }, b = { 0 }, c = { 0 };
	uint64_t xa, xb, xc;
	assert_int_equal(omfs_calls_start(l.calls, 4, (const uint8_t *)"r", 1, async_done, &a, &xa), 0);
	assert_int_equal(omfs_calls_complete(l.calls, 4, xa, 0, (const uint8_t *)"ok", 2), 0);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.err, 0);
	assert_memory_equal(a.data, "ok", 2);

	uint8_t *nb, *w;
	size_t nbl, wl;
	encode_lock(0, &nb, &nbl);
	encode_lock(1, &w, &wl);
	assert_int_equal(omfs_calls_start(l.calls, 4, nb, nbl, async_done, &b, &xb), 0);
	assert_int_equal(omfs_calls_start(l.calls, 4, w, wl, async_done, &c, &xc), 0);
	assert_true(xa != xb && xb != xc);
	uint64_t dl = omfs_calls_next_deadline(l.calls);
	assert_true(dl != UINT64_MAX);
	omfs_calls_expire(l.calls, dl); /* the non-blocking one times out; the lock wait has no deadline */
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.err, -ETIMEDOUT);
	assert_int_equal(c.calls, 0);
	assert_int_equal(omfs_calls_next_deadline(l.calls), UINT64_MAX);
	omfs_calls_fail_node(l.calls, 4, -ENOTCONN);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.err, -ENOTCONN);
	free(nb);
	free(w);
	loop_fini(&l);
}

static void test_many_threads(void **state)
{
	enum { N = 16 };
	struct loop l;
	loop_init(&l, 0);
	struct requester q[N];
	for (int i = 0; i < N; i++)
		requester_start(&q[i], &l, (uint32_t)(i % 3 + 1), "req");
	/* answer every sent call with its xid; calls may arrive over several wake-ups */
	uint64_t seen = 0;
	while (seen < N) {
		loop_turn(&l);
		for (uint64_t x = 1; x <= N; x++)
			for (uint32_t node = 1; node <= 3; node++)
				if (omfs_calls_complete(l.calls, node, x, 0, (const uint8_t *)&x,
							sizeof(x)) == 0)
					seen++;
	}
	for (int i = 0; i < N; i++) {
		requester_join(&q[i]);
		assert_int_equal(q[i].rc, 0);
		assert_int_equal(q[i].resp_len, sizeof(uint64_t));
		free(q[i].resp);
	}
	loop_fini(&l);
}

struct submitted {
	int calls, err;
	uint8_t reply[16];
	size_t len;
};

static void submitted_done(void *ctx, int err, uint8_t *reply, size_t len)
{
	struct submitted *s = ctx;
	s->calls++;
	s->err = err;
	s->len = len < sizeof(s->reply) ? len : sizeof(s->reply);
	if (reply)
		memcpy(s->reply, reply, s->len);
	free(reply);
}

/* omfs_calls_submit: queued from any thread without waiting, sent by the loop's flush, the
 * callback gets the reply (or the node's failure) exactly once; the table owns the request
 * (freed once sent); a closed table refuses at once and never calls back. */
static void test_submit(void **state)
{
	(void)state;
	struct loop l;
	loop_init(&l, 0);
	struct submitted a = { 0 }, b = { 0 }, c = { 0 };
	uint8_t *req = malloc(3);
	assert_non_null(req);
	memcpy(req, "abc", 3);
	assert_int_equal(omfs_calls_submit(l.calls, 7, req, 3, submitted_done, &a), 0);
	assert_int_equal(a.calls, 0);
	loop_turn(&l);
	assert_int_equal(l.sent, 1);
	assert_int_equal(l.node, 7);
	assert_memory_equal(l.req, "abc", 3);
	assert_int_equal(omfs_calls_complete(l.calls, 8, l.xid, 0, (const uint8_t *)"no", 2), -ENOENT);
	assert_int_equal(a.calls, 0);
	assert_int_equal(omfs_calls_complete(l.calls, 7, l.xid, 0, (const uint8_t *)"ok", 2), 0);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.err, 0);
	assert_memory_equal(a.reply, "ok", 2);
	assert_int_equal(omfs_calls_complete(l.calls, 7, l.xid, 0, (const uint8_t *)"ok", 2), -ENOENT);
	assert_int_equal(a.calls, 1);
	/* the node dies with a call in flight */
	req = malloc(1);
	assert_non_null(req);
	req[0] = 'x';
	assert_int_equal(omfs_calls_submit(l.calls, 9, req, 1, submitted_done, &b), 0);
	loop_turn(&l);
	omfs_calls_fail_node(l.calls, 9, -ENOTCONN);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.err, -ENOTCONN);
	assert_int_equal(omfs_calls_count(l.calls), 0);
	/* closed: refused, no callback */
	omfs_calls_set_closed(l.calls, -ENOTCONN);
	req = malloc(1);
	assert_non_null(req);
	assert_int_equal(omfs_calls_submit(l.calls, 9, req, 1, submitted_done, &c), -ENOTCONN);
	assert_int_equal(c.calls, 0);
	/* a call still queued when the table is freed is failed, once */
	omfs_calls_set_closed(l.calls, 0);
	req = malloc(1);
	assert_non_null(req);
	assert_int_equal(omfs_calls_submit(l.calls, 9, req, 1, submitted_done, &c), 0);
	loop_fini(&l);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.err, -ESHUTDOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_matched_by_xid_and_node),
		cmocka_unit_test(test_node_failure_releases_at_once),
		cmocka_unit_test(test_send_error_and_timeout),
		cmocka_unit_test(test_closed_refuses_at_once),
		cmocka_unit_test(test_async_and_lock_waits),
		cmocka_unit_test(test_many_threads),
		cmocka_unit_test(test_submit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
