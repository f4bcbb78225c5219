/* test_crypto_identity.c - identity file (0600, reload, refusal of unsafe or damaged files),
 * Ed25519 -> X25519 mapping and the transport peer check, signatures, key derivation. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/identity.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/omx-test-identity-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void key_path(char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", dir, OMXSEC_IDENTITY_FILE);
}

static void test_create_and_reload(void **state)
{
	char path[128];
	key_path(path, sizeof(path));
	(void)unlink(path);
	mode_t old = umask(0); /* the file must be 0600 whatever the umask */
	struct omxsec_identity *a = NULL, *b = NULL;
	bool created = false;
	assert_int_equal(omxsec_identity_load(dir, &a, &created), 0);
	umask(old);
	assert_true(created);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, OMXSEC_SIGN_SK_LEN);

	assert_int_equal(omxsec_identity_load(dir, &b, &created), 0);
	assert_false(created);
	assert_memory_equal(a->sign_pk, b->sign_pk, OMXSEC_SIGN_PK_LEN);
	assert_memory_equal(a->curve_pk, b->curve_pk, OMXSEC_CURVE_LEN);
	assert_memory_equal(a->curve_sk, b->curve_sk, OMXSEC_CURVE_LEN);
	omxsec_identity_free(&a);
	omxsec_identity_free(&b);
	assert_null(a);
	omxsec_identity_free(&a); /* NULL-safe */
}

static void test_refuse_unsafe(void **state)
{
	char path[128];
	key_path(path, sizeof(path));
	struct omxsec_identity *a = NULL;
	assert_int_equal(omxsec_identity_load(dir, &a, NULL), 0);
	omxsec_identity_free(&a);

	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(omxsec_identity_load(dir, &a, NULL), -EPERM);
	assert_null(a);
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_equal(omxsec_identity_load(dir, &a, NULL), -EPERM);
	assert_int_equal(chmod(path, 0600), 0);

	/* truncated */
	assert_int_equal(truncate(path, 40), 0);
	assert_int_equal(omxsec_identity_load(dir, &a, NULL), -EBADMSG);
	/* right size, inconsistent halves */
	int fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	uint8_t junk[OMXSEC_SIGN_SK_LEN];
	memset(junk, 0x5a, sizeof(junk));
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	assert_int_equal(omxsec_identity_load(dir, &a, NULL), -EBADMSG);
	/* too long */
	assert_int_equal(write(fd, junk, 1), 1);
	assert_int_equal(omxsec_identity_load(dir, &a, NULL), -EBADMSG);
	assert_int_equal(close(fd), 0);
	assert_null(a);
	assert_int_equal(unlink(path), 0);

	/* a symlink is not followed */
	assert_int_equal(symlink("/etc/hostname", path), 0);
	assert_true(omxsec_identity_load(dir, &a, NULL) < 0);
	assert_int_equal(unlink(path), 0);
}

static void test_curve_and_peer_check(void **state)
{
	struct omxsec_identity *a = NULL, *b = NULL;
	assert_int_equal(omxsec_identity_generate(&a), 0);
	assert_int_equal(omxsec_identity_generate(&b), 0);
	uint8_t c[OMXSEC_CURVE_LEN], pk_from_sk[OMXSEC_CURVE_LEN];
	assert_int_equal(omxsec_sign_pk_to_curve(a->sign_pk, c), 0);
	assert_memory_equal(c, a->curve_pk, OMXSEC_CURVE_LEN);
	/* the converted secret key matches the converted public key */
	assert_int_equal(crypto_scalarmult_base(pk_from_sk, a->curve_sk), 0);
	assert_memory_equal(pk_from_sk, a->curve_pk, OMXSEC_CURVE_LEN);

	assert_int_equal(omxsec_peer_check(a->sign_pk, a->curve_pk, OMXSEC_CURVE_LEN), 0);
	assert_int_equal(omxsec_peer_check(a->sign_pk, b->curve_pk, OMXSEC_CURVE_LEN), -EPERM);
	assert_int_equal(omxsec_peer_check(b->sign_pk, a->curve_pk, OMXSEC_CURVE_LEN), -EPERM);
	assert_int_equal(omxsec_peer_check(a->sign_pk, a->curve_pk, 31), -EPERM);
	assert_int_equal(omxsec_peer_check(a->sign_pk, NULL, 32), -EPERM);
	/* the raw Ed25519 key is not its own transport identity */
	assert_int_equal(omxsec_peer_check(a->sign_pk, a->sign_pk, 32), -EPERM);
	/* an invalid Ed25519 point never matches */
	uint8_t bogus[32];
	memset(bogus, 0xff, sizeof(bogus));
	assert_int_equal(omxsec_sign_pk_to_curve(bogus, c), -EINVAL);
	assert_int_equal(omxsec_peer_check(bogus, a->curve_pk, 32), -EPERM);
	omxsec_identity_free(&a);
	omxsec_identity_free(&b);
}

