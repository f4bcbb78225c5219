/* omfs_fuse_wb.c - /mfs writes: write-behind and gathering.
 *
 * Write-behind. A write is answered as soon as it is encoded and handed to the transport
 * (omfs_client_submit), as NFS and SSHFS answer writes before the server has them, so a
 * sequential writer keeps several requests in flight instead of one round trip each.
 *
 * Gathering. Without the kernel's writeback cache every write(2) is one FUSE write, and
 * programs write in small pieces (tar: 10 KiB records; stdio: 4 KiB). A small write is
 * therefore answered at once and kept with the file (struct fopen); the next write that
 * continues it, from the same requester, is appended; the gathered bytes (at most
 * FZ_GATHER_MAX) go out as one request when a write does not continue them, when the mount
 * sends any other request (the barrier below), at release, or at the latest FZ_GATHER_MS after
 * the first of them (the releaser thread, omfs_fuse_rel.c).
 *
 * Carrying. When the mount's next request goes to the same node for the same requester and
 * nothing else is in flight (a program writing a file, then chown, chmod, utimes, close: tar),
 * the gathered writes ride on that request (Request.writes) and the server does them first,
 * so they cost no round trip of their own. A carrier never waits (for a slot, or for another
 * carrier's writes), so carriers cannot wait for each other.
 *
 * What a program can observe stays as if writes were synchronous on this node:
 *   - every other request of the mount (read, getattr, setattr, lookup, fsync, locks, release,
 *     another write's fallback...) first sends what is gathered and waits for the writes
 *     answered before it (fz_call -> fz_wb_barrier), so a stat, a read through another
 *     descriptor, a truncate, an unlock seen by another node, all come after the data;
 *   - two writes in flight never overlap on one file (a write waits for the overlapping one),
 *     so the server may run them in any order; O_APPEND files stay synchronous;
 *   - a failed write (ENOSPC, EIO, ENOTCONN when the node died) is reported by the next write
 *     on that open file, by fsync, or by close (flush), like NFS; at most FZ_WB_MAX writes
 *     (16 MiB) are in flight per mount.
 * Other nodes see the data once it has arrived (a few ms), at the latest when close or fsync
 * returns: close-to-open, as documented.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "omfs/omfs_fuse_int.h"

_Static_assert(OMFS_MAX_CARRIED <= FZ_WB_MAX, "every carried write needs a slot");

/* Under wb_lock: a free slot for a write of [off, off + len) to fn if one is free and no write
 * in flight overlaps it; NULL when the caller would have to wait. */
static struct wb_slot *wb_try_begin_locked(struct omfs_fuse *f, struct fopen *fo,
					   const struct fnode *fn, int64_t off, size_t len)
{
	int64_t hi = off + (int64_t)len;
	struct wb_slot *free_slot = NULL;
	for (int i = 0; i < FZ_WB_MAX; i++) {
		struct wb_slot *w = &f->wb[i];
		if (!w->fo)
			free_slot = free_slot ? free_slot : w;
		else if (w->fn == fn && w->lo < hi && off < w->hi)
			return NULL;
	}
	if (!free_slot)
		return NULL;
	*free_slot = (struct wb_slot){ .f = f, .fo = fo, .fn = fn, .seq = ++f->wb_seq, .lo = off,
				       .hi = hi };
	f->wb_n++;
	return free_slot;
}

/* Under wb_lock: the same, waiting on wb_cond (the lock is released meanwhile) until it can. */
static struct wb_slot *wb_begin_locked(struct omfs_fuse *f, struct fopen *fo,
				       const struct fnode *fn, int64_t off, size_t len)
{
	struct wb_slot *w;
	while (!(w = wb_try_begin_locked(f, fo, fn, off, len)))
		pthread_cond_wait(&f->wb_cond, &f->wb_lock);
	return w;
}

