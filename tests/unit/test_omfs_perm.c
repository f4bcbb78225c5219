/* test_omfs_perm.c - the oMFS server enforces the requesting user's permissions.
 *
 * Requests as uid 1000 / 1001, supplementary groups, root squashing, capabilities that a root
 * daemon must not lend (trusted.* xattrs, chown), the thread's own credentials after a request,
 * POSIX locks between lock owners, flock, and readdir in small batches.
 */
#include <linux/capability.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include <cmocka.h>

#include "tests/unit/test_omfs_fixture.h"

static void test_unprivileged_user(void **state)
{
	char buf[64];
	(void)state;
	assert_int_equal(fx_cat(&CRED_USER, P("exp/hello"), buf, sizeof(buf)), 5);
	assert_int_equal(fx_cat(&CRED_USER, P("exp/secret"), buf, sizeof(buf)), -EACCES);
	assert_int_equal(fx_open(1, &CRED_USER, P("exp/hello"), O_WRONLY), -EACCES);
	assert_int_equal(op(OMFS_OP_MKDIR, &CRED_USER, P("exp/d/mine")), -EACCES);
	assert_int_equal(op(OMFS_OP_UNLINK, &CRED_USER, P("exp/hello")), -EACCES);
	fx_mkdir("exp/d/closed", 0700);
	assert_int_equal(op(OMFS_OP_GETATTR, &CRED_USER, P("exp/d/closed/x")), -EACCES);

	/* files the user creates are the user's; the sticky dir protects them from others */
	int64_t fh = fx_open(1, &CRED_USER, P("exp/pub/u.txt"), O_CREAT | O_WRONLY);
	assert_true(fh > 0);
	assert_int_equal(fx_release(1, (uint64_t)fh), 0);
	struct stat st;
	assert_int_equal(stat(P("exp/pub/u.txt"), &st), 0);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 1000);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(op(OMFS_OP_UNLINK, &CRED_OTHER, P("exp/pub/u.txt")), -EPERM);

	/* chmod/chown as the owner and as another user */
	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, OMFS_OP_SETATTR, &CRED_OTHER, P("exp/pub/u.txt"));
	r.valid = OMFS_SET_MODE;
	r.mode = 0600;
	assert_int_equal(run(1, &r, &resp), -EPERM);
	omfs_resp_clear(&resp);
	r.cred = CRED_USER;
	assert_int_equal(run(1, &r, &resp), 0);
	assert_int_equal(resp.attr.mode & 07777, 0600);
	omfs_resp_clear(&resp);
	r.valid = OMFS_SET_UID;
	r.uid = 1001;
	assert_int_equal(run(1, &r, &resp), -EPERM); /* giving files away needs CAP_CHOWN */
	omfs_resp_clear(&resp);
	r.valid = OMFS_SET_MTIME;
	r.mtime_sec = 12345;
	assert_int_equal(run(1, &r, &resp), 0);
	assert_int_equal(resp.attr.mtime_sec, 12345);
	omfs_resp_clear(&resp);
	r.cred = CRED_OTHER;
	assert_int_equal(run(1, &r, &resp), -EPERM);
	omfs_resp_clear(&resp);
	r.valid = OMFS_SET_SIZE;
	r.offset = 0;
	assert_int_equal(run(1, &r, &resp), -EACCES);
	omfs_resp_clear(&resp);

	req_init(&r, OMFS_OP_ACCESS, &CRED_USER, P("exp/secret"));
	r.mask = R_OK;
	assert_int_equal(run(1, &r, &resp), -EACCES);
	omfs_resp_clear(&resp);
	req_init(&r, OMFS_OP_ACCESS, &CRED_USER, P("exp/hello"));
	assert_int_equal(run(1, &r, &resp), 0);
	omfs_resp_clear(&resp);
}