static void test_sign_verify(void **state)
{
	struct omxsec_identity *a = NULL, *b = NULL;
	assert_int_equal(omxsec_identity_generate(&a), 0);
	assert_int_equal(omxsec_identity_generate(&b), 0);
	uint8_t msg[100], sig[OMXSEC_SIG_LEN];
	randombytes_buf(msg, sizeof(msg));
	omxsec_sign(a, msg, sizeof(msg), sig);
	assert_int_equal(omxsec_verify(a->sign_pk, msg, sizeof(msg), sig), 0);
	assert_int_equal(omxsec_verify(b->sign_pk, msg, sizeof(msg), sig), -EBADMSG);
	msg[3] ^= 1;
	assert_int_equal(omxsec_verify(a->sign_pk, msg, sizeof(msg), sig), -EBADMSG);
	omxsec_identity_free(&a);
	omxsec_identity_free(&b);
}

static void test_derivation(void **state)
{
	uint8_t s1[32], s2[32], pk1[32], sk1[32], pk1b[32], sk1b[32], pk2[32], sk2[32], chk[32];
	randombytes_buf(s1, sizeof(s1));
	memcpy(s2, s1, sizeof(s2));
	s2[31] ^= 0x80;
	assert_int_equal(omxsec_derive_server_keys(s1, pk1, sk1), 0);
	assert_int_equal(omxsec_derive_server_keys(s1, pk1b, sk1b), 0);
	assert_int_equal(omxsec_derive_server_keys(s2, pk2, sk2), 0);
	assert_memory_equal(pk1, pk1b, 32); /* deterministic: every member derives the same */
	assert_memory_equal(sk1, sk1b, 32);
	assert_memory_not_equal(pk1, pk2, 32);
	assert_memory_not_equal(pk1, s1, 32); /* not the secret itself */
	assert_int_equal(crypto_scalarmult_base(chk, sk1), 0);
	assert_memory_equal(chk, pk1, 32); /* a real X25519 key pair */

	char id1[17], id1b[17], id2[17];
	omxsec_cluster_id(s1, id1);
	omxsec_cluster_id(s1, id1b);
	omxsec_cluster_id(s2, id2);
	assert_int_equal(strlen(id1), 16);
	assert_string_equal(id1, id1b);
	assert_string_not_equal(id1, id2);
}

static void test_hex(void **state)
{
	uint8_t in[4] = { 0x00, 0xab, 0x10, 0xff }, out[4] = { 0 };
	char s[9];
	omxsec_hex(in, 4, s);
	assert_string_equal(s, "00ab10ff");
	assert_int_equal(omxsec_unhex("00AB10ff", out, 4), 0);
	assert_memory_equal(in, out, 4);
	assert_int_equal(omxsec_unhex("00ab10f", out, 4), -EINVAL);
	assert_int_equal(omxsec_unhex("00ab10fg", out, 4), -EINVAL);
	assert_int_equal(omxsec_unhex(NULL, out, 4), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_reload), cmocka_unit_test(test_refuse_unsafe),
		cmocka_unit_test(test_curve_and_peer_check), cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_derivation),	   cmocka_unit_test(test_hex),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
