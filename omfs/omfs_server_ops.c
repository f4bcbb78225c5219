/* omfs_server_ops.c - operations addressed by path.
 *
 * Every operation first obtains a descriptor from omfs_server_path.c (the object itself as
 * O_PATH|O_NOFOLLOW, or its parent directory plus a single checked name) and then uses only
 * *at() calls relative to it with AT_EMPTY_PATH or that one name, so no second path walk can be
 * raced into leaving the export. The caller (omfs_server.c) has already switched the thread to
 * the requester's credentials, so the kernel's own permission checks are the permission checks.
 * Extended attributes go through /proc/self/fd/N: the f*xattr calls refuse O_PATH descriptors
 * (EBADF, verified on 6.18), and the magic link names exactly the inode we hold, symlinks
 * included. That is our own /proc, never reachable by a client path (RESOLVE_NO_MAGICLINKS).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "omfs/omfs_server_int.h"
#include "omfs/omfs_xattr.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

static int stat_fd(int fd, struct omfs_resp *resp)
{
	struct stat st;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	omfs_attr_from_stat(&st, &resp->attr);
	srv_attr_xattrs(fd, "", &resp->attr);
	resp->has_attr = 1;
	return 0;
}

static int stat_at(int dirfd, const char *name, struct omfs_resp *resp)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	omfs_attr_from_stat(&st, &resp->attr);
	srv_attr_xattrs(dirfd, name, &resp->attr);
	resp->has_attr = 1;
	return 0;
}

static void close_fd(int fd)
{
	if (fd >= 0)
		(void)close(fd); /* O_PATH / read-only descriptor: close cannot lose data */
}

static int is_mutation(enum omfs_op op)
{
	switch (op) {
	case OMFS_OP_MKNOD:
	case OMFS_OP_MKDIR:
	case OMFS_OP_UNLINK:
	case OMFS_OP_RMDIR:
	case OMFS_OP_SYMLINK:
	case OMFS_OP_SETXATTR:
	case OMFS_OP_REMOVEXATTR:
		return 1;
	default:
		return 0;
	}
}