static void test_groups(void **state)
{
	char buf[64];
	(void)state;
	fx_write("exp/grp", "group", 0640, 0, 4242);
	struct omfs_cred c = CRED_USER;
	assert_int_equal(fx_cat(&c, P("exp/grp"), buf, sizeof(buf)), -EACCES);
	c.ngroups = 2;
	c.groups[0] = 7;
	c.groups[1] = 4242;
	assert_int_equal(fx_cat(&c, P("exp/grp"), buf, sizeof(buf)), 5);
	c.ngroups = 0;
	c.gid = 4242;
	assert_int_equal(fx_cat(&c, P("exp/grp"), buf, sizeof(buf)), 5);
}

static void test_root_squash(void **state)
{
	char buf[64];
	(void)state;
	/* squashed root is nobody: no access to a 0600 root file, no chown */
	assert_int_equal(fx_cat(&CRED_ROOT, P("exp/secret"), buf, sizeof(buf)), -EACCES);
	/* root's group 0 is squashed too */
	fx_write("exp/g0", "g0", 0640, 1, 0);
	struct omfs_cred c = { .uid = 1000, .gid = 0, .ngroups = 1, .groups = { 0 } };
	assert_int_equal(fx_cat(&c, P("exp/g0"), buf, sizeof(buf)), -EACCES);
	/* the opted-out export serves root as root */
	assert_int_equal(fx_cat(&CRED_ROOT, P("nosq/secret"), buf, sizeof(buf)), 4);
	assert_string_equal(buf, "nosq");
	int64_t fh = fx_open(1, &CRED_ROOT, P("exp/pub/r"), O_CREAT | O_WRONLY);
	assert_true(fh > 0);
	assert_int_equal(fx_release(1, (uint64_t)fh), 0);
	struct stat st;
	assert_int_equal(stat(P("exp/pub/r"), &st), 0);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(st.st_gid, 65534);
}

static void test_capabilities_not_lent(void **state)
{
	(void)state;
	fx_write("exp/pub/own", "x", 0644, 1000, 1000);
	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, OMFS_OP_SETXATTR, &CRED_USER, P("exp/pub/own"));
	r.path2 = (struct omfs_buf){ (const uint8_t *)"user.k", 6 };
	r.data = (struct omfs_buf){ (const uint8_t *)"v1", 2 };
	assert_int_equal(run(1, &r, &resp), 0);
	omfs_resp_clear(&resp);
	r.path2 = (struct omfs_buf){ (const uint8_t *)"trusted.k", 9 };
	assert_int_equal(run(1, &r, &resp), -EPERM);
	omfs_resp_clear(&resp);
	r.path2 = (struct omfs_buf){ (const uint8_t *)"security.capability", 19 };
	assert_int_not_equal(run(1, &r, &resp), 0);
	omfs_resp_clear(&resp);
	/* get with size 0 asks for the size, then the value */
	req_init(&r, OMFS_OP_GETXATTR, &CRED_USER, P("exp/pub/own"));
	r.path2 = (struct omfs_buf){ (const uint8_t *)"user.k", 6 };
	assert_int_equal(run(1, &r, &resp), 0);
	assert_int_equal(resp.size, 2);
	omfs_resp_clear(&resp);
	r.size = 64;
	assert_int_equal(run(1, &r, &resp), 0);
	assert_int_equal(resp.data_len, 2);
	assert_memory_equal(resp.data, "v1", 2);
	omfs_resp_clear(&resp);
	r.size = 1;
	assert_int_equal(run(1, &r, &resp), -ERANGE);
	omfs_resp_clear(&resp);
	r.path2 = (struct omfs_buf){ (const uint8_t *)"user.none", 9 };
	r.size = 64;
	assert_int_equal(run(1, &r, &resp), -ENODATA);
	omfs_resp_clear(&resp);
	req_init(&r, OMFS_OP_LISTXATTR, &CRED_USER, P("exp/pub/own"));
	r.size = 256;
	assert_int_equal(run(1, &r, &resp), 0);
	assert_non_null(memmem(resp.data, resp.data_len, "user.k", 7));
	omfs_resp_clear(&resp);
	req_init(&r, OMFS_OP_REMOVEXATTR, &CRED_OTHER, P("exp/pub/own"));
	r.path2 = (struct omfs_buf){ (const uint8_t *)"user.k", 6 };
	assert_int_equal(run(1, &r, &resp), -EACCES);
	omfs_resp_clear(&resp);
	r.cred = CRED_USER;
	assert_int_equal(run(1, &r, &resp), 0);
	omfs_resp_clear(&resp);

	/* the test thread itself is back to root with all its capabilities */
	assert_int_equal(setfsuid((uid_t)-1), 0);
	assert_int_equal(setfsgid((gid_t)-1), 0);
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	assert_int_equal(syscall(SYS_capget, &h, d), 0);
	assert_int_equal(d[0].effective, d[0].permitted);
	assert_int_equal(d[1].effective, d[1].permitted);
	gid_t g[8];
	int n = getgroups(8, g);
	assert_true(n >= 0);
	for (int i = 0; i < n; i++)
		assert_int_not_equal(g[i], 1000);
}

