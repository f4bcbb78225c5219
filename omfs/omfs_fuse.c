/* omfs_fuse.c - /mfs over FUSE: session lifecycle, the /mfs root, and the namespace operations.
 *
 * Every file-system request becomes one oMFS request to the node that owns the path, carrying the
 * caller's uid/gid/groups (from the FUSE request), so the serving node decides permissions: the
 * mount does not use default_permissions. Inode numbers shown to programs are the server's,
 * mixed with the node id and a hash of the server's device, so `du`, `tar` and `cp -a` see hard
 * links within a node and no collisions across nodes or across the server's mounts.
 * omfs_fuse_io.c has the operations on open files and directories.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "omfs/omfs_fuse_int.h"


void fz_cred(fuse_req_t req, struct omfs_cred *ret, int with_groups)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	memset(ret, 0, sizeof(*ret));
	ret->uid = ctx->uid;
	ret->gid = ctx->gid;
	if (!with_groups)
		return;
	/* groups come from /proc/<pid>/status: cache them per pid for a second (a process
	 * changing its groups is rare, and setgroups() is as visible after 1 s as NFS makes it) */
	struct omfs_fuse *f = fuse_req_userdata(req);
	struct gcache_entry *ge = &f->gcache[(unsigned)ctx->pid % 64];
	int64_t now = fz_now_ms();
	pthread_mutex_lock(&f->gcache_lock);
	if (ge->pid == ctx->pid && ge->until_ms > now) {
		ret->ngroups = ge->n;
		memcpy(ret->groups, ge->groups, ge->n * sizeof(ge->groups[0]));
		pthread_mutex_unlock(&f->gcache_lock);
		return;
	}
	pthread_mutex_unlock(&f->gcache_lock);
	gid_t g[OMFS_MAX_GROUPS];
	int n = fuse_req_getgroups(req, OMFS_MAX_GROUPS, g);
	if (n > OMFS_MAX_GROUPS)
		n = OMFS_MAX_GROUPS; /* more than we carry: the first 64, as NFS AUTH_SYS keeps 16 */
	for (int i = 0; i < n; i++)
		ret->groups[i] = g[i];
	ret->ngroups = n > 0 ? (uint32_t)n : 0;
	if (n < 0)
		return;
	pthread_mutex_lock(&f->gcache_lock);
	ge->pid = ctx->pid;
	ge->until_ms = now + 1000;
	ge->n = ret->ngroups;
	memcpy(ge->groups, ret->groups, ret->ngroups * sizeof(ret->groups[0]));
	pthread_mutex_unlock(&f->gcache_lock);
}

int64_t fz_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fz_req_init(struct omfs_req *r, enum omfs_op op, fuse_req_t req, int with_groups)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	fz_cred(req, &r->cred, with_groups);
}

int fz_call(struct omfs_fuse *f, uint32_t node, struct omfs_req *r, struct omfs_resp *resp)
{
	/* whatever a program does after write() returned sees that write: every request waits
	 * for the writes answered before it, or carries them (omfs_fuse_wb.c) */
	fz_loop_yield(f); /* this thread may wait now: another one reads the device meanwhile */
	struct fz_carried carried;
	fz_wb_carry(f, node, r, &carried);
	fz_rel_attach(f, node, r); /* closes queued for that node ride along (omfs_fuse_rel.c) */
	memset(resp, 0, sizeof(*resp));
	int64_t sent = fz_now_ms();
	uint64_t gen = f->dirs ? omfs_dirs_gen(f->dirs, node) : 0;
	int rc = omfs_client_call(f->client, node, r, resp);
	if (rc == -EHOSTUNREACH || rc == -ETIMEDOUT)
		rc = -ENOTCONN; /* the node is gone or not answering: its subtree fails fast */
	fz_dirs_note(f, node, r, rc, resp, sent, gen);
	fz_wb_carried_done(&carried, rc, resp);
	r->nwrites = 0; /* done, and their buffers freed: r may be sent again */
	if (rc < 0)
		omfs_resp_clear(resp);
	return rc;
}

