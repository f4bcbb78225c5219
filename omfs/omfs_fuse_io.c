/* omfs_fuse_io.c - /mfs operations on open files and directories, xattrs, locks, statfs.
 *
 * An open file is a struct fopen (the server's handle + the node), so a file keeps working
 * after it is unlinked or renamed on the client. Page cache: dropped at every open (keep_cache
 * off: another node may have changed the file), kept while open, so mmap and readahead work.
 * flush is sent to the server only for files that took POSIX locks (close must drop them
 * there), and release rides on the next request (omfs_fuse_rel.c): close costs no round trip.
 *
 * Writes (write-behind, gathering): omfs_fuse_wb.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "omfs/omfs_fuse_int.h"
#include "omfs/omfs_xattr.h"


static struct fopen *FO(struct fuse_file_info *fi)
{
	return (struct fopen *)(uintptr_t)fi->fh;
}

static struct omfs_fuse *F(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

struct fopen *fo_new(struct omfs_fuse *f)
{
	struct fopen *fo = calloc(1, sizeof(*fo));
	if (!fo)
		return NULL;
	pthread_mutex_lock(&f->open_lock);
	fo->next = f->open_list;
	if (fo->next)
		fo->next->prev = fo;
	f->open_list = fo;
	pthread_mutex_unlock(&f->open_lock);
	return fo;
}

void fo_free(struct omfs_fuse *f, struct fopen *fo)
{
	if (!fo)
		return;
	pthread_mutex_lock(&f->open_lock);
	if (fo->prev)
		fo->prev->next = fo->next;
	else
		f->open_list = fo->next;
	if (fo->next)
		fo->next->prev = fo->prev;
	pthread_mutex_unlock(&f->open_lock);
	free(fo->gbuf);
	free(fo);
}

/* The session ended with files still open (a busy mount at unmount): their server handles go
 * with the session on the server's side; the structs go here. */
void fo_free_all(struct omfs_fuse *f)
{
	pthread_mutex_lock(&f->open_lock);
	struct fopen *fo = f->open_list;
	f->open_list = NULL;
	pthread_mutex_unlock(&f->open_lock);
	pthread_mutex_lock(&f->wb_lock);
	f->gather_list = NULL; /* what was gathered goes with the session */
	pthread_mutex_unlock(&f->wb_lock);
	while (fo) {
		struct fopen *nx = fo->next;
		free(fo->gbuf);
		free(fo);
		fo = nx;
	}
}

/* open, opendir, create: one server open, one struct fopen */
static int do_open(fuse_req_t req, struct fnode *n, const char *name, enum omfs_op op,
		   struct fuse_file_info *fi, mode_t mode, struct omfs_resp *resp)
{
	char path[MFS_PATH_MAX];
	uint32_t node;
	int rc = fz_path(req, n, name, path, &node);
	if (rc < 0)
		return rc; /* already replied */
	struct fopen *fo = fo_new(F(req));
	if (!fo) {
		fuse_reply_err(req, ENOMEM);
		return -ENOMEM;
	}
	struct omfs_req r;
	fz_req_init(&r, op, req, 1);
	r.path = (struct omfs_buf){ (const uint8_t *)path, strlen(path) };
	r.flags = (uint32_t)fi->flags;
	r.mode = mode;
	rc = fz_call(F(req), node, &r, resp);
	if (rc < 0) {
		fo_free(F(req), fo);
		fuse_reply_err(req, -rc);
		return rc;
	}
	fo->sfh = resp->fh;
	fo->node = node;
	fo->append = (fi->flags & O_APPEND) != 0;
	fi->fh = (uint64_t)(uintptr_t)fo;
	fi->keep_cache = 0;
	fi->direct_io = 0;
	return 0;
}

/* The kernel did not take the handle (interrupted): give it back to the server. */
static void undo_open(fuse_req_t req, struct fopen *fo, enum omfs_op op)
{
	struct omfs_req r;
	struct omfs_resp resp;
	fz_req_init(&r, op, req, 0);
	r.fh = fo->sfh;
	if (fz_call(F(req), fo->node, &r, &resp) == 0)
		omfs_resp_clear(&resp);
	fo_free(F(req), fo);
}