/* A NUL-terminated copy of a wire string that must be a valid path or target. */
static int copy_target(struct omfs_buf b, char *out)
{
	if (b.len == 0)
		return -ENOENT;
	if (memchr(b.p, 0, b.len))
		return -EINVAL;
	if (b.len >= PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(out, b.p, b.len);
	out[b.len] = '\0';
	return 0;
}

static int copy_xattr_name(struct omfs_buf b, char *out)
{
	if (b.len == 0 || b.len > XATTR_NAME_MAX)
		return -ERANGE;
	if (memchr(b.p, 0, b.len))
		return -EINVAL;
	memcpy(out, b.p, b.len);
	out[b.len] = '\0';
	return 0;
}

static int virtual_op(const struct omfs_req *req, const struct srv_path *p, struct omfs_resp *resp)
{
	if (!p->virt)
		return p->parent_virt && is_mutation(req->op) ? -EROFS : -ENOENT;
	switch (req->op) {
	case OMFS_OP_LOOKUP:
	case OMFS_OP_GETATTR:
		srv_virtual_attr(&resp->attr);
		resp->has_attr = 1;
		return 0;
	case OMFS_OP_ACCESS:
		return (req->mask & W_OK) ? -EROFS : 0;
	case OMFS_OP_STATFS:
		resp->has_statfs = 1;
		resp->statfs.bsize = resp->statfs.frsize = 4096;
		resp->statfs.namemax = NAME_MAX;
		return 0;
	case OMFS_OP_READLINK:
		return -EINVAL;
	case OMFS_OP_GETXATTR:
		return -ENODATA;
	case OMFS_OP_LISTXATTR:
		return 0;
	case OMFS_OP_MKDIR:
		return -EEXIST;
	default:
		return -EROFS;
	}
}

static int op_create_name(const struct omfs_req *req, const struct srv_path *p,
			  struct omfs_resp *resp)
{
	struct srv_parent par;
	char target[PATH_MAX];
	int rc = 0;
	if (req->op == OMFS_OP_SYMLINK) {
		rc = copy_target(req->path2, target);
		if (rc < 0)
			return rc;
	}
	rc = srv_open_parent(p, &par);
	if (rc < 0)
		return rc == -EBUSY && req->op != OMFS_OP_UNLINK && req->op != OMFS_OP_RMDIR ?
			       -EEXIST :
			       rc;
	mode_t perm = req->mode & 07777 & ~req->umask;
	switch (req->op) {
	case OMFS_OP_MKDIR:
		rc = mkdirat(par.dirfd, par.name, perm);
		break;
	case OMFS_OP_MKNOD:
		rc = mknodat(par.dirfd, par.name, (req->mode & S_IFMT) | perm, (dev_t)req->rdev);
		break;
	case OMFS_OP_SYMLINK:
		rc = symlinkat(target, par.dirfd, par.name);
		break;
	case OMFS_OP_UNLINK:
		rc = unlinkat(par.dirfd, par.name, 0);
		break;
	case OMFS_OP_RMDIR:
		rc = unlinkat(par.dirfd, par.name, AT_REMOVEDIR);
		break;
	default:
		rc = -1;
		errno = ENOSYS;
		break;
	}
	if (rc < 0)
		rc = -errno;
	else if (req->op != OMFS_OP_UNLINK && req->op != OMFS_OP_RMDIR)
		rc = stat_at(par.dirfd, par.name, resp);
	close_fd(par.dirfd);
	return rc;
}

/* listxattr without the names oMFS does not carry (omfs_xattr.h): the whole list is read and
 * filtered even when only its size is asked for, so the size matches what a second call
 * returns. */
static int list_xattrs(const char *proc, size_t size, struct omfs_resp *resp)
{
	for (int tries = 0; tries < 3; tries++) {
		ssize_t n = listxattr(proc, NULL, 0);
		if (n <= 0) {
			resp->size = 0;
			return n < 0 ? -errno : 0;
		}
		char *buf = malloc((size_t)n);
		if (!buf)
			return -ENOMEM;
		ssize_t got = listxattr(proc, buf, (size_t)n);
		if (got < 0) {
			int rc = -errno;
			free(buf);
			if (rc == -ERANGE)
				continue; /* it grew in between */
			return rc;
		}
		size_t len = omfs_xattr_filter_list(buf, (size_t)got);
		resp->size = len;
		if (size == 0 || len == 0) {
			free(buf);
			return 0;
		}
		if (len > size) {
			free(buf);
			return -ERANGE;
		}
		resp->data = (uint8_t *)buf;
		resp->data_len = len;
		return 0;
	}
	return -EAGAIN;
}

static int op_xattr(const struct omfs_req *req, int fd, struct omfs_resp *resp)
{
	char proc[64], name[XATTR_NAME_MAX + 1];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	size_t size = req->size > OMFS_MAX_XATTR ? OMFS_MAX_XATTR : req->size;
	if (req->op == OMFS_OP_LISTXATTR)
		return list_xattrs(proc, size, resp);
	int rc = copy_xattr_name(req->path2, name);
	if (rc < 0)
		return rc;
	if (omfs_xattr_host_local(name))
		return -EOPNOTSUPP;
	switch (req->op) {
	case OMFS_OP_SETXATTR:
		if (req->data.len > OMFS_MAX_XATTR)
			return -E2BIG;
		if (req->flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE))
			return -EINVAL;
		if (setxattr(proc, name, req->data.p, req->data.len, (int)req->flags) < 0)
			return -errno;
		return 0;
	case OMFS_OP_REMOVEXATTR:
		return removexattr(proc, name) < 0 ? -errno : 0;
	case OMFS_OP_GETXATTR: {
		uint8_t *buf = size ? malloc(size) : NULL;
		if (size && !buf)
			return -ENOMEM;
		ssize_t n = getxattr(proc, name, buf, size);
		if (n < 0) {
			rc = -errno;
			free(buf);
			return rc;
		}
		resp->size = (uint64_t)n;
		if (size) {
			resp->data = buf;
			resp->data_len = (size_t)n;
		}
		return 0;
	}
	default:
		return -ENOSYS;
	}
}