void fz_stat(uint32_t node, const struct omfs_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	uint64_t devmix = (a->dev * 0x9E3779B97F4A7C15ull) >> 48;
	st->st_ino = a->ino ^ (devmix << 32) ^ ((uint64_t)node << 48);
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = a->size;
	st->st_blocks = a->blocks;
	st->st_blksize = a->blksize;
	st->st_atim = (struct timespec){ a->atime_sec, a->atime_nsec };
	st->st_mtim = (struct timespec){ a->mtime_sec, a->mtime_nsec };
	st->st_ctim = (struct timespec){ a->ctime_sec, a->ctime_nsec };
}

int fz_path(fuse_req_t req, struct fnode *n, const char *name, char *buf, uint32_t *ret_node)
{
	struct omfs_fuse *f = fuse_req_userdata(req);
	int rc = ft_path(&f->ft, n, name, buf, MFS_PATH_MAX);
	if (rc == -EINVAL)
		rc = -EPERM; /* /mfs itself and its symlinks are not files of any node */
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return rc;
	}
	*ret_node = n->node;
	return 0;
}

uint32_t fz_xgen(struct omfs_fuse *f)
{
	return __atomic_load_n(&f->xgen, __ATOMIC_ACQUIRE);
}

void fz_note_attr(struct omfs_fuse *f, struct fnode *n, const struct omfs_attr *a, uint32_t xgen)
{
	int64_t until = 0;
	if (a->no_xattrs && (S_ISREG(a->mode) || S_ISDIR(a->mode)) && fz_xgen(f) == xgen)
		until = fz_now_ms() + (int64_t)(fz_attr_ttl(f, a) * 1000); /* or a change report */
	__atomic_store_n(&n->noxattr_until_ms, until, __ATOMIC_RELEASE);
}

double fz_attr_ttl(const struct omfs_fuse *f, const struct omfs_attr *a)
{
	if (!S_ISDIR(a->mode) && a->nlink > 1)
		return 0; /* another name of it may change it here, unseen by this node */
	return a->watched ? f->watched_timeout : f->attr_timeout;
}

double fz_entry_ttl(const struct omfs_fuse *f, const struct omfs_attr *a)
{
	return a->watched ? f->watched_timeout : f->entry_timeout;
}

void fz_reply_entry(fuse_req_t req, struct fnode *parent, const char *name, uint32_t node,
		    const struct omfs_attr *a, uint32_t xgen)
{
	struct omfs_fuse *f = fuse_req_userdata(req);
	struct fuse_entry_param e;
	memset(&e, 0, sizeof(e));
	enum fkind kind = parent->kind == FK_ROOT ? FK_NODE : FK_FILE;
	struct fnode *n = ft_ref_child(&f->ft, parent, name, kind, node);
	if (!n) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	e.ino = ft_ino(&f->ft, n);
	e.attr_timeout = fz_attr_ttl(f, a);
	e.entry_timeout = fz_entry_ttl(f, a);
	fz_stat(node, a, &e.attr);
	fz_note_attr(f, n, a, xgen);
	if (fuse_reply_entry(req, &e) != 0)
		ft_forget(&f->ft, n, 1); /* the kernel never got it */
}

/* ---- the /mfs root: node ids, home, here ---- */

static size_t members(struct omfs_fuse *f, uint32_t *ids, size_t max)
{
	if (!f->hooks.members) {
		ids[0] = f->self;
		return 1;
	}
	return f->hooks.members(f->hooks.ctx, ids, max);
}