void fz_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct omfs_resp resp;
	struct fnode *n = ft_node(&F(req)->ft, ino);
	if (do_open(req, n, NULL, OMFS_OP_OPEN, fi, 0, &resp) < 0)
		return;
	omfs_resp_clear(&resp);
	if (fuse_reply_open(req, fi) != 0)
		undo_open(req, FO(fi), OMFS_OP_RELEASE);
}

void fz_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi)
{
	struct omfs_fuse *f = F(req);
	struct fnode *p = ft_node(&f->ft, parent);
	if (p->kind == FK_ROOT) {
		fuse_reply_err(req, EACCES);
		return;
	}
	struct omfs_resp resp;
	uint32_t xgen = fz_xgen(f);
	if (do_open(req, p, name, OMFS_OP_CREATE, fi, mode, &resp) < 0)
		return;
	struct fopen *fo = FO(fi);
	struct fnode *n = ft_ref_child(&f->ft, p, name, FK_FILE, fo->node);
	if (!n) {
		omfs_resp_clear(&resp);
		undo_open(req, fo, OMFS_OP_RELEASE);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	struct fuse_entry_param e;
	memset(&e, 0, sizeof(e));
	e.ino = ft_ino(&f->ft, n);
	e.attr_timeout = fz_attr_ttl(f, &resp.attr);
	e.entry_timeout = fz_entry_ttl(f, &resp.attr);
	fz_stat(fo->node, &resp.attr, &e.attr);
	fz_note_attr(f, n, &resp.attr, xgen);
	omfs_resp_clear(&resp);
	if (fuse_reply_create(req, &e, fi) != 0) {
		ft_forget(&f->ft, n, 1);
		undo_open(req, fo, OMFS_OP_RELEASE);
	}
}

void fz_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fopen *fo = FO(fi);
	struct omfs_req r;
	struct omfs_resp resp;
	fz_req_init(&r, OMFS_OP_READ, req, 0);
	r.fh = fo->sfh;
	r.offset = off;
	r.size = (uint32_t)(size > OMFS_MAX_IO ? OMFS_MAX_IO : size);
	int rc = fz_call(F(req), fo->node, &r, &resp);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fuse_reply_buf(req, (const char *)resp.data, resp.data_len);
	omfs_resp_clear(&resp);
}

static int fh_op(fuse_req_t req, struct fopen *fo, enum omfs_op op, struct omfs_req *r)
{
	struct omfs_resp resp;
	r->op = op;
	r->fh = fo->sfh;
	int rc = fz_call(F(req), fo->node, r, &resp);
	if (rc == 0)
		omfs_resp_clear(&resp);
	return rc;
}

void fz_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fopen *fo = FO(fi);
	fz_wb_barrier(F(req));
	int rc = fz_wb_take_err(F(req), fo); /* close reports a write that failed after it returned */
	if (fo->locked) {
		struct omfs_req r;
		fz_req_init(&r, OMFS_OP_FLUSH, req, 0);
		r.lock_owner = fi->lock_owner;
		int rc2 = fh_op(req, fo, OMFS_OP_FLUSH, &r);
		rc = rc < 0 ? rc : rc2;
	}
	fuse_reply_err(req, -rc);
}

/* release/releasedir: queued to ride on the next request (omfs_fuse_rel.c), except one that
 * drops a flock another process may be waiting for, or when the queue is full. */
static int release_fo(fuse_req_t req, struct fopen *fo, enum omfs_op op, int now)
{
	if (!now && fz_rel_defer(F(req), fo->node, fo->sfh) == 0)
		return 0;
	struct omfs_req r;
	fz_req_init(&r, op, req, 0);
	return fh_op(req, fo, op, &r);
}

void fz_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fopen *fo = FO(fi);
	/* the kernel may release while writes of this file it has been answered for are still
	 * gathered or in flight (through a shared mapping): they go out, and fo outlives them */
	fz_wb_barrier(F(req));
	int rc = release_fo(req, fo, OMFS_OP_RELEASE, fi->flock_release);
	fo_free(F(req), fo);
	fuse_reply_err(req, -rc);
}

void fz_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct fopen *fo = FO(fi);
	if (!fo) { /* the /mfs root */
		fuse_reply_err(req, 0);
		return;
	}
	struct omfs_req r;
	fz_req_init(&r, OMFS_OP_FSYNC, req, 0);
	r.datasync = datasync;
	int rc = fh_op(req, fo, OMFS_OP_FSYNC, &r); /* after the writes before it (fz_call) */
	int werr = fz_wb_take_err(F(req), fo);
	fuse_reply_err(req, -(werr < 0 ? werr : rc));
}