static void wb_end(struct wb_slot *w, int err)
{
	struct omfs_fuse *f = w->f;
	pthread_mutex_lock(&f->wb_lock);
	if (err < 0 && !w->fo->wb_err)
		w->fo->wb_err = err;
	w->fo = NULL;
	f->wb_n--;
	pthread_cond_broadcast(&f->wb_cond);
	pthread_mutex_unlock(&f->wb_lock);
}

/* The server's answer to a write already answered (any thread: the transport's). */
static void wb_done(void *ctx, int rc, const struct omfs_resp *resp)
{
	struct wb_slot *w = ctx;
	if (rc == -EHOSTUNREACH || rc == -ETIMEDOUT)
		rc = -ENOTCONN; /* as fz_call says it */
	if (rc == 0 && resp->size < (uint64_t)(w->hi - w->lo))
		rc = -EIO; /* a short write to a regular file: the rest is lost */
	wb_end(w, rc);
}

/* Submits r (a write of fo's, already given slot w); a failure is the write's result. */
static void wb_submit(struct omfs_fuse *f, struct fopen *fo, struct wb_slot *w,
		      struct omfs_req *r)
{
	int rc = omfs_client_submit(f->client, fo->node, r, wb_done, w);
	if (rc < 0)
		wb_end(w, rc);
}

static int cred_eq(const struct omfs_cred *a, const struct omfs_cred *b)
{
	return a->uid == b->uid && a->gid == b->gid && a->ngroups == b->ngroups &&
	       memcmp(a->groups, b->groups, a->ngroups * sizeof(a->groups[0])) == 0;
}

/* Under wb_lock: sends everything gathered (the lock is released around each submission). */
static void gather_flush_locked(struct omfs_fuse *f)
{
	while (f->gather_list) {
		struct fopen *fo = f->gather_list;
		f->gather_list = fo->gnext;
		fo->gnext = NULL;
		fo->gathered = 0;
		/* taken out of fo before any wait: the program's next write may start a new
		 * gather on fo meanwhile */
		struct omfs_req r;
		memset(&r, 0, sizeof(r));
		r.op = OMFS_OP_WRITE;
		r.cred = fo->gcred;
		r.fh = fo->sfh;
		r.offset = fo->goff;
		r.data = (struct omfs_buf){ fo->gbuf, fo->glen };
		const struct fnode *fn = fo->gfn;
		uint8_t *buf = fo->gbuf;
		fo->gbuf = NULL;
		fo->glen = fo->gcap = 0;
		f->gflushing++; /* a barrier meanwhile waits for this write to have its slot */
		struct wb_slot *w = wb_begin_locked(f, fo, fn, r.offset, r.data.len);
		pthread_mutex_unlock(&f->wb_lock);
		wb_submit(f, fo, w, &r); /* encodes a copy of the data */
		free(buf);
		pthread_mutex_lock(&f->wb_lock);
		f->gflushing--;
		pthread_cond_broadcast(&f->wb_cond);
	}
	__atomic_store_n(&f->gather_since_ms, 0, __ATOMIC_RELAXED);
}

void fz_wb_flush(struct omfs_fuse *f)
{
	pthread_mutex_lock(&f->wb_lock);
	gather_flush_locked(f);
	pthread_mutex_unlock(&f->wb_lock);
}

void fz_wb_barrier(struct omfs_fuse *f)
{
	fz_loop_yield(f);
	pthread_mutex_lock(&f->wb_lock);
	gather_flush_locked(f);
	while (f->gflushing) /* another thread's flush: its write is answered before us too */
		pthread_cond_wait(&f->wb_cond, &f->wb_lock);
	if (f->wb_n) {
		uint64_t upto = f->wb_seq;
		for (;;) {
			int older = 0;
			for (int i = 0; i < FZ_WB_MAX && !older; i++)
				older = f->wb[i].fo && f->wb[i].seq <= upto;
			if (!older)
				break;
			pthread_cond_wait(&f->wb_cond, &f->wb_lock);
		}
	}
	pthread_mutex_unlock(&f->wb_lock);
}

