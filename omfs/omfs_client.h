/* omfs_client.h - the oMFS client library: file operations on any node, over any transport.
 *
 * The client knows nothing about sockets: a struct omfs_transport carries encoded requests to a
 * node and brings the encoded reply back (the mesh in omxd; the in-process loopback below in
 * tests and omfs_loopmount). Users: the FUSE front (omfs_fuse.h), `omx ls|cat|cp|stat|rm|mkdir`
 * (cli/mfs_cmds.c), and later omxd itself for DFSA (a migrated process's I/O on the node where
 * the file lives), which is why this is a library and not part of the FUSE code.
 * Thread-safe: any number of threads may use one client concurrently.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "omfs/omfs_wire.h"

struct omfs_server;

struct omfs_transport {
	/* Sends `len` bytes of request to `node` and waits for the reply. On success *ret_resp is
	 * malloc'ed and the caller (the client library) frees it. Returns 0 or a negative errno:
	 * -EHOSTUNREACH (unknown/dead node), -ENOTCONN, -ETIMEDOUT (never hang: the transport
	 * owns the timeout). Called concurrently from many threads. */
	int (*request)(void *ctx, uint32_t node, const uint8_t *req, size_t len, uint8_t **ret_resp,
		       size_t *ret_len);
	/* Optional (NULL: omfs_client_submit falls back to `request`). Sends the request without
	 * waiting for the reply; takes ownership of req (malloc'ed) in every case. done(done_ctx,
	 * err, resp, resp_len) runs exactly once, on any thread, possibly before submit returns:
	 * err 0 with the malloc'ed reply (done frees it) or a negative errno and NULL. Returns 0,
	 * or a negative errno and then done is never called. */
	int (*submit)(void *ctx, uint32_t node, uint8_t *req, size_t len,
		      void (*done)(void *done_ctx, int err, uint8_t *resp, size_t resp_len),
		      void *done_ctx);
	void *ctx;
};

struct omfs_client;

/* Caller owns *ret_client (omfs_client_free); `t` is copied, t->ctx stays the caller's. */
__attribute__((warn_unused_result)) int omfs_client_new(const struct omfs_transport *t,
							struct omfs_client **ret_client);
void omfs_client_free(struct omfs_client **client);

/* Sends `req` (its id and version are filled in here) and decodes the reply into *ret_resp,
 * which the caller then owns (omfs_resp_clear) whenever the return value is >= 0 or equals
 * ret_resp->error. Returns 0, the server's negative errno (ret_resp->error), or a transport or
 * decoding error (-EIO for a reply that is malformed or answers another request). */
__attribute__((warn_unused_result)) int omfs_client_call(struct omfs_client *c, uint32_t node,
							 struct omfs_req *req,
							 struct omfs_resp *ret_resp);

/* Completion of omfs_client_submit: rc as omfs_client_call returns it; resp (decoded) is
 * borrowed for the duration of the callback when rc >= 0 or rc == resp->error, NULL otherwise. */
typedef void (*omfs_client_done_fn)(void *ctx, int rc, const struct omfs_resp *resp);

/* Like omfs_client_call, without waiting: done(ctx, ...) runs exactly once, on any thread
 * (the transport's), possibly before this returns. The request is encoded (copied) here, so
 * req and what it points to may go once this returns. Returns 0, or a negative errno and then
 * done is never called. Ordering between submitted calls is not guaranteed. */
__attribute__((warn_unused_result)) int omfs_client_submit(struct omfs_client *c, uint32_t node,
							   struct omfs_req *req,
							   omfs_client_done_fn done, void *ctx);

/* Credentials of the calling process (uid, gid, supplementary groups). */
void omfs_cred_self(struct omfs_cred *ret_cred);

/* Convenience calls for tools (omx ls/cat/cp...): each returns 0 (or a count) or -errno. */
__attribute__((warn_unused_result)) int omfs_client_stat(struct omfs_client *c, uint32_t node,
							 const struct omfs_cred *cred,
							 const char *path, struct omfs_attr *ret_attr);
__attribute__((warn_unused_result)) int omfs_client_open(struct omfs_client *c, uint32_t node,
							 const struct omfs_cred *cred,
							 const char *path, int flags, uint32_t mode,
							 uint64_t *ret_fh);
__attribute__((warn_unused_result)) int omfs_client_opendir(struct omfs_client *c,
							    uint32_t node,
							    const struct omfs_cred *cred,
							    const char *path, uint64_t *ret_fh);
/* Reads up to `size` bytes (one request, <= OMFS_MAX_IO); returns the count, 0 at EOF. */
__attribute__((warn_unused_result)) long omfs_client_pread(struct omfs_client *c, uint32_t node,
							   const struct omfs_cred *cred,
							   uint64_t fh, void *buf, size_t size,
							   int64_t off);
__attribute__((warn_unused_result)) long omfs_client_pwrite(struct omfs_client *c, uint32_t node,
							    const struct omfs_cred *cred,
							    uint64_t fh, const void *buf,
							    size_t size, int64_t off);
/* Releases a file (dir = 0) or directory (dir = 1) handle. */
int omfs_client_release(struct omfs_client *c, uint32_t node, const struct omfs_cred *cred,
			uint64_t fh, int dir);
/* One batch of directory entries from cookie `off`; *ret_resp as for omfs_client_call. */
__attribute__((warn_unused_result)) int omfs_client_readdir(struct omfs_client *c, uint32_t node,
							    const struct omfs_cred *cred,
							    uint64_t fh, int64_t off, int plus,
							    struct omfs_resp *ret_resp);
/* Operations naming one path: op is MKDIR (mode), UNLINK, RMDIR. */
__attribute__((warn_unused_result)) int omfs_client_path_op(struct omfs_client *c, uint32_t node,
							    const struct omfs_cred *cred,
							    enum omfs_op op, const char *path,
							    uint32_t mode);
/* Reads a symlink into buf (NUL-terminated); returns its length or -errno (-ENAMETOOLONG). */
__attribute__((warn_unused_result)) long omfs_client_readlink(struct omfs_client *c,
							      uint32_t node,
							      const struct omfs_cred *cred,
							      const char *path, char *buf,
							      size_t size);

/* The loopback transport: requests go straight to a server core in this process, through the
 * full encode/decode path, as session `session`. Requests for any node but `node` fail with
 * -EHOSTUNREACH. The server is borrowed and must outlive the transport's use. */
struct omfs_loopback {
	struct omfs_server *srv;
	uint64_t session;
	uint32_t node;
};
int omfs_loopback_request(void *ctx, uint32_t node, const uint8_t *req, size_t len,
			  uint8_t **ret_resp, size_t *ret_len);