static int lock_req(uint64_t fh, enum omfs_op o, uint64_t owner, int type, int64_t start,
		    int64_t end, struct omfs_resp *resp)
{
	struct omfs_req r;
	req_init(&r, o, &CRED_USER, NULL);
	r.fh = fh;
	r.lock_owner = owner;
	r.lock_type = (uint32_t)type;
	r.offset = start;
	r.end = end;
	return run(1, &r, resp);
}

static void test_locks(void **state)
{
	(void)state;
	fx_write("exp/pub/lk", "0123456789", 0666, 1000, 1000);
	int64_t fh = fx_open(1, &CRED_USER, P("exp/pub/lk"), O_RDWR);
	int64_t fh2 = fx_open(1, &CRED_USER, P("exp/pub/lk"), O_RDWR);
	assert_true(fh > 0 && fh2 > 0);
	struct omfs_resp resp;
	assert_int_equal(lock_req((uint64_t)fh, OMFS_OP_SETLK, 11, F_WRLCK, 0, 4, &resp), 0);
	omfs_resp_clear(&resp);
	/* the same owner never conflicts with itself */
	assert_int_equal(lock_req((uint64_t)fh, OMFS_OP_SETLK, 11, F_WRLCK, 2, 8, &resp), 0);
	omfs_resp_clear(&resp);
	/* another owner does, through either handle */
	assert_int_equal(lock_req((uint64_t)fh, OMFS_OP_SETLK, 22, F_RDLCK, 3, 3, &resp), -EAGAIN);
	omfs_resp_clear(&resp);
	assert_int_equal(lock_req((uint64_t)fh2, OMFS_OP_SETLK, 22, F_WRLCK, 0, INT64_MAX, &resp),
			 -EAGAIN);
	omfs_resp_clear(&resp);
	assert_int_equal(lock_req((uint64_t)fh2, OMFS_OP_SETLK, 22, F_WRLCK, 9, INT64_MAX, &resp),
			 0);
	omfs_resp_clear(&resp);
	assert_int_equal(lock_req((uint64_t)fh2, OMFS_OP_GETLK, 22, F_WRLCK, 0, 0, &resp), 0);
	assert_int_equal(resp.lock_type, F_WRLCK);
	assert_int_equal(resp.lock_start, 0);
	assert_int_equal(resp.lock_end, 8);
	omfs_resp_clear(&resp);
	/* flush (close) by owner 11 drops its locks */
	struct omfs_req r;
	req_init(&r, OMFS_OP_FLUSH, &CRED_USER, NULL);
	r.fh = (uint64_t)fh;
	r.lock_owner = 11;
	assert_int_equal(run(1, &r, &resp), 0);
	omfs_resp_clear(&resp);
	assert_int_equal(lock_req((uint64_t)fh2, OMFS_OP_GETLK, 22, F_WRLCK, 0, 0, &resp), 0);
	assert_int_equal(resp.lock_type, F_UNLCK);
	omfs_resp_clear(&resp);

	/* flock: per open file */
	req_init(&r, OMFS_OP_FLOCK, &CRED_USER, NULL);
	r.fh = (uint64_t)fh;
	r.flock_op = LOCK_EX | LOCK_NB;
	assert_int_equal(run(1, &r, &resp), 0);
	omfs_resp_clear(&resp);
	r.fh = (uint64_t)fh2;
	assert_int_equal(run(1, &r, &resp), -EWOULDBLOCK);
	omfs_resp_clear(&resp);
	assert_int_equal(fx_release(1, (uint64_t)fh), 0);
	assert_int_equal(run(1, &r, &resp), 0);
	omfs_resp_clear(&resp);
	assert_int_equal(fx_release(1, (uint64_t)fh2), 0);
}

