/* mfs_serve.c - oMFS in omxd, serving side: members' requests from the mesh, the worker pool
 * that executes them, member sessions, and the control socket pass-through (`omx ls ...`).
 *
 * Who may ask. A datagram on the oMFS channel carries the sender's CURVE key (the mesh's ZAP
 * handler set it at handshake). It is matched against the live members' keys; anything else
 * (a node not yet known, dead, or that left) is dropped, counted and logged once. The session
 * a request runs in is chosen here, (member id << 32 | epoch), with a new epoch each time a
 * member is first seen after joining or coming back: a peer never names its session, and a
 * member that dies or leaves has its session closed (handles dropped).
 *
 * Execution. Requests run in a pool of worker threads (MFS_POOL_MIN, growing to MFS_POOL_MAX
 * when all are busy) because some wait without bound (lock waits) and the loop must not; each
 * worker switches to the requester's credentials for the request only (omfs_server.h). The
 * encoded reply goes back to the loop (mfs.c), which alone sends on the mesh.
 *
 * Bad input. A frame that does not decode, a request larger than OMFS_MAX_MSG (answered with
 * EMSGSIZE), and a request payload that does not decode (answered with EBADMSG/EPROTO by the
 * server's rules) are counted (omx status: omfs_bad_frames, omfs_oversize, omfs_malformed) and
 * logged once each.
 */
#define LOG_PREFIX "omxd"
#include "cli/omxd/mfs_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "crypto/identity.h"

/* ---- worker pool ---------------------------------------------------------------------------- */

int mfs_serve_bytes(struct omxd_mfs *m, uint64_t session, const uint8_t *buf, size_t len,
		    uint8_t **ret, size_t *ret_len, struct omfs_notify *chg,
		    bool *ret_notify_sender)
{
	struct omfs_req req;
	struct omfs_resp resp;
	memset(&req, 0, sizeof(req));
	int rc = omfs_wire_req_decode(buf, len, &req);
	*ret_notify_sender = false;
	if (rc == 0) {
		omfs_server_exec_changes(m->srv, session, &req, &resp, chg);
		*ret_notify_sender = req.notify_sender != 0;
	} else {
		atomic_fetch_add(&m->malformed, 1);
		if (!atomic_exchange(&m->logged_malformed, true))
			log_warn("oMFS: undecodable request (%s) from session %016llx; further ones "
				 "are only counted (omfs_malformed)",
				 strerror(-rc), (unsigned long long)session);
		memset(&resp, 0, sizeof(resp));
		resp.version = OMFS_PROTO_VERSION;
		resp.id = rc == -EPROTO ? req.id : 0;
		resp.error = rc == -ENOMEM ? -ENOMEM : rc == -EPROTO ? -EPROTO : -EBADMSG;
	}
	omfs_req_clear(&req);
	rc = omfs_wire_resp_encode(&resp, ret, ret_len);
	omfs_resp_clear(&resp);
	return rc;
}

static void run_serve(struct omxd_mfs *m, struct mfs_job *j)
{
	uint8_t *out = NULL, *frame = NULL;
	size_t outlen = 0, flen = 0;
	struct omfs_notify chg = { 0 };
	bool to_origin;
	int r = mfs_serve_bytes(m, j->session, j->frame.payload.p, j->frame.payload.len, &out,
				&outlen, &chg, &to_origin);
	struct omfs_frame f = { .kind = OMFS_FRAME_REPLY, .xid = j->xid };
	if (r == 0) {
		f.payload = (struct omfs_buf){ out, outlen };
	} else {
		f.kind = OMFS_FRAME_REFUSED;
		f.error = r;
	}
	r = omfs_wire_frame_encode(&f, &frame, &flen);
	free(out);
	struct mfs_result *res = r == 0 ? calloc(1, sizeof(*res)) : NULL;
	if (!res) {
		free(frame);
		omfs_notify_clear(&chg);
		return; /* the requester times out */
	}
	res->kind = MFS_RES_PEER;
	res->chg = chg;
	res->origin = j->session;
	res->to_origin = to_origin;
	snprintf(res->addr, sizeof(res->addr), "%s", j->addr);
	res->data = frame;
	res->len = flen;
	mfs_push_result(m, res);
}

