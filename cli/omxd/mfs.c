/* mfs.c - oMFS in omxd: the client transport over the mesh, the /mfs FUSE mount, the members
 * snapshot the mount lists, and the loop's side of the queues (mfs_serve.c has the server side).
 *
 * Client transport. FUSE worker threads (and anything else in omxd) call the oMFS client, whose
 * transport is mfs_request(): a request for this node runs on the server core in the calling
 * thread (no mesh); any other goes through the calls table (omfs/omfs_calls.h), which queues it
 * and wakes the loop through an eventfd; the loop sends it on the mesh's oMFS channel, and the
 * reply (matched by xid and by the sender's transport key) releases the caller. Calls to a node
 * fail at once with ENOTCONN when gossip declares it dead or it leaves, and after 8 s otherwise
 * (lock waits excepted). Only the loop thread touches the mesh.
 *
 * Mount. Once the node is a confirmed member, /mfs (--mfs) is mounted and served by the mount's
 * own request loop (omfs/omfs_fuse_loop.c) from a thread of its own. It is unmounted when the
 * node leaves or omxd exits: the loop is told to exit (which wakes its threads) and the thread is
 * joined; SIGUSR2 (a no-op handler without SA_RESTART) still pokes it and the local lock waits
 * meanwhile, so a worker in a blocking call returns.
 */
#define LOG_PREFIX "omxd"
#include "cli/omxd/mfs_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"

#define FUSE_JOIN_TRIES 200 /* x 50 ms */

/* ---- queues shared with other threads ------------------------------------------------------- */

