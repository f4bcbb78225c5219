/* test_crypto_mesh.c - the mesh's security over real loopback TCP: members of one cluster
 * exchange datagrams and see each other's CURVE identity; a node with another cluster's key
 * fails the handshake (counted, nothing delivered); a denied key is refused by the ZAP handler;
 * frames of the wrong shape are dropped and counted; a backlog past one dispatch's budget is read
 * on without a new signal on the fds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/identity.h"
#include "gossip/mesh.h"

struct inbox {
	int n;
	uint8_t peer[32];
	uint8_t data[64];
	size_t len;
};

static void on_recv(void *ctx, const uint8_t *peer, const uint8_t *data, size_t len)
{
	struct inbox *in = ctx;
	in->n++;
	memcpy(in->peer, peer, 32);
	in->len = len < sizeof(in->data) ? len : sizeof(in->data);
	memcpy(in->data, data, in->len);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct node {
	struct omxsec_identity *id;
	struct gossip_mesh *m;
	struct inbox in;
};

static void node_up_at(struct node *n, const uint8_t secret[32], const char *listen,
		       uint32_t idle_ms)
{
	memset(n, 0, sizeof(*n));
	assert_int_equal(omxsec_identity_generate(&n->id), 0);
	struct gossip_mesh_config c = { .listen = listen, .idle_close_ms = idle_ms };
	assert_int_equal(omxsec_derive_server_keys(secret, c.server_pk, c.server_sk), 0);
	memcpy(c.client_pk, n->id->curve_pk, 32);
	memcpy(c.client_sk, n->id->curve_sk, 32);
	c.pending_ms = 3000;
	assert_int_equal(gossip_mesh_new(&c, &n->m), 0);
	assert_int_equal(gossip_mesh_set_handler(n->m, GOSSIP_MESH_CH_GOSSIP, on_recv, &n->in), 0);
}

static void node_up(struct node *n, const uint8_t secret[32])
{
	node_up_at(n, secret, "tcp://127.0.0.1:*", 0);
}

static void node_down(struct node *n)
{
	gossip_mesh_free(&n->m);
	assert_null(n->m);
	omxsec_identity_free(&n->id);
}

/* Drives every mesh for ms milliseconds (or until *until >= want). */
static void pump(struct node **ns, int k, int ms, const int *until, int want)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	while (now_ms() < end && !(until && *until >= want)) {
		zmq_pollitem_t items[8 * GOSSIP_MESH_POLLITEMS];
		for (int i = 0; i < k; i++)
			gossip_mesh_pollitems(ns[i]->m, items + i * GOSSIP_MESH_POLLITEMS);
		assert_true(zmq_poll(items, k * GOSSIP_MESH_POLLITEMS, 5) >= 0);
		for (int i = 0; i < k; i++) {
			gossip_mesh_dispatch(ns[i]->m, now_ms(), items + i * GOSSIP_MESH_POLLITEMS);
			gossip_mesh_tick(ns[i]->m, now_ms());
		}
	}
}

/* Two members of one new cluster; b has sent a "hello" and a has received it (the connection
 * is up). Returns a's endpoint. */
static const char *members_connected(struct node *a, struct node *b)
{
	uint8_t secret[32];
	randombytes_buf(secret, sizeof(secret));
	node_up(a, secret);
	node_up(b, secret);
	struct node *ns[] = { a, b };
	const char *ea = gossip_mesh_endpoint(a->m);
	assert_int_equal(gossip_mesh_send(b->m, now_ms(), ea, GOSSIP_MESH_CH_GOSSIP,
					  (const uint8_t *)"hello", 5),
			 0);
	pump(ns, 2, 3000, &a->in.n, 1);
	assert_int_equal(a->in.n, 1);
	return ea;
}

