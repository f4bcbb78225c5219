/* omfs_server.c - server lifecycle, the per-session handle table, and request dispatch.
 *
 * The handle table is an array of slots; a handle id is (generation << 20 | slot), so a stale
 * or forged id never names a reused slot, and it also records the session that opened it: a
 * handle presented by any other session is EBADF. Each handle is reference counted so a release
 * racing with a read on another thread closes the descriptor only after the read is done.
 *
 * Dispatch decides, per op, which export the request touches (from its path or its handle),
 * switches the calling thread to the requester's credentials for the duration of the call
 * (omfs_server_cred.c), and hands over to the path ops (omfs_server_ops.c) or the handle ops
 * (omfs_server_io.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "omfs/omfs_server_int.h"

#define SLOT_BITS 20
#define SLOT_MASK ((1u << SLOT_BITS) - 1)

int omfs_server_new(const struct omfs_server_config *cfg, struct omfs_server **ret_srv)
{
	if (!cfg->nexports)
		return -EINVAL;
	struct omfs_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	int rc = -ENOMEM;
	pthread_mutex_init(&srv->hlock, NULL);
	srv->squash_uid = cfg->squash_uid ? cfg->squash_uid : 65534;
	srv->squash_gid = cfg->squash_gid ? cfg->squash_gid : 65534;
	srv->watched = cfg->watched;
	srv->watched_ctx = cfg->watched_ctx;
	srv->exports = calloc(cfg->nexports, sizeof(*srv->exports));
	if (!srv->exports)
		goto fail;
	for (size_t i = 0; i < cfg->nexports; i++) {
		const struct omfs_export *x = &cfg->exports[i];
		struct srv_export *e = &srv->exports[i];
		e->rootfd = -1;
		srv->nexports = i + 1;
		if (!x->path || x->path[0] != '/') {
			rc = -EINVAL;
			goto fail;
		}
		e->path = realpath(x->path, NULL);
		if (!e->path) {
			rc = -errno;
			goto fail;
		}
		e->len = strlen(e->path);
		e->read_only = x->read_only;
		e->no_root_squash = x->no_root_squash;
		e->rootfd = open(e->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (e->rootfd < 0) {
			rc = -errno;
			goto fail;
		}
	}
	rc = srv_cred_probe(srv);
	if (rc < 0)
		goto fail;
	(void)umask(0); /* see the header: modes arrive already masked by the client */
	*ret_srv = srv;
	return 0;
fail:
	omfs_server_free(&srv);
	return rc;
}

static void handle_destroy(struct srv_handle *h)
{
	while (h->lockfds) {
		struct srv_lockfd *l = h->lockfds;
		h->lockfds = l->next;
		(void)close(l->fd); /* releases that owner's OFD locks; nothing to report to */
		free(l);
	}
	if (h->fd >= 0)
		(void)close(h->fd); /* a close error here has no one left to hear it */
	pthread_mutex_destroy(&h->lock);
	free(h->dbuf);
	free(h->path);
	free(h);
}

void omfs_server_free(struct omfs_server **psrv)
{
	if (!psrv || !*psrv)
		return;
	struct omfs_server *srv = *psrv;
	for (size_t i = 0; i < srv->nslots; i++)
		if (srv->slots[i])
			handle_destroy(srv->slots[i]);
	free(srv->slots);
	free(srv->free_slots);
	for (size_t i = 0; i < srv->nexports; i++) {
		if (srv->exports[i].rootfd >= 0)
			(void)close(srv->exports[i].rootfd);
		free(srv->exports[i].path);
	}
	free(srv->exports);
	free(srv->base_groups);
	pthread_mutex_destroy(&srv->hlock);
	free(srv);
	*psrv = NULL;
}

