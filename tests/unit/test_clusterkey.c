/* test_clusterkey.c - CLUSTER_KEY round trip and every class of malformed key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/clusterkey.h"
#include "proto/clusterkey.pb-c.h"

static void fmt(const struct omxsec_clusterkey *k, char *buf)
{
	assert_int_equal(omxsec_clusterkey_format(k, buf, OMXSEC_CLUSTERKEY_STR_MAX), 0);
}

static void test_round_trip(void **state)
{
	struct omxsec_clusterkey *k = NULL, *back = NULL;
	char buf[OMXSEC_CLUSTERKEY_STR_MAX];
	assert_int_equal(omxsec_clusterkey_generate(&k), 0);
	assert_int_equal(omxsec_clusterkey_add_seed(k, "10.0.0.1:4660"), 0);
	assert_int_equal(omxsec_clusterkey_add_seed(k, "node-2.example.org:4661"), 0);
	fmt(k, buf);
	assert_memory_equal(buf, "omx1-", 5);
	assert_null(strpbrk(buf, "+/= \n"));
	assert_int_equal(omxsec_clusterkey_parse(buf, &back), 0);
	assert_memory_equal(back->secret, k->secret, OMXSEC_SECRET_LEN);
	assert_int_equal(back->n_seeds, 2);
	assert_string_equal(back->seeds[0], "10.0.0.1:4660");
	assert_string_equal(back->seeds[1], "node-2.example.org:4661");
	omxsec_clusterkey_free(&back);
	assert_null(back);

	/* surrounding white space is ignored (copy/paste) */
	char spaced[OMXSEC_CLUSTERKEY_STR_MAX + 8];
	snprintf(spaced, sizeof(spaced), "  %s\n", buf);
	assert_int_equal(omxsec_clusterkey_parse(spaced, &back), 0);
	omxsec_clusterkey_free(&back);

	/* two keys differ */
	struct omxsec_clusterkey *k2 = NULL;
	assert_int_equal(omxsec_clusterkey_generate(&k2), 0);
	assert_memory_not_equal(k->secret, k2->secret, OMXSEC_SECRET_LEN);
	omxsec_clusterkey_free(&k2);
	omxsec_clusterkey_free(&k);
	omxsec_clusterkey_free(&k); /* NULL-safe */
}

static void test_no_seeds(void **state)
{
	struct omxsec_clusterkey *k = NULL, *back = NULL;
	char buf[OMXSEC_CLUSTERKEY_STR_MAX];
	assert_int_equal(omxsec_clusterkey_generate(&k), 0);
	fmt(k, buf);
	assert_int_equal(omxsec_clusterkey_parse(buf, &back), 0);
	assert_int_equal(back->n_seeds, 0);
	omxsec_clusterkey_free(&back);
	omxsec_clusterkey_free(&k);
}