static void run_ctl_local(struct omxd_mfs *m, struct mfs_job *j)
{
	struct mfs_result *res = calloc(1, sizeof(*res));
	if (!res) {
		omxd_ctl_reply_omfs(j->fd, -ENOMEM, NULL, 0);
		return;
	}
	res->kind = MFS_RES_CTL;
	res->fd = j->fd;
	bool unused;
	res->err = mfs_serve_bytes(m, MFS_SESSION_CTL, j->data, j->len, &res->data, &res->len,
				   &res->chg, &unused);
	res->origin = MFS_SESSION_CTL;
	mfs_push_result(m, res);
}

static void run_job(struct omxd_mfs *m, struct mfs_job *j)
{
	switch (j->kind) {
	case MFS_JOB_SERVE:
		run_serve(m, j);
		break;
	case MFS_JOB_CTL_LOCAL:
		run_ctl_local(m, j);
		break;
	case MFS_JOB_CLOSE_SESSION:
		omfs_server_session_close(m->srv, j->session);
		break;
	case MFS_JOB_NODE_GONE:
		mfs_fuse_node_gone(m, j->node);
		break;
	case MFS_JOB_INVAL:
		mfs_fuse_notify(m, j->node, &j->chg);
		break;
	}
}

static void job_free(struct mfs_job *j)
{
	omfs_frame_clear(&j->frame);
	omfs_notify_clear(&j->chg);
	free(j->data);
	free(j);
}

static void *worker(void *arg)
{
	struct omxd_mfs *m = arg;
	/* nothing a worker does besides serving depends on its credentials (closing handles,
	 * writing kernel notifications to an open /dev/fuse, queueing results): keep the last
	 * requester's, so a run of requests from one user switches nothing */
	omfs_server_thread_sticky(1);
	pthread_mutex_lock(&m->jlock);
	for (;;) {
		while (!m->jhead && !m->jstop)
			pthread_cond_wait(&m->jcond, &m->jlock);
		if (m->jstop)
			break;
		struct mfs_job *j = m->jhead;
		m->jhead = j->next;
		if (!m->jhead)
			m->jtail = NULL;
		m->nidle--;
		pthread_mutex_unlock(&m->jlock);
		run_job(m, j);
		job_free(j);
		pthread_mutex_lock(&m->jlock);
		m->nidle++;
	}
	pthread_mutex_unlock(&m->jlock);
	return NULL;
}

/* Under jlock. */
static int spawn_worker(struct omxd_mfs *m)
{
	if (m->nthreads >= MFS_POOL_MAX)
		return -EAGAIN;
	/* workers must not take the loop's signals (SIGTERM/SIGINT are blocked for signalfd
	 * already; SIGUSR2 stays deliverable so a lock wait can be interrupted at exit) */
	int r = pthread_create(&m->threads[m->nthreads], NULL, worker, m);
	if (r != 0)
		return -r;
	m->nthreads++;
	m->nidle++;
	return 0;
}

int mfs_pool_start(struct omxd_mfs *m)
{
	pthread_mutex_lock(&m->jlock);
	int r = 0;
	for (int i = 0; i < MFS_POOL_MIN && r == 0; i++)
		r = spawn_worker(m);
	pthread_mutex_unlock(&m->jlock);
	return r;
}

