/* mfs_x.c - file calls on either side of an `omx cp`/`rm -r` (see mfs_x.h).
 *
 * Each call parses its argument once: an /mfs/<node>/path goes to the oMFS client as one request
 * with the caller's credentials, anything else is a local system call whose errno is returned.
 */
#include "cli/mfs_x.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Splits an /mfs argument; returns 1 (and fills node/path) for /mfs, 0 for a local path, or a
 * negative errno for an /mfs path that is too long. */
static int remote(const struct mfs_env *env, const char *arg, uint32_t *node, char *path)
{
	int rc = mfs_parse_path(env, arg, node, path, PATH_MAX);
	if (rc == -EINVAL)
		return 0;
	return rc < 0 ? rc : 1;
}

/* One request on a path; the reply's body is dropped. */
static int call_path(const struct mfs_env *env, uint32_t node, struct omfs_req *r)
{
	struct omfs_resp resp;
	memset(&resp, 0, sizeof(resp));
	r->cred = env->cred;
	int rc = omfs_client_call(env->client, node, r, &resp);
	omfs_resp_clear(&resp);
	return rc;
}

static struct omfs_buf sbuf(const char *s)
{
	return (struct omfs_buf){ .p = (const uint8_t *)s, .len = strlen(s) };
}

static int neg_errno(int rc)
{
	return rc < 0 ? -errno : rc;
}

int x_open(const struct mfs_env *env, const char *arg, int flags, uint32_t mode,
	   struct xfile *ret)
{
	char path[PATH_MAX];
	memset(ret, 0, sizeof(*ret));
	ret->env = env;
	ret->local_fd = -1;
	int r = remote(env, arg, &ret->node, path);
	if (r < 0)
		return r;
	if (r)
		return omfs_client_open(env->client, ret->node, &env->cred, path, flags, mode,
					&ret->fh);
	ret->local_fd = open(arg, flags | O_CLOEXEC, mode);
	return ret->local_fd < 0 ? -errno : 0;
}

long x_read(struct xfile *x, void *buf, size_t n)
{
	long r = x->local_fd >= 0 ? read(x->local_fd, buf, n) :
				    omfs_client_pread(x->env->client, x->node, &x->env->cred,
						      x->fh, buf, n, x->off);
	if (x->local_fd >= 0 && r < 0)
		return -errno;
	if (r > 0)
		x->off += r;
	return r;
}

long x_write(struct xfile *x, const void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		long w = x->local_fd >= 0 ?
				 write(x->local_fd, (const char *)buf + done, n - done) :
				 omfs_client_pwrite(x->env->client, x->node, &x->env->cred, x->fh,
						    (const char *)buf + done, n - done, x->off);
		if (x->local_fd >= 0 && w < 0)
			return -errno;
		if (w <= 0)
			return w < 0 ? w : -EIO;
		done += (size_t)w;
		x->off += w;
	}
	return (long)done;
}

/* I/O size per request: the transport's limit (env->io_size), at most one oMFS request */
static size_t chunk_of(const struct mfs_env *env)
{
	return env->io_size && env->io_size < OMFS_MAX_IO ? env->io_size : OMFS_MAX_IO;
}

int x_copy(const struct mfs_env *env, const char *cmd, struct xfile *in, const char *inname,
	   struct xfile *out, const char *outname)
{
	size_t chunk = chunk_of(env);
	char *buf = malloc(chunk);
	if (!buf)
		return -ENOMEM;
	int rc = 0;
	for (;;) {
		long n = x_read(in, buf, chunk);
		if (n < 0) {
			fprintf(env->err, "omx %s: %s: %s\n", cmd, inname, strerror((int)-n));
			rc = (int)n;
			break;
		}
		if (n == 0)
			break;
		long w = x_write(out, buf, (size_t)n);
		if (w < 0) {
			fprintf(env->err, "omx %s: %s: %s\n", cmd, outname, strerror((int)-w));
			rc = (int)w;
			break;
		}
	}
	free(buf);
	return rc;
}

int x_close(struct xfile *x)
{
	if (x->local_fd >= 0)
		return close(x->local_fd) < 0 ? -errno : 0;
	return omfs_client_release(x->env->client, x->node, &x->env->cred, x->fh, 0);
}

static int stat_either(const struct mfs_env *env, const char *arg, struct omfs_attr *ret,
		       int follow)
{
	char path[PATH_MAX];
	uint32_t node;
	int r = remote(env, arg, &node, path);
	if (r < 0)
		return r;
	if (r)
		return omfs_client_stat(env->client, node, &env->cred, path, ret);
	struct stat st;
	if ((follow ? stat(arg, &st) : lstat(arg, &st)) < 0)
		return -errno;
	memset(ret, 0, sizeof(*ret));
	omfs_attr_from_stat(&st, ret);
	return 0;
}

