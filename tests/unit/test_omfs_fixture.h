/* test_omfs_fixture.h - a throw-away export tree and a server over it, for the omfs unit tests.
 *
 * Layout under a fresh /tmp/omfs-ut-XXXXXX (mode 0755):
 *   exp/     read-write export, root squashed   (file "hello" 0644, "secret" 0600, dir "d")
 *   ro/      read-only export                    (file "f")
 *   nosq/    read-write export, no root squash   (file "secret" 0600)
 *   outside/marker                               must never be reachable
 * Requests are built as C structs and run with omfs_server_exec (the wire has its own tests).
 */
#pragma once
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "omfs/omfs_server.h"

struct fx {
	char tmp[64];
	struct omfs_server *srv;
	char bufs[8][PATH_MAX];
	int nb;
};

static struct fx fx;

static const struct omfs_cred CRED_ROOT = { .uid = 0, .gid = 0 };
static const struct omfs_cred CRED_USER = { .uid = 1000, .gid = 1000 };
static const struct omfs_cred CRED_OTHER = { .uid = 1001, .gid = 1001 };

/* "<tmp>/<rel>" in a rotating buffer (valid for the next 7 calls) */
static inline const char *P(const char *rel)
{
	char *b = fx.bufs[fx.nb++ % 8];
	/* not snprintf: gcc -O2 -Werror=restrict cannot tell fx.tmp from fx.bufs */
	size_t n = strlen(fx.tmp), m = strlen(rel);
	assert_true(n + 1 + m < PATH_MAX);
	memcpy(b, fx.tmp, n);
	b[n] = '/';
	memcpy(b + n + 1, rel, m + 1);
	return b;
}

static inline void fx_write(const char *rel, const char *content, mode_t mode, uid_t uid, gid_t gid)
{
	int fd = open(P(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content) ||
	    fchmod(fd, mode) < 0 || fchown(fd, uid, gid) < 0 || close(fd) < 0)
		abort();
}

static inline void fx_mkdir(const char *rel, mode_t mode)
{
	if (mkdir(P(rel), mode) < 0 || chmod(P(rel), mode) < 0)
		abort();
}

static inline int fx_setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof(fx));
	strcpy(fx.tmp, "/tmp/omfs-ut-XXXXXX");
	if (!mkdtemp(fx.tmp) || chmod(fx.tmp, 0755) < 0)
		return -1;
	fx_mkdir("exp", 0755);
	fx_mkdir("exp/d", 0755);
	fx_mkdir("exp/pub", 01777);
	fx_mkdir("ro", 0755);
	fx_mkdir("nosq", 0755);
	fx_mkdir("outside", 0755);
	fx_write("exp/hello", "hello", 0644, 0, 0);
	fx_write("exp/secret", "secret", 0600, 0, 0);
	fx_write("ro/f", "ro", 0644, 0, 0);
	fx_write("nosq/secret", "nosq", 0600, 0, 0);
	fx_write("outside/marker", "ESCAPED", 0644, 0, 0);
	struct omfs_export ex[3] = {
		{ .path = P("exp") },
		{ .path = P("ro"), .read_only = 1 },
		{ .path = P("nosq"), .no_root_squash = 1 },
	};
	struct omfs_server_config cfg = { .exports = ex, .nexports = 3 };
	return omfs_server_new(&cfg, &fx.srv) < 0 ? -1 : 0;
}

static inline int fx_teardown(void **state)
{
	(void)state;
	omfs_server_free(&fx.srv);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static inline void req_init(struct omfs_req *r, enum omfs_op op, const struct omfs_cred *c,
		     const char *path)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->cred = *c;
	if (path)
		r->path = (struct omfs_buf){ (const uint8_t *)path, strlen(path) };
}

/* Runs a request in session `sess`; returns resp->error. The caller clears *resp. */
static inline int run(uint64_t sess, struct omfs_req *r, struct omfs_resp *resp)
{
	omfs_server_exec(fx.srv, sess, r, resp);
	return resp->error;
}

/* One-shot op on a path; returns the error, discards the reply. */
static inline int op(enum omfs_op o, const struct omfs_cred *c, const char *path)
{
	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, o, c, path);
	r.mode = 0755;
	int rc = run(1, &r, &resp);
	omfs_resp_clear(&resp);
	return rc;
}

/* Opens (or creates with O_CREAT) in session `sess`; returns fh or a negative errno. */
static inline int64_t fx_open(uint64_t sess, const struct omfs_cred *c, const char *path, int flags)
{
	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, (flags & O_CREAT) ? OMFS_OP_CREATE : OMFS_OP_OPEN, c, path);
	r.flags = (uint32_t)flags;
	r.mode = 0644;
	int rc = run(sess, &r, &resp);
	int64_t fh = rc < 0 ? rc : (int64_t)resp.fh;
	omfs_resp_clear(&resp);
	return fh;
}

/* Reads into buf (NUL-terminated); returns the count or a negative errno. */
static inline long fx_read(uint64_t sess, uint64_t fh, char *buf, size_t size)
{
	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, OMFS_OP_READ, &CRED_ROOT, NULL);
	r.fh = fh;
	r.size = (uint32_t)size - 1;
	int rc = run(sess, &r, &resp);
	long n = rc < 0 ? rc : (long)resp.data_len;
	if (n >= 0) {
		memcpy(buf, resp.data, (size_t)n);
		buf[n] = '\0';
	}
	omfs_resp_clear(&resp);
	return n;
}

static inline int fx_release(uint64_t sess, uint64_t fh)
{
	struct omfs_req r;
	req_init(&r, OMFS_OP_RELEASE, &CRED_ROOT, NULL);
	r.fh = fh;
	struct omfs_resp resp;
	int rc = run(sess, &r, &resp);
	omfs_resp_clear(&resp);
	return rc;
}

/* Opens and reads a whole (small) file as `c`; returns the count or a negative errno. */
static inline long fx_cat(const struct omfs_cred *c, const char *path, char *buf, size_t size)
{
	int64_t fh = fx_open(1, c, path, O_RDONLY);
	if (fh < 0)
		return fh;
	long n = fx_read(1, (uint64_t)fh, buf, size);
	if (fx_release(1, (uint64_t)fh) < 0)
		return -EIO;
	return n;
}