void mfs_push_job(struct omxd_mfs *m, struct mfs_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&m->jlock);
	if (m->jstop) {
		pthread_mutex_unlock(&m->jlock);
		if (j->kind == MFS_JOB_CTL_LOCAL)
			omxd_ctl_reply_omfs(j->fd, -ESHUTDOWN, NULL, 0);
		job_free(j);
		return;
	}
	if (m->jtail)
		m->jtail->next = j;
	else
		m->jhead = j;
	m->jtail = j;
	size_t queued = 0;
	for (struct mfs_job *k = m->jhead; k; k = k->next)
		queued++;
	if (queued > m->nidle && spawn_worker(m) < 0 && m->nthreads == 0)
		log_error("oMFS: no worker thread");
	pthread_cond_signal(&m->jcond);
	pthread_mutex_unlock(&m->jlock);
}

void mfs_pool_stop(struct omxd_mfs *m)
{
	pthread_mutex_lock(&m->jlock);
	m->jstop = true;
	pthread_cond_broadcast(&m->jcond);
	size_t n = m->nthreads;
	pthread_mutex_unlock(&m->jlock);
	for (size_t i = 0; i < n; i++) {
		/* a worker in a lock wait is interrupted (EINTR) by SIGUSR2's no-op handler */
		for (int tries = 0;; tries++) {
			struct timespec ts;
			omx_deadline_in(CLOCK_REALTIME, 50, &ts);
			if (pthread_timedjoin_np(m->threads[i], NULL, &ts) == 0)
				break;
			(void)pthread_kill(m->threads[i], SIGUSR2);
			if (tries == 100)
				log_warn("oMFS worker still busy after 5 s; waiting");
		}
	}
	pthread_mutex_lock(&m->jlock);
	struct mfs_job *j = m->jhead;
	m->jhead = m->jtail = NULL;
	m->nthreads = m->nidle = 0;
	pthread_mutex_unlock(&m->jlock);
	while (j) {
		struct mfs_job *nx = j->next;
		if (j->kind == MFS_JOB_CTL_LOCAL)
			omxd_ctl_reply_omfs(j->fd, -ESHUTDOWN, NULL, 0);
		job_free(j);
		j = nx;
	}
}

/* ---- sessions (loop thread) ------------------------------------------------------------------ */

void mfs_sessions_drop(struct omxd_mfs *m, uint32_t node)
{
	size_t k = 0;
	for (size_t i = 0; i < m->nsess; i++) {
		if (node && m->sess[i].node != node) {
			m->sess[k++] = m->sess[i];
			continue;
		}
		struct mfs_job *j = calloc(1, sizeof(*j));
		if (j) {
			j->kind = MFS_JOB_CLOSE_SESSION;
			j->session = m->sess[i].id;
			mfs_push_job(m, j);
		} else {
			omfs_server_session_close(m->srv, m->sess[i].id);
		}
	}
	m->nsess = k;
}

void mfs_sessions_renumber(struct omxd_mfs *m, const struct gossip_member *mb)
{
	for (size_t i = 0; i < m->nsess; i++)
		if (m->sess[i].node != mb->id &&
		    omxsec_peer_check(mb->pubkey, m->sess[i].curve, GOSSIP_MESH_KEY_LEN) == 0) {
			log_debug("oMFS session %016llx: node %u is now %u",
				  (unsigned long long)m->sess[i].id, m->sess[i].node, mb->id);
			m->sess[i].node = mb->id;
		}
}

/* The session of the live member whose transport key is peer, created on first sight; NULL for
 * a non-member. *ret_addr: where that member's replies go. */