static int is_member(struct omfs_fuse *f, uint32_t id)
{
	uint32_t ids[4096];
	size_t n = members(f, ids, 4096);
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

static uint32_t link_target(fuse_req_t req, enum fkind kind)
{
	struct omfs_fuse *f = fuse_req_userdata(req);
	pid_t pid = fuse_req_ctx(req)->pid;
	if (kind == FK_HOME && f->hooks.home_of)
		return f->hooks.home_of(f->hooks.ctx, pid);
	if (kind == FK_HERE && f->hooks.here_of)
		return f->hooks.here_of(f->hooks.ctx, pid);
	return f->self;
}

static void root_attr(struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = FUSE_ROOT_ID;
	st->st_mode = S_IFDIR | 0555;
	st->st_nlink = 2;
}

static void link_attr(fuse_req_t req, enum fkind kind, struct stat *st)
{
	char t[16];
	memset(st, 0, sizeof(*st));
	st->st_ino = kind == FK_HOME ? 2 : 3;
	st->st_mode = S_IFLNK | 0777;
	st->st_nlink = 1;
	st->st_size = snprintf(t, sizeof(t), "%u", link_target(req, kind));
}

static int parse_id(const char *name, uint32_t *ret)
{
	char *end;
	if (!*name || *name == '0' || strlen(name) > 10)
		return -1;
	unsigned long v = strtoul(name, &end, 10);
	if (*end || v > UINT32_MAX)
		return -1;
	*ret = (uint32_t)v;
	return 0;
}

static void lookup_root(fuse_req_t req, const char *name)
{
	struct omfs_fuse *f = fuse_req_userdata(req);
	struct fuse_entry_param e;
	memset(&e, 0, sizeof(e));
	enum fkind kind = strcmp(name, "home") == 0 ? FK_HOME :
			  strcmp(name, "here") == 0 ? FK_HERE :
						      FK_NODE;
	if (kind != FK_NODE) {
		struct fnode *n = ft_ref_child(&f->ft, &f->ft.root, name, kind, 0);
		if (!n) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		e.ino = ft_ino(&f->ft, n);
		link_attr(req, kind, &e.attr);
		/* attributes of per-caller links must not be cached across callers */
		if (fuse_reply_entry(req, &e) != 0)
			ft_forget(&f->ft, n, 1);
		return;
	}
	uint32_t id;
	if (parse_id(name, &id) < 0 || !is_member(f, id)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	struct omfs_req r;
	struct omfs_resp resp;
	fz_req_init(&r, OMFS_OP_LOOKUP, req, 1);
	r.path = (struct omfs_buf){ (const uint8_t *)"/", 1 };
	uint32_t xgen = fz_xgen(f);
	int rc = fz_call(f, id, &r, &resp);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fz_reply_entry(req, &f->ft.root, name, id, &resp.attr, xgen);
	omfs_resp_clear(&resp);
}

/* ---- namespace operations ---- */

static void fz_init(void *userdata, struct fuse_conn_info *conn)
{
	conn->max_write = OMFS_MAX_IO;
	/* the kernel keeps the smaller of this and the mount's read_ahead_kb, which
	 * omfs_fuse_set_readahead raises to the same (before or after this INIT: either way) */
	conn->max_readahead = OMFS_FUSE_READAHEAD_KB * 1024u;
	conn->max_read = OMFS_MAX_IO; /* must equal the max_read mount option */
	unsigned want = FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS | FUSE_CAP_ATOMIC_O_TRUNC |
			FUSE_CAP_READDIRPLUS | FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_ASYNC_READ |
			FUSE_CAP_HANDLE_KILLPRIV;
	conn->want |= want & conn->capable;
	/* READDIRPLUS always, not "auto": under auto the kernel falls back to plain READDIR for
	 * every getdents batch after the first unless a stat came in between, and `ls -l` reads
	 * the whole directory before its first stat, so each entry then cost a LOOKUP. */
	conn->want &= ~(unsigned)(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_SPLICE_READ |
				  FUSE_CAP_READDIRPLUS_AUTO);
	conn->time_gran = 1;
	fz_loop_init_wants(userdata, conn);
}

static void fz_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct omfs_fuse *f = fuse_req_userdata(req);
	struct fnode *p = ft_node(&f->ft, parent);
	if (p->kind == FK_ROOT) {
		lookup_root(req, name);
		return;
	}
	char path[MFS_PATH_MAX];
	uint32_t node;
	if (fz_path(req, p, name, path, &node) < 0)
		return;
	struct omfs_req r;
	struct omfs_resp resp;
	fz_req_init(&r, OMFS_OP_LOOKUP, req, 1);
	r.path = (struct omfs_buf){ (const uint8_t *)path, strlen(path) };
	uint32_t xgen = fz_xgen(f);
	/* a name this mount knows its directory does not hold (omfs_fuse_dirs.c) */
	int rc = fz_dirs_absent(f, node, path, r.cred.uid) ? -ENOENT : fz_call(f, node, &r, &resp);
	if (rc == -ENOENT) {
		/* a negative entry the kernel may cache for entry_timeout */
		struct fuse_entry_param e;
		memset(&e, 0, sizeof(e));
		e.entry_timeout = f->entry_timeout;
		fuse_reply_entry(req, &e);
		return;
	}
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fz_reply_entry(req, p, name, node, &resp.attr, xgen);
	omfs_resp_clear(&resp);
}

static void fz_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct omfs_fuse *f = fuse_req_userdata(req);
	ft_forget(&f->ft, ft_node(&f->ft, ino), nlookup);
	fuse_reply_none(req);
}