int srv_handle_add(struct omfs_server *srv, uint64_t session, int fd, int is_dir, int accmode,
		   struct srv_export *e, char *path, uint64_t *ret_id)
{
	struct srv_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->fd = fd;
	h->is_dir = is_dir;
	h->accmode = accmode;
	h->exp = e;
	h->session = session;
	h->refs = 1;
	pthread_mutex_lock(&srv->hlock);
	size_t slot;
	if (srv->nfree) {
		slot = srv->free_slots[--srv->nfree];
	} else {
		if (srv->nslots > SLOT_MASK) {
			pthread_mutex_unlock(&srv->hlock);
			pthread_mutex_destroy(&h->lock);
			free(h);
			return -EMFILE;
		}
		if (srv->nslots == srv->cap) {
			size_t ncap = srv->cap ? srv->cap * 2 : 64;
			struct srv_handle **ns = realloc(srv->slots, ncap * sizeof(*ns));
			uint32_t *nf = ns ? realloc(srv->free_slots, ncap * sizeof(*nf)) : NULL;
			if (ns)
				srv->slots = ns;
			if (nf)
				srv->free_slots = nf;
			if (!ns || !nf) {
				pthread_mutex_unlock(&srv->hlock);
				pthread_mutex_destroy(&h->lock);
				free(h);
				return -ENOMEM;
			}
			srv->cap = ncap;
		}
		slot = srv->nslots++;
	}
	h->id = (++srv->gen << SLOT_BITS) | slot;
	h->path = path; /* owned from here on, even on the error paths above it was not */
	srv->slots[slot] = h;
	srv->nhandles++;
	pthread_mutex_unlock(&srv->hlock);
	*ret_id = h->id;
	return 0;
}

static struct srv_handle *find_locked(struct omfs_server *srv, uint64_t session, uint64_t id)
{
	size_t slot = id & SLOT_MASK;
	if (slot >= srv->nslots)
		return NULL;
	struct srv_handle *h = srv->slots[slot];
	if (!h || h->id != id || h->session != session)
		return NULL;
	return h;
}

int srv_handle_get(struct omfs_server *srv, uint64_t session, uint64_t id,
		   struct srv_handle **ret_h)
{
	pthread_mutex_lock(&srv->hlock);
	struct srv_handle *h = find_locked(srv, session, id);
	if (h)
		h->refs++;
	pthread_mutex_unlock(&srv->hlock);
	if (!h)
		return -EBADF;
	*ret_h = h;
	return 0;
}

void srv_handle_put(struct omfs_server *srv, struct srv_handle *h)
{
	pthread_mutex_lock(&srv->hlock);
	int last = --h->refs == 0;
	pthread_mutex_unlock(&srv->hlock);
	if (last)
		handle_destroy(h);
}

static struct srv_handle *unlink_locked(struct omfs_server *srv, struct srv_handle *h)
{
	size_t slot = h->id & SLOT_MASK;
	srv->slots[slot] = NULL;
	srv->free_slots[srv->nfree++] = (uint32_t)slot;
	srv->nhandles--;
	return --h->refs == 0 ? h : NULL;
}

int srv_handle_remove(struct omfs_server *srv, uint64_t session, uint64_t id)
{
	pthread_mutex_lock(&srv->hlock);
	struct srv_handle *h = find_locked(srv, session, id);
	struct srv_handle *dead = h ? unlink_locked(srv, h) : NULL;
	pthread_mutex_unlock(&srv->hlock);
	if (dead)
		handle_destroy(dead);
	return h ? 0 : -EBADF;
}

void omfs_server_session_close(struct omfs_server *srv, uint64_t session)
{
	for (;;) {
		struct srv_handle *dead = NULL;
		int found = 0;
		pthread_mutex_lock(&srv->hlock);
		for (size_t i = 0; i < srv->nslots && !found; i++) {
			struct srv_handle *h = srv->slots[i];
			if (h && h->session == session) {
				dead = unlink_locked(srv, h);
				found = 1;
			}
		}
		pthread_mutex_unlock(&srv->hlock);
		if (dead)
			handle_destroy(dead);
		if (!found)
			return;
	}
}

/* path renamed from `from` to `to` (or, exchange, the two swapped) -> its new name, malloc'ed;
 * NULL when it is neither of them nor below them (or out of memory: then the old path stays). */
static char *renamed_path(const char *path, const char *from, const char *to, int exchange)
{
	for (int k = 0; k < 1 + exchange; k++) {
		const char *a = k ? to : from, *b = k ? from : to;
		size_t al = strlen(a);
		if (strncmp(path, a, al) != 0 || (path[al] != '\0' && path[al] != '/'))
			continue;
		char *n = malloc(strlen(b) + strlen(path + al) + 1);
		if (n)
			sprintf(n, "%s%s", b, path + al);
		return n;
	}
	return NULL;
}