/* A server that does not know the operation (an older one) answers ENOSYS, or EBADMSG when it
 * cannot decode it: the kernel then does without (copies through reads and writes; glibc's
 * posix_fallocate writes zeros). */
static int unknown_op(int rc)
{
	return rc == -ENOSYS || rc == -EBADMSG;
}

/* posix_fallocate, fallocate(1), punching holes: done by the server on its descriptor, after the
 * writes before it (fz_call). The kernel passes mode 0, KEEP_SIZE, PUNCH_HOLE and ZERO_RANGE
 * only, and itself updates the size and drops the page cache of the range. */
void fz_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
		  struct fuse_file_info *fi)
{
	struct fopen *fo = FO(fi);
	if (!fo) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	struct omfs_req r;
	fz_req_init(&r, OMFS_OP_FALLOCATE, req, 1);
	r.mode = (uint32_t)mode;
	r.offset = offset;
	r.length = length;
	int rc = fh_op(req, fo, OMFS_OP_FALLOCATE, &r);
	fuse_reply_err(req, unknown_op(rc) ? EOPNOTSUPP : -rc);
}

/* cp, and anything else calling copy_file_range, between two files of one node: the server
 * copies, no data crosses the mesh. Files on two nodes: EXDEV, and the kernel copies through
 * reads and writes instead (as for OMFS_OP_COPY_FILE_RANGE unknown to an older server). */
void fz_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			struct fuse_file_info *fi_out, size_t len, int flags)
{
	struct fopen *in = FO(fi_in), *out = FO(fi_out);
	if (!in || !out || in->node != out->node) {
		fuse_reply_err(req, !in || !out ? EISDIR : EXDEV);
		return;
	}
	struct omfs_req r;
	struct omfs_resp resp;
	fz_req_init(&r, OMFS_OP_COPY_FILE_RANGE, req, 1);
	r.fh = in->sfh;
	r.offset = off_in;
	r.fh2 = out->sfh;
	r.offset2 = off_out;
	r.length = len > OMFS_MAX_COPY ? OMFS_MAX_COPY : (int64_t)len;
	r.flags = (uint32_t)flags;
	int rc = fz_call(F(req), in->node, &r, &resp);
	if (rc < 0) {
		fuse_reply_err(req, unknown_op(rc) ? EOPNOTSUPP : -rc);
		return;
	}
	size_t n = resp.size;
	omfs_resp_clear(&resp);
	fuse_reply_write(req, n);
}

void fz_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fnode *n = ft_node(&F(req)->ft, ino);
	if (n->kind == FK_ROOT) {
		fi->fh = 0;
		fuse_reply_open(req, fi);
		return;
	}
	struct omfs_resp resp;
	if (do_open(req, n, NULL, OMFS_OP_OPENDIR, fi, 0, &resp) < 0)
		return;
	omfs_resp_clear(&resp);
	if (fuse_reply_open(req, fi) != 0)
		undo_open(req, FO(fi), OMFS_OP_RELEASEDIR);
}

void fz_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fopen *fo = FO(fi);
	int rc = 0;
	if (fo) {
		rc = release_fo(req, fo, OMFS_OP_RELEASEDIR, 0);
		fo_free(F(req), fo);
	}
	fuse_reply_err(req, -rc);
}