int x_lstat(const struct mfs_env *env, const char *arg, struct omfs_attr *ret)
{
	return stat_either(env, arg, ret, 0);
}

int x_stat(const struct mfs_env *env, const char *arg, struct omfs_attr *ret)
{
	return stat_either(env, arg, ret, 1);
}

void x_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Appends a copy of name (not "." or "..") to the growing array. */
static int names_add(char ***names, size_t *n, size_t *cap, const char *name)
{
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		char **nn = realloc(*names, nc * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		*names = nn;
		*cap = nc;
	}
	char *dup = strdup(name);
	if (!dup)
		return -ENOMEM;
	(*names)[(*n)++] = dup;
	return 0;
}

static int list_remote(const struct mfs_env *env, uint32_t node, const char *path,
		       char ***names, size_t *n, size_t *cap)
{
	uint64_t fh;
	int rc = omfs_client_opendir(env->client, node, &env->cred, path, &fh);
	if (rc < 0)
		return rc;
	int64_t off = 0;
	for (int eof = 0; !eof && rc == 0;) {
		struct omfs_resp resp;
		rc = omfs_client_readdir(env->client, node, &env->cred, fh, off, 0, &resp);
		if (rc < 0)
			break;
		eof = resp.eof || resp.nentries == 0;
		for (size_t i = 0; i < resp.nentries && rc == 0; i++) {
			off = resp.entries[i].off;
			rc = names_add(names, n, cap, resp.entries[i].name);
		}
		omfs_resp_clear(&resp);
	}
	(void)omfs_client_release(env->client, node, &env->cred, fh, 1);
	return rc;
}

static int list_local(const char *arg, char ***names, size_t *n, size_t *cap)
{
	DIR *d = opendir(arg);
	if (!d)
		return -errno;
	int rc = 0;
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(d);
		if (!e) {
			rc = -errno;
			break;
		}
		rc = names_add(names, n, cap, e->d_name);
		if (rc < 0)
			break;
	}
	closedir(d);
	return rc;
}

int x_list(const struct mfs_env *env, const char *arg, char ***ret_names, size_t *ret_n)
{
	char path[PATH_MAX];
	uint32_t node;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int r = remote(env, arg, &node, path);
	if (r < 0)
		return r;
	int rc = r ? list_remote(env, node, path, &names, &n, &cap) :
		     list_local(arg, &names, &n, &cap);
	if (rc < 0) {
		x_names_free(names, n);
		return rc;
	}
	*ret_names = names;
	*ret_n = n;
	return 0;
}

/* MKDIR, RMDIR, UNLINK, SYMLINK and MKNOD on an /mfs path; `r` has op and its fields set. */
static int path_call(const struct mfs_env *env, const char *arg, struct omfs_req *r,
		     int *ret_remote)
{
	char path[PATH_MAX];
	uint32_t node;
	int rm = remote(env, arg, &node, path);
	*ret_remote = rm > 0;
	if (rm <= 0)
		return rm;
	r->path = sbuf(path);
	return call_path(env, node, r);
}

int x_mkdir(const struct mfs_env *env, const char *arg, uint32_t mode)
{
	struct omfs_req r = { .op = OMFS_OP_MKDIR, .mode = mode };
	int rm, rc = path_call(env, arg, &r, &rm);
	return rm || rc < 0 ? rc : neg_errno(mkdir(arg, mode));
}

int x_rmdir(const struct mfs_env *env, const char *arg)
{
	struct omfs_req r = { .op = OMFS_OP_RMDIR };
	int rm, rc = path_call(env, arg, &r, &rm);
	return rm || rc < 0 ? rc : neg_errno(rmdir(arg));
}

int x_unlink(const struct mfs_env *env, const char *arg)
{
	struct omfs_req r = { .op = OMFS_OP_UNLINK };
	int rm, rc = path_call(env, arg, &r, &rm);
	return rm || rc < 0 ? rc : neg_errno(unlink(arg));
}

int x_symlink(const struct mfs_env *env, const char *target, const char *arg)
{
	struct omfs_req r = { .op = OMFS_OP_SYMLINK, .path2 = sbuf(target) };
	int rm, rc = path_call(env, arg, &r, &rm);
	return rm || rc < 0 ? rc : neg_errno(symlink(target, arg));
}

int x_mknod(const struct mfs_env *env, const char *arg, uint32_t mode, uint64_t rdev)
{
	struct omfs_req r = { .op = OMFS_OP_MKNOD, .mode = mode, .rdev = rdev };
	int rm, rc = path_call(env, arg, &r, &rm);
	return rm || rc < 0 ? rc : neg_errno(mknod(arg, mode, (dev_t)rdev));
}