static void test_members_talk(void **state)
{
	struct node a, b;
	const char *ea = members_connected(&a, &b);
	struct node *ns[] = { &a, &b };
	assert_memory_equal(ea, "tcp://127.0.0.1:", 16);
	assert_int_equal(a.in.len, 5);
	assert_memory_equal(a.in.data, "hello", 5);
	/* the transport identity is b's CURVE key, which maps from b's Ed25519 key */
	assert_memory_equal(a.in.peer, b.id->curve_pk, 32);
	assert_int_equal(omxsec_peer_check(b.id->sign_pk, a.in.peer, 32), 0);
	assert_int_equal(omxsec_peer_check(a.id->sign_pk, a.in.peer, 32), -EPERM);
	assert_true(gossip_mesh_get_stats(a.m)->zap_accepted >= 1);

	/* a channel without a handler is dropped and counted */
	assert_int_equal(gossip_mesh_send(b.m, now_ms(), ea, GOSSIP_MESH_CH_OMFS,
					  (const uint8_t *)"x", 1),
			 0);
	const uint64_t *nochan = &gossip_mesh_get_stats(a.m)->drop_nochan;
	for (int i = 0; i < 200 && *nochan == 0; i++)
		pump(ns, 2, 10, NULL, 0);
	assert_int_equal(*nochan, 1);
	assert_int_equal(a.in.n, 1);

	/* bad arguments */
	assert_int_equal(gossip_mesh_send(b.m, now_ms(), ea, 0, (const uint8_t *)"x", 1), -EINVAL);
	assert_int_equal(gossip_mesh_send(b.m, now_ms(), ea, GOSSIP_MESH_CH_MAX,
					  (const uint8_t *)"x", 1),
			 -EINVAL);
	assert_int_equal(gossip_mesh_send(b.m, now_ms(), "ipc:///tmp/x", GOSSIP_MESH_CH_GOSSIP,
					  (const uint8_t *)"x", 1),
			 -EINVAL);
	node_down(&a);
	node_down(&b);
}

static void test_wrong_cluster_rejected(void **state)
{
	uint8_t s1[32], s2[32];
	randombytes_buf(s1, sizeof(s1));
	randombytes_buf(s2, sizeof(s2));
	struct node a, x;
	node_up(&a, s1);
	node_up(&x, s2); /* another cluster: does not know a's server key */
	struct node *ns[] = { &a, &x };
	const char *ea = gossip_mesh_endpoint(a.m);
	for (int i = 0; i < 5; i++)
		assert_int_equal(gossip_mesh_send(x.m, now_ms(), ea, GOSSIP_MESH_CH_GOSSIP,
						  (const uint8_t *)"intruder", 8),
				 0);
	const uint64_t *failed = &gossip_mesh_get_stats(a.m)->handshake_failed;
	for (int i = 0; i < 300 && *failed == 0; i++)
		pump(ns, 2, 10, NULL, 0);
	pump(ns, 2, 300, NULL, 0);
	assert_true(*failed >= 1);
	assert_int_equal(a.in.n, 0);
	assert_int_equal(gossip_mesh_get_stats(a.m)->rx_frames, 0);
	assert_int_equal(gossip_mesh_get_stats(a.m)->zap_accepted, 0);
	node_down(&a);
	node_down(&x);
}

static void test_denied_key(void **state)
{
	uint8_t secret[32];
	randombytes_buf(secret, sizeof(secret));
	struct node a, b, c;
	node_up(&a, secret);
	node_up(&b, secret);
	node_up(&c, secret);
	assert_int_equal(gossip_mesh_deny(a.m, b.id->curve_pk), 0);
	assert_int_equal(gossip_mesh_deny(a.m, b.id->curve_pk), 0); /* idempotent */
	struct node *ns[] = { &a, &b, &c };
	const char *ea = gossip_mesh_endpoint(a.m);
	assert_int_equal(gossip_mesh_send(b.m, now_ms(), ea, GOSSIP_MESH_CH_GOSSIP,
					  (const uint8_t *)"denied", 6),
			 0);
	assert_int_equal(gossip_mesh_send(c.m, now_ms(), ea, GOSSIP_MESH_CH_GOSSIP,
					  (const uint8_t *)"welcome", 7),
			 0);
	pump(ns, 3, 3000, &a.in.n, 1);
	pump(ns, 3, 300, NULL, 0);
	assert_int_equal(a.in.n, 1);
	assert_memory_equal(a.in.data, "welcome", 7);
	assert_memory_equal(a.in.peer, c.id->curve_pk, 32);
	assert_true(gossip_mesh_get_stats(a.m)->zap_denied >= 1);
	node_down(&a);
	node_down(&b);
	node_down(&c);
}

