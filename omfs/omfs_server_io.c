/* omfs_server_io.c - open, and the operations on open handles.
 *
 * open/create/opendir resolve the path inside the export (omfs_server_path.c) as the requesting
 * user and store the descriptor in the session's handle table. Reads and writes are positional
 * (pread/pwrite), so concurrent requests on one handle need no lock; readdir is stateless for the
 * client (each reply carries d_off cookies and the next request seeks to one), under the
 * handle's lock because it moves the descriptor's position.
 *
 * Locks: flock() is per open file, exactly one server descriptor per client open. POSIX record
 * locks belong to a lock owner (a process on the client): each owner gets its own reopened
 * descriptor of the file carrying open-file-description (OFD) locks, so different owners
 * conflict as different processes do, one owner never conflicts with itself, and flush (the
 * client's close) drops the owner's locks by closing that descriptor.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/falloc.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "omfs/omfs_server_int.h"

#define OPEN_ALLOWED                                                                               \
	(O_ACCMODE | O_APPEND | O_TRUNC | O_NONBLOCK | O_SYNC | O_DSYNC | O_NOATIME | O_NOFOLLOW |   \
	 O_DIRECTORY | O_LARGEFILE)

static int open_virtual(struct omfs_server *srv, uint64_t session, const struct srv_path *p,
			struct omfs_resp *resp)
{
	char *vpath = strdup(p->norm);
	if (!vpath)
		return -ENOMEM;
	int rc = srv_handle_add(srv, session, -1, 1, O_RDONLY, NULL, vpath, &resp->fh);
	if (rc < 0) {
		free(vpath);
		return rc;
	}
	srv_virtual_attr(&resp->attr);
	resp->has_attr = 1;
	return 0;
}

int srv_op_open(struct omfs_server *srv, uint64_t session, const struct omfs_req *req,
		const struct srv_path *p, struct omfs_resp *resp)
{
	int creating = req->op == OMFS_OP_CREATE;
	if (!p->exp) {
		if (!p->virt)
			return creating && p->parent_virt ? -EROFS : -ENOENT;
		if (req->op == OMFS_OP_OPENDIR)
			return open_virtual(srv, session, p, resp);
		return creating ? -EEXIST : -EISDIR;
	}
	int acc = (int)(req->flags & O_ACCMODE);
	if (acc == O_ACCMODE)
		return -EINVAL;
	int flags = (int)(req->flags & OPEN_ALLOWED);
	if (creating)
		flags |= O_CREAT | (int)(req->flags & O_EXCL);
	if (req->op == OMFS_OP_OPENDIR) {
		flags = O_RDONLY | O_DIRECTORY;
		acc = O_RDONLY;
	}
	if (p->exp->read_only && (acc != O_RDONLY || (flags & (O_TRUNC | O_CREAT))))
		return -EROFS;
	mode_t mode = req->mode & 07777 & ~req->umask;
	/* O_NONBLOCK for the open itself: a FIFO must not park a server thread */
	int fd = srv_open_rel(p->exp, p->rel, flags | O_NONBLOCK | O_NOCTTY, mode);
	if (fd < 0)
		return fd;
	int rc = 0;
	struct stat st;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	/* FIFOs and devices stay non-blocking: a client must not be able to park a server
	 * thread forever (FUSE clients never open those remotely; the kernel serves them). */
	if (rc == 0 && !(flags & O_NONBLOCK) && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
			rc = -errno;
	}
	if (rc == 0 && req->op == OMFS_OP_OPENDIR && !S_ISDIR(st.st_mode))
		rc = -ENOTDIR;
	if (rc == 0) {
		omfs_attr_from_stat(&st, &resp->attr);
		srv_attr_xattrs(fd, "", &resp->attr);
		resp->has_attr = 1;
		/* the path names the file in change notifications (writes through the handle);
		 * without it (no memory) they are sent as "all" */
		rc = srv_handle_add(srv, session, fd, S_ISDIR(st.st_mode), acc, p->exp,
				    strdup(p->norm), &resp->fh);
	}
	if (rc < 0)
		(void)close(fd); /* never handed out */
	return rc;
}

