/* omfs_fuse_loop.c - the mount's request loop: worker threads led by a spinning leader.
 *
 * Most of what a program asks a FUSE mount is answered from the mount's own tables (cached
 * attributes, "no extended attributes", forgets) in a few microseconds, yet each request used
 * to cost about 25 us here: the request queued by the program had to wake a worker blocked in
 * read(/dev/fuse) on another CPU, and on a virtual machine that wake-up is most of the cost
 * (`ls -l` is two getxattr requests per entry, `ls -l` of 5,000 files 10,000 wake-ups).
 *
 * So exactly one thread, the leader, reads the device, and it polls: after a request it keeps
 * reading without blocking (O_NONBLOCK) for up to FZ_SPIN_US before it sleeps in poll(). A
 * request that follows within that window is picked up at once, with no wake-up on this side.
 * Each empty read yields the CPU (sched_yield): the program being answered is often woken on
 * the leader's own CPU, and would otherwise wait for the spin to end (`ls -l`: one gap in ten
 * between two requests took 75 us or more instead of about 25).
 * Spinning is only tried after a request the leader answered itself (a quick kind that needed
 * no node) and while requests come densely (the last wait was under twice the window): a mount
 * used now and then never burns a CPU, nor does one moving data, whose CPU time the transport
 * needs.
 *
 *                 ┌────────── leader: read (spin, then poll) ──────────┐
 *   followers ───>│ got a request: quick kind? keep leading and run it │──> back to the top
 *   (cond wait)   │ otherwise, or when it must leave the mount (fz_call,│
 *                 │ a wait for writes): hand the lead to a follower     │
 *                 └─────────────────────────────────────────────────────┘
 *
 * The leader runs quick kinds (lookup, getattr, getxattr, listxattr, forget, readlink, access,
 * statfs, readdir, releasedir, interrupt) itself and keeps the lead, so a run of them costs no
 * thread switch. Before anything that can block (a call to a node, local or remote, and waits
 * for write slots) the thread gives the lead up (fz_loop_yield). Other kinds hand the lead over
 * before they run. A hand-over wakes an idle follower or, when none is idle, starts a new
 * thread, up to max_threads (like libfuse's loop: a thread per request waiting on a lock).
 *
 * Stop: omfs_fuse_exit() marks the session exited and wakes everybody (an eventfd the leader
 * polls, a broadcast for followers); an unmount makes the device read fail (ENODEV), which
 * libfuse turns into the same exit. Every thread returns to the top and leaves; the thread that
 * called omfs_fuse_run() joins the others. With libfuse's signal handlers (which only set the
 * exit flag) the leader's poll also wakes every 250 ms to look at it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "omfs/omfs_fuse_int.h"

#define FZ_DEFAULT_THREADS 10 /* libfuse's default maximum */
#define FZ_POLL_MS	   250

static _Thread_local struct omfs_fuse *tl_leading; /* the mount this thread leads, if any */

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int stopping(struct omfs_fuse *f)
{
	return fuse_session_exited(f->se) || atomic_load(&f->loop.stop);
}

/* The lead is free again: wake a follower, or start one when none is idle. Caller holds
 * loop.lock. */
static void hand_over_locked(struct omfs_fuse *f)
{
	struct fz_loop *l = &f->loop;
	l->leader = 0;
	if (l->idle > 0) {
		pthread_cond_signal(&l->cond);
		return;
	}
	if (l->nthreads + 1 >= l->max || l->nthreads >= FZ_LOOP_MAX_THREADS || stopping(f))
		return; /* every thread is busy: the first one back takes the lead */
	pthread_t t;
	if (pthread_create(&t, NULL, fz_loop_worker, f) != 0)
		return; /* the running threads go on */
	l->threads[l->nthreads++] = t;
}

void fz_loop_yield(struct omfs_fuse *f)
{
	if (tl_leading != f)
		return;
	tl_leading = NULL;
	f->loop.spin_next = 0; /* the next leader waits for something slower than a quick kind */
	pthread_mutex_lock(&f->loop.lock);
	hand_over_locked(f);
	pthread_mutex_unlock(&f->loop.lock);
}

