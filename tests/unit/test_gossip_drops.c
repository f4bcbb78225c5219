/* test_gossip_drops.c - bad input to gossip_handle: every drop is counted under its reason and
 * changes nothing (replayed, unsigned, badly signed, impostor, malformed, oversized). Packets are
 * crafted with the core's own wire encoder (gossip/gossip_int.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "gossip/gossip_int.h"
#include "test_gossip_net.h"

struct fx {
	struct tn t;
	uint8_t xpk[32], xsk[64]; /* a node "X" that only exists as crafted packets */
	uint8_t buf[GOSSIP_MSG_MAX + 16];
};

static void make_rec(struct fx *f, struct gossip_rec *r, uint64_t version, bool sign)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->key, f->xpk, 32);
	r->id = 4242;
	r->version = version;
	tn_info(&r->info, 9);
	r->has_sig = sign;
	if (sign) {
		uint8_t tmp[1024];
		int n = gossip_wire_rec_signed_bytes(r, tmp, sizeof(tmp));
		assert_true(n > 0);
		tn_fake_sig(f->xpk, tmp, (size_t)n, r->sig);
	}
}

/* Envelope from `sender` carrying one update. */
static size_t pack(struct fx *f, const uint8_t *sender, const struct gossip_rec *r,
		   const struct gossip_acc *a)
{
	struct gw_msg m;
	struct gw_update u = { .rec = r, .acc = a };
	memset(&m, 0, sizeof(m));
	memcpy(m.sender, sender, 32);
	m.sender_id = 1;
	m.body = GW_GOSSIP;
	m.upd = &u;
	m.n_upd = 1;
	int n = gossip_wire_encode(&m, f->buf, sizeof(f->buf));
	assert_true(n > 0);
	return (size_t)n;
}

static const struct gossip_stats *st(struct fx *f)
{
	return gossip_get_stats(f->t.node[0].g);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	tn_init(&f->t, 2, false);
	tn_join_all(&f->t, 0);
	tn_run(&f->t, 2000);
	uint8_t seed[32] = { 0x77 };
	crypto_sign_seed_keypair(f->xpk, f->xsk, seed);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tn_free(&f->t);
	free(f);
	return 0;
}

static int feed(struct fx *f, size_t len, const uint8_t *peer)
{
	return gossip_handle(f->t.node[0].g, f->t.now, f->buf, len, peer, 32);
}

static void test_records(void **state)
{
	struct fx *f = *state;
	struct gossip_rec r;
	size_t n0 = gossip_member_count(f->t.node[0].g);
	struct gossip_stats s0 = *st(f);

	make_rec(f, &r, 5, true);
	size_t len = pack(f, f->xpk, &r, NULL);
	assert_int_equal(feed(f, len, f->xpk), 0);
	assert_int_equal(gossip_member_count(f->t.node[0].g), n0 + 1);

	/* the same packet again, and an older version: replays */
	assert_int_equal(feed(f, len, f->xpk), 0);
	assert_int_equal(st(f)->drop_replay - s0.drop_replay, 1);
	make_rec(f, &r, 4, true);
	assert_int_equal(feed(f, pack(f, f->xpk, &r, NULL), f->xpk), 0);
	assert_int_equal(st(f)->drop_replay - s0.drop_replay, 2);

	/* newer but unsigned */
	make_rec(f, &r, 6, false);
	assert_int_equal(feed(f, pack(f, f->xpk, &r, NULL), f->xpk), 0);
	assert_int_equal(st(f)->drop_unsigned - s0.drop_unsigned, 1);

	/* newer, signature damaged; then a record changed after signing */
	make_rec(f, &r, 6, true);
	r.sig[10] ^= 1;
	assert_int_equal(feed(f, pack(f, f->xpk, &r, NULL), f->xpk), 0);
	assert_int_equal(st(f)->drop_badsig - s0.drop_badsig, 1);
	make_rec(f, &r, 6, true);
	r.info.load_milli = 99999;
	assert_int_equal(feed(f, pack(f, f->xpk, &r, NULL), f->xpk), 0);
	assert_int_equal(st(f)->drop_badsig - s0.drop_badsig, 2);

	/* node 1 forges X's record with its own key's signature */
	make_rec(f, &r, 7, false);
	r.has_sig = 1;
	uint8_t tmp[1024];
	int n = gossip_wire_rec_signed_bytes(&r, tmp, sizeof(tmp));
	tn_fake_sig(f->t.node[1].pk, tmp, (size_t)n, r.sig);
	assert_int_equal(feed(f, pack(f, f->t.node[1].pk, &r, NULL), f->t.node[1].pk), 0);
	assert_int_equal(st(f)->drop_badsig - s0.drop_badsig, 3);

	/* node 1 forwarding X's genuine record is fine */
	make_rec(f, &r, 7, true);
	assert_int_equal(feed(f, pack(f, f->t.node[1].pk, &r, NULL), f->t.node[1].pk), 0);
	struct gossip_member m;
	assert_int_equal(gossip_member_by_id(f->t.node[0].g, 4242, &m), 0);
	assert_int_equal(m.version, 7);
	assert_int_equal(st(f)->drop_badsig - s0.drop_badsig, 3);
	assert_int_equal(st(f)->drop_unsigned - s0.drop_unsigned, 1);
	assert_int_equal(st(f)->drop_replay - s0.drop_replay, 2);
}

