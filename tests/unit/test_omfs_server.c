/* test_omfs_server.c - the oMFS server core must never leave an export, and must say why not.
 *
 * Escape attempts (.. chains, relative and absolute symlinks, /proc magic links, a directory
 * renamed out of the export while a path walk is inside it), the errno of each refusal, and
 * handles presented by another session.
 */
#include <linux/falloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/test_omfs_fixture.h"

static void test_dotdot_chains(void **state)
{
	char buf[64];
	(void)state;
	/* lexically above the export: lands outside every export, so nothing is there */
	assert_int_equal(op(OMFS_OP_GETATTR, &CRED_ROOT, P("exp/../outside/marker")), -ENOENT);
	assert_int_equal(op(OMFS_OP_GETATTR, &CRED_ROOT, P("exp/d/../../outside/marker")), -ENOENT);
	char deep[PATH_MAX];
	snprintf(deep, sizeof(deep), "%s/exp/d", fx.tmp);
	for (int i = 0; i < 40; i++)
		strcat(deep, "/..");
	strcat(deep, "/etc/passwd");
	assert_int_equal(op(OMFS_OP_GETATTR, &CRED_ROOT, deep), -ENOENT);
	/* .. inside the export is fine */
	assert_int_equal(fx_cat(&CRED_ROOT, P("exp/d/../hello"), buf, sizeof(buf)), 5);
	assert_string_equal(buf, "hello");
}

static void test_symlink_escapes(void **state)
{
	char buf[64], target[PATH_MAX];
	(void)state;
	/* relative symlink climbing out: clamped at the export root */
	assert_int_equal(symlink("../../../../../../../outside/marker", P("exp/up")), 0);
	assert_int_equal(fx_cat(&CRED_ROOT, P("exp/up"), buf, sizeof(buf)), -ENOENT);
	assert_int_equal(symlink("../..", P("exp/d/up2")), 0);
	assert_int_equal(fx_cat(&CRED_ROOT, P("exp/d/up2/outside/marker"), buf, sizeof(buf)),
			 -ENOENT);
	/* absolute symlink to the real marker: resolved inside the export instead */
	assert_int_equal(symlink(P("outside/marker"), P("exp/abs")), 0);
	assert_int_equal(fx_cat(&CRED_ROOT, P("exp/abs"), buf, sizeof(buf)), -ENOENT);
	/* ... which is where a copy placed inside the export is found */
	snprintf(target, sizeof(target), "mkdir -p '%s/exp%s/outside'", fx.tmp, fx.tmp);
	assert_int_equal(system(target), 0);
	snprintf(target, sizeof(target), "exp%s/outside/marker", fx.tmp);
	fx_write(target, "inside", 0644, 0, 0);
	assert_int_equal(fx_cat(&CRED_ROOT, P("exp/abs"), buf, sizeof(buf)), 6);
	assert_string_equal(buf, "inside");
	/* creating through a symlinked parent stays inside too */
	assert_int_equal(symlink("/pub", P("exp/rootlink")), 0);
	assert_int_equal(op(OMFS_OP_MKDIR, &CRED_ROOT, P("exp/rootlink/newdir")), 0);
	struct stat st;
	assert_int_equal(stat(P("exp/pub/newdir"), &st), 0);
	assert_int_equal(stat("/pub/newdir", &st), -1);
	/* the symlink itself is reported, not followed, by getattr and readlink */
	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, OMFS_OP_READLINK, &CRED_ROOT, P("exp/abs"));
	assert_int_equal(run(1, &r, &resp), 0);
	assert_int_equal(resp.data_len, strlen(P("outside/marker")));
	omfs_resp_clear(&resp);
}

static void test_magic_links(void **state)
{
	(void)state;
	struct omfs_export ex = { .path = "/proc", .no_root_squash = 1 };
	struct omfs_server_config cfg = { .exports = &ex, .nexports = 1 };
	struct omfs_server *s;
	assert_int_equal(omfs_server_new(&cfg, &s), 0);
	struct omfs_req r;
	struct omfs_resp resp;
	const char *paths[] = { "/proc/self/root/etc/hostname", "/proc/self/cwd",
				"/proc/self/exe", "/proc/thread-self/root/etc" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		req_init(&r, OMFS_OP_OPEN, &CRED_ROOT, paths[i]);
		omfs_server_exec(s, 1, &r, &resp);
		assert_int_equal(resp.error, -ELOOP);
		omfs_resp_clear(&resp);
	}
	omfs_server_free(&s);
	assert_null(s);
}