static void test_readdir_batches(void **state)
{
	(void)state;
	fx_mkdir("exp/many", 0755);
	char name[64];
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "exp/many/file-with-a-longish-name-%04d", i);
		fx_write(name, "", 0644, 0, 0);
	}
	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, OMFS_OP_OPENDIR, &CRED_USER, P("exp/many"));
	assert_int_equal(run(1, &r, &resp), 0);
	uint64_t fh = resp.fh;
	omfs_resp_clear(&resp);
	char seen[500] = { 0 };
	int order[502], norder = 0; /* names in listing order (-1: a dot) and their cookies */
	int64_t cookies[502];
	int64_t off = 0;
	int batches = 0, dots = 0, eof = 0;
	while (!eof) {
		req_init(&r, OMFS_OP_READDIR, &CRED_USER, NULL);
		r.fh = fh;
		r.offset = off;
		r.size = 4096;
		r.plus = 1;
		assert_int_equal(run(1, &r, &resp), 0);
		batches++;
		eof = resp.eof;
		for (size_t i = 0; i < resp.nentries; i++) {
			struct omfs_dirent *d = &resp.entries[i];
			int k;
			off = d->off;
			assert_true(norder < 502);
			cookies[norder] = d->off;
			order[norder++] = -1;
			if (strcmp(d->name, ".") == 0 || strcmp(d->name, "..") == 0) {
				dots++;
				continue;
			}
			assert_int_equal(sscanf(d->name, "file-with-a-longish-name-%d", &k), 1);
			order[norder - 1] = k;
			assert_int_equal(seen[k], 0);
			seen[k] = 1;
			assert_true(d->has_attr);
			assert_true(S_ISREG(d->attr.mode));
		}
		omfs_resp_clear(&resp);
		assert_true(batches < 200);
	}
	for (int i = 0; i < 500; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(dots, 2);
	assert_true(batches > 5); /* 4 KiB budget: many batches */
	/* seeking back (the server keeps what getdents gave beyond a batch for the next one, which
	 * must not serve a request that starts elsewhere): from a cookie in the middle, from the
	 * start, and from the middle again right after */
	int64_t starts[] = { cookies[300], 0, cookies[100] };
	int firsts[] = { 301, 0, 101 };
	for (int t = 0; t < 3; t++) {
		req_init(&r, OMFS_OP_READDIR, &CRED_USER, NULL);
		r.fh = fh;
		r.offset = starts[t];
		r.size = 4096;
		assert_int_equal(run(1, &r, &resp), 0);
		assert_true(resp.nentries > 3);
		for (size_t i = 0; i < 3; i++) {
			int k = -1;
			sscanf(resp.entries[i].name, "file-with-a-longish-name-%d", &k);
			assert_int_equal(k, order[firsts[t] + (int)i]);
			assert_int_equal(resp.entries[i].off, cookies[firsts[t] + (int)i]);
		}
		omfs_resp_clear(&resp);
	}
	req_init(&r, OMFS_OP_RELEASEDIR, &CRED_USER, NULL);
	r.fh = fh;
	assert_int_equal(run(1, &r, &resp), 0);
	omfs_resp_clear(&resp);

	/* a directory the user may read but not search: names yes, attributes no */
	fx_mkdir("exp/noexec", 0744);
	fx_write("exp/noexec/f", "", 0644, 0, 0);
	req_init(&r, OMFS_OP_OPENDIR, &CRED_USER, P("exp/noexec"));
	assert_int_equal(run(1, &r, &resp), 0);
	fh = resp.fh;
	omfs_resp_clear(&resp);
	req_init(&r, OMFS_OP_READDIR, &CRED_USER, NULL);
	r.fh = fh;
	r.plus = 1;
	assert_int_equal(run(1, &r, &resp), 0);
	int found = 0;
	for (size_t i = 0; i < resp.nentries; i++) {
		if (strcmp(resp.entries[i].name, "f") == 0) {
			found = 1;
			assert_false(resp.entries[i].has_attr);
		}
	}
	assert_true(found);
	omfs_resp_clear(&resp);
	req_init(&r, OMFS_OP_RELEASEDIR, &CRED_USER, NULL);
	r.fh = fh;
	assert_int_equal(run(1, &r, &resp), 0);
	omfs_resp_clear(&resp);
	assert_int_equal(omfs_server_handle_count(fx.srv), 0);
}