/* Only requests that finish on the server without waiting for anyone carry writes: every
 * other request of the mount waits behind carried writes (not lock waits, not opens or reads
 * of files that could be special, not writes). */
static int may_carry(const struct omfs_req *r)
{
	switch (r->op) {
	case OMFS_OP_LOOKUP:
	case OMFS_OP_GETATTR:
	case OMFS_OP_SETATTR:
	case OMFS_OP_CREATE:
	case OMFS_OP_MKNOD:
	case OMFS_OP_MKDIR:
	case OMFS_OP_UNLINK:
	case OMFS_OP_RMDIR:
	case OMFS_OP_SYMLINK:
	case OMFS_OP_RENAME:
	case OMFS_OP_LINK:
	case OMFS_OP_FSYNC:
	case OMFS_OP_RELEASE:
	case OMFS_OP_SETXATTR:
	case OMFS_OP_GETXATTR:
	case OMFS_OP_LISTXATTR:
	case OMFS_OP_REMOVEXATTR:
	case OMFS_OP_ACCESS:
	case OMFS_OP_STATFS:
		return 1;
	default:
		return 0;
	}
}

uint32_t fz_wb_carry(struct omfs_fuse *f, uint32_t node, struct omfs_req *r,
		     struct fz_carried *c)
{
	c->n = 0;
	pthread_mutex_lock(&f->wb_lock);
	/* Only when that is all there is to wait for: nothing in flight, nobody flushing, and
	 * every gathered write is for that node from r's requester and fits. Then they take a
	 * slot each (which makes any other barrier wait for them) and ride on r, and this thread
	 * waits for nothing: a carrier never waits for another carrier's writes or for a slot. */
	int all = may_carry(r) && f->gather_list && !f->wb_n && !f->gflushing;
	size_t total = r->data.len;
	uint32_t count = 0;
	for (struct fopen *fo = f->gather_list; all && fo; fo = fo->gnext) {
		total += fo->glen;
		all = fo->node == node && cred_eq(&fo->gcred, &r->cred) && total <= OMFS_MAX_IO &&
		      ++count <= OMFS_MAX_CARRIED;
	}
	if (!all) {
		pthread_mutex_unlock(&f->wb_lock);
		fz_wb_barrier(f);
		return 0;
	}
	while (f->gather_list) {
		struct fopen *fo = f->gather_list;
		f->gather_list = fo->gnext;
		fo->gnext = NULL;
		fo->gathered = 0;
		struct wb_slot *w = wb_try_begin_locked(f, fo, fo->gfn, fo->goff, fo->glen);
		/* cannot fail: no slot was in use, there are at most FZ_WB_MAX of these, and no two
		 * of them are for the same node id (gather_locked) */
		if (!w)
			abort();
		r->writes[r->nwrites++] = (struct omfs_carried){ .fh = fo->sfh,
								 .offset = fo->goff,
								 .data = { fo->gbuf, fo->glen } };
		c->slot[c->n] = w;
		c->buf[c->n++] = fo->gbuf;
		fo->gbuf = NULL;
		fo->glen = fo->gcap = 0;
	}
	__atomic_store_n(&f->gather_since_ms, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&f->wb_lock);
	return c->n;
}

void fz_wb_carried_done(struct fz_carried *c, int err, const struct omfs_resp *resp)
{
	for (uint32_t i = 0; i < c->n; i++) {
		/* the server's word for each; without one (the call failed on the way, or a server
		 * that did not say) as if it had failed. The operation's own error is not theirs. */
		int e = i < resp->nwrite_errors ? resp->write_errors[i] : err < 0 ? err : -EIO;
		wb_end(c->slot[i], e);
		free(c->buf[i]);
	}
	c->n = 0;
}

int fz_wb_take_err(struct omfs_fuse *f, struct fopen *fo)
{
	pthread_mutex_lock(&f->wb_lock);
	int e = fo->wb_err;
	fo->wb_err = 0;
	pthread_mutex_unlock(&f->wb_lock);
	return e;
}