struct race {
	volatile int stop;
	const char *in, *out;
	long flips;
};

static void *race_renamer(void *arg)
{
	struct race *ra = arg;
	while (!ra->stop) {
		if (rename(ra->in, ra->out) == 0)
			ra->flips++;
		if (rename(ra->out, ra->in) == 0)
			ra->flips++;
	}
	return NULL;
}

/* A walk resolving "mv/sub/../../outside/marker" stays inside; if "sub" is moved to
 * <tmp>/o1/sub mid-walk, the same ".." steps would reach <tmp>/outside/marker. The kernel's
 * rename sequence check makes such a walk fail (EAGAIN, retried) instead. */
static void test_rename_race(void **state)
{
	(void)state;
	fx_mkdir("exp/mv", 0755);
	fx_mkdir("exp/mv/sub", 0755);
	fx_mkdir("o1", 0755);
	/* a long walk inside "sub" widens the window: sub/x/x/.../x then as many ".." + 2 */
	char deep[PATH_MAX] = "mv/sub", rel[PATH_MAX] = "exp/mv/sub";
	for (int i = 0; i < 30; i++) {
		strcat(rel, "/x");
		fx_mkdir(rel, 0755);
		strcat(deep, "/x");
	}
	for (int i = 0; i < 32; i++)
		strcat(deep, "/..");
	strcat(deep, "/outside/marker");
	assert_int_equal(symlink(deep, P("exp/esc")), 0);
	struct race ra = { .in = P("exp/mv/sub"), .out = P("o1/sub") };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, race_renamer, &ra), 0);
	char buf[64];
	long escapes = 0, tries = 0;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s", P("exp/esc"));
	for (tries = 0; tries < 20000; tries++) {
		long n = fx_cat(&CRED_ROOT, path, buf, sizeof(buf));
		if (n > 0 && strcmp(buf, "ESCAPED") == 0)
			escapes++;
		else
			assert_true(n == -ENOENT || n == -EAGAIN || n == -EXDEV);
	}
	ra.stop = 1;
	assert_int_equal(pthread_join(t, NULL), 0);
	(void)rename(P("o1/sub"), P("exp/mv/sub"));
	assert_true(ra.flips > 100);
	assert_int_equal(escapes, 0);
}

static void test_bad_paths(void **state)
{
	(void)state;
	struct omfs_req r;
	struct omfs_resp resp;
	char nul[128];
	snprintf(nul, sizeof(nul), "%s/exp/hello", fx.tmp);
	size_t nl = strlen(nul);
	nul[strlen(fx.tmp) + 4] = '\0'; /* ".../exp\0hello" */
	req_init(&r, OMFS_OP_GETATTR, &CRED_ROOT, NULL);
	r.path = (struct omfs_buf){ (const uint8_t *)nul, nl };
	assert_int_equal(run(1, &r, &resp), -EINVAL);
	omfs_resp_clear(&resp);

	char *longp = malloc(PATH_MAX + 10);
	assert_non_null(longp);
	memset(longp, 'a', PATH_MAX + 9);
	longp[0] = '/';
	longp[PATH_MAX + 9] = '\0';
	assert_int_equal(op(OMFS_OP_GETATTR, &CRED_ROOT, longp), -ENAMETOOLONG);
	char comp[400];
	snprintf(comp, sizeof(comp), "%s/exp/", fx.tmp);
	memset(comp + strlen(comp), 'b', 300);
	comp[sizeof(comp) - 1] = '\0';
	assert_int_equal(op(OMFS_OP_GETATTR, &CRED_ROOT, comp), -ENAMETOOLONG);
	free(longp);
	assert_int_equal(op(OMFS_OP_GETATTR, &CRED_ROOT, "relative/path"), -EINVAL);
	assert_int_equal(op(OMFS_OP_GETATTR, &CRED_ROOT, ""), -ENOENT);
	assert_int_equal(op(OMFS_OP_GETATTR, &CRED_ROOT, "/nonexistent-export/x"), -ENOENT);
	/* symlink target with a NUL or too long */
	req_init(&r, OMFS_OP_SYMLINK, &CRED_ROOT, P("exp/badlink"));
	r.path2 = (struct omfs_buf){ (const uint8_t *)"a\0b", 3 };
	assert_int_equal(run(1, &r, &resp), -EINVAL);
	omfs_resp_clear(&resp);
}