static void test_wrong_shape(void **state)
{
	uint8_t secret[32];
	randombytes_buf(secret, sizeof(secret));
	struct node a, b;
	node_up(&a, secret);
	node_up(&b, secret);
	struct node *ns[] = { &a };
	/* a raw DEALER with valid keys sending multi-frame and empty messages */
	void *ctx = zmq_ctx_new();
	void *s = zmq_socket(ctx, ZMQ_DEALER);
	uint8_t spk[32], ssk[32];
	assert_int_equal(omxsec_derive_server_keys(secret, spk, ssk), 0);
	assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, spk, 32), 0);
	assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, b.id->curve_pk, 32), 0);
	assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, b.id->curve_sk, 32), 0);
	int zero = 0;
	assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)), 0);
	assert_int_equal(zmq_connect(s, gossip_mesh_endpoint(a.m)), 0);
	assert_int_equal(zmq_send(s, "\x01", 1, ZMQ_SNDMORE), 1); /* two frames */
	assert_int_equal(zmq_send(s, "abc", 3, 0), 3);
	assert_int_equal(zmq_send(s, "", 0, 0), 0);		  /* empty */
	assert_int_equal(zmq_send(s, "\x00zz", 3, 0), 3);	  /* channel 0 */
	assert_int_equal(zmq_send(s, "\x01ok", 3, 0), 3);	  /* fine */
	const uint64_t *shape = &gossip_mesh_get_stats(a.m)->drop_shape;
	pump(ns, 1, 3000, &a.in.n, 1);
	for (int i = 0; i < 100 && *shape < 3; i++)
		pump(ns, 1, 10, NULL, 0);
	assert_int_equal(*shape, 3);
	assert_int_equal(a.in.n, 1);
	assert_memory_equal(a.in.data, "ok", 2);
	assert_int_equal(zmq_close(s), 0);
	assert_int_equal(zmq_ctx_term(ctx), 0);
	node_down(&a);
	node_down(&b);
}

/* A datagram sent before the peer listens is held and delivered once the handshake completes;
 * a connection without traffic is closed after idle_close_ms and reopened by the next send. */
static void test_pending_and_idle(void **state)
{
	uint8_t secret[32];
	randombytes_buf(secret, sizeof(secret));
	struct node a, b;
	node_up_at(&b, secret, "tcp://127.0.0.1:*", 400);
	/* a free port: probe it with a throw-away mesh, then send before anyone listens there */
	char ep[64];
	for (int tries = 0;; tries++) {
		assert_true(tries < 50);
		snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%u", 20000 + randombytes_uniform(20000));
		struct gossip_mesh_config pc = { .listen = ep };
		struct gossip_mesh *probe = NULL;
		if (gossip_mesh_new(&pc, &probe) == 0) {
			gossip_mesh_free(&probe);
			break;
		}
	}
	assert_int_equal(gossip_mesh_send(b.m, now_ms(), ep, GOSSIP_MESH_CH_GOSSIP,
					  (const uint8_t *)"early", 5),
			 0);
	struct node *nb[] = { &b };
	pump(nb, 1, 150, NULL, 0); /* nobody listens yet: held */
	node_up_at(&a, secret, ep, 0);
	struct node *ns[] = { &a, &b };
	pump(ns, 2, 2000, &a.in.n, 1);
	assert_int_equal(a.in.n, 1);
	assert_memory_equal(a.in.data, "early", 5);
	assert_int_equal(gossip_mesh_get_stats(b.m)->tx_dropped, 0);

	const uint64_t *closed = &gossip_mesh_get_stats(b.m)->peers_closed;
	for (int i = 0; i < 300 && *closed == 0; i++)
		pump(ns, 2, 10, NULL, 0);
	assert_int_equal(*closed, 1);
	assert_int_equal(gossip_mesh_send(b.m, now_ms(), ep, GOSSIP_MESH_CH_GOSSIP,
					  (const uint8_t *)"again", 5),
			 0);
	pump(ns, 2, 2000, &a.in.n, 2);
	assert_int_equal(a.in.n, 2);
	assert_memory_equal(a.in.data, "again", 5);
	assert_int_equal(gossip_mesh_get_stats(b.m)->peers_opened, 2);
	node_down(&a);
	node_down(&b);
}