/* The /mfs root: ".", "..", "home", "here", then the live node ids; offset = index + 1. */
static void readdir_root(fuse_req_t req, size_t size, off_t off, int plus)
{
	struct omfs_fuse *f = F(req);
	uint32_t ids[4096];
	size_t nids = f->hooks.members ? f->hooks.members(f->hooks.ctx, ids, 4096) : 0;
	if (!f->hooks.members)
		ids[nids++] = f->self;
	char *buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	size_t used = 0;
	for (size_t i = (size_t)off; i < 4 + nids; i++) {
		char name[16];
		struct stat st;
		memset(&st, 0, sizeof(st));
		const char *nm = i == 0 ? "." : i == 1 ? ".." : i == 2 ? "home" : i == 3 ? "here" : name;
		if (i >= 4)
			snprintf(name, sizeof(name), "%u", ids[i - 4]);
		st.st_mode = (i == 2 || i == 3) ? S_IFLNK : S_IFDIR;
		st.st_ino = i < 2 ? FUSE_ROOT_ID : 100 + i;
		size_t need;
		if (plus) {
			struct fuse_entry_param e;
			memset(&e, 0, sizeof(e)); /* ino 0: names only, the kernel looks up */
			e.attr = st;
			need = fuse_add_direntry_plus(req, buf + used, size - used, nm, &e,
						      (off_t)i + 1);
		} else {
			need = fuse_add_direntry(req, buf + used, size - used, nm, &st,
						 (off_t)i + 1);
		}
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

/* Adds one server entry to the reply buffer; returns the bytes used, or 0 if it did not fit. */
static size_t add_entry(fuse_req_t req, struct fnode *dir, uint32_t node,
			const struct omfs_dirent *d, char *buf, size_t rem, int plus, uint32_t xgen)
{
	struct omfs_fuse *f = F(req);
	struct stat st;
	struct omfs_attr a = { .ino = d->ino, .mode = d->type << 12 };
	fz_stat(node, d->has_attr ? &d->attr : &a, &st);
	if (!plus) {
		size_t need = fuse_add_direntry(req, buf, rem, d->name, &st, d->off);
		return need > rem ? 0 : need;
	}
	struct fuse_entry_param e;
	memset(&e, 0, sizeof(e));
	e.attr = st;
	int dots = strcmp(d->name, ".") == 0 || strcmp(d->name, "..") == 0;
	struct fnode *n = NULL;
	if (d->has_attr && !dots) {
		n = ft_ref_child(&f->ft, dir, d->name, FK_FILE, node);
		if (n) {
			e.ino = ft_ino(&f->ft, n);
			e.attr_timeout = fz_attr_ttl(f, &d->attr);
			e.entry_timeout = fz_entry_ttl(f, &d->attr);
			fz_note_attr(f, n, &d->attr, xgen);
		}
	}
	size_t need = fuse_add_direntry_plus(req, buf, rem, d->name, &e, d->off);
	if (need > rem) {
		if (n)
			ft_forget(&f->ft, n, 1);
		return 0;
	}
	return need;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	struct fopen *fo = FO(fi);
	if (!fo) {
		readdir_root(req, size, off, plus);
		return;
	}
	struct fnode *dir = ft_node(&F(req)->ft, ino);
	struct omfs_req r;
	struct omfs_resp resp;
	fz_req_init(&r, OMFS_OP_READDIR, req, 1);
	r.fh = fo->sfh;
	r.offset = off;
	r.size = (uint32_t)size;
	r.plus = plus;
	uint32_t xgen = fz_xgen(F(req));
	int rc = fz_call(F(req), fo->node, &r, &resp);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	char *buf = malloc(size);
	if (!buf) {
		omfs_resp_clear(&resp);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	size_t used = 0;
	for (size_t i = 0; i < resp.nentries; i++) {
		size_t n = add_entry(req, dir, fo->node, &resp.entries[i], buf + used, size - used,
				     plus, xgen);
		if (!n)
			break;
		used += n;
	}
	omfs_resp_clear(&resp);
	fuse_reply_buf(req, buf, used);
	free(buf);
}

void fz_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

void fz_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

void fz_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct omfs_fuse *f = F(req);
	struct fnode *n = ft_node(&f->ft, ino);
	uint32_t node = (n->kind == FK_NODE || n->kind == FK_FILE) ? n->node : f->self;
	struct omfs_req r;
	struct omfs_resp resp;
	fz_req_init(&r, OMFS_OP_STATFS, req, 1);
	r.path = (struct omfs_buf){ (const uint8_t *)"/", 1 };
	int rc = fz_call(f, node, &r, &resp);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	struct statvfs sv;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = resp.statfs.bsize;
	sv.f_frsize = resp.statfs.frsize;
	sv.f_blocks = resp.statfs.blocks;
	sv.f_bfree = resp.statfs.bfree;
	sv.f_bavail = resp.statfs.bavail;
	sv.f_files = resp.statfs.files;
	sv.f_ffree = resp.statfs.ffree;
	sv.f_favail = resp.statfs.favail;
	sv.f_namemax = resp.statfs.namemax;
	omfs_resp_clear(&resp);
	fuse_reply_statfs(req, &sv);
}

/* xattr ops address the node by path; name goes in path2, value in data */
static int xattr_call(fuse_req_t req, fuse_ino_t ino, struct omfs_req *r, struct omfs_resp *resp)
{
	struct fnode *n = ft_node(&F(req)->ft, ino);
	char path[MFS_PATH_MAX];
	uint32_t node;
	if (n->kind != FK_NODE && n->kind != FK_FILE) {
		fuse_reply_err(req, r->op == OMFS_OP_LISTXATTR ? 0 : ENOTSUP);
		return -ENOTSUP;
	}
	if (fz_path(req, n, NULL, path, &node) < 0)
		return -ENOENT;
	r->path = (struct omfs_buf){ (const uint8_t *)path, strlen(path) };
	int rc = fz_call(F(req), node, r, resp);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	return rc;
}

/* A name oMFS does not carry (omfs_xattr.h): answered EOPNOTSUPP here, as the server would. */
static int host_local(fuse_req_t req, const char *name)
{
	if (!omfs_xattr_host_local(name))
		return 0;
	fuse_reply_err(req, EOPNOTSUPP);
	return 1;
}

/* An xattr change through this mount: forget what we knew about n's xattrs, before sending it
 * and again once it is done, so that an attribute reply that crossed it (fz_xgen) cannot say
 * "none" afterwards. */
static void xattrs_changed(struct omfs_fuse *f, struct fnode *n)
{
	__atomic_add_fetch(&f->xgen, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&n->nocap_until_ms, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&n->noxattr_until_ms, 0, __ATOMIC_RELEASE);
}

/* The server said, with attributes still fresh, that n has no extended attributes at all. */
static int no_xattrs(struct fnode *n)
{
	return __atomic_load_n(&n->noxattr_until_ms, __ATOMIC_ACQUIRE) > fz_now_ms();
}

void fz_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		 size_t size, int flags)
{
	if (host_local(req, name))
		return;
	struct fnode *n = ft_node(&F(req)->ft, ino);
	struct omfs_req r;
	struct omfs_resp resp;
	fz_req_init(&r, OMFS_OP_SETXATTR, req, 1);
	r.path2 = (struct omfs_buf){ (const uint8_t *)name, strlen(name) };
	r.data = (struct omfs_buf){ (const uint8_t *)value, size };
	r.flags = (uint32_t)flags;
	xattrs_changed(F(req), n);
	int rc = xattr_call(req, ino, &r, &resp);
	xattrs_changed(F(req), n);
	if (rc < 0)
		return;
	omfs_resp_clear(&resp);
	fuse_reply_err(req, 0);
}

/* The kernel asks for security.capability before every write and truncate (to drop it);
 * `ls -l` asks for system.posix_acl_access on every entry (and security.selinux, which oMFS
 * does not carry: omfs_xattr.h, answered before any of this, once per mount). Answered here
 * without a round trip, for attr_timeout like any attribute:
 *   - any of those names when the server's attributes said the inode has no xattrs at all
 *     (regular files and directories only: on a symlink the ACL names are EOPNOTSUPP);
 *   - security.capability after the server answered ENODATA for it.
 * Names whose reading needs a permission on the file (user.*) always go to the server. */
#define CAPS_XATTR "security.capability"

static int absence_answerable(const char *name)
{
	return strncmp(name, "security.", 9) == 0 || strncmp(name, "trusted.", 8) == 0 ||
	       strcmp(name, "system.posix_acl_access") == 0 ||
	       strcmp(name, "system.posix_acl_default") == 0;
}

/* getxattr/listxattr's answer: the size when asked for it (size 0), else the bytes */
static void reply_xattr(fuse_req_t req, size_t size, struct omfs_resp *resp)
{
	if (size == 0)
		fuse_reply_xattr(req, resp->size);
	else
		fuse_reply_buf(req, (const char *)resp->data, resp->data_len);
	omfs_resp_clear(resp);
}

void fz_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	if (host_local(req, name))
		return;
	struct omfs_fuse *f = F(req);
	struct fnode *n = ft_node(&f->ft, ino);
	int caps = strcmp(name, CAPS_XATTR) == 0;
	if ((caps && __atomic_load_n(&n->nocap_until_ms, __ATOMIC_RELAXED) > fz_now_ms()) ||
	    (absence_answerable(name) && no_xattrs(n))) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	struct omfs_req r;
	struct omfs_resp resp;
	fz_req_init(&r, OMFS_OP_GETXATTR, req, 1);
	r.path2 = (struct omfs_buf){ (const uint8_t *)name, strlen(name) };
	r.size = (uint32_t)(size > OMFS_MAX_XATTR ? OMFS_MAX_XATTR : size);
	if (n->kind != FK_NODE && n->kind != FK_FILE) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	char path[MFS_PATH_MAX];
	uint32_t node;
	if (fz_path(req, n, NULL, path, &node) < 0)
		return;
	r.path = (struct omfs_buf){ (const uint8_t *)path, strlen(path) };
	uint32_t xgen = fz_xgen(f);
	int rc = fz_call(f, node, &r, &resp);
	if (caps && rc == -ENODATA && fz_xgen(f) == xgen)
		__atomic_store_n(&n->nocap_until_ms, fz_now_ms() + (int64_t)(f->attr_timeout * 1000),
				 __ATOMIC_RELAXED);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	reply_xattr(req, size, &resp);
}