static void test_errno_values(void **state)
{
	(void)state;
	/* unsquashed root, so that permission checks do not mask the errno under test */
	fx_mkdir("nosq/d", 0755);
	fx_write("nosq/hello", "hello", 0644, 0, 0);
	assert_int_equal(op(OMFS_OP_MKDIR, &CRED_ROOT, P("nosq/d")), -EEXIST);
	assert_int_equal(op(OMFS_OP_MKDIR, &CRED_ROOT, P("nosq/nodir/x")), -ENOENT);
	assert_int_equal(op(OMFS_OP_MKDIR, &CRED_ROOT, P("nosq/hello/x")), -ENOTDIR);
	assert_int_equal(op(OMFS_OP_UNLINK, &CRED_ROOT, P("nosq/d")), -EISDIR);
	assert_int_equal(op(OMFS_OP_RMDIR, &CRED_ROOT, P("nosq/hello")), -ENOTDIR);
	assert_int_equal(op(OMFS_OP_UNLINK, &CRED_ROOT, P("nosq/none")), -ENOENT);
	fx_write("nosq/d/x", "", 0644, 0, 0);
	assert_int_equal(op(OMFS_OP_RMDIR, &CRED_ROOT, P("nosq/d")), -ENOTEMPTY);
	assert_int_equal(op(OMFS_OP_READLINK, &CRED_ROOT, P("nosq/hello")), -EINVAL);
	assert_int_equal(op(OMFS_OP_RMDIR, &CRED_ROOT, P("nosq")), -EBUSY);
	assert_int_equal(op(OMFS_OP_MKDIR, &CRED_ROOT, P("nosq")), -EEXIST);
	assert_int_equal(fx_open(1, &CRED_ROOT, P("nosq/d"), O_WRONLY), -EISDIR);
	assert_int_equal(fx_open(1, &CRED_ROOT, P("nosq/hello"), O_RDONLY | O_DIRECTORY), -ENOTDIR);
	assert_int_equal(fx_open(1, &CRED_ROOT, P("nosq/hello"), O_CREAT | O_EXCL | O_WRONLY),
			 -EEXIST);
	assert_int_equal(fx_open(1, &CRED_ROOT, P("nosq/hello"), O_ACCMODE), -EINVAL);

	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, OMFS_OP_RENAME, &CRED_ROOT, P("nosq/d"));
	const char *to = P("nosq/d/inside");
	r.path2 = (struct omfs_buf){ (const uint8_t *)to, strlen(to) };
	assert_int_equal(run(1, &r, &resp), -EINVAL);
	omfs_resp_clear(&resp);
	to = P("nosq/secret");
	req_init(&r, OMFS_OP_RENAME, &CRED_ROOT, P("nosq/hello"));
	r.path2 = (struct omfs_buf){ (const uint8_t *)to, strlen(to) };
	r.flags = RENAME_NOREPLACE;
	assert_int_equal(run(1, &r, &resp), -EEXIST);
	omfs_resp_clear(&resp);
	r.flags = 1u << 30;
	assert_int_equal(run(1, &r, &resp), -EINVAL);
	omfs_resp_clear(&resp);
	to = P("exp/moved");
	r.path2 = (struct omfs_buf){ (const uint8_t *)to, strlen(to) };
	r.flags = 0;
	assert_int_equal(run(1, &r, &resp), -EXDEV);
	omfs_resp_clear(&resp);

	/* read-only export */
	assert_int_equal(op(OMFS_OP_MKDIR, &CRED_ROOT, P("ro/x")), -EROFS);
	assert_int_equal(op(OMFS_OP_UNLINK, &CRED_ROOT, P("ro/f")), -EROFS);
	assert_int_equal(fx_open(1, &CRED_ROOT, P("ro/f"), O_RDWR), -EROFS);
	assert_int_equal(fx_open(1, &CRED_ROOT, P("ro/new"), O_CREAT | O_WRONLY), -EROFS);
	char buf[16];
	assert_int_equal(fx_cat(&CRED_ROOT, P("ro/f"), buf, sizeof(buf)), 2);
	req_init(&r, OMFS_OP_ACCESS, &CRED_ROOT, P("ro/f"));
	r.mask = W_OK;
	assert_int_equal(run(1, &r, &resp), -EROFS);
	omfs_resp_clear(&resp);

	/* virtual ancestors of the exports: listable, not writable */
	req_init(&r, OMFS_OP_GETATTR, &CRED_ROOT, fx.tmp);
	assert_int_equal(run(1, &r, &resp), 0);
	assert_true(S_ISDIR(resp.attr.mode));
	omfs_resp_clear(&resp);
	assert_int_equal(op(OMFS_OP_MKDIR, &CRED_ROOT, P("newtop")), -EROFS);
	assert_int_equal(op(OMFS_OP_GETATTR, &CRED_ROOT, P("outside")), -ENOENT);
}