void srv_handles_renamed(struct omfs_server *srv, const char *from, const char *to, int exchange)
{
	pthread_mutex_lock(&srv->hlock);
	for (size_t i = 0; i < srv->nslots; i++) {
		struct srv_handle *h = srv->slots[i];
		if (!h || !h->path || h->fd < 0)
			continue;
		char *n = renamed_path(h->path, from, to, exchange);
		if (n) {
			free(h->path);
			h->path = n;
		}
	}
	pthread_mutex_unlock(&srv->hlock);
}

size_t omfs_server_handle_count(struct omfs_server *srv)
{
	pthread_mutex_lock(&srv->hlock);
	size_t n = srv->nhandles;
	pthread_mutex_unlock(&srv->hlock);
	return n;
}

/* Ops on handles that need no credentials: the check happened at open time, and the kernel
 * takes nothing from the caller's identity for them. They run with whatever the thread has:
 * the daemon's, or in a sticky worker the last requester's (omfs_server_thread_sticky); the
 * exception would be files whose read checks the reader again (some /proc files), which then
 * answer as for that requester. */
static int handle_op_is_credless(enum omfs_op op)
{
	return op == OMFS_OP_READ || op == OMFS_OP_FLUSH;
}

/* What a successful request on `path` changed, for other clients' caches. */
static void note_change(const struct omfs_req *req, const char *path, struct omfs_notify *chg)
{
	uint32_t w = 0;
	switch (req->op) {
	case OMFS_OP_SETATTR:
		w = OMFS_CHG_ATTR | (req->valid & OMFS_SET_SIZE ? OMFS_CHG_DATA : 0);
		break;
	case OMFS_OP_WRITE:
	case OMFS_OP_FALLOCATE:
	case OMFS_OP_COPY_FILE_RANGE: /* the file written */
		w = OMFS_CHG_DATA;
		break;
	case OMFS_OP_MKNOD:
	case OMFS_OP_MKDIR:
	case OMFS_OP_UNLINK:
	case OMFS_OP_RMDIR:
	case OMFS_OP_SYMLINK:
		w = OMFS_CHG_NAME;
		break;
	case OMFS_OP_CREATE:
		w = OMFS_CHG_NAME | (req->flags & O_TRUNC ? OMFS_CHG_DATA : 0);
		break;
	case OMFS_OP_OPEN:
		w = req->flags & O_TRUNC ? OMFS_CHG_DATA : 0;
		break;
	case OMFS_OP_SETXATTR:
	case OMFS_OP_REMOVEXATTR:
		w = OMFS_CHG_ATTR;
		break;
	default:
		break;
	}
	if (w && chg) /* a handle without its path (out of memory at open) adds "all" */
		omfs_notify_add(chg, path ? path : "", path ? strlen(path) : 0, w);
}

/* note_change for the file a handle names: its path can be replaced by a rename meanwhile */
static void note_handle_change(struct omfs_server *srv, const struct omfs_req *req,
			       const struct srv_handle *h, struct omfs_notify *chg)
{
	if (!chg)
		return;
	pthread_mutex_lock(&srv->hlock);
	note_change(req, h->path, chg);
	pthread_mutex_unlock(&srv->hlock);
}

static int exec_handle(struct omfs_server *srv, uint64_t session, const struct omfs_req *req,
		       struct omfs_resp *resp, struct omfs_notify *chg)
{
	if (req->op == OMFS_OP_RELEASE || req->op == OMFS_OP_RELEASEDIR)
		return srv_handle_remove(srv, session, req->fh);
	struct srv_handle *h;
	int rc = srv_handle_get(srv, session, req->fh, &h);
	if (rc < 0)
		return rc;
	struct srv_saved_cred saved = { 0 };
	if (h->exp && !handle_op_is_credless(req->op))
		rc = srv_cred_enter(srv, h->exp, &req->cred, &saved);
	if (rc == 0) {
		if (req->op == OMFS_OP_SETATTR)
			rc = srv_op_setattr(req, NULL, h, &saved, resp);
		else
			rc = srv_op_handle(srv, req, h, resp);
		srv_cred_leave(srv, &saved);
	}
	if (rc == 0)
		note_handle_change(srv, req, h, chg);
	srv_handle_put(srv, h);
	return rc;
}

/* copy_file_range between two open files of the session: the data stays on this node. As the
 * requester (the file written may lose set-id bits), at most OMFS_MAX_COPY bytes. */