int x_link(const struct mfs_env *env, const char *from, const char *to)
{
	char p1[PATH_MAX], p2[PATH_MAX];
	uint32_t n1, n2;
	int r1 = remote(env, from, &n1, p1), r2 = remote(env, to, &n2, p2);
	if (r1 < 0 || r2 < 0)
		return r1 < 0 ? r1 : r2;
	if (r1 != r2 || (r1 && n1 != n2))
		return -EXDEV;
	if (!r1)
		return neg_errno(link(from, to));
	struct omfs_req r = { .op = OMFS_OP_LINK, .path = sbuf(p1), .path2 = sbuf(p2) };
	return call_path(env, n1, &r);
}

long x_readlink(const struct mfs_env *env, const char *arg, char *buf, size_t size)
{
	char path[PATH_MAX];
	uint32_t node;
	int r = remote(env, arg, &node, path);
	if (r < 0)
		return r;
	if (r)
		return omfs_client_readlink(env->client, node, &env->cred, path, buf, size);
	ssize_t n = readlink(arg, buf, size);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return n;
}

static int setattr_local(const char *arg, const struct omfs_attr *a, uint32_t what)
{
	if ((what & (OMFS_SET_UID | OMFS_SET_GID)) &&
	    fchownat(AT_FDCWD, arg, (what & OMFS_SET_UID) ? a->uid : (uid_t)-1,
		     (what & OMFS_SET_GID) ? a->gid : (gid_t)-1, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if ((what & OMFS_SET_MODE) && !S_ISLNK(a->mode) && chmod(arg, a->mode & 07777) < 0)
		return -errno;
	if (what & (OMFS_SET_ATIME | OMFS_SET_MTIME)) {
		struct timespec ts[2] = {
			{ .tv_sec = a->atime_sec, .tv_nsec = a->atime_nsec },
			{ .tv_sec = a->mtime_sec, .tv_nsec = a->mtime_nsec },
		};
		if (!(what & OMFS_SET_ATIME))
			ts[0].tv_nsec = UTIME_OMIT;
		if (!(what & OMFS_SET_MTIME))
			ts[1].tv_nsec = UTIME_OMIT;
		if (utimensat(AT_FDCWD, arg, ts, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	}
	return 0;
}

int x_setattr(const struct mfs_env *env, const char *arg, const struct omfs_attr *a,
	      uint32_t what)
{
	char path[PATH_MAX];
	uint32_t node;
	int r = remote(env, arg, &node, path);
	if (r <= 0)
		return r < 0 ? r : setattr_local(arg, a, what);
	if (S_ISLNK(a->mode))
		what &= ~(uint32_t)OMFS_SET_MODE;
	what &= OMFS_SET_MODE | OMFS_SET_UID | OMFS_SET_GID | OMFS_SET_ATIME | OMFS_SET_MTIME;
	if (!what)
		return 0;
	/* owner first: a chown may clear set-id bits that the mode then restores */
	struct omfs_req r1 = {
		.op = OMFS_OP_SETATTR, .path = sbuf(path),
		.valid = what & (OMFS_SET_UID | OMFS_SET_GID), .uid = a->uid, .gid = a->gid,
	};
	int rc = r1.valid ? call_path(env, node, &r1) : 0;
	if (rc < 0)
		return rc;
	struct omfs_req r2 = {
		.op = OMFS_OP_SETATTR, .path = sbuf(path),
		.valid = what & ~(uint32_t)(OMFS_SET_UID | OMFS_SET_GID), .mode = a->mode & 07777,
		.atime_sec = a->atime_sec, .atime_nsec = a->atime_nsec,
		.mtime_sec = a->mtime_sec, .mtime_nsec = a->mtime_nsec,
	};
	return r2.valid ? call_path(env, node, &r2) : 0;
}

int64_t x_side(const struct mfs_env *env, const char *arg)
{
	char path[PATH_MAX];
	uint32_t node;
	int r = remote(env, arg, &node, path);
	return r < 0 ? -1 : r ? (int64_t)node : 0;
}

size_t x_last_name(const char *p, const char **ret_start)
{
	size_t l = strlen(p);
	while (l > 1 && p[l - 1] == '/')
		l--;
	size_t s = l;
	while (s > 0 && p[s - 1] != '/')
		s--;
	*ret_start = p + s;
	return l - s;
}

int x_join(char *buf, size_t size, const char *dir, const char *name)
{
	size_t l = strlen(dir);
	int slash = l && dir[l - 1] == '/';
	if (snprintf(buf, size, "%s%s%s", dir, slash ? "" : "/", name) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}