static void test_sessions(void **state)
{
	(void)state;
	char buf[64];
	size_t before = omfs_server_handle_count(fx.srv);
	int64_t fh = fx_open(1, &CRED_ROOT, P("exp/hello"), O_RDONLY);
	assert_true(fh > 0);
	assert_int_equal(fx_read(2, (uint64_t)fh, buf, sizeof(buf)), -EBADF);
	assert_int_equal(fx_release(2, (uint64_t)fh), -EBADF);
	assert_int_equal(fx_read(1, (uint64_t)fh, buf, sizeof(buf)), 5);
	/* forged handles */
	assert_int_equal(fx_read(1, (uint64_t)fh + 1, buf, sizeof(buf)), -EBADF);
	assert_int_equal(fx_read(1, (uint64_t)fh ^ (1ull << 40), buf, sizeof(buf)), -EBADF);
	assert_int_equal(fx_read(1, 0, buf, sizeof(buf)), -EBADF);
	assert_int_equal(fx_release(1, (uint64_t)fh), 0);
	assert_int_equal(fx_read(1, (uint64_t)fh, buf, sizeof(buf)), -EBADF);
	/* a reused slot gets a new id: the old one stays dead */
	int64_t fh2 = fx_open(1, &CRED_ROOT, P("exp/hello"), O_RDONLY);
	assert_true(fh2 > 0 && fh2 != fh);
	assert_int_equal(fx_read(1, (uint64_t)fh, buf, sizeof(buf)), -EBADF);
	/* closing a session drops its handles only */
	int64_t fh3 = fx_open(3, &CRED_ROOT, P("exp/hello"), O_RDONLY);
	assert_true(fh3 > 0);
	assert_int_equal(omfs_server_handle_count(fx.srv), before + 2);
	omfs_server_session_close(fx.srv, 1);
	assert_int_equal(omfs_server_handle_count(fx.srv), before + 1);
	assert_int_equal(fx_read(1, (uint64_t)fh2, buf, sizeof(buf)), -EBADF);
	assert_int_equal(fx_read(3, (uint64_t)fh3, buf, sizeof(buf)), 5);
	assert_int_equal(fx_release(3, (uint64_t)fh3), 0);
}

/* Request.released: the handles a client closed ride on its next request and are dropped
 * before that request runs; another session's handle or a forged one is left alone. */
static void test_released_on_the_side(void **state)
{
	(void)state;
	char buf[64];
	int64_t a = fx_open(1, &CRED_ROOT, P("exp/hello"), O_RDONLY);
	int64_t b = fx_open(1, &CRED_ROOT, P("exp/hello"), O_RDONLY);
	int64_t other = fx_open(2, &CRED_ROOT, P("exp/hello"), O_RDONLY);
	assert_true(a > 0 && b > 0 && other > 0);
	size_t before = omfs_server_handle_count(fx.srv);
	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, OMFS_OP_GETATTR, &CRED_ROOT, P("exp/hello"));
	r.nrelease = 3;
	r.release[0] = (uint64_t)a;
	r.release[1] = (uint64_t)other; /* session 2's: not session 1's to close */
	r.release[2] = (uint64_t)a + 12345;
	assert_int_equal(run(1, &r, &resp), 0); /* the operation itself still runs */
	assert_true(S_ISREG(resp.attr.mode));
	omfs_resp_clear(&resp);
	assert_int_equal(omfs_server_handle_count(fx.srv), before - 1);
	assert_int_equal(fx_read(1, (uint64_t)a, buf, sizeof(buf)), -EBADF);
	assert_int_equal(fx_read(1, (uint64_t)b, buf, sizeof(buf)), 5);
	assert_int_equal(fx_read(2, (uint64_t)other, buf, sizeof(buf)), 5);
	/* a RELEASE that carries more of them */
	req_init(&r, OMFS_OP_RELEASE, &CRED_ROOT, NULL);
	r.fh = (uint64_t)b;
	r.nrelease = 1;
	r.release[0] = (uint64_t)other;
	assert_int_equal(run(2, &r, &resp), -EBADF); /* b is session 1's */
	omfs_resp_clear(&resp);
	assert_int_equal(fx_read(2, (uint64_t)other, buf, sizeof(buf)), -EBADF);
	assert_int_equal(fx_release(1, (uint64_t)b), 0);
	assert_int_equal(omfs_server_handle_count(fx.srv), before - 3);
}