void fz_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	if (no_xattrs(ft_node(&F(req)->ft, ino))) {
		if (size == 0)
			fuse_reply_xattr(req, 0);
		else
			fuse_reply_buf(req, NULL, 0);
		return;
	}
	struct omfs_req r;
	struct omfs_resp resp;
	fz_req_init(&r, OMFS_OP_LISTXATTR, req, 1);
	r.size = (uint32_t)(size > OMFS_MAX_XATTR ? OMFS_MAX_XATTR : size);
	if (xattr_call(req, ino, &r, &resp) < 0)
		return;
	reply_xattr(req, size, &resp);
}

void fz_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	if (host_local(req, name))
		return;
	struct fnode *n = ft_node(&F(req)->ft, ino);
	struct omfs_req r;
	struct omfs_resp resp;
	fz_req_init(&r, OMFS_OP_REMOVEXATTR, req, 1);
	r.path2 = (struct omfs_buf){ (const uint8_t *)name, strlen(name) };
	xattrs_changed(F(req), n);
	int rc = xattr_call(req, ino, &r, &resp);
	xattrs_changed(F(req), n);
	if (rc < 0)
		return;
	omfs_resp_clear(&resp);
	fuse_reply_err(req, 0);
}

static void lock_req(fuse_req_t req, struct fuse_file_info *fi, struct flock *lock,
		     struct omfs_req *r)
{
	r->fh = FO(fi)->sfh;
	r->lock_owner = fi->lock_owner;
	r->lock_type = (uint32_t)lock->l_type;
	r->offset = lock->l_start;
	r->end = lock->l_len == 0 ? INT64_MAX : lock->l_start + lock->l_len - 1;
	r->lock_pid = (uint32_t)lock->l_pid;
}