/* A writer that is not the owner clears a file's set-id bits, as a local write does: the FUSE
 * kernel sends that as "mode minus S_ISUID/S_ISGID" from the writer. Only that exact change, only
 * on a regular file the writer may write, and the thread's capabilities are taken back after. */
static int setmode(const struct omfs_cred *c, const char *path, mode_t mode, mode_t *ret)
{
	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, OMFS_OP_SETATTR, c, path);
	r.valid = OMFS_SET_MODE;
	r.mode = mode;
	int rc = run(1, &r, &resp);
	if (rc == 0 && ret)
		*ret = resp.attr.mode & 07777;
	omfs_resp_clear(&resp);
	return rc;
}

static void test_setid_cleared_by_writer(void **state)
{
	(void)state;
	mode_t m = 0;
	fx_write("exp/pub/suid", "x", 06777, 1, 1);
	assert_int_equal(chmod(P("exp/pub/suid"), 06777), 0); /* fx_write's chown cleared them */
	assert_int_equal(setmode(&CRED_USER, P("exp/pub/suid"), 02777, &m), 0);
	assert_int_equal(m, 02777);
	assert_int_equal(setmode(&CRED_USER, P("exp/pub/suid"), 0777, &m), 0);
	assert_int_equal(m, 0777);
	/* anything but dropping set-id bits stays the owner's business */
	assert_int_equal(chmod(P("exp/pub/suid"), 04777), 0);
	assert_int_equal(setmode(&CRED_USER, P("exp/pub/suid"), 0775, NULL), -EPERM);
	assert_int_equal(setmode(&CRED_USER, P("exp/pub/suid"), 04775, NULL), -EPERM);
	assert_int_equal(setmode(&CRED_USER, P("exp/pub/suid"), 06777, NULL), -EPERM);
	/* not writable by the caller: refused, bits kept */
	fx_write("exp/pub/suid_ro", "x", 04755, 1, 1);
	assert_int_equal(chmod(P("exp/pub/suid_ro"), 04755), 0);
	assert_int_equal(setmode(&CRED_USER, P("exp/pub/suid_ro"), 0755, NULL), -EPERM);
	/* not a regular file */
	fx_mkdir("exp/pub/sgid_dir", 02777);
	assert_int_equal(chown(P("exp/pub/sgid_dir"), 1, 1), 0);
	assert_int_equal(chmod(P("exp/pub/sgid_dir"), 02777), 0);
	assert_int_equal(setmode(&CRED_USER, P("exp/pub/sgid_dir"), 0777, NULL), -EPERM);
	struct stat st;
	assert_int_equal(stat(P("exp/pub/suid_ro"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
	assert_int_equal(stat(P("exp/pub/sgid_dir"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 02777);

	/* the serving thread is root with its capabilities again */
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	assert_int_equal(syscall(SYS_capget, &h, d), 0);
	assert_int_equal(d[0].effective, d[0].permitted);
	assert_int_equal(setfsuid((uid_t)-1), 0);
}

/* The thread's own fsuid, fsgid and effective capabilities. */
static void thread_creds(uid_t *uid, gid_t *gid, uint32_t *eff)
{
	*uid = (uid_t)setfsuid((uid_t)-1);
	*gid = (gid_t)setfsgid((gid_t)-1);
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	assert_int_equal(syscall(SYS_capget, &h, d), 0);
	*eff = d[0].effective;
}

/* A sticky thread keeps the requester's credentials between its requests, switches for
 * another requester, and gets its own back when it stops being sticky. */
static void test_sticky_credentials(void **state)
{
	(void)state;
	assert_int_equal(fx_setup(NULL), 0);
	char buf[64];
	uid_t u;
	gid_t g;
	uint32_t eff, eff0;
	thread_creds(&u, &g, &eff0);
	fx_write("exp/pub/own", "x", 0644, 1000, 1000);
	fx_write("exp/pub/grp", "g", 0640, 0, 1000);
	omfs_server_thread_sticky(1); /* from here on, this thread touches files only by request */
	assert_int_equal(fx_cat(&CRED_USER, P("exp/hello"), buf, sizeof(buf)), 5);
	thread_creds(&u, &g, &eff);
	assert_int_equal(u, 1000);
	assert_int_equal(g, 1000);
	assert_int_equal(eff, 0);
	assert_int_equal(fx_cat(&CRED_USER, P("exp/secret"), buf, sizeof(buf)), -EACCES);
	/* root, not squashed here: the daemon's capabilities for that request */
	assert_int_equal(fx_cat(&CRED_ROOT, P("nosq/secret"), buf, sizeof(buf)), 4);
	thread_creds(&u, &g, &eff);
	assert_int_equal(u, 0);
	assert_int_equal(eff, eff0);
	assert_int_equal(fx_cat(&CRED_OTHER, P("exp/secret"), buf, sizeof(buf)), -EACCES);
	thread_creds(&u, &g, &eff);
	assert_int_equal(u, 1001);
	/* a capability is not lent to a user served after root, nor a group after another */
	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, OMFS_OP_SETXATTR, &CRED_USER, P("exp/pub/own"));
	r.path2 = (struct omfs_buf){ (const uint8_t *)"trusted.k", 9 };
	r.data = (struct omfs_buf){ (const uint8_t *)"v", 1 };
	assert_int_equal(run(1, &r, &resp), -EPERM);
	omfs_resp_clear(&resp);
	struct omfs_cred grp = { .uid = 1001, .gid = 1001, .ngroups = 1, .groups = { 1000 } };
	assert_int_equal(fx_cat(&grp, P("exp/pub/grp"), buf, sizeof(buf)), 1);
	assert_int_equal(fx_cat(&CRED_OTHER, P("exp/pub/grp"), buf, sizeof(buf)), -EACCES);
	omfs_server_thread_sticky(0);
	thread_creds(&u, &g, &eff);
	assert_int_equal(u, geteuid());
	assert_int_equal(g, getegid());
	assert_int_equal(eff, eff0);
	/* not sticky: restored after every request */
	assert_int_equal(fx_cat(&CRED_USER, P("exp/hello"), buf, sizeof(buf)), 5);
	thread_creds(&u, &g, &eff);
	assert_int_equal(u, geteuid());
	assert_int_equal(eff, eff0);
	assert_int_equal(fx_teardown(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unprivileged_user, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_groups, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_root_squash, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_capabilities_not_lent, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_setid_cleared_by_writer, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_locks, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_readdir_batches, fx_setup, fx_teardown),
		cmocka_unit_test(test_sticky_credentials),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
