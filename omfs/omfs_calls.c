/* omfs_calls.c - the table of oMFS calls in flight (see omfs_calls.h).
 *
 * One mutex guards a doubly linked list of calls. A blocking call lives on its requester's
 * stack-owned heap block: the requester links it, waits on its own condition variable, and
 * unlinks and frees it; whoever completes it (the loop) only fills the result, unlinks it and
 * signals, under the mutex, so a late reply can never reach a freed call. An asynchronous call
 * is owned by the table and freed after its callback ran (outside the lock).
 * Lists are scanned linearly: calls in flight are bounded by FUSE threads, control clients and
 * the FUSE front's cap on writes in flight (tens), not by files.
 */
#include "omfs/omfs_calls.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omfs/omfs_wire.h"

#define DEFAULT_TIMEOUT_MS 8000
#define NO_DEADLINE	   UINT64_MAX

struct call {
	struct call *prev, *next;
	uint64_t xid;
	uint32_t node;
	uint64_t deadline_ms;
	bool queued; /* blocking: waiting for omfs_calls_flush to send it */
	const uint8_t *req;
	size_t req_len;
	/* result */
	bool done;
	int err;
	uint8_t *reply;
	size_t reply_len;
	/* blocking */
	pthread_cond_t cond;
	/* async */
	omfs_calls_done_fn done_fn;
	void *done_ctx;
	uint8_t *owned_req; /* omfs_calls_submit: the request, freed with the call */
	struct call *fired_next; /* completions collected for callbacks after unlock */
};

struct omfs_calls {
	pthread_mutex_t lock;
	struct call head; /* sentinel */
	uint64_t next_xid;
	size_t n;
	int closed; /* < 0: refuse new blocking requests with this */
	struct omfs_calls_config cfg;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int omfs_calls_new(const struct omfs_calls_config *cfg, struct omfs_calls **ret)
{
	struct omfs_calls *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return -ENOMEM;
	}
	c->head.next = c->head.prev = &c->head;
	c->next_xid = 1;
	c->cfg = *cfg;
	if (!c->cfg.timeout_ms)
		c->cfg.timeout_ms = DEFAULT_TIMEOUT_MS;
	*ret = c;
	return 0;
}

static void link_call(struct omfs_calls *c, struct call *k)
{
	k->xid = c->next_xid++;
	k->next = &c->head;
	k->prev = c->head.prev;
	c->head.prev->next = k;
	c->head.prev = k;
	c->n++;
}

static void unlink_call(struct omfs_calls *c, struct call *k)
{
	if (!k->next)
		return;
	k->prev->next = k->next;
	k->next->prev = k->prev;
	k->next = k->prev = NULL;
	c->n--;
}

/* Under the lock: records the result; blocking calls are signaled, async ones are pushed on
 * *fired for run_fired() after unlocking. Takes ownership of reply. */
static void finish(struct omfs_calls *c, struct call *k, int err, uint8_t *reply, size_t len,
		   struct call **fired)
{
	unlink_call(c, k);
	k->done = true;
	k->queued = false;
	k->err = err;
	k->reply = reply;
	k->reply_len = len;
	if (k->done_fn) {
		k->fired_next = *fired;
		*fired = k;
	} else {
		pthread_cond_signal(&k->cond);
	}
}

static void run_fired(struct call *fired)
{
	while (fired) {
		struct call *k = fired;
		fired = k->fired_next;
		k->done_fn(k->done_ctx, k->err, k->reply, k->reply_len);
		free(k->owned_req);
		free(k);
	}
}

static uint64_t deadline_for(const struct omfs_calls *c, const uint8_t *req, size_t len)
{
	if (omfs_wire_req_may_block(req, len))
		return NO_DEADLINE;
	return mono_ms() + c->cfg.timeout_ms;
}