static void fz_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct omfs_fuse *f = fuse_req_userdata(req);
	for (size_t i = 0; i < count; i++)
		ft_forget(&f->ft, ft_node(&f->ft, forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

/* getattr and setattr share this: fh when the kernel has one, the path otherwise */
static void attr_op(fuse_req_t req, fuse_ino_t ino, struct omfs_req *r, struct fuse_file_info *fi)
{
	struct omfs_fuse *f = fuse_req_userdata(req);
	struct fnode *n = ft_node(&f->ft, ino);
	struct stat st;
	if (n->kind == FK_ROOT || n->kind == FK_HOME || n->kind == FK_HERE) {
		if (r->op == OMFS_OP_SETATTR) {
			fuse_reply_err(req, EPERM);
			return;
		}
		if (n->kind == FK_ROOT)
			root_attr(&st);
		else
			link_attr(req, n->kind, &st);
		fuse_reply_attr(req, &st, n->kind == FK_ROOT ? f->attr_timeout : 0);
		return;
	}
	char path[MFS_PATH_MAX];
	uint32_t node = n->node;
	if (fi && fi->fh) {
		r->fh = ((struct fopen *)(uintptr_t)fi->fh)->sfh;
	} else {
		if (fz_path(req, n, NULL, path, &node) < 0)
			return;
		r->path = (struct omfs_buf){ (const uint8_t *)path, strlen(path) };
	}
	struct omfs_resp resp;
	uint32_t xgen = fz_xgen(f);
	int rc = fz_call(f, node, r, &resp);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fz_stat(node, &resp.attr, &st);
	fz_note_attr(f, n, &resp.attr, xgen);
	fuse_reply_attr(req, &st, fz_attr_ttl(f, &resp.attr));
	omfs_resp_clear(&resp);
}

static void fz_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct omfs_req r;
	fz_req_init(&r, OMFS_OP_GETATTR, req, 1);
	attr_op(req, ino, &r, fi);
}

static void fz_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct omfs_req r;
	fz_req_init(&r, OMFS_OP_SETATTR, req, 1);
	static const struct {
		int fuse;
		uint32_t ours;
	} map[] = {
		{ FUSE_SET_ATTR_MODE, OMFS_SET_MODE },	 { FUSE_SET_ATTR_UID, OMFS_SET_UID },
		{ FUSE_SET_ATTR_GID, OMFS_SET_GID },	 { FUSE_SET_ATTR_SIZE, OMFS_SET_SIZE },
		{ FUSE_SET_ATTR_ATIME, OMFS_SET_ATIME }, { FUSE_SET_ATTR_MTIME, OMFS_SET_MTIME },
		{ FUSE_SET_ATTR_ATIME_NOW, OMFS_SET_ATIME_NOW },
		{ FUSE_SET_ATTR_MTIME_NOW, OMFS_SET_MTIME_NOW },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (to_set & map[i].fuse)
			r.valid |= map[i].ours;
	r.mode = attr->st_mode;
	r.uid = attr->st_uid;
	r.gid = attr->st_gid;
	r.offset = attr->st_size;
	r.atime_sec = attr->st_atim.tv_sec;
	r.atime_nsec = (uint32_t)attr->st_atim.tv_nsec;
	r.mtime_sec = attr->st_mtim.tv_sec;
	r.mtime_nsec = (uint32_t)attr->st_mtim.tv_nsec;
	if (!r.valid) { /* ctime-only updates and the like: just report attributes */
		r.op = OMFS_OP_GETATTR;
	}
	attr_op(req, ino, &r, fi);
}

static void fz_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct omfs_fuse *f = fuse_req_userdata(req);
	struct fnode *n = ft_node(&f->ft, ino);
	if (n->kind == FK_HOME || n->kind == FK_HERE) {
		char t[16];
		snprintf(t, sizeof(t), "%u", link_target(req, n->kind));
		fuse_reply_readlink(req, t);
		return;
	}
	char path[MFS_PATH_MAX];
	uint32_t node;
	if (fz_path(req, n, NULL, path, &node) < 0)
		return;
	struct omfs_req r;
	struct omfs_resp resp;
	fz_req_init(&r, OMFS_OP_READLINK, req, 1);
	r.path = (struct omfs_buf){ (const uint8_t *)path, strlen(path) };
	int rc = fz_call(f, node, &r, &resp);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	char *t = strndup((const char *)resp.data, resp.data_len);
	if (t)
		fuse_reply_readlink(req, t);
	else
		fuse_reply_err(req, ENOMEM);
	free(t);
	omfs_resp_clear(&resp);
}