void mfs_wake(struct omxd_mfs *m)
{
	uint64_t one = 1;
	/* EAGAIN means the counter is already non-zero: the loop will wake anyway */
	if (write(m->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("mfs eventfd: %s", strerror(errno));
}

static void wake_cb(void *ctx)
{
	mfs_wake(ctx);
}

void mfs_push_result(struct omxd_mfs *m, struct mfs_result *r)
{
	r->next = NULL;
	pthread_mutex_lock(&m->rlock);
	if (m->rtail)
		m->rtail->next = r;
	else
		m->rhead = r;
	m->rtail = r;
	pthread_mutex_unlock(&m->rlock);
	mfs_wake(m);
}

/* ---- members --------------------------------------------------------------------------------- */

static bool is_live(enum gossip_state s)
{
	return s == GOSSIP_ALIVE || s == GOSSIP_SUSPECT;
}

int mfs_member_addr(struct omxd_mfs *m, uint32_t node, char addr[GOSSIP_ADDR_MAX])
{
	struct omxd *d = m->d;
	if (!d->g || !d->mesh || node > UINT16_MAX)
		return node > UINT16_MAX ? -EHOSTUNREACH : -ENOTCONN;
	struct gossip_member mb;
	if (gossip_member_by_id(d->g, (uint16_t)node, &mb) < 0)
		return -EHOSTUNREACH;
	if (!is_live(mb.state) || !mb.info.addr[0])
		return -ENOTCONN;
	snprintf(addr, GOSSIP_ADDR_MAX, "%s", mb.info.addr);
	return 0;
}

/* Rebuilds the ids the FUSE root lists (loop thread). */
static void live_refresh(struct omxd_mfs *m)
{
	struct omxd *d = m->d;
	size_t n = d->g ? gossip_member_count(d->g) : 0;
	uint32_t *ids = malloc((n + 1) * sizeof(*ids));
	if (!ids)
		return; /* keep the previous snapshot */
	size_t k = 0;
	struct gossip_member mb;
	if (!d->g)
		ids[k++] = atomic_load(&m->self);
	for (size_t i = 0; d->g && gossip_member_at(d->g, i, &mb) == 0 && k <= n; i++)
		if (mb.is_self || is_live(mb.state))
			ids[k++] = mb.id;
	pthread_mutex_lock(&m->mlock);
	free(m->live);
	m->live = ids;
	m->nlive = k;
	pthread_mutex_unlock(&m->mlock);
}

static size_t hook_members(void *ctx, uint32_t *ids, size_t max)
{
	struct omxd_mfs *m = ctx;
	pthread_mutex_lock(&m->mlock);
	size_t n = m->nlive < max ? m->nlive : max;
	if (n)
		memcpy(ids, m->live, n * sizeof(*ids));
	pthread_mutex_unlock(&m->mlock);
	return n;
}

/* /mfs/home and /mfs/here: the caller's home node and the node it runs on. Until migration
 * lands every process is at home here; the hooks stay so it only has to answer them. */
static uint32_t hook_home_of(void *ctx, pid_t pid)
{
	struct omxd_mfs *m = ctx;
	(void)pid;
	return atomic_load(&m->self);
}

static uint32_t hook_here_of(void *ctx, pid_t pid)
{
	struct omxd_mfs *m = ctx;
	(void)pid;
	return atomic_load(&m->self);
}

/* An update that gave a live member an id /mfs does not list yet (a joining node settles on
 * the smallest free id a moment after it joined): the listing must follow. */
static bool renumbered(struct omxd_mfs *m, const struct gossip_member *mb)
{
	if (!is_live(mb->state))
		return false;
	bool listed = false;
	pthread_mutex_lock(&m->mlock);
	for (size_t i = 0; i < m->nlive && !listed; i++)
		listed = m->live[i] == mb->id;
	pthread_mutex_unlock(&m->mlock);
	return !listed;
}

void omxd_mfs_member_event(struct omxd *d, enum gossip_event_kind kind,
			   const struct gossip_member *mb)
{
	struct omxd_mfs *m = d->mfs;
	if (!m)
		return;
	if (kind == GOSSIP_EV_SELF_ID)
		atomic_store(&m->self, mb->id);
	bool gone = (kind == GOSSIP_EV_STATE && !is_live(mb->state)) || kind == GOSSIP_EV_FORGET;
	if (gone && !mb->is_self) {
		omfs_calls_fail_node(m->calls, mb->id, -ENOTCONN);
		mfs_sessions_drop(m, mb->id);
	}
	if (kind == GOSSIP_EV_UPDATE) {
		if (!renumbered(m, mb))
			return;
		mfs_sessions_renumber(m, mb);
	}
	live_refresh(m);
	if (gone && !mb->is_self && m->fuse) {
		struct mfs_job *j = calloc(1, sizeof(*j));
		if (j) {
			j->kind = MFS_JOB_NODE_GONE;
			j->node = mb->id;
			mfs_push_job(m, j);
		}
	}
}

/* ---- client transport ---------------------------------------------------------------------- */

/* A lock wait interrupted by unmounting answers EINTR, which the kernel turns into a restart
 * (ERESTARTSYS) that leaks to the program as "Unknown error 512" when no signal is pending for
 * it: say what happened instead. Lock replies are tiny: decoding and encoding again is cheap. */
static void eintr_to_enotconn(uint8_t **buf, size_t *len)
{
	struct omfs_resp resp;
	memset(&resp, 0, sizeof(resp));
	if (omfs_wire_resp_decode(*buf, *len, &resp) == 0 && resp.error == -EINTR) {
		uint8_t *nb;
		size_t nl;
		resp.error = -ENOTCONN;
		if (omfs_wire_resp_encode(&resp, &nb, &nl) == 0) {
			free(*buf);
			*buf = nb;
			*len = nl;
		}
	}
	omfs_resp_clear(&resp);
}

/* A request for this node that may wait without bound (a lock wait) runs with its thread
 * registered, so that unmounting can interrupt it (EINTR) instead of waiting for the lock. */
static int serve_local(struct omxd_mfs *m, const uint8_t *req, size_t len, uint8_t **ret_resp,
		       size_t *ret_len)
{
	bool reg = false;
	pthread_t self = pthread_self();
	if (omfs_wire_req_may_block(req, len)) {
		pthread_mutex_lock(&m->blk_lock);
		if (m->nblockers < MFS_POOL_MAX) {
			m->blockers[m->nblockers++] = self;
			reg = true;
		}
		pthread_mutex_unlock(&m->blk_lock);
	}
	struct omfs_notify chg = { 0 };
	bool unused;
	int r = mfs_serve_bytes(m, MFS_SESSION_FUSE, req, len, ret_resp, ret_len, &chg, &unused);
	mfs_note_local_fuse(m); /* the kernel caches the reply from now on */
	mfs_push_changes(m, &chg, MFS_SESSION_FUSE);
	if (r == 0 && reg && atomic_load(&m->unmounting))
		eintr_to_enotconn(ret_resp, ret_len);
	if (reg) {
		pthread_mutex_lock(&m->blk_lock);
		for (size_t i = 0; i < m->nblockers; i++)
			if (pthread_equal(m->blockers[i], self)) {
				m->blockers[i] = m->blockers[--m->nblockers];
				break;
			}
		pthread_mutex_unlock(&m->blk_lock);
	}
	return r;
}

static int mfs_request(void *ctx, uint32_t node, const uint8_t *req, size_t len,
		       uint8_t **ret_resp, size_t *ret_len)
{
	struct omxd_mfs *m = ctx;
	if (node == atomic_load(&m->self))
		return serve_local(m, req, len, ret_resp, ret_len);
	return omfs_calls_request(m->calls, node, req, len, ret_resp, ret_len);
}

/* Without waiting (the FUSE front's writes): through the calls table, or served right here
 * for this node, in which case done runs before this returns. */
static int mfs_submit(void *ctx, uint32_t node, uint8_t *req, size_t len,
		      void (*done)(void *done_ctx, int err, uint8_t *resp, size_t resp_len),
		      void *done_ctx)
{
	struct omxd_mfs *m = ctx;
	if (node != atomic_load(&m->self))
		return omfs_calls_submit(m->calls, node, req, len, done, done_ctx);
	uint8_t *resp = NULL;
	size_t rlen = 0;
	int r = serve_local(m, req, len, &resp, &rlen);
	free(req);
	done(done_ctx, r, r == 0 ? resp : NULL, r == 0 ? rlen : 0);
	return 0;
}

int mfs_send_frame(struct omxd_mfs *m, const char *addr, enum omfs_frame_kind kind, uint64_t xid,
		   int err, const uint8_t *payload, size_t len)
{
	if (!m->d->mesh)
		return -ENOTCONN;
	struct omfs_frame f = { .kind = kind, .xid = xid, .error = err,
				.payload = { .p = payload, .len = len } };
	uint8_t *buf;
	size_t n;
	int r = omfs_wire_frame_encode(&f, &buf, &n);
	if (r < 0)
		return r;
	r = gossip_mesh_send(m->d->mesh, m->d->now_ms, addr, GOSSIP_MESH_CH_OMFS, buf, n);
	free(buf);
	return r == -EAGAIN ? -ENOTCONN : r;
}

/* omfs_calls_flush: a queued request goes out (lock of the calls table held). */
static int send_queued(void *ctx, uint32_t node, uint64_t xid, const uint8_t *req, size_t len)
{
	struct omxd_mfs *m = ctx;
	char addr[GOSSIP_ADDR_MAX];
	int r = mfs_member_addr(m, node, addr);
	if (r < 0)
		return r;
	return mfs_send_frame(m, addr, OMFS_FRAME_REQUEST, xid, 0, req, len);
}

/* ---- the loop's side ------------------------------------------------------------------------ */

int omxd_mfs_fd(const struct omxd *d)
{
	return d->mfs ? d->mfs->efd : -1;
}

static void deliver(struct omxd_mfs *m, struct mfs_result *r)
{
	if (r->kind == MFS_RES_CTL) {
		omxd_ctl_reply_omfs(r->fd, r->err, r->data, r->len);
	} else if (r->kind == MFS_RES_PEER && m->d->mesh) {
		mfs_session_replied(m, r->origin); /* it caches what this reply says from now on */
		int e = gossip_mesh_send(m->d->mesh, m->d->now_ms, r->addr, GOSSIP_MESH_CH_OMFS,
					 r->data, r->len);
		if (e == 0)
			m->tx_replies++;
		else
			log_debug("oMFS reply to %s: %s", r->addr, strerror(-e));
	}
	mfs_fan_out(m, &r->chg, r->origin, r->to_origin); /* after the reply */
	free(r->data);
	free(r);
}

void omxd_mfs_dispatch(struct omxd *d)
{
	struct omxd_mfs *m = d->mfs;
	uint64_t v;
	if (read(m->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("mfs eventfd: %s", strerror(errno));
	omfs_calls_flush(m->calls, send_queued, m);
	pthread_mutex_lock(&m->rlock);
	struct mfs_result *r = m->rhead;
	m->rhead = m->rtail = NULL;
	pthread_mutex_unlock(&m->rlock);
	while (r) {
		struct mfs_result *nx = r->next;
		deliver(m, r);
		r = nx;
	}
}

/* ---- the mount -------------------------------------------------------------------------------- */

static void on_sigusr2(int sig)
{
	(void)sig; /* only interrupts a blocking wait (see the top of this file) */
}

static void *fuse_main(void *arg)
{
	struct omxd_mfs *m = arg;
	int r = omfs_fuse_run(m->fuse, 0);
	if (r < 0)
		log_error("/mfs loop: %s", strerror(-r));
	return NULL;
}

/* mkdir -p; a stale FUSE mount left by a killed omxd (ENOTCONN) is detached first. */
static int prepare_mountpoint(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) < 0 && errno == ENOTCONN) {
		if (umount2(dir, MNT_DETACH) < 0)
			return -errno;
	}
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", dir);
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		if (c == '\0')
			break;
		*s = c;
	}
	return 0;
}

static void mount_mfs(struct omxd_mfs *m)
{
	const char *dir = m->d->opts.mfs_dir;
	int r = prepare_mountpoint(dir);
	if (r < 0) {
		log_error("/mfs mount point %s: %s; not mounting", dir, strerror(-r));
		m->mount_failed = true;
		return;
	}
	struct omfs_fuse_config fc = {
		.mountpoint = dir,
		.self = atomic_load(&m->self),
		.client = m->client,
		.hooks = { .members = hook_members,
			   .home_of = hook_home_of,
			   .here_of = hook_here_of,
			   .ctx = m },
		.allow_other = 1,
	};
	struct omfs_fuse *f = NULL;
	r = omfs_fuse_new(&fc, &f);
	if (r < 0) {
		log_error("mounting oMFS on %s failed (%s); continuing without /mfs", dir,
			  strerror(-r));
		m->mount_failed = true;
		return;
	}
	r = omfs_fuse_set_readahead(f, OMFS_FUSE_READAHEAD_KB);
	if (r < 0)
		log_warn("/mfs read-ahead stays at the kernel's default (%s): sequential reads will "
			 "be slower",
			 strerror(-r));
	pthread_mutex_lock(&m->flock);
	m->fuse = f;
	pthread_mutex_unlock(&m->flock);
	r = pthread_create(&m->fuse_thread, NULL, fuse_main, m);
	if (r != 0) {
		log_error("/mfs thread: %s", strerror(r));
		pthread_mutex_lock(&m->flock);
		omfs_fuse_free(&m->fuse);
		pthread_mutex_unlock(&m->flock);
		m->mount_failed = true;
		return;
	}
	log_info("oMFS mounted on %s", dir);
}

static void unmount_mfs(struct omxd_mfs *m)
{
	if (!m->fuse)
		return;
	/* FUSE workers waiting on other nodes (a lock wait has no deadline) must return before
	 * the loop can be joined: refuse and fail blocking calls meanwhile */
	omfs_calls_set_closed(m->calls, -ENOTCONN);
	atomic_store(&m->unmounting, true);
	omfs_fuse_exit(m->fuse);
	bool joined = false;
	for (int i = 0; i < FUSE_JOIN_TRIES && !joined; i++) {
		(void)pthread_kill(m->fuse_thread, SIGUSR2);
		pthread_mutex_lock(&m->blk_lock); /* registered threads are alive: see serve_local */
		for (size_t k = 0; k < m->nblockers; k++)
			(void)pthread_kill(m->blockers[k], SIGUSR2);
		pthread_mutex_unlock(&m->blk_lock);
		struct timespec ts;
		omx_deadline_in(CLOCK_REALTIME, 50, &ts);
		joined = pthread_timedjoin_np(m->fuse_thread, NULL, &ts) == 0;
	}
	if (!joined) {
		/* a FUSE worker is stuck in a request that never ends (a local lock wait):
		 * detach the mount and leave the session to the process's exit */
		log_error("/mfs loop did not stop in %d ms; detaching %s", FUSE_JOIN_TRIES * 50,
			  m->d->opts.mfs_dir);
		if (umount2(m->d->opts.mfs_dir, MNT_DETACH) < 0)
			log_error("umount %s: %s", m->d->opts.mfs_dir, strerror(errno));
		pthread_mutex_lock(&m->flock);
		m->fuse = NULL;
		pthread_mutex_unlock(&m->flock);
		return;
	}
	pthread_mutex_lock(&m->flock);
	omfs_fuse_free(&m->fuse);
	pthread_mutex_unlock(&m->flock);
	log_info("oMFS unmounted from %s", m->d->opts.mfs_dir);
	atomic_store(&m->unmounting, false);
	if (m->d->g && !m->d->leaving)
		omfs_calls_set_closed(m->calls, 0); /* still a member: omxd's own calls go on */
}

/* Worker side of MFS_JOB_NODE_GONE. */
void mfs_fuse_node_gone(struct omxd_mfs *m, uint32_t node)
{
	pthread_mutex_lock(&m->flock);
	int r = m->fuse ? omfs_fuse_node_gone(m->fuse, node) : 0;
	pthread_mutex_unlock(&m->flock);
	if (r < 0 && r != -ENOENT)
		log_debug("/mfs/%u invalidation: %s", node, strerror(-r));
}

/* Worker side of MFS_JOB_INVAL. */
void mfs_fuse_notify(struct omxd_mfs *m, uint32_t node, const struct omfs_notify *chg)
{
	pthread_mutex_lock(&m->flock);
	if (m->fuse)
		(void)omfs_fuse_notify(m->fuse, node, chg);
	pthread_mutex_unlock(&m->flock);
}

/* ---- life cycle ------------------------------------------------------------------------------- */

static int server_new(struct omxd *d, struct omfs_server **ret)
{
	struct omfs_export ex[OMXD_EXPORTS_MAX];
	size_t n = d->opts.n_exports;
	for (size_t i = 0; i < n; i++)
		ex[i] = (struct omfs_export){ .path = d->opts.exports[i],
					      .read_only = d->opts.export_ro[i],
					      .no_root_squash = !d->opts.root_squash };
	if (n == 0) {
		ex[0] = (struct omfs_export){ .path = "/", .no_root_squash = !d->opts.root_squash };
		n = 1;
	}
	mfs_watch_open(d->mfs, ex, n);
	struct omfs_server_config cfg = { .exports = ex, .nexports = n };
	if (d->mfs->watch) {
		cfg.watched = omfs_watch_covers;
		cfg.watched_ctx = d->mfs->watch;
	}
	int r = omfs_server_new(&cfg, ret);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		log_info("oMFS export %s%s%s", ex[i].path, ex[i].read_only ? " (read-only)" : "",
			 ex[i].no_root_squash ? " (no root squash)" : "");
	return 0;
}

int omxd_mfs_new(struct omxd *d)
{
	struct omxd_mfs *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->d = d;
	m->efd = -1;
	m->watch_stop = -1;
	atomic_store(&m->self, d->opts.node_id ? d->opts.node_id : d->node_id);
	pthread_mutex_init(&m->jlock, NULL);
	pthread_cond_init(&m->jcond, NULL);
	pthread_mutex_init(&m->rlock, NULL);
	pthread_mutex_init(&m->mlock, NULL);
	pthread_mutex_init(&m->flock, NULL);
	pthread_mutex_init(&m->blk_lock, NULL);
	d->mfs = m;
	struct sigaction sa = { .sa_handler = on_sigusr2 }; /* no SA_RESTART, on purpose */
	sigemptyset(&sa.sa_mask);
	int r = sigaction(SIGUSR2, &sa, NULL) < 0 ? -errno : 0;
	if (r == 0)
		r = server_new(d, &m->srv);
	if (r == 0) {
		m->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (m->efd < 0)
			r = -errno;
	}
	struct omfs_calls_config cc = { .wake = wake_cb, .wake_ctx = m };
	if (r == 0)
		r = omfs_calls_new(&cc, &m->calls);
	if (r == 0)
		omfs_calls_set_closed(m->calls, -ENOTCONN); /* until the cluster starts */
	struct omfs_transport t = { .request = mfs_request, .submit = mfs_submit, .ctx = m };
	if (r == 0)
		r = omfs_client_new(&t, &m->client);
	if (r == 0)
		r = mfs_pool_start(m);
	if (r == 0)
		r = mfs_watch_start(m);
	if (r == 0)
		live_refresh(m);
	if (r < 0)
		omxd_mfs_free(d);
	return r;
}

void omxd_mfs_free(struct omxd *d)
{
	struct omxd_mfs *m = d->mfs;
	if (!m)
		return;
	unmount_mfs(m);
	if (m->calls)
		omfs_calls_set_closed(m->calls, -ESHUTDOWN);
	mfs_watch_stop(m);
	mfs_pool_stop(m);
	if (m->efd >= 0)
		omxd_mfs_dispatch(d); /* answer parked control clients */
	mfs_sessions_drop(m, 0);
	free(m->sess);
	omfs_client_free(&m->client);
	omfs_calls_free(&m->calls);
	omfs_server_free(&m->srv);
	omfs_watch_free(&m->watch);
	if (m->efd >= 0)
		(void)close(m->efd);
	free(m->live);
	pthread_mutex_destroy(&m->jlock);
	pthread_cond_destroy(&m->jcond);
	pthread_mutex_destroy(&m->rlock);
	pthread_mutex_destroy(&m->mlock);
	pthread_mutex_destroy(&m->flock);
	pthread_mutex_destroy(&m->blk_lock);
	free(m);
	d->mfs = NULL;
}

int omxd_mfs_cluster_started(struct omxd *d)
{
	struct omxd_mfs *m = d->mfs;
	if (!m)
		return 0;
	int r = gossip_mesh_set_handler(d->mesh, GOSSIP_MESH_CH_OMFS, mfs_on_frame, m);
	if (r < 0)
		return r;
	atomic_store(&m->self, gossip_self_id(d->g));
	m->mount_failed = false;
	omfs_calls_set_closed(m->calls, 0);
	live_refresh(m);
	return 0;
}

void omxd_mfs_cluster_stopping(struct omxd *d)
{
	struct omxd_mfs *m = d->mfs;
	if (!m)
		return;
	omfs_calls_set_closed(m->calls, -ENOTCONN);
	unmount_mfs(m);
	mfs_sessions_drop(m, 0);
	omxd_mfs_dispatch(d); /* replies still queued go out while the mesh exists */
}

void omxd_mfs_tick(struct omxd *d)
{
	struct omxd_mfs *m = d->mfs;
	if (!m)
		return;
	if (d->g && !d->trial && !d->leaving && d->opts.mfs_dir[0] && !m->fuse && !m->mount_failed)
		mount_mfs(m);
	if (d->g && d->leaving && m->fuse)
		unmount_mfs(m); /* leaving: /mfs goes first, while the mesh still answers */
	omfs_calls_expire(m->calls, d->now_ms);
}

uint64_t omxd_mfs_next_deadline(const struct omxd *d)
{
	return d->mfs ? omfs_calls_next_deadline(d->mfs->calls) : UINT64_MAX;
}

void omxd_mfs_counters(const struct omxd *d, struct control_status *s)
{
	struct omxd_mfs *m = d->mfs;
	if (!m)
		return;
#define C(f) control_status_add_counter(s, "omfs_" #f, m->f)
	C(rx_requests), C(tx_replies), C(refused_nonmember), C(oversize), C(bad_frames);
	C(late_replies), C(ctl_requests), C(ctl_refused), C(tx_notifies), C(rx_notifies);
#undef C
	control_status_add_counter(s, "omfs_malformed", atomic_load(&m->malformed));
	control_status_add_counter(s, "omfs_calls_in_flight", omfs_calls_count(m->calls));
	control_status_add_counter(s, "omfs_sessions", m->nsess);
	control_status_add_counter(s, "omfs_open_handles", omfs_server_handle_count(m->srv));
	control_status_add_counter(s, "omfs_mounted", m->fuse != NULL);
	control_status_add_counter(s, "omfs_watched_fs", m->watch ? omfs_watch_count(m->watch) : 0);
}