int omfs_calls_request(void *ctx, uint32_t node, const uint8_t *req, size_t len,
		       uint8_t **ret_resp, size_t *ret_len)
{
	struct omfs_calls *c = ctx;
	struct call *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	pthread_condattr_t ca;
	if (pthread_condattr_init(&ca) != 0) {
		free(k);
		return -ENOMEM;
	}
	(void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int r = pthread_cond_init(&k->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (r != 0) {
		free(k);
		return -ENOMEM;
	}
	k->node = node;
	k->req = req;
	k->req_len = len;
	k->deadline_ms = deadline_for(c, req, len);
	k->queued = true;
	pthread_mutex_lock(&c->lock);
	if (c->closed < 0) {
		r = c->closed;
		pthread_mutex_unlock(&c->lock);
		pthread_cond_destroy(&k->cond);
		free(k);
		return r;
	}
	link_call(c, k);
	pthread_mutex_unlock(&c->lock);
	if (c->cfg.wake)
		c->cfg.wake(c->cfg.wake_ctx);

	pthread_mutex_lock(&c->lock);
	while (!k->done) {
		if (k->deadline_ms == NO_DEADLINE) {
			pthread_cond_wait(&k->cond, &c->lock);
			continue;
		}
		struct timespec ts = { .tv_sec = (time_t)(k->deadline_ms / 1000),
				       .tv_nsec = (long)(k->deadline_ms % 1000) * 1000000L };
		if (pthread_cond_timedwait(&k->cond, &c->lock, &ts) == ETIMEDOUT && !k->done) {
			unlink_call(c, k);
			k->done = true;
			k->err = -ETIMEDOUT;
		}
	}
	pthread_mutex_unlock(&c->lock);
	pthread_cond_destroy(&k->cond);
	r = k->err;
	if (r == 0) {
		*ret_resp = k->reply;
		*ret_len = k->reply_len;
	} else {
		free(k->reply);
	}
	free(k);
	return r;
}

int omfs_calls_submit(void *ctx, uint32_t node, uint8_t *req, size_t len,
		      omfs_calls_done_fn done, void *done_ctx)
{
	struct omfs_calls *c = ctx;
	struct call *k = calloc(1, sizeof(*k));
	if (!k) {
		free(req);
		return -ENOMEM;
	}
	k->node = node;
	k->req = k->owned_req = req;
	k->req_len = len;
	k->deadline_ms = deadline_for(c, req, len);
	k->queued = true;
	k->done_fn = done;
	k->done_ctx = done_ctx;
	pthread_mutex_lock(&c->lock);
	int r = c->closed;
	if (r == 0)
		link_call(c, k);
	pthread_mutex_unlock(&c->lock);
	if (r < 0) {
		free(req);
		free(k);
		return r;
	}
	if (c->cfg.wake)
		c->cfg.wake(c->cfg.wake_ctx);
	return 0;
}

int omfs_calls_start(struct omfs_calls *c, uint32_t node, const uint8_t *req, size_t len,
		     omfs_calls_done_fn done, void *ctx, uint64_t *ret_xid)
{
	struct call *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->node = node;
	k->deadline_ms = deadline_for(c, req, len);
	k->done_fn = done;
	k->done_ctx = ctx;
	pthread_mutex_lock(&c->lock);
	link_call(c, k);
	*ret_xid = k->xid;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void omfs_calls_flush(struct omfs_calls *c, omfs_calls_send_fn send_fn, void *ctx)
{
	struct call *fired = NULL;
	pthread_mutex_lock(&c->lock);
	for (struct call *k = c->head.next, *nx; k != &c->head; k = nx) {
		nx = k->next;
		if (!k->queued)
			continue;
		k->queued = false;
		int r = send_fn(ctx, k->node, k->xid, k->req, k->req_len);
		if (r < 0) {
			finish(c, k, r, NULL, 0, &fired);
		} else if (k->owned_req) { /* sent (send_fn copied it): free it now, not at the reply */
			free(k->owned_req);
			k->owned_req = NULL;
			k->req = NULL;
		}
	}
	pthread_mutex_unlock(&c->lock);
	run_fired(fired);
}

int omfs_calls_complete(struct omfs_calls *c, uint32_t node, uint64_t xid, int err,
			const uint8_t *reply, size_t len)
{
	uint8_t *copy = NULL;
	if (err == 0) {
		copy = malloc(len ? len : 1);
		if (!copy)
			err = -ENOMEM;
		else if (len)
			memcpy(copy, reply, len);
	}
	struct call *fired = NULL;
	int r = -ENOENT;
	pthread_mutex_lock(&c->lock);
	for (struct call *k = c->head.next; k != &c->head; k = k->next) {
		if (k->xid != xid)
			continue;
		if (k->node == node && !k->queued) {
			finish(c, k, err, copy, err == 0 ? len : 0, &fired);
			copy = NULL;
			r = 0;
		}
		break;
	}
	pthread_mutex_unlock(&c->lock);
	free(copy);
	run_fired(fired);
	return r;
}

/* Fails calls matching node (all when all_nodes) or past their deadline (now_ms > 0). */
static void fail_where(struct omfs_calls *c, bool all_nodes, uint32_t node, uint64_t now_ms,
		       int err)
{
	struct call *fired = NULL;
	pthread_mutex_lock(&c->lock);
	for (struct call *k = c->head.next, *nx; k != &c->head; k = nx) {
		nx = k->next;
		bool hit = now_ms ? k->deadline_ms <= now_ms : (all_nodes || k->node == node);
		if (hit)
			finish(c, k, err, NULL, 0, &fired);
	}
	pthread_mutex_unlock(&c->lock);
	run_fired(fired);
}

void omfs_calls_fail_node(struct omfs_calls *c, uint32_t node, int err)
{
	fail_where(c, false, node, 0, err);
}

void omfs_calls_fail_all(struct omfs_calls *c, int err)
{
	fail_where(c, true, 0, 0, err);
}

void omfs_calls_expire(struct omfs_calls *c, uint64_t now_ms)
{
	fail_where(c, false, 0, now_ms ? now_ms : 1, -ETIMEDOUT);
}

void omfs_calls_set_closed(struct omfs_calls *c, int err)
{
	pthread_mutex_lock(&c->lock);
	c->closed = err < 0 ? err : 0;
	pthread_mutex_unlock(&c->lock);
	if (err < 0)
		omfs_calls_fail_all(c, err);
}

uint64_t omfs_calls_next_deadline(struct omfs_calls *c)
{
	uint64_t t = UINT64_MAX;
	pthread_mutex_lock(&c->lock);
	for (struct call *k = c->head.next; k != &c->head; k = k->next)
		if (k->deadline_ms < t)
			t = k->deadline_ms;
	pthread_mutex_unlock(&c->lock);
	return t;
}

size_t omfs_calls_count(struct omfs_calls *c)
{
	pthread_mutex_lock(&c->lock);
	size_t n = c->n;
	pthread_mutex_unlock(&c->lock);
	return n;
}

void omfs_calls_free(struct omfs_calls **pc)
{
	if (!pc || !*pc)
		return;
	struct omfs_calls *c = *pc;
	omfs_calls_fail_all(c, -ESHUTDOWN);
	/* blocking requesters still hold their calls until they wake and unlink: the owner must
	 * have stopped every requesting thread before freeing the table */
	pthread_mutex_destroy(&c->lock);
	free(c);
	*pc = NULL;
}