/* mknod, mkdir, symlink: create a name and reply its entry */
static void make_name(fuse_req_t req, fuse_ino_t parent, const char *name, struct omfs_req *r,
		      const char *target)
{
	struct omfs_fuse *f = fuse_req_userdata(req);
	struct fnode *p = ft_node(&f->ft, parent);
	char path[MFS_PATH_MAX];
	uint32_t node;
	if (p->kind == FK_ROOT) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (fz_path(req, p, name, path, &node) < 0)
		return;
	r->path = (struct omfs_buf){ (const uint8_t *)path, strlen(path) };
	if (target)
		r->path2 = (struct omfs_buf){ (const uint8_t *)target, strlen(target) };
	struct omfs_resp resp;
	uint32_t xgen = fz_xgen(f);
	int rc = fz_call(f, node, r, &resp);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fz_reply_entry(req, p, name, node, &resp.attr, xgen);
	omfs_resp_clear(&resp);
}

static void fz_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	struct omfs_req r;
	fz_req_init(&r, OMFS_OP_MKNOD, req, 1);
	r.mode = mode;
	r.rdev = rdev;
	make_name(req, parent, name, &r, NULL);
}

static void fz_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct omfs_req r;
	fz_req_init(&r, OMFS_OP_MKDIR, req, 1);
	r.mode = mode;
	make_name(req, parent, name, &r, NULL);
}

static void fz_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct omfs_req r;
	fz_req_init(&r, OMFS_OP_SYMLINK, req, 1);
	make_name(req, parent, name, &r, link);
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name, enum omfs_op op)
{
	struct omfs_fuse *f = fuse_req_userdata(req);
	struct fnode *p = ft_node(&f->ft, parent);
	char path[MFS_PATH_MAX];
	uint32_t node;
	if (p->kind == FK_ROOT) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (fz_path(req, p, name, path, &node) < 0)
		return;
	struct omfs_req r;
	struct omfs_resp resp;
	fz_req_init(&r, op, req, 1);
	r.path = (struct omfs_buf){ (const uint8_t *)path, strlen(path) };
	int rc = fz_call(f, node, &r, &resp);
	if (rc == 0) {
		ft_detach(&f->ft, p, name);
		omfs_resp_clear(&resp);
	}
	fuse_reply_err(req, -rc);
}

static void fz_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, OMFS_OP_UNLINK);
}

static void fz_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, OMFS_OP_RMDIR);
}