static struct mfs_session *session_of(struct omxd_mfs *m, const uint8_t *peer,
				      char ret_addr[GOSSIP_ADDR_MAX])
{
	struct omxd *d = m->d;
	struct mfs_session *s = NULL;
	for (size_t i = 0; i < m->nsess && !s; i++)
		if (memcmp(m->sess[i].curve, peer, GOSSIP_MESH_KEY_LEN) == 0)
			s = &m->sess[i];
	if (s && mfs_member_addr(m, s->node, ret_addr) == 0)
		return s;
	struct gossip_member mb;
	for (size_t i = 0; d->g && gossip_member_at(d->g, i, &mb) == 0; i++) {
		if (mb.is_self || (mb.state != GOSSIP_ALIVE && mb.state != GOSSIP_SUSPECT) ||
		    omxsec_peer_check(mb.pubkey, peer, GOSSIP_MESH_KEY_LEN) < 0)
			continue;
		if (s) { /* the same member under a new id (it settled on a smaller one): same session */
			log_debug("oMFS session %016llx: node %u is now %u", (unsigned long long)s->id,
				  s->node, mb.id);
			s->node = mb.id;
			snprintf(ret_addr, GOSSIP_ADDR_MAX, "%s", mb.info.addr);
			return s;
		}
		if (m->nsess == m->sess_cap) {
			size_t cap = m->sess_cap ? 2 * m->sess_cap : 16;
			struct mfs_session *ns = realloc(m->sess, cap * sizeof(*ns));
			if (!ns)
				return NULL;
			m->sess = ns;
			m->sess_cap = cap;
		}
		s = &m->sess[m->nsess++];
		memcpy(s->curve, peer, GOSSIP_MESH_KEY_LEN);
		s->node = mb.id;
		s->id = (uint64_t)mb.id << 32 | ++m->epoch;
		s->last_ms = 0;
		snprintf(ret_addr, GOSSIP_ADDR_MAX, "%s", mb.info.addr);
		log_debug("oMFS session %016llx for node %u", (unsigned long long)s->id, mb.id);
		return s;
	}
	if (s)
		mfs_sessions_drop(m, s->node); /* died meanwhile: the event is on its way */
	return NULL;
}

/* ---- the mesh channel (loop thread) ---------------------------------------------------------- */

static void on_request(struct omxd_mfs *m, struct mfs_session *s, const char *addr,
		       struct omfs_frame *f)
{
	struct mfs_job *j = calloc(1, sizeof(*j));
	if (!j) {
		omfs_frame_clear(f);
		return;
	}
	m->rx_requests++;
	mfs_session_active(m, s);
	j->kind = MFS_JOB_SERVE;
	j->session = s->id;
	j->xid = f->xid;
	j->node = s->node;
	snprintf(j->addr, sizeof(j->addr), "%s", addr);
	j->frame = *f; /* the job owns the payload now */
	memset(f, 0, sizeof(*f));
	mfs_push_job(m, j);
}

void mfs_on_frame(void *ctx, const uint8_t *peer, const uint8_t *data, size_t len)
{
	struct omxd_mfs *m = ctx;
	struct omfs_frame f;
	memset(&f, 0, sizeof(f));
	int r = omfs_wire_frame_decode(data, len, &f);
	if (r < 0 && r != -EMSGSIZE) {
		m->bad_frames++;
		if (!m->logged_bad_frame) {
			m->logged_bad_frame = true;
			log_warn("oMFS: undecodable frame (%s, %zu bytes); further ones are only "
				 "counted (omfs_bad_frames)",
				 strerror(-r), len);
		}
		return;
	}
	char addr[GOSSIP_ADDR_MAX];
	struct mfs_session *s = session_of(m, peer, addr);
	if (!s) {
		m->refused_nonmember++;
		if (!m->logged_nonmember) {
			m->logged_nonmember = true;
			log_warn("oMFS: dropped a frame from a transport key that is no live "
				 "member's; further ones are only counted (omfs_refused_nonmember)");
		}
		omfs_frame_clear(&f);
		return;
	}
	if (f.kind == OMFS_FRAME_REQUEST) {
		if (r == -EMSGSIZE) {
			m->oversize++;
			if (!m->logged_oversize) {
				m->logged_oversize = true;
				log_warn("oMFS: request over %u bytes from node %u refused; further "
					 "ones are only counted (omfs_oversize)",
					 (unsigned)OMFS_MAX_MSG, s->node);
			}
			(void)mfs_send_frame(m, addr, OMFS_FRAME_REFUSED, f.xid, -EMSGSIZE, NULL, 0);
			return;
		}
		on_request(m, s, addr, &f);
		return;
	}
	if (f.kind == OMFS_FRAME_NOTIFY) {
		if (r == 0)
			mfs_on_notify(m, s->node, &f);
		omfs_frame_clear(&f);
		return;
	}
	int err = r == -EMSGSIZE ? -EMSGSIZE : 0;
	if (f.kind == OMFS_FRAME_REFUSED)
		err = f.error < 0 ? f.error : -EIO;
	if (omfs_calls_complete(m->calls, s->node, f.xid, err, f.payload.p, f.payload.len) < 0)
		m->late_replies++;
	omfs_frame_clear(&f);
}