/* Runs r with a change list; returns resp->error and leaves the changes in *chg. */
static int run_chg(struct omfs_req *r, struct omfs_notify *chg, uint64_t *ret_fh)
{
	struct omfs_resp resp;
	omfs_notify_clear(chg);
	omfs_server_exec_changes(fx.srv, 1, r, &resp, chg);
	if (ret_fh)
		*ret_fh = resp.fh;
	int rc = resp.error;
	omfs_resp_clear(&resp);
	return rc;
}

static void expect_change(const struct omfs_notify *chg, size_t i, const char *rel, uint32_t what)
{
	assert_false(chg->all);
	assert_true(i < chg->n);
	assert_string_equal(chg->c[i].path, P(rel));
	assert_int_equal(chg->c[i].what, what);
}

/* What a request changed is reported by server path (for other clients' caches); a handle
 * follows its file through a rename; a failed or read-only request changes nothing. */
static void test_changes(void **state)
{
	(void)state;
	struct omfs_notify chg = { 0 };
	struct omfs_req r;
	uint64_t fh;
	char p2[PATH_MAX];
	req_init(&r, OMFS_OP_CREATE, &CRED_ROOT, P("nosq/c1"));
	r.flags = O_CREAT | O_WRONLY | O_TRUNC;
	r.mode = 0644;
	assert_int_equal(run_chg(&r, &chg, &fh), 0);
	assert_int_equal(chg.n, 1);
	expect_change(&chg, 0, "nosq/c1", OMFS_CHG_NAME | OMFS_CHG_DATA);
	req_init(&r, OMFS_OP_WRITE, &CRED_ROOT, NULL);
	r.fh = fh;
	r.data = (struct omfs_buf){ (const uint8_t *)"abc", 3 };
	assert_int_equal(run_chg(&r, &chg, NULL), 0);
	expect_change(&chg, 0, "nosq/c1", OMFS_CHG_DATA);
	/* rename: both names; the open handle now names the new one */
	fx_mkdir("nosq/rd", 0755);
	req_init(&r, OMFS_OP_RENAME, &CRED_ROOT, P("nosq/c1"));
	snprintf(p2, sizeof(p2), "%s", P("nosq/rd/c2"));
	r.path2 = (struct omfs_buf){ (const uint8_t *)p2, strlen(p2) };
	assert_int_equal(run_chg(&r, &chg, NULL), 0);
	assert_int_equal(chg.n, 2);
	expect_change(&chg, 0, "nosq/rd/c2", OMFS_CHG_NAME);
	expect_change(&chg, 1, "nosq/c1", OMFS_CHG_NAME);
	req_init(&r, OMFS_OP_RENAME, &CRED_ROOT, P("nosq/rd")); /* and its directory */
	snprintf(p2, sizeof(p2), "%s", P("nosq/rd2"));
	r.path2 = (struct omfs_buf){ (const uint8_t *)p2, strlen(p2) };
	assert_int_equal(run_chg(&r, &chg, NULL), 0);
	req_init(&r, OMFS_OP_SETATTR, &CRED_ROOT, NULL);
	r.fh = fh;
	r.valid = OMFS_SET_SIZE;
	r.offset = 1;
	assert_int_equal(run_chg(&r, &chg, NULL), 0);
	expect_change(&chg, 0, "nosq/rd2/c2", OMFS_CHG_ATTR | OMFS_CHG_DATA);
	/* link: the new name, and the attributes (link count) of the old one */
	req_init(&r, OMFS_OP_LINK, &CRED_ROOT, P("nosq/rd2/c2"));
	snprintf(p2, sizeof(p2), "%s", P("nosq/c3"));
	r.path2 = (struct omfs_buf){ (const uint8_t *)p2, strlen(p2) };
	assert_int_equal(run_chg(&r, &chg, NULL), 0);
	expect_change(&chg, 0, "nosq/c3", OMFS_CHG_NAME);
	expect_change(&chg, 1, "nosq/rd2/c2", OMFS_CHG_ATTR);
	req_init(&r, OMFS_OP_SETXATTR, &CRED_ROOT, P("nosq/c3"));
	r.path2 = (struct omfs_buf){ (const uint8_t *)"user.k", 6 };
	r.data = (struct omfs_buf){ (const uint8_t *)"v", 1 };
	int xrc = run_chg(&r, &chg, NULL);
	if (xrc == 0)
		expect_change(&chg, 0, "nosq/c3", OMFS_CHG_ATTR);
	else
		assert_int_equal(chg.n, 0); /* a file system without user xattrs */
	req_init(&r, OMFS_OP_UNLINK, &CRED_ROOT, P("nosq/c3"));
	assert_int_equal(run_chg(&r, &chg, NULL), 0);
	assert_int_equal(chg.n, 1);
	expect_change(&chg, 0, "nosq/c3", OMFS_CHG_NAME);
	/* nothing changed: a failure, a read */
	assert_int_equal(run_chg(&r, &chg, NULL), -ENOENT);
	assert_int_equal(chg.n, 0);
	assert_false(chg.all);
	req_init(&r, OMFS_OP_GETATTR, &CRED_ROOT, P("nosq/rd2/c2"));
	assert_int_equal(run_chg(&r, &chg, NULL), 0);
	req_init(&r, OMFS_OP_OPEN, &CRED_ROOT, P("nosq/rd2/c2"));
	r.flags = O_RDONLY;
	uint64_t fh2;
	assert_int_equal(run_chg(&r, &chg, &fh2), 0);
	assert_int_equal(chg.n, 0);
	assert_int_equal(fx_release(1, fh2), 0);
	assert_int_equal(fx_release(1, fh), 0);
	omfs_notify_clear(&chg);
}