static void fz_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct omfs_fuse *f = fuse_req_userdata(req);
	struct fnode *p1 = ft_node(&f->ft, parent), *p2 = ft_node(&f->ft, newparent);
	char from[MFS_PATH_MAX], to[MFS_PATH_MAX];
	uint32_t n1, n2;
	if (p1->kind == FK_ROOT || p2->kind == FK_ROOT) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (fz_path(req, p1, name, from, &n1) < 0 || fz_path(req, p2, newname, to, &n2) < 0)
		return;
	if (n1 != n2) {
		fuse_reply_err(req, EXDEV);
		return;
	}
	struct omfs_req r;
	struct omfs_resp resp;
	fz_req_init(&r, OMFS_OP_RENAME, req, 1);
	r.path = (struct omfs_buf){ (const uint8_t *)from, strlen(from) };
	r.path2 = (struct omfs_buf){ (const uint8_t *)to, strlen(to) };
	r.flags = flags;
	int rc = fz_call(f, n1, &r, &resp);
	if (rc == 0) {
		ft_rename(&f->ft, p1, name, p2, newname, (flags & RENAME_EXCHANGE) != 0);
		omfs_resp_clear(&resp);
	}
	fuse_reply_err(req, -rc);
}

static void fz_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct omfs_fuse *f = fuse_req_userdata(req);
	struct fnode *n = ft_node(&f->ft, ino), *p = ft_node(&f->ft, newparent);
	char from[MFS_PATH_MAX], to[MFS_PATH_MAX];
	uint32_t n1, n2;
	if (n->kind != FK_FILE || p->kind == FK_ROOT) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (fz_path(req, n, NULL, from, &n1) < 0 || fz_path(req, p, newname, to, &n2) < 0)
		return;
	if (n1 != n2) {
		fuse_reply_err(req, EXDEV);
		return;
	}
	struct omfs_req r;
	struct omfs_resp resp;
	fz_req_init(&r, OMFS_OP_LINK, req, 1);
	r.path = (struct omfs_buf){ (const uint8_t *)from, strlen(from) };
	r.path2 = (struct omfs_buf){ (const uint8_t *)to, strlen(to) };
	uint32_t xgen = fz_xgen(f);
	int rc = fz_call(f, n1, &r, &resp);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	/* the new name is a node of its own: the old name's cached attributes (link count, ctime)
	 * are stale now, and the kernel does not know. Attributes only, which takes none of the
	 * locks this link holds; before the reply, so that link(2) returns after it. */
	(void)fuse_lowlevel_notify_inval_inode(f->se, ino, -1, 0);
	fz_reply_entry(req, p, newname, n1, &resp.attr, xgen);
	omfs_resp_clear(&resp);
}

static void fz_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct omfs_fuse *f = fuse_req_userdata(req);
	struct fnode *n = ft_node(&f->ft, ino);
	if (n->kind == FK_ROOT || n->kind == FK_HOME || n->kind == FK_HERE) {
		fuse_reply_err(req, (mask & W_OK) ? EACCES : 0);
		return;
	}
	char path[MFS_PATH_MAX];
	uint32_t node;
	if (fz_path(req, n, NULL, path, &node) < 0)
		return;
	struct omfs_req r;
	struct omfs_resp resp;
	fz_req_init(&r, OMFS_OP_ACCESS, req, 1);
	r.path = (struct omfs_buf){ (const uint8_t *)path, strlen(path) };
	r.mask = (uint32_t)mask;
	int rc = fz_call(f, node, &r, &resp);
	if (rc == 0)
		omfs_resp_clear(&resp);
	fuse_reply_err(req, -rc);
}

static const struct fuse_lowlevel_ops fz_ops = {
	.init = fz_init,
	.lookup = fz_lookup,
	.forget = fz_forget,
	.forget_multi = fz_forget_multi,
	.getattr = fz_getattr,
	.setattr = fz_setattr,
	.readlink = fz_readlink,
	.mknod = fz_mknod,
	.mkdir = fz_mkdir,
	.unlink = fz_unlink,
	.rmdir = fz_rmdir,
	.symlink = fz_symlink,
	.rename = fz_rename,
	.link = fz_link,
	.open = fz_open,
	.read = fz_read,
	.write = fz_write,
	.flush = fz_flush,
	.release = fz_release,
	.fsync = fz_fsync,
	.opendir = fz_opendir,
	.readdir = fz_readdir,
	.readdirplus = fz_readdirplus,
	.releasedir = fz_releasedir,
	.fsyncdir = fz_fsync,
	.statfs = fz_statfs,
	.setxattr = fz_setxattr,
	.getxattr = fz_getxattr,
	.listxattr = fz_listxattr,
	.removexattr = fz_removexattr,
	.access = fz_access,
	.create = fz_create,
	.getlk = fz_getlk,
	.setlk = fz_setlk,
	.flock = fz_flock,
	.fallocate = fz_fallocate,
	.copy_file_range = fz_copy_file_range,
};

