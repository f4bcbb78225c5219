/* mfs_notify.c - oMFS in omxd: telling clients what changed, so that they may cache longer.
 *
 * Serving side. Every change this node's server makes is known to the server core (the
 * requests it runs report them, omfs_server_exec_changes); changes by anything else on the
 * exported file systems come from the watch (omfs/omfs_watch.h, fanotify), read by a thread of
 * its own. Both end in mfs_fan_out() on the loop, which sends one notify frame
 * (OMFS_FRAME_NOTIFY, an encoded Notify) to every member session that made a request within
 * MFS_TTL_MS (what it got may still be cached), except the session whose request it was
 * (its kernel already knows) unless that request asked for it (Request.notify_sender: `omx`
 * commands relayed by the member's omxd), and queues an invalidation for this node's own
 * /mfs unless the change came from it. A member that has asked nothing for MFS_TTL_MS is
 * sent nothing, and with nobody listening the watch only drains its events.
 *
 * Client side. A notify frame from a member becomes a pool job (MFS_JOB_INVAL) that calls
 * omfs_fuse_notify(): it can block on the kernel's directory locks, which FUSE requests waiting
 * for the loop may hold, so neither the loop nor a FUSE thread may run it.
 *
 * Best effort: a frame lost on the way (a peer reconnecting, a full queue) leaves that client
 * with what it cached, for at most OMFS_WATCHED_TTL_S, the bound the server promised.
 */
#define LOG_PREFIX "omxd"
#include "cli/omxd/mfs_int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.h"

/* the watch thread waits this long after a wake-up so a burst of events goes out as one */
#define WATCH_COALESCE_US 2000

void mfs_note_local_fuse(struct omxd_mfs *m)
{
	uint64_t until = omxd_now_ms() + MFS_TTL_MS;
	if (atomic_load_explicit(&m->fuse_until_ms, memory_order_relaxed) < until)
		atomic_store_explicit(&m->fuse_until_ms, until, memory_order_relaxed);
}

/* Loop thread: session s may cache what it got until now + MFS_TTL_MS. */
static void session_active(struct omxd_mfs *m, struct mfs_session *s, uint64_t now)
{
	s->last_ms = now;
	if (atomic_load(&m->remote_until_ms) < now + MFS_TTL_MS)
		atomic_store(&m->remote_until_ms, now + MFS_TTL_MS); /* the loop is the only writer */
}

void mfs_session_active(struct omxd_mfs *m, struct mfs_session *s)
{
	session_active(m, s, m->d->now_ms);
}

void mfs_session_replied(struct omxd_mfs *m, uint64_t id)
{
	for (size_t i = 0; i < m->nsess; i++)
		if (m->sess[i].id == id) {
			session_active(m, &m->sess[i], omxd_now_ms());
			return;
		}
}

static bool empty(const struct omfs_notify *chg)
{
	return !chg->all && chg->n == 0;
}

void mfs_push_changes(struct omxd_mfs *m, struct omfs_notify *chg, uint64_t origin)
{
	if (empty(chg))
		return;
	uint64_t now = omxd_now_ms();
	bool fuse_listens = origin != MFS_SESSION_FUSE && now < atomic_load(&m->fuse_until_ms);
	struct mfs_result *r = NULL;
	if (now < atomic_load(&m->remote_until_ms) || fuse_listens)
		r = calloc(1, sizeof(*r));
	if (!r) { /* nobody listening (or no memory: what they cache expires on its own) */
		omfs_notify_clear(chg);
		return;
	}
	r->kind = MFS_RES_NOTIFY;
	r->chg = *chg;
	r->origin = origin;
	memset(chg, 0, sizeof(*chg));
	mfs_push_result(m, r);
}

/* An invalidation job for this node's /mfs (or member `node`'s subtree of it); takes *chg. */
static void queue_inval(struct omxd_mfs *m, uint32_t node, struct omfs_notify *chg)
{
	struct mfs_job *j = calloc(1, sizeof(*j));
	if (!j) {
		omfs_notify_clear(chg);
		return;
	}
	j->kind = MFS_JOB_INVAL;
	j->node = node;
	j->chg = *chg;
	memset(chg, 0, sizeof(*chg));
	mfs_push_job(m, j);
}

