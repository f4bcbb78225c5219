/* omfs_fuse_rel.c - deferred releases: a close costs no round trip of its own.
 *
 * The kernel does not wait for RELEASE/RELEASEDIR (close(2) has returned already), yet each
 * one was a full round trip through both daemons, competing with the program's next request.
 * Instead the server's handle is queued here and rides on the next request this mount sends to
 * that node (Request.released, dropped by the server before it runs the operation). A handle
 * that nothing carries within FZ_REL_DELAY_MS is sent by the releaser thread, so a file closed
 * by an idle program is closed on the server a few milliseconds later, not never.
 *
 * The same thread sends writes gathered by omfs_fuse_wb.c that nothing else sent within
 * FZ_GATHER_MS.
 *
 * Kept synchronous: a release that drops a flock (another process may be waiting for it), and
 * any release when the queue is full. A release that fails is not retried (the kernel ignores
 * its result too); the server drops a session's handles when the session ends.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "omfs/omfs_fuse_int.h"

#define FZ_REL_DELAY_MS 10

/* Moves up to `room` queued handles of `node` into out; caller holds rel_lock. */
static uint32_t take_locked(struct omfs_fuse *f, uint32_t node, uint64_t *out, uint32_t room)
{
	uint32_t n = 0, keep = 0;
	for (uint32_t i = 0; i < f->nrel; i++) {
		if (f->rel[i].node == node && n < room)
			out[n++] = f->rel[i].fh;
		else
			f->rel[keep++] = f->rel[i];
	}
	__atomic_store_n(&f->nrel, keep, __ATOMIC_RELAXED);
	return n;
}

void fz_rel_attach(struct omfs_fuse *f, uint32_t node, struct omfs_req *r)
{
	if (!__atomic_load_n(&f->nrel, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&f->rel_lock);
	r->nrelease += take_locked(f, node, r->release + r->nrelease,
				   OMFS_MAX_RELEASE - r->nrelease);
	pthread_mutex_unlock(&f->rel_lock);
}

int fz_rel_defer(struct omfs_fuse *f, uint32_t node, uint64_t fh)
{
	int rc = -ENOSPC;
	pthread_mutex_lock(&f->rel_lock);
	if (f->rel_running && f->nrel < FZ_REL_MAX) {
		int first = !f->nrel;
		if (first)
			f->rel_since_ms = fz_now_ms();
		f->rel[f->nrel].node = node;
		f->rel[f->nrel].fh = fh;
		__atomic_store_n(&f->nrel, f->nrel + 1, __ATOMIC_RELAXED);
		if (first) /* later ones change no deadline: the releaser sleeps on */
			pthread_cond_signal(&f->rel_cond);
		rc = 0;
	}
	pthread_mutex_unlock(&f->rel_lock);
	return rc;
}

/* Sends, as one RELEASE, the handles of the oldest queued entry's node. */
static void send_some_locked(struct omfs_fuse *f)
{
	uint32_t node = f->rel[0].node;
	struct omfs_req r;
	memset(&r, 0, sizeof(r));
	r.op = OMFS_OP_RELEASE;
	r.cred.uid = r.cred.gid = 65534; /* a release needs no credentials */
	r.nrelease = take_locked(f, node, r.release, OMFS_MAX_RELEASE); /* >= 1: rel[0] is node's */
	r.fh = r.release[--r.nrelease];
	f->rel_since_ms = fz_now_ms(); /* what is left waits its own turn */
	pthread_mutex_unlock(&f->rel_lock);
	struct omfs_resp resp;
	if (fz_call(f, node, &r, &resp) == 0)
		omfs_resp_clear(&resp);
	pthread_mutex_lock(&f->rel_lock);
}

void fz_rel_poke(struct omfs_fuse *f)
{
	if (!f->rel_inited)
		return;
	pthread_mutex_lock(&f->rel_lock);
	pthread_cond_signal(&f->rel_cond);
	pthread_mutex_unlock(&f->rel_lock);
}

static void *releaser(void *arg)
{
	struct omfs_fuse *f = arg;
	pthread_mutex_lock(&f->rel_lock);
	while (!f->rel_stop) {
		/* writes gathered and not sent by anything else (omfs_fuse_wb.c) */
		int64_t g = __atomic_load_n(&f->gather_since_ms, __ATOMIC_RELAXED);
		int64_t gwait = g ? g + FZ_GATHER_MS - fz_now_ms() : INT64_MAX;
		if (gwait <= 0) {
			pthread_mutex_unlock(&f->rel_lock);
			fz_wb_flush(f);
			pthread_mutex_lock(&f->rel_lock);
			continue;
		}
		if (!f->nrel && gwait == INT64_MAX) {
			pthread_cond_wait(&f->rel_cond, &f->rel_lock);
			continue;
		}
		int64_t wait = f->nrel ? f->rel_since_ms + FZ_REL_DELAY_MS - fz_now_ms() : INT64_MAX;
		if (wait > gwait)
			wait = gwait;
		if (wait > 0) {
			struct timespec ts;
			omx_deadline_in(CLOCK_MONOTONIC, wait, &ts);
			(void)pthread_cond_timedwait(&f->rel_cond, &f->rel_lock, &ts);
			continue;
		}
		send_some_locked(f);
	}
	pthread_mutex_unlock(&f->rel_lock);
	return NULL;
}

int fz_rel_start(struct omfs_fuse *f)
{
	pthread_condattr_t ca;
	if (pthread_condattr_init(&ca) != 0)
		return -ENOMEM;
	int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&f->rel_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (rc != 0)
		return -rc;
	pthread_mutex_init(&f->rel_lock, NULL);
	f->rel_inited = 1;
	rc = pthread_create(&f->rel_thread, NULL, releaser, f);
	if (rc != 0)
		return -rc;
	f->rel_running = 1;
	return 0;
}

void fz_rel_stop(struct omfs_fuse *f)
{
	if (!f->rel_inited)
		return;
	pthread_mutex_lock(&f->rel_lock);
	int running = f->rel_running;
	f->rel_stop = 1;
	f->rel_running = 0;
	/* the transport is closing; the server drops the session's handles */
	__atomic_store_n(&f->nrel, 0, __ATOMIC_RELAXED);
	pthread_cond_signal(&f->rel_cond);
	pthread_mutex_unlock(&f->rel_lock);
	if (running)
		pthread_join(f->rel_thread, NULL);
	pthread_mutex_destroy(&f->rel_lock);
	pthread_cond_destroy(&f->rel_cond);
	f->rel_inited = 0;
}