/* Writes carried by a request are done before it, in order, each with its own result. */
static void test_carried_writes(void **state)
{
	(void)state;
	int64_t fh = fx_open(1, &CRED_ROOT, P("nosq/cw"), O_CREAT | O_WRONLY);
	int64_t other = fx_open(2, &CRED_ROOT, P("nosq/cw2"), O_CREAT | O_WRONLY);
	assert_true(fh > 0 && other > 0);
	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, OMFS_OP_GETATTR, &CRED_ROOT, P("nosq/cw"));
	r.nwrites = 3;
	r.writes[0] = (struct omfs_carried){ (uint64_t)fh, 0, { (const uint8_t *)"hello ", 6 } };
	r.writes[1] = (struct omfs_carried){ (uint64_t)other, 0, { (const uint8_t *)"x", 1 } };
	r.writes[2] = (struct omfs_carried){ (uint64_t)fh, 6, { (const uint8_t *)"world", 5 } };
	assert_int_equal(run(1, &r, &resp), 0);
	assert_int_equal(resp.attr.size, 11); /* the getattr saw both writes */
	assert_int_equal(resp.nwrite_errors, 3);
	assert_int_equal(resp.write_errors[0], 0);
	assert_int_equal(resp.write_errors[1], -EBADF); /* session 2's handle */
	assert_int_equal(resp.write_errors[2], 0);
	omfs_resp_clear(&resp);
	char buf[32];
	assert_int_equal(fx_cat(&CRED_ROOT, P("nosq/cw"), buf, sizeof(buf)), 11);
	assert_string_equal(buf, "hello world");
	struct stat st;
	assert_int_equal(stat(P("nosq/cw2"), &st), 0);
	assert_int_equal(st.st_size, 0);
	/* the operation runs even when a carried write failed, and reports its own error */
	req_init(&r, OMFS_OP_GETATTR, &CRED_ROOT, P("nosq/missing"));
	r.nwrites = 1;
	r.writes[0] = (struct omfs_carried){ 12345, 0, { (const uint8_t *)"x", 1 } };
	assert_int_equal(run(1, &r, &resp), -ENOENT);
	assert_int_equal(resp.nwrite_errors, 1);
	assert_int_equal(resp.write_errors[0], -EBADF);
	omfs_resp_clear(&resp);
	assert_int_equal(fx_release(1, (uint64_t)fh), 0);
	assert_int_equal(fx_release(2, (uint64_t)other), 0);
}

static dev_t watched_dev;
static int is_watched(void *ctx, uint64_t dev)
{
	(void)ctx;
	return dev == (uint64_t)watched_dev;
}