/* Kinds the mount usually answers from its own tables (see the top of this file). */
static int quick_kind(const struct fuse_buf *b)
{
	if (b->flags & FUSE_BUF_IS_FD || b->size < sizeof(struct fuse_in_header))
		return 0;
	switch (((const struct fuse_in_header *)b->mem)->opcode) {
	case FUSE_LOOKUP:
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_GETATTR:
	case FUSE_READLINK:
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
	case FUSE_ACCESS:
	case FUSE_STATFS:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
	case FUSE_RELEASEDIR:
	case FUSE_INTERRUPT:
		return 1;
	default:
		return 0;
	}
}

/* The leader's read: > 0 a request in b, 0 stop, < 0 a device error (the loop ends). */
static int lead_read(struct omfs_fuse *f, struct fuse_buf *b)
{
	struct fz_loop *l = &f->loop;
	int64_t t0 = mono_us();
	int spin = l->spin_us > 0 && l->spin_next && l->last_wait_us < 2 * (int64_t)l->spin_us;
	for (;;) {
		int r = fuse_session_receive_buf(f->se, b);
		if (r > 0) {
			l->last_wait_us = mono_us() - t0;
			return r;
		}
		if (r == 0 || stopping(f))
			return 0;
		if (r != -EAGAIN && r != -EINTR)
			return r; /* libfuse has printed it */
		if (r == -EAGAIN && spin && mono_us() - t0 < l->spin_us) {
			sched_yield();
			continue;
		}
		struct pollfd p[2] = {{.fd = fuse_session_fd(f->se), .events = POLLIN},
				      {.fd = l->stopfd, .events = POLLIN}};
		if (poll(p, 2, l->poll_ms) < 0 && errno != EINTR)
			return -errno;
		if (p[1].revents || stopping(f))
			return 0;
		if (!(p[0].revents & (POLLIN | POLLERR | POLLHUP)))
			continue; /* the periodic wake-up: look at the exit flag again */
		spin = 0;
	}
}

void *fz_loop_worker(void *arg)
{
	struct omfs_fuse *f = arg;
	struct fz_loop *l = &f->loop;
	struct fuse_buf b = {.mem = NULL};
	for (;;) {
		pthread_mutex_lock(&l->lock);
		while (l->leader && !stopping(f)) {
			l->idle++;
			pthread_cond_wait(&l->cond, &l->lock);
			l->idle--;
		}
		if (stopping(f)) {
			pthread_mutex_unlock(&l->lock);
			break;
		}
		l->leader = 1;
		pthread_mutex_unlock(&l->lock);
		tl_leading = f;
		for (;;) { /* while this thread leads */
			int r = lead_read(f, &b);
			if (r <= 0) {
				if (r < 0) {
					pthread_mutex_lock(&l->lock);
					if (!l->error)
						l->error = r;
					pthread_mutex_unlock(&l->lock);
				}
				fz_loop_stop(f);
				fz_loop_yield(f);
				break;
			}
			if (!quick_kind(&b))
				fz_loop_yield(f);
			fuse_session_process_buf(f->se, &b);
			if (tl_leading != f)
				break; /* gave the lead up: queue up behind the new leader */
			l->spin_next = 1; /* answered at once: the next one may well come at once */
		}
	}
	free(b.mem);
	return NULL;
}