static void test_impostor(void **state)
{
	struct fx *f = *state;
	struct gossip_rec r;
	make_rec(f, &r, 5, true);
	size_t len = pack(f, f->xpk, &r, NULL);
	/* arrives over node 1's connection while claiming to be X */
	assert_int_equal(feed(f, len, f->t.node[1].pk), -EPERM);
	assert_int_equal(st(f)->drop_impostor, 1);
	struct gossip_member m;
	assert_int_equal(gossip_member_by_id(f->t.node[0].g, 4242, &m), -ENOENT);
	/* no transport identity at all */
	assert_int_equal(gossip_handle(f->t.node[0].g, f->t.now, f->buf, len, NULL, 0), -EPERM);
	assert_int_equal(st(f)->drop_impostor, 2);
}

static void test_accusations(void **state)
{
	struct fx *f = *state;
	/* node 1 accuses node 0 without a signature, then with a wrong one */
	struct gossip_acc a;
	memset(&a, 0, sizeof(a));
	a.kind = GOSSIP_ACC_DEAD;
	memcpy(a.target, f->t.node[0].pk, 32);
	memcpy(a.accuser, f->t.node[1].pk, 32);
	a.incarnation = gossip_self_incarnation(f->t.node[0].g);
	uint64_t inc = a.incarnation;
	struct gossip_stats s0 = *st(f);
	assert_int_equal(feed(f, pack(f, f->t.node[1].pk, NULL, &a), f->t.node[1].pk), 0);
	assert_int_equal(st(f)->drop_unsigned - s0.drop_unsigned, 1);
	a.has_sig = 1;
	memset(a.sig, 0xab, 64);
	assert_int_equal(feed(f, pack(f, f->t.node[1].pk, NULL, &a), f->t.node[1].pk), 0);
	assert_int_equal(st(f)->drop_badsig - s0.drop_badsig, 1);
	assert_int_equal(gossip_self_incarnation(f->t.node[0].g), inc);
	/* properly signed: node 0 refutes with a new incarnation */
	uint8_t tmp[512];
	int n = gossip_wire_acc_signed_bytes(&a, tmp, sizeof(tmp));
	tn_fake_sig(f->t.node[1].pk, tmp, (size_t)n, a.sig);
	assert_int_equal(feed(f, pack(f, f->t.node[1].pk, NULL, &a), f->t.node[1].pk), 0);
	assert_int_equal(gossip_self_incarnation(f->t.node[0].g), inc + 1);
	assert_int_equal(st(f)->false_suspicions_refuted - s0.false_suspicions_refuted, 1);
}

static void test_garbage(void **state)
{
	struct fx *f = *state;
	const uint8_t *peer = f->t.node[1].pk;
	assert_int_equal(gossip_handle(f->t.node[0].g, f->t.now, (const uint8_t *)"", 0, peer, 32),
			 -EBADMSG);
	memset(f->buf, 0xff, 100);
	assert_int_equal(feed(f, 100, peer), -EBADMSG);
	assert_int_equal(st(f)->drop_malformed, 2);
	assert_int_equal(feed(f, GOSSIP_MSG_MAX + 1, peer), -EMSGSIZE);
	assert_int_equal(st(f)->drop_oversize, 1);
	/* a valid packet truncated at every length never crashes and is counted */
	struct gossip_rec r;
	make_rec(f, &r, 9, true);
	size_t len = pack(f, f->xpk, &r, NULL);
	uint64_t before = st(f)->drop_malformed;
	int bad = 0;
	for (size_t l = 1; l < len; l++) {
		uint8_t *copy = malloc(l);
		memcpy(copy, f->buf, l);
		if (gossip_handle(f->t.node[0].g, f->t.now, copy, l, f->xpk, 32) == -EBADMSG)
			bad++;
		free(copy);
	}
	assert_true(bad > 0);
	assert_int_equal(st(f)->drop_malformed - before, (uint64_t)bad);
	/* the cluster still works afterwards */
	tn_run(&f->t, 3000);
	assert_int_equal(tn_state(&f->t, 0, 1), GOSSIP_ALIVE);
	assert_int_equal(tn_state(&f->t, 1, 0), GOSSIP_ALIVE);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_impostor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accusations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