/* Datagrams to nobody are dropped after pending_ms and counted, never block. */
static void test_unreachable_dropped(void **state)
{
	uint8_t secret[32];
	randombytes_buf(secret, sizeof(secret));
	struct node b;
	node_up(&b, secret);
	struct node *ns[] = { &b };
	uint64_t t0 = now_ms();
	for (int i = 0; i < 40; i++) { /* more than the per-peer hold queue */
		int r = gossip_mesh_send(b.m, now_ms(), "tcp://127.0.0.1:9", GOSSIP_MESH_CH_GOSSIP,
					 (const uint8_t *)"x", 1);
		assert_true(r == 0 || r == -EAGAIN);
	}
	assert_true(now_ms() - t0 < 500);
	const uint64_t *dropped = &gossip_mesh_get_stats(b.m)->tx_dropped;
	for (int i = 0; i < 600 && *dropped < 40; i++)
		pump(ns, 1, 10, NULL, 0);
	assert_int_equal(*dropped, 40);
	node_down(&b);
}

/* More waiting than one dispatch reads (its budget, 1024): the inbound fds do not fire again for
 * the rest, so gossip_mesh_next_deadline() must say "now" and the next dispatch, with nothing
 * ready in its items, must read on. Everything arrives, nothing twice. */
static void test_backlog_past_budget(void **state)
{
	struct node a, b;
	const char *ea = members_connected(&a, &b);
	struct node *ns[] = { &a, &b };
	const int want = 1 + 1500;
	int sent = 1;
	/* only b's side runs: a's ROUTER queue fills (its receive HWM is 10,000) */
	for (uint64_t end = now_ms() + 5000; sent < want && now_ms() < end;) {
		int r = gossip_mesh_send(b.m, now_ms(), ea, GOSSIP_MESH_CH_GOSSIP,
					 (const uint8_t *)"y", 1);
		if (r == 0)
			sent++;
		zmq_pollitem_t it[GOSSIP_MESH_POLLITEMS];
		gossip_mesh_pollitems(b.m, it);
		assert_true(zmq_poll(it, GOSSIP_MESH_POLLITEMS, r == 0 ? 0 : 2) >= 0);
		gossip_mesh_dispatch(b.m, now_ms(), it);
		gossip_mesh_tick(b.m, now_ms());
	}
	assert_int_equal(sent, want);
	/* a datagram refused by a full queue is held, and may be dropped (counted) past HELD_MAX */
	const int arrive = want - (int)gossip_mesh_get_stats(b.m)->tx_dropped;
	assert_true(arrive > 1024 + 64);
	/* wait until a has the whole backlog queued: its ROUTER fd fires on arrival */
	zmq_pollitem_t it[GOSSIP_MESH_POLLITEMS];
	uint64_t end = now_ms() + 5000;
	while (a.in.n < 1024 + 1 && now_ms() < end) {
		gossip_mesh_tick(b.m, now_ms()); /* b's held datagrams go out */
		gossip_mesh_pollitems(a.m, it);
		assert_true(zmq_poll(it, GOSSIP_MESH_POLLITEMS, 100) >= 0);
		if (it[1].revents & ZMQ_POLLIN) {
			usleep(300000); /* let the rest arrive behind the first */
			gossip_mesh_dispatch(a.m, now_ms(), it);
		}
	}
	assert_true(a.in.n >= 1024 + 1 && a.in.n < arrive); /* stopped at the budget */
	assert_true(gossip_mesh_next_deadline(a.m) <= now_ms());
	gossip_mesh_pollitems(a.m, it);
	for (int i = 0; i < GOSSIP_MESH_POLLITEMS; i++)
		it[i].revents = 0; /* nothing signalled */
	gossip_mesh_dispatch(a.m, now_ms(), it);
	assert_true(a.in.n >= arrive && a.in.n <= want); /* tx_dropped may count re-held ones */
	assert_int_equal(gossip_mesh_get_stats(a.m)->rx_frames, (uint64_t)a.in.n);
	int n = a.in.n;
	pump(ns, 2, 300, NULL, 0); /* nothing was left behind */
	assert_int_equal(a.in.n, n);
	gossip_mesh_tick(a.m, now_ms());
	assert_true(gossip_mesh_next_deadline(a.m) > now_ms()); /* no backlog left */
	node_down(&a);
	node_down(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members_talk),
		cmocka_unit_test(test_wrong_cluster_rejected),
		cmocka_unit_test(test_denied_key),
		cmocka_unit_test(test_wrong_shape),
		cmocka_unit_test(test_pending_and_idle),
		cmocka_unit_test(test_unreachable_dropped),
		cmocka_unit_test(test_backlog_past_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