static int op_on_object(const struct omfs_req *req, const struct srv_path *p,
			struct omfs_resp *resp)
{
	/* access and statfs follow a final symlink (inside the export); the rest act on it */
	int follow = req->op == OMFS_OP_ACCESS || req->op == OMFS_OP_STATFS;
	int fd = srv_open_rel(p->exp, p->rel, O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
	if (fd < 0)
		return fd;
	int rc = 0;
	switch (req->op) {
	case OMFS_OP_LOOKUP:
	case OMFS_OP_GETATTR:
		rc = stat_fd(fd, resp);
		break;
	case OMFS_OP_READLINK: {
		struct stat st;
		char *buf = malloc(PATH_MAX);
		if (!buf) {
			rc = -ENOMEM;
			break;
		}
		ssize_t n = -1;
		if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			rc = -errno;
		else if (!S_ISLNK(st.st_mode))
			rc = -EINVAL;
		else if ((n = readlinkat(fd, "", buf, PATH_MAX)) < 0)
			rc = -errno;
		if (rc < 0) {
			free(buf);
			break;
		}
		resp->data = (uint8_t *)buf;
		resp->data_len = (size_t)n;
		break;
	}
	case OMFS_OP_STATFS: {
		struct statfs s;
		if (fstatfs(fd, &s) < 0) {
			rc = -errno;
			break;
		}
		resp->has_statfs = 1;
		resp->statfs = (struct omfs_statfs){
			.bsize = (uint64_t)s.f_bsize,
			.frsize = (uint64_t)(s.f_frsize ? s.f_frsize : s.f_bsize),
			.blocks = s.f_blocks,
			.bfree = s.f_bfree,
			.bavail = s.f_bavail,
			.files = s.f_files,
			.ffree = s.f_ffree,
			.favail = s.f_ffree,
			.namemax = (uint64_t)s.f_namelen,
			.flag = (uint64_t)s.f_flags | (p->exp->read_only ? ST_RDONLY : 0),
		};
		break;
	}
	case OMFS_OP_ACCESS:
		if (req->mask & ~(uint32_t)(R_OK | W_OK | X_OK)) {
			rc = -EINVAL;
			break;
		}
		/* as the kernel does for a read-only mount: EROFS before permissions */
		if ((req->mask & W_OK) && p->exp->read_only)
			rc = -EROFS;
		else if (syscall(SYS_faccessat2, fd, "", (int)req->mask,
				 AT_EMPTY_PATH | AT_EACCESS) < 0)
			rc = -errno;
		break;
	case OMFS_OP_SETXATTR:
	case OMFS_OP_GETXATTR:
	case OMFS_OP_LISTXATTR:
	case OMFS_OP_REMOVEXATTR:
		rc = op_xattr(req, fd, resp);
		break;
	default:
		rc = -ENOSYS;
		break;
	}
	close_fd(fd);
	return rc;
}

int srv_op_path(struct omfs_server *srv, uint64_t session, const struct omfs_req *req,
		const struct srv_path *p, struct omfs_resp *resp)
{
	if (!p->exp)
		return virtual_op(req, p, resp);
	if (is_mutation(req->op) && p->exp->read_only)
		return -EROFS;
	switch (req->op) {
	case OMFS_OP_MKDIR:
	case OMFS_OP_MKNOD:
	case OMFS_OP_SYMLINK:
	case OMFS_OP_UNLINK:
	case OMFS_OP_RMDIR:
		return op_create_name(req, p, resp);
	default:
		return op_on_object(req, p, resp);
	}
}

int srv_op_rename_link(struct omfs_server *srv, const struct omfs_req *req,
		       const struct srv_path *from, const struct srv_path *to,
		       struct omfs_resp *resp)
{
	struct srv_parent a, b;
	if (req->op == OMFS_OP_RENAME &&
	    (req->flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE)))
		return -EINVAL;
	int rc = srv_open_parent(from, &a);
	if (rc < 0)
		return rc;
	rc = srv_open_parent(to, &b);
	if (rc < 0) {
		close_fd(a.dirfd);
		return rc == -EBUSY && req->op == OMFS_OP_LINK ? -EEXIST : rc;
	}
	if (req->op == OMFS_OP_RENAME) {
		rc = renameat2(a.dirfd, a.name, b.dirfd, b.name, req->flags) < 0 ? -errno : 0;
	} else {
		rc = linkat(a.dirfd, a.name, b.dirfd, b.name, 0) < 0 ? -errno : 0;
		if (rc == 0)
			rc = stat_at(b.dirfd, b.name, resp);
	}
	close_fd(a.dirfd);
	close_fd(b.dirfd);
	return rc;
}