/* ---- control socket pass-through (loop thread) ---------------------------------------------- */

static void ctl_done(void *ctx, int err, uint8_t *reply, size_t len)
{
	omxd_ctl_reply_omfs((int)(intptr_t)ctx, err, reply, len);
	free(reply);
}

/* The caller's credentials: the message's from root, the socket's from anyone else. */
static void ctl_cred(int fd, const struct control_request *req, uint32_t uid, uint32_t gid,
		     struct omfs_cred *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (uid == 0) {
		ret->uid = req->uid;
		ret->gid = req->gid;
		ret->ngroups = req->ngroups < OMFS_MAX_GROUPS ? req->ngroups : OMFS_MAX_GROUPS;
		memcpy(ret->groups, req->groups, ret->ngroups * sizeof(ret->groups[0]));
		return;
	}
	ret->uid = uid;
	ret->gid = gid;
	gid_t g[OMFS_MAX_GROUPS];
	socklen_t gl = sizeof(g);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &gl) == 0) {
		ret->ngroups = (uint32_t)(gl / sizeof(g[0]));
		for (uint32_t i = 0; i < ret->ngroups; i++)
			ret->groups[i] = g[i];
	}
	/* more groups than carried (ERANGE): none rather than a truncated list */
}

bool omxd_mfs_ctl(struct omxd *d, int fd, const struct control_request *req, uint32_t uid,
		  uint32_t gid)
{
	struct omxd_mfs *m = d->mfs;
	m->ctl_requests++;
	struct omfs_req r;
	memset(&r, 0, sizeof(r));
	int e = omfs_wire_req_decode(req->omfs, req->omfs_len, &r);
	uint8_t *buf = NULL;
	size_t len = 0;
	if (e == 0) {
		ctl_cred(fd, req, uid, gid, &r.cred);
		/* our /mfs must hear of what this changes, as any other client would */
		r.notify_sender = req->node != atomic_load(&m->self);
		e = omfs_wire_req_encode(&r, &buf, &len);
	}
	omfs_req_clear(&r);
	if (e < 0) {
		m->ctl_refused++;
		omxd_ctl_reply_omfs(fd, e, NULL, 0);
		return false;
	}
	if (req->node == atomic_load(&m->self)) {
		struct mfs_job *j = calloc(1, sizeof(*j));
		if (!j) {
			free(buf);
			omxd_ctl_reply_omfs(fd, -ENOMEM, NULL, 0);
			return false;
		}
		j->kind = MFS_JOB_CTL_LOCAL;
		j->fd = fd;
		j->data = buf;
		j->len = len;
		mfs_push_job(m, j);
		return true;
	}
	char addr[GOSSIP_ADDR_MAX];
	uint64_t xid;
	e = mfs_member_addr(m, req->node, addr);
	if (e == 0)
		e = omfs_calls_start(m->calls, req->node, buf, len, ctl_done, (void *)(intptr_t)fd,
				     &xid);
	if (e < 0) {
		free(buf);
		omxd_ctl_reply_omfs(fd, e, NULL, 0);
		return false;
	}
	e = mfs_send_frame(m, addr, OMFS_FRAME_REQUEST, xid, 0, buf, len);
	free(buf);
	if (e < 0) /* answers the client through ctl_done */
		(void)omfs_calls_complete(m->calls, req->node, xid, e, NULL, 0);
	return true;
}