void mfs_fan_out(struct omxd_mfs *m, struct omfs_notify *chg, uint64_t origin, bool to_origin)
{
	if (empty(chg))
		return;
	uint64_t now = omxd_now_ms();
	uint8_t *buf = NULL;
	size_t len = 0;
	int enc = 1; /* not encoded yet */
	for (size_t i = 0; m->d->mesh && i < m->nsess; i++) {
		struct mfs_session *s = &m->sess[i];
		if ((s->id == origin && !to_origin) || !s->last_ms ||
		    now >= s->last_ms + MFS_TTL_MS)
			continue;
		if (enc == 1)
			enc = omfs_wire_notify_encode(chg, &buf, &len);
		if (enc < 0)
			break;
		char addr[GOSSIP_ADDR_MAX];
		if (mfs_member_addr(m, s->node, addr) == 0 &&
		    mfs_send_frame(m, addr, OMFS_FRAME_NOTIFY, 0, 0, buf, len) == 0)
			m->tx_notifies++;
	}
	free(buf);
	if (origin != MFS_SESSION_FUSE && m->fuse && now < atomic_load(&m->fuse_until_ms))
		queue_inval(m, atomic_load(&m->self), chg);
	omfs_notify_clear(chg);
}

void mfs_on_notify(struct omxd_mfs *m, uint32_t node, const struct omfs_frame *f)
{
	struct omfs_notify chg;
	int r = omfs_wire_notify_decode(f->payload.p, f->payload.len, &chg);
	if (r < 0) {
		m->bad_frames++;
		if (!m->logged_bad_frame) {
			m->logged_bad_frame = true;
			log_warn("oMFS: undecodable change list from node %u (%s); further bad "
				 "frames are only counted (omfs_bad_frames)",
				 node, strerror(-r));
		}
		return;
	}
	m->rx_notifies++;
	if (m->fuse)
		queue_inval(m, node, &chg);
	omfs_notify_clear(&chg);
}

/* ---- the watch ------------------------------------------------------------------------------ */

void mfs_watch_open(struct omxd_mfs *m, const struct omfs_export *ex, size_t n)
{
	const char *skip = m->d->opts.mfs_dir[0] ? m->d->opts.mfs_dir : NULL;
	int r = omfs_watch_new(ex, n, skip, &m->watch);
	if (r < 0) {
		log_warn("oMFS: no file-system watch (%s): clients cache what this node serves for "
			 "1 s only",
			 strerror(-r));
		return;
	}
	if (omfs_watch_count(m->watch) == 0) {
		log_warn("oMFS: no exported file system could be watched: clients cache what this "
			 "node serves for 1 s only");
		omfs_watch_free(&m->watch);
		return;
	}
	log_info("oMFS: watching %zu file system(s) for changes; clients cache their attributes "
		 "for %d s",
		 omfs_watch_count(m->watch), OMFS_WATCHED_TTL_S);
}

static void *watch_main(void *arg)
{
	struct omxd_mfs *m = arg;
	bool logged = false;
	for (;;) {
		struct pollfd p[2] = {{.fd = omfs_watch_fd(m->watch), .events = POLLIN},
				      {.fd = m->watch_stop, .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("oMFS watch: poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		(void)usleep(WATCH_COALESCE_US);
		uint64_t now = omxd_now_ms();
		bool listening =
		    now < atomic_load(&m->remote_until_ms) || now < atomic_load(&m->fuse_until_ms);
		struct omfs_notify chg = {0};
		int r = omfs_watch_read(m->watch, listening ? &chg : NULL);
		if (r < 0) {
			if (!logged)
				log_warn("oMFS watch: read: %s", strerror(-r));
			logged = true;
			(void)usleep(100 * 1000); /* not a busy loop on a descriptor in error */
		}
		mfs_push_changes(m, &chg, MFS_SESSION_WATCH);
	}
	return NULL;
}

int mfs_watch_start(struct omxd_mfs *m)
{
	if (!m->watch)
		return 0;
	m->watch_stop = eventfd(0, EFD_CLOEXEC);
	if (m->watch_stop < 0)
		return -errno;
	int r = pthread_create(&m->watch_thread, NULL, watch_main, m);
	if (r != 0)
		return -r;
	m->watch_running = true;
	return 0;
}

void mfs_watch_stop(struct omxd_mfs *m)
{
	if (m->watch_running) {
		uint64_t one = 1;
		if (write(m->watch_stop, &one, sizeof(one)) < 0)
			log_error("oMFS watch: stop: %s", strerror(errno));
		(void)pthread_join(m->watch_thread, NULL);
		m->watch_running = false;
	}
	if (m->watch_stop >= 0)
		(void)close(m->watch_stop);
	m->watch_stop = -1;
}