void fz_loop_stop(struct omfs_fuse *f)
{
	struct fz_loop *l = &f->loop;
	atomic_store(&l->stop, 1);
	if (l->stopfd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(l->stopfd, &one, sizeof(one));
		(void)w; /* a full counter is readable already */
	}
	pthread_mutex_lock(&l->lock);
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

/* ---- the device's I/O: libfuse's, except for one INIT reply fix -----------------------------
 * libfuse 3.14 (bookworm's) never puts FUSE_PARALLEL_DIROPS or FUSE_HANDLE_KILLPRIV into its
 * INIT reply, whatever the file system asked for (its reply builder has no line for them). The
 * kernel then serializes lookups and creates in one directory, and asks for attributes before
 * every chown of a file to clear set-id bits itself (a round trip per file in `tar x`). The
 * server runs chown, write and truncate through the real file system as the requester, which
 * clears those bits itself: so the two flags asked for in fz_init (and offered by the kernel)
 * are added to the reply here. So is FUSE_HANDLE_KILLPRIV_V2 (libfuse 3.14 has no name for it):
 * without it the kernel asks for security.capability before every write, to remove file
 * capabilities itself; the server's write and truncate remove them, as local ones do. */

static ssize_t dev_read(int fd, void *buf, size_t len, void *userdata)
{
	struct omfs_fuse *f = userdata;
	ssize_t n = read(fd, buf, len);
	if (n >= (ssize_t)(sizeof(struct fuse_in_header) + offsetof(struct fuse_init_in, flags) +
			   sizeof(uint32_t)) &&
	    !f->loop.init_unique) {
		const struct fuse_in_header *h = buf;
		if (h->opcode == FUSE_INIT) {
			const struct fuse_init_in *in = (const void *)(h + 1);
			f->loop.init_offered = in->flags;
			f->loop.init_unique = h->unique; /* the INIT reply comes from this thread */
		}
	}
	return n;
}

static ssize_t dev_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct omfs_fuse *f = userdata;
	struct fuse_init_out out;
	if (f->loop.init_unique && count == 2 && iov[0].iov_len == sizeof(struct fuse_out_header) &&
	    iov[1].iov_len >= offsetof(struct fuse_init_out, flags) + sizeof(uint32_t) &&
	    iov[1].iov_len <= sizeof(out)) {
		const struct fuse_out_header *h = iov[0].iov_base;
		if (h->unique == f->loop.init_unique && h->error == 0) {
			f->loop.init_unique = 0;
			memcpy(&out, iov[1].iov_base, iov[1].iov_len);
			out.flags |= f->loop.init_add & f->loop.init_offered;
			struct iovec v[2] = {iov[0], {.iov_base = &out, .iov_len = iov[1].iov_len}};
			return writev(fd, v, 2);
		}
	}
	return writev(fd, iov, count);
}

void fz_loop_init_wants(struct omfs_fuse *f, const struct fuse_conn_info *conn)
{
	f->loop.init_add = (conn->want & FUSE_CAP_PARALLEL_DIROPS ? FUSE_PARALLEL_DIROPS : 0) |
			   (conn->want & FUSE_CAP_HANDLE_KILLPRIV ? FUSE_HANDLE_KILLPRIV |
									FUSE_HANDLE_KILLPRIV_V2
								  : 0);
}

int fz_loop_attach(struct omfs_fuse *f)
{
	const struct fuse_custom_io io = {.read = dev_read, .writev = dev_writev};
	return fuse_session_custom_io(f->se, &io, fuse_session_fd(f->se));
}

int fz_loop_init(struct omfs_fuse *f)
{
	struct fz_loop *l = &f->loop;
	memset(l, 0, sizeof(*l));
	l->stopfd = -1;
	l->spin_us = FZ_SPIN_US;
	if (pthread_mutex_init(&l->lock, NULL) != 0)
		return -ENOMEM;
	if (pthread_cond_init(&l->cond, NULL) != 0) {
		pthread_mutex_destroy(&l->lock);
		return -ENOMEM;
	}
	l->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->stopfd < 0) {
		int e = -errno;
		pthread_cond_destroy(&l->cond);
		pthread_mutex_destroy(&l->lock);
		return e;
	}
	l->inited = 1;
	return 0;
}

void fz_loop_destroy(struct omfs_fuse *f)
{
	struct fz_loop *l = &f->loop;
	if (!l->inited)
		return;
	close(l->stopfd);
	l->stopfd = -1;
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	l->inited = 0;
}

int fz_loop_run(struct omfs_fuse *f, int handle_signals)
{
	struct fz_loop *l = &f->loop;
	int fd = fuse_session_fd(f->se);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	pthread_mutex_lock(&l->lock);
	l->max = f->max_threads > 0 ? f->max_threads : FZ_DEFAULT_THREADS;
	l->nthreads = 0;
	l->leader = 0;
	l->error = 0;
	l->poll_ms = handle_signals ? FZ_POLL_MS : -1;
	atomic_store(&l->stop, 0);
	pthread_mutex_unlock(&l->lock);

	fz_loop_worker(f); /* this thread is one of the workers */

	/* every other thread sees the stop at the top of its loop */
	fz_loop_stop(f);
	pthread_mutex_lock(&l->lock);
	for (int i = 0; i < l->nthreads; i++) {
		pthread_t t = l->threads[i];
		pthread_mutex_unlock(&l->lock);
		pthread_join(t, NULL);
		pthread_mutex_lock(&l->lock);
	}
	l->nthreads = 0;
	int err = l->error;
	pthread_mutex_unlock(&l->lock);
	return err;
}
