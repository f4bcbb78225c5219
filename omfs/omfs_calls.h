/* omfs_calls.h - oMFS calls in flight to other nodes: the client half of a datagram transport.
 *
 * A datagram transport (the omx mesh) is driven by one loop thread that alone may touch its
 * sockets, while oMFS clients call from anywhere (FUSE worker threads, omxd itself). This table
 * is the meeting point:
 *   - any thread: omfs_calls_request() (a struct omfs_transport `request`) queues the request,
 *     wakes the loop (cfg.wake), and blocks until the reply, a failure, or its deadline;
 *   - the loop thread: omfs_calls_start() registers an asynchronous call (the loop sends it
 *     itself; completion through a callback on the loop thread), omfs_calls_flush()
 *     sends what other threads queued, omfs_calls_complete() delivers a reply by transaction id
 *     (only from the node the call went to), omfs_calls_fail_node() fails every call to a node
 *     that died or left, omfs_calls_expire() times calls out.
 * Transaction ids (xid) are chosen here, unique for the table's lifetime.
 *
 * Timeouts: every call has cfg.timeout_ms, except requests that may legitimately block on the
 * server (a lock wait: SETLK with wait, FLOCK without LOCK_NB), which end only with a reply or
 * with their node's failure (omfs_calls_fail_node) or omfs_calls_shutdown().
 *
 * Thread-safe; callbacks are never invoked with the table's lock held, except send_fn in
 * omfs_calls_flush (which must not call back into the table).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct omfs_calls;

struct omfs_calls_config {
	void (*wake)(void *ctx); /* a call was queued: the loop should run omfs_calls_flush */
	void *wake_ctx;
	uint32_t timeout_ms; /* 0: 8000 */
};

/* Caller owns *ret (omfs_calls_free). -ENOMEM. */
__attribute__((warn_unused_result)) int omfs_calls_new(const struct omfs_calls_config *cfg,
						       struct omfs_calls **ret);
/* Fails every call with -ESHUTDOWN (async callbacks run here), then frees. NULL-safe. */
void omfs_calls_free(struct omfs_calls **c);

/* struct omfs_transport.request with ctx = the table: blocks. Never call it on the loop thread
 * (it waits for that thread to send the request): the loop uses omfs_calls_start. Returns 0 (*ret_resp malloc'ed,
 * caller owns it) or -ETIMEDOUT, -ENOTCONN (node died/left), -EHOSTUNREACH (unknown node, said
 * by the send function), -ESHUTDOWN, -ENOMEM. */
int omfs_calls_request(void *ctx, uint32_t node, const uint8_t *req, size_t len,
		       uint8_t **ret_resp, size_t *ret_len);

/* Completion of an asynchronous call: err 0 with the reply (ownership passes to the callback),
 * or a negative errno and NULL. */
typedef void (*omfs_calls_done_fn)(void *ctx, int err, uint8_t *reply, size_t len);

/* struct omfs_transport `submit` with ctx = the table: any thread but the loop's. Queues the
 * request like omfs_calls_request but returns at once; `done` runs later on the loop thread
 * (or in whichever thread fails the call: omfs_calls_fail_*, _set_closed, _free), exactly once.
 * Takes ownership of req (malloc'ed) in every case. Returns 0, or -ENOMEM or the closed
 * table's errno, and then `done` is never called. */
__attribute__((warn_unused_result)) int omfs_calls_submit(void *ctx, uint32_t node, uint8_t *req,
							  size_t len, omfs_calls_done_fn done,
							  void *done_ctx);

/* Loop thread: registers an asynchronous call to `node`; the caller sends it with *ret_xid.
 * `req` (len bytes) decides the timeout class. Returns 0 or -ENOMEM. */
__attribute__((warn_unused_result)) int omfs_calls_start(struct omfs_calls *c, uint32_t node,
							 const uint8_t *req, size_t len,
							 omfs_calls_done_fn done, void *ctx,
							 uint64_t *ret_xid);

/* Loop thread: sends every call queued by omfs_calls_request() through send_fn (called with
 * the table's lock held; it must copy what it keeps). A negative return fails that call with
 * that errno. */
typedef int (*omfs_calls_send_fn)(void *ctx, uint32_t node, uint64_t xid, const uint8_t *req,
				  size_t len);
void omfs_calls_flush(struct omfs_calls *c, omfs_calls_send_fn send_fn, void *ctx);

/* Loop thread: a reply (err 0, `reply` copied) or a refusal (err < 0) for xid from `node`.
 * Returns 0, or -ENOENT when no call from this table to that node has that xid (late, forged
 * or duplicate replies: the caller may count them). */
int omfs_calls_complete(struct omfs_calls *c, uint32_t node, uint64_t xid, int err,
			const uint8_t *reply, size_t len);
/* Fails every call to `node` with err (e.g. -ENOTCONN when gossip declares it dead). */
void omfs_calls_fail_node(struct omfs_calls *c, uint32_t node, int err);
/* Fails every call with err (leaving the cluster). */
void omfs_calls_fail_all(struct omfs_calls *c, int err);
/* err < 0: fails every call with err and refuses new blocking requests with it at once (the
 * transport is down); 0: accepts requests again. */
void omfs_calls_set_closed(struct omfs_calls *c, int err);
/* Times out calls whose deadline (CLOCK_MONOTONIC ms) is <= now_ms. */
void omfs_calls_expire(struct omfs_calls *c, uint64_t now_ms);
/* The earliest deadline, UINT64_MAX if none. */
uint64_t omfs_calls_next_deadline(struct omfs_calls *c);
/* Calls in flight (tests, `omx status`). */
size_t omfs_calls_count(struct omfs_calls *c);