/* Under wb_lock: appends to fo's gathered bytes (starting them when there are none), or
 * returns -1 when this write does not continue them (or no memory: sent on its own). */
static int gather_locked(struct omfs_fuse *f, struct fopen *fo, const struct fnode *fn,
			 const struct omfs_req *r)
{
	size_t len = r->data.len;
	/* one open file of a node id gathers at a time: two descriptors of one file could
	 * otherwise gather overlapping ranges and send them in the wrong order */
	for (const struct fopen *g = f->gather_list; g; g = g->gnext)
		if (g != fo && g->gfn == fn)
			return -1;
	if (fo->glen && (r->offset != fo->goff + (int64_t)fo->glen || fo->gfn != fn ||
			 fo->glen + len > FZ_GATHER_MAX || !cred_eq(&fo->gcred, &r->cred)))
		return -1;
	if (!fo->glen && len >= FZ_GATHER_MAX)
		return -1; /* large: nothing to gain */
	if (fo->glen + len > fo->gcap) {
		size_t cap = fo->gcap ? fo->gcap : 16384;
		while (cap < fo->glen + len)
			cap *= 2;
		cap = cap < FZ_GATHER_MAX ? cap : FZ_GATHER_MAX;
		uint8_t *nb = realloc(fo->gbuf, cap);
		if (!nb)
			return -1;
		fo->gbuf = nb;
		fo->gcap = cap;
	}
	if (!fo->glen) {
		fo->goff = r->offset;
		fo->gfn = fn;
		fo->gcred = r->cred;
		if (!fo->gathered) {
			fo->gathered = 1;
			fo->gnext = f->gather_list;
			f->gather_list = fo;
			if (!fo->gnext) {
				__atomic_store_n(&f->gather_since_ms, fz_now_ms(), __ATOMIC_RELAXED);
				fz_rel_poke(f); /* the releaser sends it if nothing else does */
			}
		}
	}
	memcpy(fo->gbuf + fo->glen, r->data.p, len);
	fo->glen += len;
	return 0;
}

void fz_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	      struct fuse_file_info *fi)
{
	struct omfs_fuse *f = fuse_req_userdata(req);
	struct fopen *fo = (struct fopen *)(uintptr_t)fi->fh;
	size_t len = size > OMFS_MAX_IO ? OMFS_MAX_IO : size;
	int rc = fz_wb_take_err(f, fo);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	struct omfs_req r;
	fz_req_init(&r, OMFS_OP_WRITE, req, 1);
	r.fh = fo->sfh;
	r.offset = off;
	r.data = (struct omfs_buf){ (const uint8_t *)buf, len };
	if (fo->append) { /* the order of appends is their offset: one at a time */
		struct omfs_resp resp;
		rc = fz_call(f, fo->node, &r, &resp);
		if (rc < 0) {
			fuse_reply_err(req, -rc);
			return;
		}
		fuse_reply_write(req, resp.size);
		omfs_resp_clear(&resp);
		return;
	}
	const struct fnode *fn = ft_node(&f->ft, ino);
	pthread_mutex_lock(&f->wb_lock);
	if (gather_locked(f, fo, fn, &r) == 0) {
		pthread_mutex_unlock(&f->wb_lock);
		fuse_reply_write(req, len);
		return;
	}
	gather_flush_locked(f); /* what was gathered goes first */
	if (gather_locked(f, fo, fn, &r) == 0) {
		pthread_mutex_unlock(&f->wb_lock);
		fuse_reply_write(req, len);
		return;
	}
	struct wb_slot *w = wb_begin_locked(f, fo, fn, off, len);
	pthread_mutex_unlock(&f->wb_lock);
	rc = omfs_client_submit(f->client, fo->node, &r, wb_done, w);
	if (rc < 0) {
		wb_end(w, 0);
		fuse_reply_err(req, -rc);
		return;
	}
	fuse_reply_write(req, len);
}