static int exec_copy(struct omfs_server *srv, uint64_t session, const struct omfs_req *req,
		     struct omfs_resp *resp, struct omfs_notify *chg)
{
	if (req->flags != 0 || req->offset < 0 || req->offset2 < 0 || req->length < 0)
		return -EINVAL;
	struct srv_handle *in, *out;
	int rc = srv_handle_get(srv, session, req->fh, &in);
	if (rc < 0)
		return rc;
	rc = srv_handle_get(srv, session, req->fh2, &out);
	if (rc < 0) {
		srv_handle_put(srv, in);
		return rc;
	}
	struct srv_saved_cred saved = { 0 };
	if (in->is_dir || out->is_dir)
		rc = -EISDIR;
	else if (in->fd < 0 || out->fd < 0 || !out->exp)
		rc = -EBADF;
	else
		rc = srv_cred_enter(srv, out->exp, &req->cred, &saved);
	if (rc == 0) {
		loff_t oin = req->offset, oout = req->offset2;
		size_t len = req->length > (int64_t)OMFS_MAX_COPY ? OMFS_MAX_COPY : (size_t)req->length;
		ssize_t n = copy_file_range(in->fd, &oin, out->fd, &oout, len, 0);
		rc = n < 0 ? -errno : 0;
		resp->size = n < 0 ? 0 : (uint64_t)n;
		srv_cred_leave(srv, &saved);
	}
	if (rc == 0 && resp->size)
		note_handle_change(srv, req, out, chg);
	srv_handle_put(srv, out);
	srv_handle_put(srv, in);
	return rc;
}

static int exec_two(struct omfs_server *srv, const struct omfs_req *req, struct omfs_resp *resp,
		    struct omfs_notify *chg)
{
	struct srv_path *from = malloc(2 * sizeof(*from));
	if (!from)
		return -ENOMEM;
	struct srv_path *to = from + 1;
	int rc = srv_path_check(srv, req->path, from);
	if (rc == 0)
		rc = srv_path_check(srv, req->path2, to);
	if (rc == 0 && (!from->exp || !to->exp))
		rc = (from->virt || to->virt || !from->exp) ? -EROFS : -ENOENT;
	if (rc == 0 && from->exp != to->exp)
		rc = -EXDEV;
	if (rc == 0 && from->exp->read_only)
		rc = -EROFS;
	if (rc == 0) {
		struct srv_saved_cred saved;
		rc = srv_cred_enter(srv, from->exp, &req->cred, &saved);
		if (rc == 0) {
			rc = srv_op_rename_link(srv, req, from, to, resp);
			srv_cred_leave(srv, &saved);
		}
	}
	if (rc == 0 && req->op == OMFS_OP_RENAME)
		srv_handles_renamed(srv, from->norm, to->norm, (req->flags & RENAME_EXCHANGE) != 0);
	if (rc == 0 && chg) {
		omfs_notify_add(chg, to->norm, strlen(to->norm), OMFS_CHG_NAME);
		omfs_notify_add(chg, from->norm, strlen(from->norm),
				req->op == OMFS_OP_RENAME ? OMFS_CHG_NAME : OMFS_CHG_ATTR);
	}
	free(from);
	return rc;
}

static int exec_path(struct omfs_server *srv, uint64_t session, const struct omfs_req *req,
		     struct omfs_resp *resp, struct omfs_notify *chg)
{
	struct srv_path *p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	int rc = srv_path_check(srv, req->path, p);
	if (rc == 0) {
		struct srv_saved_cred saved = { 0 };
		if (p->exp)
			rc = srv_cred_enter(srv, p->exp, &req->cred, &saved);
		if (rc == 0) {
			int open_like = req->op == OMFS_OP_OPEN || req->op == OMFS_OP_CREATE ||
					req->op == OMFS_OP_OPENDIR;
			if (open_like)
				rc = srv_op_open(srv, session, req, p, resp);
			else if (req->op == OMFS_OP_SETATTR)
				rc = srv_op_setattr(req, p, NULL, &saved, resp);
			else
				rc = srv_op_path(srv, session, req, p, resp);
			srv_cred_leave(srv, &saved);
		}
	}
	if (rc == 0)
		note_change(req, p->norm, chg);
	free(p);
	return rc;
}