static int op_read(struct srv_handle *h, const struct omfs_req *req, struct omfs_resp *resp)
{
	if (h->is_dir)
		return -EISDIR;
	if (req->offset < 0)
		return -EINVAL;
	size_t size = req->size > OMFS_MAX_IO ? OMFS_MAX_IO : req->size;
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	size_t got = 0;
	while (got < size) {
		ssize_t n = pread(h->fd, buf + got, size - got, req->offset + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int rc = -errno;
			if (got)
				break;
			free(buf);
			return rc;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	resp->data = buf;
	resp->data_len = got;
	return 0;
}

static int op_write(struct srv_handle *h, const struct omfs_req *req, struct omfs_resp *resp)
{
	if (h->is_dir)
		return -EISDIR;
	if (req->offset < 0)
		return -EINVAL;
	if (req->data.len > OMFS_MAX_IO)
		return -EFBIG;
	size_t done = 0;
	while (done < req->data.len) {
		ssize_t n = pwrite(h->fd, req->data.p + done, req->data.len - done,
				   req->offset + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (done)
				break;
			return -errno;
		}
		done += (size_t)n;
		if (n == 0)
			break;
	}
	resp->size = done;
	return 0;
}

#define DIRENT_COST(namelen, plus) ((((24 + (namelen)) + 7) & ~7u) + ((plus) ? 128 : 0))

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int add_entry(struct omfs_resp *resp, size_t *cap, const char *name, uint64_t ino,
		     uint32_t type, int64_t off)
{
	if (resp->nentries == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct omfs_dirent *n = realloc(resp->entries, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		resp->entries = n;
		*cap = ncap;
	}
	struct omfs_dirent *d = &resp->entries[resp->nentries];
	memset(d, 0, sizeof(*d));
	d->name = strdup(name);
	if (!d->name)
		return -ENOMEM;
	d->ino = ino;
	d->type = type;
	d->off = off;
	resp->nentries++;
	return 0;
}

static int readdir_virtual(struct omfs_server *srv, struct srv_handle *h,
			   const struct omfs_req *req, struct omfs_resp *resp)
{
	char **names;
	size_t n, cap = 0;
	int rc = srv_virtual_children(srv, h->path, &names, &n);
	if (rc < 0)
		return rc;
	size_t budget = req->size ? req->size : 4096, used = 0;
	resp->eof = 1;
	for (size_t i = req->offset < 0 ? 0 : (size_t)req->offset; i < n + 2 && rc == 0; i++) {
		const char *name = i == 0 ? "." : i == 1 ? ".." : names[i - 2];
		size_t cost = DIRENT_COST(strlen(name), req->plus);
		if (used + cost > budget && resp->nentries) {
			resp->eof = 0;
			break;
		}
		used += cost;
		rc = add_entry(resp, &cap, name, 1, DT_DIR, (int64_t)i + 1);
		if (rc == 0 && req->plus && i >= 2) {
			struct omfs_dirent *d = &resp->entries[resp->nentries - 1];
			srv_virtual_attr(&d->attr);
			d->has_attr = 1;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

#define DIRBUF 32768

/* The next entry of the directory for readdir_fill: from what an earlier getdents64 left over
 * (h->dbuf), else a new one. Returns 1 with *ret_de, 0 at the end, or a negative errno. */
static int next_dirent(struct srv_handle *h, struct linux_dirent64 **ret_de)
{
	if (h->dpos >= h->dlen) {
		long n = syscall(SYS_getdents64, h->fd, h->dbuf, DIRBUF);
		if (n <= 0)
			return n < 0 ? -errno : 0;
		h->dlen = n;
		h->dpos = 0;
	}
	*ret_de = (struct linux_dirent64 *)(h->dbuf + h->dpos);
	return 1;
}

/* Entries from req->offset on, up to req->size bytes of them. A getdents64 returns more than a
 * request's worth: what is left stays with the handle, and the next request, which continues
 * where this one stopped, starts from it without an lseek. The lseek is what a listing in
 * pieces paid for most (ext4 rebuilds its hash-order cursor and reads the blocks again). */
static int readdir_fill(struct srv_handle *h, const struct omfs_req *req, struct omfs_resp *resp)
{
	size_t budget = req->size ? (req->size > OMFS_MAX_IO ? OMFS_MAX_IO : req->size) : 4096;
	size_t used = 0, cap = 0;
	int rc = 0;
	if (!h->dbuf && !(h->dbuf = malloc(DIRBUF)))
		return -ENOMEM;
	if (!h->dvalid || req->offset != h->doff) {
		h->dvalid = 0;
		if (lseek(h->fd, req->offset, SEEK_SET) < 0)
			return -errno;
		h->dlen = h->dpos = 0;
	}
	h->dvalid = 0; /* until this one is complete */
	for (;;) {
		struct linux_dirent64 *de = NULL;
		rc = next_dirent(h, &de);
		if (rc <= 0) {
			resp->eof = rc == 0;
			break;
		}
		size_t cost = DIRENT_COST(strlen(de->d_name), req->plus);
		if (used + cost > budget && resp->nentries) {
			rc = 0;
			break;
		}
		used += cost;
		rc = add_entry(resp, &cap, de->d_name, de->d_ino, de->d_type, de->d_off);
		if (rc < 0)
			break;
		h->dpos += de->d_reclen;
		h->doff = de->d_off;
		int dots = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
		if (req->plus && !dots) {
			struct stat st;
			struct omfs_dirent *d = &resp->entries[resp->nentries - 1];
			if (fstatat(h->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
				omfs_attr_from_stat(&st, &d->attr);
				srv_attr_xattrs(h->fd, de->d_name, &d->attr);
				d->has_attr = 1;
			}
		}
	}
	h->dvalid = rc == 0;
	return rc;
}

static int op_readdir(struct omfs_server *srv, struct srv_handle *h, const struct omfs_req *req,
		      struct omfs_resp *resp)
{
	if (!h->is_dir)
		return -ENOTDIR;
	if (h->fd < 0)
		return readdir_virtual(srv, h, req, resp);
	pthread_mutex_lock(&h->lock);
	int rc = readdir_fill(h, req, resp);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

/* fallocate(2) modes a client may ask for; the file system may still refuse one (EOPNOTSUPP) */
#define FALLOC_MODES                                                                            \
	(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE |                    \
	 FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE)

static int op_fallocate(struct srv_handle *h, const struct omfs_req *req)
{
	if (h->fd < 0 || h->is_dir)
		return h->is_dir ? -EISDIR : -EBADF;
	if (req->mode & ~(uint32_t)FALLOC_MODES)
		return -EOPNOTSUPP;
	return fallocate(h->fd, (int)req->mode, req->offset, req->length) < 0 ? -errno : 0;
}

/* A private descriptor for a POSIX lock owner, dup'ed for the caller (who closes it). */
static int owner_fd(struct srv_handle *h, uint64_t owner, int create)
{
	int rc = -ENOENT;
	pthread_mutex_lock(&h->lock);
	struct srv_lockfd *l = h->lockfds;
	while (l && l->owner != owner)
		l = l->next;
	if (!l && create) {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", h->fd);
		l = calloc(1, sizeof(*l));
		int fd = l ? open(proc, h->accmode | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) : -1;
		if (!l) {
			rc = -ENOMEM;
		} else if (fd < 0) {
			rc = -errno;
			free(l);
			l = NULL;
		} else {
			l->owner = owner;
			l->fd = fd;
			l->next = h->lockfds;
			h->lockfds = l;
		}
	}
	if (l) {
		rc = fcntl(l->fd, F_DUPFD_CLOEXEC, 0);
		if (rc < 0)
			rc = -errno;
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

static void owner_drop(struct srv_handle *h, uint64_t owner)
{
	pthread_mutex_lock(&h->lock);
	for (struct srv_lockfd **pp = &h->lockfds; *pp; pp = &(*pp)->next) {
		if ((*pp)->owner == owner) {
			struct srv_lockfd *l = *pp;
			*pp = l->next;
			(void)close(l->fd); /* drops the owner's locks; no data to lose */
			free(l);
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
}

static int op_lock(struct srv_handle *h, const struct omfs_req *req, struct omfs_resp *resp)
{
	if (h->fd < 0)
		return -EBADF;
	if (req->op == OMFS_OP_FLOCK) {
		int op = (int)req->flock_op;
		if ((op & ~LOCK_NB) != LOCK_SH && (op & ~LOCK_NB) != LOCK_EX &&
		    (op & ~LOCK_NB) != LOCK_UN)
			return -EINVAL;
		return flock(h->fd, op) < 0 ? -errno : 0;
	}
	if (req->lock_type != F_RDLCK && req->lock_type != F_WRLCK && req->lock_type != F_UNLCK)
		return -EINVAL;
	if (req->offset < 0 || req->end < req->offset)
		return -EINVAL;
	struct flock fl = {
		.l_type = (short)req->lock_type,
		.l_whence = SEEK_SET,
		.l_start = req->offset,
		.l_len = req->end == INT64_MAX ? 0 : req->end - req->offset + 1,
	};
	int create = req->op == OMFS_OP_SETLK && req->lock_type != F_UNLCK;
	int fd = owner_fd(h, req->lock_owner, create);
	if (fd == -ENOENT && !create) {
		if (req->op == OMFS_OP_SETLK)
			return 0; /* unlocking what this owner never locked */
		fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
	}
	if (fd < 0)
		return fd;
	int rc = 0;
	if (req->op == OMFS_OP_GETLK) {
		if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
			rc = -errno;
		} else {
			resp->has_lock = 1;
			resp->lock_type = (uint32_t)fl.l_type;
			resp->lock_start = fl.l_start;
			resp->lock_end = fl.l_len == 0 ? INT64_MAX : fl.l_start + fl.l_len - 1;
			resp->lock_pid = 0; /* an OFD lock has no pid; the holder may be remote */
		}
	} else if (fcntl(fd, req->wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0) {
		rc = -errno;
	}
	(void)close(fd); /* a dup: the owner's descriptor keeps the lock */
	return rc;
}

int srv_op_handle(struct omfs_server *srv, const struct omfs_req *req, struct srv_handle *h,
		  struct omfs_resp *resp)
{
	switch (req->op) {
	case OMFS_OP_GETATTR: {
		struct stat st;
		if (h->fd < 0) {
			srv_virtual_attr(&resp->attr);
		} else {
			if (fstat(h->fd, &st) < 0)
				return -errno;
			omfs_attr_from_stat(&st, &resp->attr);
		}
		resp->has_attr = 1;
		return 0;
	}
	case OMFS_OP_READ:
		return op_read(h, req, resp);
	case OMFS_OP_WRITE:
		return op_write(h, req, resp);
	case OMFS_OP_FLUSH:
		owner_drop(h, req->lock_owner);
		return 0;
	case OMFS_OP_FSYNC:
		if (h->fd < 0)
			return 0;
		return (req->datasync ? fdatasync(h->fd) : fsync(h->fd)) < 0 ? -errno : 0;
	case OMFS_OP_READDIR:
		return op_readdir(srv, h, req, resp);
	case OMFS_OP_GETLK:
	case OMFS_OP_SETLK:
	case OMFS_OP_FLOCK:
		return op_lock(h, req, resp);
	case OMFS_OP_FALLOCATE:
		return op_fallocate(h, req);
	default:
		return -EBADF;
	}
}