static int truncate_path(const struct srv_path *p, int fd, int64_t size)
{
	struct stat st;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
		return -EINVAL;
	int wfd = srv_open_rel(p->exp, p->rel, O_WRONLY | O_NONBLOCK | O_NOCTTY, 0);
	if (wfd < 0)
		return wfd;
	int rc = ftruncate(wfd, size) < 0 ? -errno : 0;
	if (close(wfd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static struct timespec ts_of(uint32_t valid, uint32_t set_bit, uint32_t now_bit, int64_t sec,
			     uint32_t nsec)
{
	if (valid & now_bit)
		return (struct timespec){ .tv_sec = 0, .tv_nsec = UTIME_NOW };
	if (valid & set_bit)
		return (struct timespec){ .tv_sec = sec, .tv_nsec = nsec < 1000000000u ? nsec : 0 };
	return (struct timespec){ .tv_sec = 0, .tv_nsec = UTIME_OMIT };
}

static int chmod_fd(int fd, mode_t mode)
{
	if (syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return chmod(proc, mode) < 0 ? -errno : 0;
}

/* The kernel's FUSE client (without HANDLE_KILLPRIV) turns "a write or truncate by a user
 * without CAP_FSETID drops the set-id bits" into a SETATTR of the mode minus those bits, sent as
 * that user, and chmod refuses a non-owner. A local kernel clears them itself on such a write, so
 * do the same: a mode that is the current one of a regular file minus S_ISUID/S_ISGID, asked by
 * someone allowed to write the file, is applied with the daemon's capabilities (CAP_FOWNER).
 * Only those bits are cleared from the mode read again just before the chmod, so a chmod by the
 * owner in between is not undone beyond a window of two system calls (the local kernel holds
 * the inode lock instead). Anything else keeps chmod's EPERM. */
static int kill_setid(int fd, mode_t mode, const struct srv_saved_cred *saved)
{
	struct stat st;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -EPERM;
	mode_t cur = st.st_mode & 07777, clear = cur & ~mode;
	if (!S_ISREG(st.st_mode) || (mode & ~cur) != 0 || clear == 0 ||
	    (clear & ~(mode_t)(S_ISUID | S_ISGID)) != 0)
		return -EPERM;
	if (faccessat(fd, "", W_OK, AT_EACCESS | AT_EMPTY_PATH) < 0)
		return -EPERM;
	if (srv_cred_raise(saved) < 0)
		return -EPERM;
	int rc = -EPERM;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
		rc = chmod_fd(fd, (st.st_mode & 07777) & ~clear);
	srv_cred_lower(saved);
	return rc;
}

int srv_op_setattr(const struct omfs_req *req, const struct srv_path *p, struct srv_handle *h,
		   const struct srv_saved_cred *saved, struct omfs_resp *resp)
{
	int fd, rc = 0;
	if (h) {
		if (h->fd < 0)
			return -EROFS;
		if (h->exp->read_only)
			return -EROFS;
		fd = h->fd;
	} else {
		if (!p->exp)
			return p->virt ? -EROFS : -ENOENT;
		if (p->exp->read_only)
			return -EROFS;
		fd = srv_open_rel(p->exp, p->rel, O_PATH | O_NOFOLLOW, 0);
		if (fd < 0)
			return fd;
	}
	uint32_t v = req->valid;
	if (v & OMFS_SET_MODE) {
		rc = chmod_fd(fd, req->mode & 07777);
		if (rc == -EPERM)
			rc = kill_setid(fd, req->mode & 07777, saved);
	}
	if (rc == 0 && (v & (OMFS_SET_UID | OMFS_SET_GID))) {
		uid_t uid = (v & OMFS_SET_UID) ? req->uid : (uid_t)-1;
		gid_t gid = (v & OMFS_SET_GID) ? req->gid : (gid_t)-1;
		if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			rc = -errno;
	}
	if (rc == 0 && (v & OMFS_SET_SIZE)) {
		if (req->offset < 0)
			rc = -EINVAL;
		else if (h)
			rc = h->is_dir ? -EISDIR : ftruncate(fd, req->offset) < 0 ? -errno : 0;
		else
			rc = truncate_path(p, fd, req->offset);
	}
	uint32_t tbits = OMFS_SET_ATIME | OMFS_SET_MTIME | OMFS_SET_ATIME_NOW | OMFS_SET_MTIME_NOW;
	if (rc == 0 && (v & tbits)) {
		struct timespec ts[2] = {
			ts_of(v, OMFS_SET_ATIME, OMFS_SET_ATIME_NOW, req->atime_sec, req->atime_nsec),
			ts_of(v, OMFS_SET_MTIME, OMFS_SET_MTIME_NOW, req->mtime_sec, req->mtime_nsec),
		};
		if (utimensat(fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			rc = -errno;
	}
	if (rc == 0)
		rc = stat_fd(fd, resp);
	if (!h)
		close_fd(fd);
	return rc;
}