static int uses_handle(const struct omfs_req *req)
{
	switch (req->op) {
	case OMFS_OP_READ:
	case OMFS_OP_WRITE:
	case OMFS_OP_FLUSH:
	case OMFS_OP_RELEASE:
	case OMFS_OP_FSYNC:
	case OMFS_OP_READDIR:
	case OMFS_OP_RELEASEDIR:
	case OMFS_OP_GETLK:
	case OMFS_OP_SETLK:
	case OMFS_OP_FLOCK:
	case OMFS_OP_FALLOCATE:
		return 1;
	case OMFS_OP_GETATTR:
	case OMFS_OP_SETATTR:
		return req->fh != 0;
	default:
		return 0;
	}
}

static void mark_watched(struct omfs_server *srv, struct omfs_attr *a)
{
	a->watched = srv->watched && a->dev && srv->watched(srv->watched_ctx, a->dev);
}

void omfs_server_exec(struct omfs_server *srv, uint64_t session, const struct omfs_req *req,
		      struct omfs_resp *resp)
{
	omfs_server_exec_changes(srv, session, req, resp, NULL);
}

void omfs_server_exec_changes(struct omfs_server *srv, uint64_t session,
			      const struct omfs_req *req, struct omfs_resp *resp,
			      struct omfs_notify *chg)
{
	memset(resp, 0, sizeof(*resp));
	/* deferred releases first: the client closed these before it sent this request; one
	 * that is not this session's (stale, forged) is ignored, as a second close would be */
	for (uint32_t i = 0; i < req->nrelease && i < OMFS_MAX_RELEASE; i++)
		(void)srv_handle_remove(srv, session, req->release[i]);
	/* then the writes it carries: answered by the client already, so done first, in order,
	 * as this requester; the operation runs whatever they gave */
	int32_t werr[OMFS_MAX_CARRIED];
	uint32_t nw = 0;
	for (uint32_t i = 0; i < req->nwrites && i < OMFS_MAX_CARRIED; i++) {
		struct omfs_req w;
		memset(&w, 0, sizeof(w));
		w.op = OMFS_OP_WRITE;
		w.cred = req->cred;
		w.fh = req->writes[i].fh;
		w.offset = req->writes[i].offset;
		w.data = req->writes[i].data;
		int wrc = exec_handle(srv, session, &w, resp, chg);
		if (wrc == 0 && resp->size < w.data.len)
			wrc = -EIO; /* short: the rest is lost, as for a write of its own */
		omfs_resp_clear(resp);
		werr[nw++] = wrc;
	}
	int rc;
	if (req->op <= OMFS_OP_NONE || req->op >= OMFS_OP_COUNT_)
		rc = -ENOSYS;
	else if (req->op == OMFS_OP_COPY_FILE_RANGE)
		rc = exec_copy(srv, session, req, resp, chg);
	else if (uses_handle(req))
		rc = exec_handle(srv, session, req, resp, chg);
	else if (req->op == OMFS_OP_RENAME || req->op == OMFS_OP_LINK)
		rc = exec_two(srv, req, resp, chg);
	else
		rc = exec_path(srv, session, req, resp, chg);
	if (rc < 0) {
		omfs_resp_clear(resp);
		resp->error = rc;
	} else {
		if (resp->has_attr)
			mark_watched(srv, &resp->attr);
		for (size_t i = 0; i < resp->nentries; i++)
			if (resp->entries[i].has_attr)
				mark_watched(srv, &resp->entries[i].attr);
	}
	resp->version = OMFS_PROTO_VERSION;
	resp->id = req->id;
	resp->nwrite_errors = nw;
	memcpy(resp->write_errors, werr, nw * sizeof(werr[0]));
}

int omfs_server_handle(struct omfs_server *srv, uint64_t session, const uint8_t *buf, size_t len,
		       uint8_t **ret_buf, size_t *ret_len)
{
	struct omfs_req req;
	struct omfs_resp resp;
	memset(&req, 0, sizeof(req));
	int rc = omfs_wire_req_decode(buf, len, &req);
	if (rc == 0) {
		omfs_server_exec(srv, session, &req, &resp);
	} else {
		memset(&resp, 0, sizeof(resp));
		resp.version = OMFS_PROTO_VERSION;
		resp.id = rc == -EPROTO ? req.id : 0;
		resp.error = rc == -ENOMEM ? -ENOMEM : rc == -EPROTO ? -EPROTO : -EBADMSG;
	}
	omfs_req_clear(&req);
	rc = omfs_wire_resp_encode(&resp, ret_buf, ret_len);
	omfs_resp_clear(&resp);
	return rc;
}