/* Attributes on a watched file system go out marked, in every reply that carries them. */
static void test_watched_attrs(void **state)
{
	(void)state;
	struct stat st;
	assert_int_equal(stat(P("exp"), &st), 0);
	struct omfs_export ex = { .path = P("exp"), .no_root_squash = 1 };
	struct omfs_server_config cfg = { .exports = &ex, .nexports = 1, .watched = is_watched };
	struct omfs_server *s;
	assert_int_equal(omfs_server_new(&cfg, &s), 0);
	struct omfs_req r;
	struct omfs_resp resp;
	for (int w = 0; w < 2; w++) {
		watched_dev = w ? st.st_dev : (dev_t)-1;
		req_init(&r, OMFS_OP_LOOKUP, &CRED_ROOT, P("exp/hello"));
		omfs_server_exec(s, 1, &r, &resp);
		assert_int_equal(resp.error, 0);
		assert_int_equal(resp.attr.watched, w);
		omfs_resp_clear(&resp);
		req_init(&r, OMFS_OP_OPENDIR, &CRED_ROOT, P("exp"));
		omfs_server_exec(s, 1, &r, &resp);
		assert_int_equal(resp.error, 0);
		uint64_t dh = resp.fh;
		omfs_resp_clear(&resp);
		req_init(&r, OMFS_OP_READDIR, &CRED_ROOT, NULL);
		r.fh = dh;
		r.plus = 1;
		r.size = 65536;
		omfs_server_exec(s, 1, &r, &resp);
		assert_int_equal(resp.error, 0);
		size_t seen = 0;
		for (size_t i = 0; i < resp.nentries; i++)
			if (resp.entries[i].has_attr && strcmp(resp.entries[i].name, "..") != 0) {
				assert_int_equal(resp.entries[i].attr.watched, w);
				seen++;
			}
		assert_true(seen > 0);
		omfs_resp_clear(&resp);
	}
	omfs_server_free(&s);
}

/* fallocate on a handle: allocates (and extends), punches holes, refuses what it must */
static void test_fallocate(void **state)
{
	(void)state;
	fx_write("exp/pub/fa", "0123456789", 0666, 1000, 1000);
	int64_t fh = fx_open(1, &CRED_USER, P("exp/pub/fa"), O_RDWR);
	int64_t ro = fx_open(1, &CRED_USER, P("exp/pub/fa"), O_RDONLY);
	assert_true(fh > 0 && ro > 0);
	struct omfs_req r;
	struct omfs_resp resp;
	struct {
		uint64_t fh;
		uint32_t mode;
		int64_t off, len;
		int want;
	} cases[] = {
		{ (uint64_t)fh, 0, 0, 8192, 0 }, /* allocate and extend */
		{ (uint64_t)fh, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 2, 3, 0 },
		{ (uint64_t)ro, 0, 0, 100, -EBADF }, /* not open for writing */
		{ (uint64_t)fh, 0x8000, 0, 100, -EOPNOTSUPP }, /* a mode bit nobody knows */
		{ (uint64_t)fh, 0, 0, 0, -EINVAL },
		{ 12345, 0, 0, 1, -EBADF }, /* not a handle */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		req_init(&r, OMFS_OP_FALLOCATE, &CRED_USER, NULL);
		r.fh = cases[i].fh;
		r.mode = cases[i].mode;
		r.offset = cases[i].off;
		r.length = cases[i].len;
		assert_int_equal(run(1, &r, &resp), cases[i].want);
		omfs_resp_clear(&resp);
	}
	struct stat st;
	assert_int_equal(stat(P("exp/pub/fa"), &st), 0);
	assert_int_equal(st.st_size, 8192);
	char buf[16];
	assert_int_equal(fx_read(1, (uint64_t)fh, buf, sizeof(buf)), 15);
	assert_memory_equal(buf, "01\0\0\0" "56789" "\0\0\0\0\0", 15);
	assert_int_equal(fx_release(1, (uint64_t)fh), 0);
	assert_int_equal(fx_release(1, (uint64_t)ro), 0);
	/* a directory handle */
	req_init(&r, OMFS_OP_OPENDIR, &CRED_USER, P("exp/d"));
	assert_int_equal(run(1, &r, &resp), 0);
	uint64_t dh = resp.fh;
	omfs_resp_clear(&resp);
	req_init(&r, OMFS_OP_FALLOCATE, &CRED_USER, NULL);
	r.fh = dh;
	r.length = 1;
	assert_int_equal(run(1, &r, &resp), -EISDIR);
	omfs_resp_clear(&resp);
	omfs_server_session_close(fx.srv, 1);
}