void fz_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock)
{
	struct omfs_req r;
	struct omfs_resp resp;
	fz_req_init(&r, OMFS_OP_GETLK, req, 0);
	lock_req(req, fi, lock, &r);
	int rc = fz_call(F(req), FO(fi)->node, &r, &resp);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	lock->l_type = (short)resp.lock_type;
	if (resp.lock_type != F_UNLCK) {
		lock->l_whence = SEEK_SET;
		lock->l_start = resp.lock_start;
		lock->l_len = resp.lock_end == INT64_MAX ? 0 : resp.lock_end - resp.lock_start + 1;
		lock->l_pid = (pid_t)resp.lock_pid;
	}
	omfs_resp_clear(&resp);
	fuse_reply_lock(req, lock);
}

void fz_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock,
	      int sleep)
{
	struct omfs_req r;
	fz_req_init(&r, OMFS_OP_SETLK, req, 0);
	lock_req(req, fi, lock, &r);
	r.wait = sleep;
	FO(fi)->locked = 1;
	fuse_reply_err(req, -fh_op(req, FO(fi), OMFS_OP_SETLK, &r));
}

void fz_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
	struct omfs_req r;
	fz_req_init(&r, OMFS_OP_FLOCK, req, 0);
	r.flock_op = (uint32_t)op;
	fuse_reply_err(req, -fh_op(req, FO(fi), OMFS_OP_FLOCK, &r));
}
