/* test_omfs_xattr.c - oMFS carries every extended attribute but host-local LSM labels.
 *
 * The pure list filter, then the server core: security.selinux is neither read, set, removed
 * nor listed through oMFS (EOPNOTSUPP, as NFSv3 or SSHFS), user.* is; a file whose only
 * attribute is a label counts as having none (Attr.no_xattrs), so clients answer ACL queries
 * for it without a round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/xattr.h>

#include <cmocka.h>

#include "omfs/omfs_xattr.h"
#include "tests/unit/test_omfs_fixture.h"

#define LABEL "system_u:object_r:etc_t:s0"

static void test_names(void **state)
{
	(void)state;
	assert_true(omfs_xattr_host_local("security.selinux"));
	assert_true(omfs_xattr_host_local("security.SMACK64"));
	assert_true(omfs_xattr_host_local("security.SMACK64EXEC"));
	assert_false(omfs_xattr_host_local("security.capability"));
	assert_false(omfs_xattr_host_local("security.selinuxx"));
	assert_false(omfs_xattr_host_local("user.selinux"));
	assert_false(omfs_xattr_host_local("system.posix_acl_access"));
	assert_false(omfs_xattr_host_local("trusted.x"));
}

static void test_filter_list(void **state)
{
	(void)state;
	char a[] = "security.selinux\0user.a\0security.SMACK64\0trusted.b\0";
	size_t n = omfs_xattr_filter_list(a, sizeof(a) - 1);
	assert_int_equal(n, strlen("user.a") + 1 + strlen("trusted.b") + 1);
	assert_memory_equal(a, "user.a\0trusted.b\0", n);

	char b[] = "security.selinux\0";
	assert_int_equal(omfs_xattr_filter_list(b, sizeof(b) - 1), 0);
	assert_int_equal(omfs_xattr_filter_list(b, 0), 0);

	/* a last name cut short (no NUL) is kept, never read past */
	char c[] = "user.a\0security.selinux";
	n = omfs_xattr_filter_list(c, sizeof(c) - 1);
	assert_int_equal(n, sizeof(c) - 1);
}

/* the on-disk label of exp/<name>, or "" */
static void disk_label(const char *rel, char *buf, size_t size)
{
	ssize_t n = lgetxattr(P(rel), "security.selinux", buf, size - 1);
	buf[n < 0 ? 0 : n] = '\0';
}

static int xop(enum omfs_op o, const char *rel, const char *name, const char *value, size_t size,
	       struct omfs_resp *resp)
{
	struct omfs_req r;
	req_init(&r, o, &CRED_ROOT, P(rel));
	if (name)
		r.path2 = (struct omfs_buf){(const uint8_t *)name, strlen(name)};
	if (value)
		r.data = (struct omfs_buf){(const uint8_t *)value, strlen(value)};
	r.size = (uint32_t)size;
	return run(1, &r, resp);
}

static void test_server(void **state)
{
	(void)state;
	struct omfs_resp resp;
	char buf[128];
	fx_write("nosq/lbl", "x", 0644, 0, 0);
	fx_write("nosq/plain", "x", 0644, 0, 0);
	if (lsetxattr(P("nosq/lbl"), "security.selinux", LABEL, strlen(LABEL), 0) < 0) {
		print_message("no security.* xattrs on %s (%s): skipped\n", fx.tmp,
			      strerror(errno));
		skip();
	}
	assert_int_equal(lsetxattr(P("nosq/plain"), "security.selinux", LABEL, strlen(LABEL), 0),
			 0);

	/* a label alone counts as no attribute: the ACL questions are answerable */
	assert_int_equal(xop(OMFS_OP_GETATTR, "nosq/lbl", NULL, NULL, 0, &resp), 0);
	assert_true(resp.attr.no_xattrs);
	omfs_resp_clear(&resp);
	assert_int_equal(lsetxattr(P("nosq/lbl"), "user.keep", "1", 1, 0), 0);
	assert_int_equal(xop(OMFS_OP_GETATTR, "nosq/lbl", NULL, NULL, 0, &resp), 0);
	assert_false(resp.attr.no_xattrs);
	omfs_resp_clear(&resp);

	/* neither read, set nor removed, even by root without squash */
	assert_int_equal(xop(OMFS_OP_GETXATTR, "nosq/lbl", "security.selinux", NULL, 128, &resp),
			 -EOPNOTSUPP);
	omfs_resp_clear(&resp);
	assert_int_equal(xop(OMFS_OP_SETXATTR, "nosq/lbl", "security.selinux", "evil_t", 0, &resp),
			 -EOPNOTSUPP);
	omfs_resp_clear(&resp);
	assert_int_equal(xop(OMFS_OP_REMOVEXATTR, "nosq/lbl", "security.selinux", NULL, 0, &resp),
			 -EOPNOTSUPP);
	omfs_resp_clear(&resp);
	disk_label("nosq/lbl", buf, sizeof(buf));
	assert_string_equal(buf, LABEL);

	/* listed without it: the size asked first matches the list given after */
	assert_int_equal(xop(OMFS_OP_LISTXATTR, "nosq/lbl", NULL, NULL, 0, &resp), 0);
	assert_int_equal(resp.size, strlen("user.keep") + 1);
	omfs_resp_clear(&resp);
	assert_int_equal(xop(OMFS_OP_LISTXATTR, "nosq/lbl", NULL, NULL, 128, &resp), 0);
	assert_int_equal(resp.data_len, strlen("user.keep") + 1);
	assert_memory_equal(resp.data, "user.keep", strlen("user.keep") + 1);
	omfs_resp_clear(&resp);
	assert_int_equal(xop(OMFS_OP_LISTXATTR, "nosq/lbl", NULL, NULL, 4, &resp), -ERANGE);
	omfs_resp_clear(&resp);
	assert_int_equal(xop(OMFS_OP_LISTXATTR, "nosq/plain", NULL, NULL, 128, &resp), 0);
	assert_int_equal(resp.size, 0);
	omfs_resp_clear(&resp);

	/* everything else is carried */
	assert_int_equal(xop(OMFS_OP_GETXATTR, "nosq/lbl", "user.keep", NULL, 128, &resp), 0);
	assert_int_equal(resp.data_len, 1);
	omfs_resp_clear(&resp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_filter_list),
	    cmocka_unit_test_setup_teardown(test_server, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
