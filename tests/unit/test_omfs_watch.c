/* test_omfs_watch.c - the server's file-system watch (omfs_watch.c) on a real file system.
 *
 * Another process creates, writes, chmods, renames and removes files in an exported
 * directory; the watch must report each by server path with the right kind of change, and
 * must not report what this process did itself (the server core reports those). Skipped
 * where fanotify with directory handles is not available (not root, old kernel).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "omfs/omfs_watch.h"

static char dir[64];

static void path_of(char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, "%s/%s", dir, rel);
}

/* what was reported for rel so far (bits ORed over every read), all: an overflow was seen */
static uint32_t seen_of(const struct omfs_notify *acc, const char *rel)
{
	char p[256];
	path_of(p, sizeof(p), rel);
	for (size_t i = 0; i < acc->n; i++)
		if (strcmp(acc->c[i].path, p) == 0)
			return acc->c[i].what;
	return 0;
}

static void collect(struct omfs_watch *w, struct omfs_notify *acc, const char *until_rel,
		    uint32_t until_what)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = {.fd = omfs_watch_fd(w), .events = POLLIN};
		(void)poll(&pfd, 1, 100);
		struct omfs_notify one = {0};
		assert_true(omfs_watch_read(w, &one) >= 0);
		assert_false(one.all);
		for (size_t i = 0; i < one.n; i++)
			omfs_notify_add(acc, one.c[i].path, strlen(one.c[i].path), one.c[i].what);
		omfs_notify_clear(&one);
		if (until_rel && (seen_of(acc, until_rel) & until_what) == until_what)
			return;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= (until_rel ? 10 : 1))
			return;
	}
}

static void test_watch_reports_others(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/omfs-watch-XXXXXX");
	assert_non_null(mkdtemp(dir));
	struct omfs_export ex = {.path = dir};
	struct omfs_watch *w = NULL;
	int rc = omfs_watch_new(&ex, 1, NULL, &w);
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	if (rc == -EPERM || rc == -ENOSYS || rc == -EINVAL ||
	    (rc == 0 && omfs_watch_count(w) == 0)) {
		omfs_watch_free(&w);
		(void)rmdir(dir);
		skip();
	}
	assert_int_equal(rc, 0);
	assert_true(omfs_watch_covers(w, st.st_dev));
	assert_false(omfs_watch_covers(w, st.st_dev + 12345));

	char p[256], q[256];
	/* our own change: not reported */
	path_of(p, sizeof(p), "own");
	int fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	struct omfs_notify acc = {0};
	collect(w, &acc, NULL, 0);
	assert_int_equal(seen_of(&acc, "own"), 0);

	/* another process's */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		path_of(p, sizeof(p), "d");
		if (mkdir(p, 0755) < 0)
			_exit(1);
		path_of(p, sizeof(p), "d/f");
		fd = open(p, O_CREAT | O_WRONLY, 0644);
		if (fd < 0 || write(fd, "data", 4) != 4 || fchmod(fd, 0600) < 0 || close(fd) < 0)
			_exit(2);
		path_of(q, sizeof(q), "d/g");
		if (rename(p, q) < 0 || unlink(q) < 0)
			_exit(3);
		path_of(p, sizeof(p), "own");
		if (chmod(p, 0600) < 0)
			_exit(4);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	collect(w, &acc, "own", OMFS_CHG_ATTR);
	assert_true(seen_of(&acc, "d") & OMFS_CHG_NAME);
	assert_int_equal(seen_of(&acc, "d/f"), OMFS_CHG_NAME | OMFS_CHG_DATA | OMFS_CHG_ATTR);
	assert_int_equal(seen_of(&acc, "d/g"), OMFS_CHG_NAME);
	assert_int_equal(seen_of(&acc, "own"), OMFS_CHG_ATTR);
	omfs_notify_clear(&acc);

	/* draining only (nobody listening) reads and reports nothing */
	path_of(p, sizeof(p), "own");
	pid = fork();
	if (pid == 0)
		_exit(unlink(p) < 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	struct pollfd pfd = {.fd = omfs_watch_fd(w), .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_true(omfs_watch_read(w, NULL) > 0);

	omfs_watch_free(&w);
	assert_null(w);
	path_of(p, sizeof(p), "d");
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* an export of /dev: devtmpfs and devpts are not marked (every terminal echo, every write to
 * /dev/null would be a change report), a tmpfs below it (/dev/shm) is */
static void test_pseudo_fs_skipped(void **state)
{
	(void)state;
	struct stat dev, pts, shm;
	if (stat("/dev", &dev) < 0 || stat("/dev/pts", &pts) < 0 || dev.st_dev == pts.st_dev)
		skip();
	struct omfs_export ex = {.path = "/dev"};
	struct omfs_watch *w = NULL;
	int rc = omfs_watch_new(&ex, 1, NULL, &w);
	if (rc == -EPERM || rc == -ENOSYS || rc == -EINVAL)
		skip();
	assert_int_equal(rc, 0);
	assert_false(omfs_watch_covers(w, dev.st_dev));
	assert_false(omfs_watch_covers(w, pts.st_dev));
	if (stat("/dev/shm", &shm) == 0 && shm.st_dev != dev.st_dev)
		assert_true(omfs_watch_covers(w, shm.st_dev));
	omfs_watch_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_watch_reports_others),
	    cmocka_unit_test(test_pseudo_fs_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