static int copy_range(uint64_t sess, uint64_t in, int64_t off_in, uint64_t out, int64_t off_out,
		      int64_t len, uint32_t flags, uint64_t *ret_n)
{
	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, OMFS_OP_COPY_FILE_RANGE, &CRED_USER, NULL);
	r.fh = in;
	r.offset = off_in;
	r.fh2 = out;
	r.offset2 = off_out;
	r.length = len;
	r.flags = flags;
	int rc = run(sess, &r, &resp);
	*ret_n = resp.size;
	omfs_resp_clear(&resp);
	return rc;
}

/* copy_file_range between two handles of a session: done on the server, as the requester */
static void test_copy_file_range(void **state)
{
	(void)state;
	fx_write("exp/pub/src", "0123456789", 0644, 1000, 1000);
	fx_write("exp/pub/dst", "abcdefghij", 0644, 1000, 1000);
	fx_write("exp/pub/theirs", "xxxx", 0644, 1001, 1001);
	int64_t in = fx_open(1, &CRED_USER, P("exp/pub/src"), O_RDONLY);
	int64_t out = fx_open(1, &CRED_USER, P("exp/pub/dst"), O_RDWR);
	int64_t ro = fx_open(1, &CRED_USER, P("exp/pub/theirs"), O_RDONLY);
	int64_t other = fx_open(2, &CRED_USER, P("exp/pub/dst"), O_RDWR);
	assert_true(in > 0 && out > 0 && ro > 0 && other > 0);
	uint64_t n;
	assert_int_equal(copy_range(1, (uint64_t)in, 2, (uint64_t)out, 4, 5, 0, &n), 0);
	assert_int_equal(n, 5);
	char buf[32];
	assert_int_equal(fx_cat(&CRED_ROOT, P("exp/pub/dst"), buf, sizeof(buf)), 10);
	assert_string_equal(buf, "abcd23456j");
	/* past the end of the source: nothing copied, no error */
	assert_int_equal(copy_range(1, (uint64_t)in, 100, (uint64_t)out, 0, 5, 0, &n), 0);
	assert_int_equal(n, 0);
	/* refused: flags, negative offsets, a file not open for writing, another session's
	 * handle, a handle that does not exist */
	assert_int_equal(copy_range(1, (uint64_t)in, 0, (uint64_t)out, 0, 5, 1, &n), -EINVAL);
	assert_int_equal(copy_range(1, (uint64_t)in, -1, (uint64_t)out, 0, 5, 0, &n), -EINVAL);
	assert_int_equal(copy_range(1, (uint64_t)in, 0, (uint64_t)ro, 0, 5, 0, &n), -EBADF);
	assert_int_equal(copy_range(1, (uint64_t)in, 0, (uint64_t)other, 0, 5, 0, &n), -EBADF);
	assert_int_equal(copy_range(1, (uint64_t)in, 0, 999999, 0, 5, 0, &n), -EBADF);
	assert_int_equal(fx_cat(&CRED_ROOT, P("exp/pub/theirs"), buf, sizeof(buf)), 4);
	assert_string_equal(buf, "xxxx");
	omfs_server_session_close(fx.srv, 1);
	omfs_server_session_close(fx.srv, 2);
}

static void test_export_config(void **state)
{
	(void)state;
	struct omfs_server *s = NULL;
	struct omfs_export bad[] = { { .path = "relative" } };
	struct omfs_server_config cfg = { .exports = bad, .nexports = 1 };
	assert_int_equal(omfs_server_new(&cfg, &s), -EINVAL);
	struct omfs_export missing[] = { { .path = "/nonexistent/omfs/dir" } };
	cfg.exports = missing;
	assert_int_equal(omfs_server_new(&cfg, &s), -ENOENT);
	cfg.nexports = 0;
	assert_int_equal(omfs_server_new(&cfg, &s), -EINVAL);
	assert_null(s);
	omfs_server_free(&s);
	omfs_server_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dotdot_chains, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_symlink_escapes, fx_setup, fx_teardown),
		cmocka_unit_test(test_magic_links),
		cmocka_unit_test_setup_teardown(test_rename_race, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_paths, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_errno_values, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_sessions, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_released_on_the_side, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_changes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_carried_writes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_watched_attrs, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_fallocate, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_copy_file_range, fx_setup, fx_teardown),
		cmocka_unit_test(test_export_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