static void test_seeds(void **state)
{
	struct omxsec_clusterkey *k = NULL;
	assert_int_equal(omxsec_clusterkey_generate(&k), 0);
	const char *bad[] = { "", "10.0.0.1", "10.0.0.1:", ":4660", "10.0.0.1:0", "10.0.0.1:65536",
			      "10.0.0.1:46x0", "a b:1", "tcp://x:1", "h\n:1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(omxsec_clusterkey_add_seed(k, bad[i]), -EINVAL);
	char longhost[OMXSEC_SEED_MAX + 8];
	memset(longhost, 'a', sizeof(longhost));
	strcpy(longhost + OMXSEC_SEED_MAX - 2, ":1");
	assert_int_equal(omxsec_clusterkey_add_seed(k, longhost), -EINVAL);
	for (int i = 0; i < OMXSEC_SEEDS_MAX; i++)
		assert_int_equal(omxsec_clusterkey_add_seed(k, "10.1.2.3:65535"), 0);
	assert_int_equal(omxsec_clusterkey_add_seed(k, "10.1.2.3:1"), -E2BIG);
	char buf[OMXSEC_CLUSTERKEY_STR_MAX];
	fmt(k, buf);
	struct omxsec_clusterkey *back = NULL;
	assert_int_equal(omxsec_clusterkey_parse(buf, &back), 0);
	assert_int_equal(back->n_seeds, OMXSEC_SEEDS_MAX);
	omxsec_clusterkey_free(&back);
	omxsec_clusterkey_free(&k);
}

static int parse_err(const char *s)
{
	struct omxsec_clusterkey *k = (struct omxsec_clusterkey *)0x1; /* must stay untouched */
	int r = omxsec_clusterkey_parse(s, &k);
	assert_true(r < 0);
	assert_ptr_equal(k, (struct omxsec_clusterkey *)0x1);
	return r;
}

static void test_malformed(void **state)
{
	struct omxsec_clusterkey *k = NULL;
	char good[OMXSEC_CLUSTERKEY_STR_MAX], bad[OMXSEC_CLUSTERKEY_STR_MAX + 8];
	assert_int_equal(omxsec_clusterkey_generate(&k), 0);
	assert_int_equal(omxsec_clusterkey_add_seed(k, "10.0.0.1:4660"), 0);
	fmt(k, good);
	size_t len = strlen(good);

	assert_int_equal(parse_err(NULL), -EINVAL);
	assert_int_equal(parse_err(""), -EINVAL);
	assert_int_equal(parse_err("garbage"), -EINVAL);
	assert_int_equal(parse_err("omx1-"), -EINVAL);
	assert_int_equal(parse_err("omx1:not-a-key"), -EINVAL);
	assert_int_equal(parse_err("OMX1-AAAAAAAAAAAAAAAAAAAAAAAA"), -EINVAL);
	/* another format version */
	snprintf(bad, sizeof(bad), "omx2-%s", good + 5);
	assert_int_equal(parse_err(bad), -EPROTONOSUPPORT);
	/* truncated at every length */
	for (size_t cut = 0; cut < len; cut++) {
		memcpy(bad, good, cut);
		bad[cut] = '\0';
		int r = parse_err(bad);
		assert_true(r == -EINVAL || r == -EBADMSG);
	}
	/* one extra character */
	snprintf(bad, sizeof(bad), "%sA", good);
	int r = parse_err(bad);
	assert_true(r == -EINVAL || r == -EBADMSG);
	/* every single-character substitution in the body */
	for (size_t i = 5; i < len; i++) {
		strcpy(bad, good);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		r = parse_err(bad);
		assert_true(r == -EINVAL || r == -EBADMSG);
	}
	/* characters outside base64url */
	strcpy(bad, good);
	bad[10] = '+';
	assert_int_equal(parse_err(bad), -EINVAL);
	strcpy(bad, good);
	bad[10] = ' ';
	assert_int_equal(parse_err(bad), -EINVAL);
	/* too long */
	char huge[OMXSEC_CLUSTERKEY_STR_MAX + 10];
	memset(huge, 'A', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	memcpy(huge, "omx1-", 5);
	assert_int_equal(parse_err(huge), -EINVAL);
	omxsec_clusterkey_free(&k);
}

/* A well-checksummed key whose protobuf content is wrong. */
static void make_raw(const Omx__ClusterKey *m, char *out, size_t cap)
{
	uint8_t raw[1024];
	size_t n = omx__cluster_key__pack(m, raw);
	crypto_generichash(raw + n, 16, raw, n, NULL, 0);
	strcpy(out, "omx1-");
	sodium_bin2base64(out + 5, cap - 5, raw, n + 16, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void test_bad_content(void **state)
{
	uint8_t secret[32] = { 1, 2, 3 };
	char buf[4096];
	Omx__ClusterKey m = OMX__CLUSTER_KEY__INIT;
	m.version = 1;
	m.secret.data = secret;
	m.secret.len = 16; /* short secret */
	make_raw(&m, buf, sizeof(buf));
	assert_int_equal(parse_err(buf), -EPROTO);

	m.secret.len = 32;
	m.version = 7; /* unknown version inside */
	make_raw(&m, buf, sizeof(buf));
	assert_int_equal(parse_err(buf), -EPROTONOSUPPORT);

	m.version = 1;
	char *seeds[] = { "10.0.0.1:4660", "no-port" };
	m.seeds = seeds;
	m.n_seeds = 2;
	make_raw(&m, buf, sizeof(buf));
	assert_int_equal(parse_err(buf), -EPROTO);

	m.n_seeds = 1; /* and this one is fine */
	make_raw(&m, buf, sizeof(buf));
	struct omxsec_clusterkey *k = NULL;
	assert_int_equal(omxsec_clusterkey_parse(buf, &k), 0);
	assert_memory_equal(k->secret, secret, 32);
	omxsec_clusterkey_free(&k);

	/* checksum fine, not a protobuf at all */
	uint8_t junk[40];
	memset(junk, 0xff, 24);
	crypto_generichash(junk + 24, 16, junk, 24, NULL, 0);
	strcpy(buf, "omx1-");
	sodium_bin2base64(buf + 5, sizeof(buf) - 5, junk, 40, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	assert_int_equal(parse_err(buf), -EPROTO);
}

static void test_strerror(void **state)
{
	int errs[] = { -EINVAL, -EBADMSG, -EPROTONOSUPPORT, -EPROTO };
	for (size_t i = 0; i < 4; i++) {
		const char *s = omxsec_clusterkey_strerror(errs[i]);
		assert_non_null(strstr(s, "key"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip), cmocka_unit_test(test_no_seeds),
		cmocka_unit_test(test_seeds),	   cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bad_content), cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