int omfs_fuse_new(const struct omfs_fuse_config *cfg, struct omfs_fuse **ret)
{
	if (!cfg->mountpoint || !cfg->client)
		return -EINVAL;
	struct omfs_fuse *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	if (ft_init(&f->ft) < 0) {
		free(f);
		return -ENOMEM;
	}
	pthread_mutex_init(&f->gcache_lock, NULL);
	pthread_mutex_init(&f->open_lock, NULL);
	pthread_mutex_init(&f->wb_lock, NULL);
	pthread_cond_init(&f->wb_cond, NULL);
	f->client = cfg->client;
	f->self = cfg->self;
	f->hooks = cfg->hooks;
	f->entry_timeout = cfg->entry_timeout > 0 ? cfg->entry_timeout : 1.0;
	f->attr_timeout = cfg->attr_timeout > 0 ? cfg->attr_timeout : 1.0;
	f->watched_timeout = cfg->watched_timeout > 0 ? cfg->watched_timeout : OMFS_WATCHED_TTL_S;
	if (f->watched_timeout < f->attr_timeout)
		f->watched_timeout = f->attr_timeout;
	f->max_threads = cfg->max_threads;
	int rrc = omfs_dirs_new(FZ_DIRS_MAX, FZ_DIRS_NAMES, &f->dirs);
	if (rrc == 0)
		rrc = fz_loop_init(f);
	if (rrc == 0)
		rrc = fz_rel_start(f);
	if (rrc < 0) {
		omfs_fuse_free(&f);
		return rrc;
	}
	char opts[256];
	snprintf(opts, sizeof(opts), "fsname=omfs,subtype=omfs,max_read=%u%s", OMFS_MAX_IO,
		 cfg->allow_other ? ",allow_other" : "");
	char *argv[] = { "omfs", "-o", opts, cfg->debug ? "-d" : NULL, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(cfg->debug ? 4 : 3, argv);
	f->se = fuse_session_new(&args, &fz_ops, sizeof(fz_ops), f);
	fuse_opt_free_args(&args);
	if (!f->se) {
		omfs_fuse_free(&f);
		return -EIO;
	}
	f->mnt = realpath(cfg->mountpoint, NULL); /* now: once mounted, a stat would need the loop */
	if (fuse_session_mount(f->se, cfg->mountpoint) != 0) {
		omfs_fuse_free(&f);
		return -EIO;
	}
	f->mounted = 1;
	if (fz_loop_attach(f) != 0) {
		omfs_fuse_free(&f);
		return -EIO;
	}
	*ret = f;
	return 0;
}

int omfs_fuse_run(struct omfs_fuse *f, int handle_signals)
{
	if (handle_signals && fuse_set_signal_handlers(f->se) != 0)
		return -EIO;
	int rc = fz_loop_run(f, handle_signals);
	if (handle_signals)
		fuse_remove_signal_handlers(f->se);
	return rc;
}

void omfs_fuse_exit(struct omfs_fuse *f)
{
	fuse_session_exit(f->se);
	fz_loop_stop(f);
}

void omfs_fuse_free(struct omfs_fuse **pf)
{
	if (!pf || !*pf)
		return;
	struct omfs_fuse *f = *pf;
	if (f->se) {
		if (f->mounted)
			fuse_session_unmount(f->se);
		fuse_session_destroy(f->se);
	}
	fz_rel_stop(f);
	fz_loop_destroy(f);
	omfs_dirs_free(&f->dirs);
	fz_wb_barrier(f); /* the transport ends every call (omxd closes it before unmounting) */
	fo_free_all(f);
	ft_destroy(&f->ft);
	pthread_mutex_destroy(&f->gcache_lock);
	pthread_mutex_destroy(&f->open_lock);
	pthread_mutex_destroy(&f->wb_lock);
	pthread_cond_destroy(&f->wb_cond);
	free(f->mnt);
	free(f);
	*pf = NULL;
}
