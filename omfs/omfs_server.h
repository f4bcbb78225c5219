/* omfs_server.h - the oMFS server core: executes file requests on a node's exported trees.
 *
 * Transport-independent: the owner (omxd over the mesh, or the loopback transport in tests)
 * hands it request bytes with the id of the session they came from and sends back the reply
 * bytes. Guarantees:
 *  - no request reaches outside an export: every path is resolved by openat2() with
 *    RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS from an O_PATH descriptor of the export root, so
 *    `..` chains, absolute symlinks and concurrent renames all stay inside it;
 *  - each request runs as the requesting user in the calling thread only (fsuid/fsgid, the
 *    raw per-thread setgroups syscall, and an empty effective capability set), root squashed to
 *    `squash_uid/gid` unless the export opts out; the thread's credentials are restored after;
 *  - file handles are per session: a handle presented by another session is EBADF.
 * Thread-safe: any number of threads may call omfs_server_handle() concurrently.
 *
 * Process requirement: the server creates files with the exact mode the client asked for
 * (the client already applied its umask), so omfs_server_new() sets the process umask to 0.
 * Credential switching needs CAP_SETUID/CAP_SETGID (omxd runs as root); without them the
 * server serves only requests whose uid is the server's own effective uid.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "omfs/omfs_wire.h"

struct omfs_server;

struct omfs_export {
	const char *path; /* absolute directory on this node, e.g. "/" or "/srv/data" */
	int read_only;
	int no_root_squash; /* requests from uid 0 run as root (default: squashed) */
};

struct omfs_server_config {
	const struct omfs_export *exports; /* borrowed during omfs_server_new only */
	size_t nexports;
	uint32_t squash_uid, squash_gid; /* 0 means 65534 */
	/* Optional: 1 if changes on the file system with this st_dev reach the clients (omxd's
	 * watch, omfs_watch.h); such attributes go out marked `watched` (long client caching).
	 * Called from any serving thread. */
	int (*watched)(void *ctx, uint64_t dev);
	void *watched_ctx;
};

/* Opens every export root. Caller owns *ret_srv (omfs_server_free).
 * Returns 0, -EINVAL (no exports, relative path), -ENOTDIR/-ENOENT (bad root), -ENOMEM. */
__attribute__((warn_unused_result)) int omfs_server_new(const struct omfs_server_config *cfg,
							struct omfs_server **ret_srv);

/* Closes every handle and export; sets *srv to NULL. NULL and *srv == NULL are no-ops. */
void omfs_server_free(struct omfs_server **srv);

/* Executes one decoded request from `session`; fills *resp (caller owns it: omfs_resp_clear).
 * Errors are reported in resp->error; this call itself cannot fail. */
void omfs_server_exec(struct omfs_server *srv, uint64_t session, const struct omfs_req *req,
		      struct omfs_resp *resp);

/* The same, and adds to *chg (when not NULL) what the request changed, for other clients'
 * caches: names created, removed or renamed, attributes and data, by server path. */
void omfs_server_exec_changes(struct omfs_server *srv, uint64_t session,
			      const struct omfs_req *req, struct omfs_resp *resp,
			      struct omfs_notify *chg);

/* Decodes, executes and encodes. On success the caller owns *ret_buf. An undecodable request
 * still gets a reply (error -EBADMSG or -EPROTO). Returns 0 or -ENOMEM. */
__attribute__((warn_unused_result)) int omfs_server_handle(struct omfs_server *srv,
							   uint64_t session, const uint8_t *req,
							   size_t len, uint8_t **ret_buf,
							   size_t *ret_len);

/* For the calling thread only: keep a requester's credentials after a request (on: 1) so the
 * next request from the same requester switches nothing; 0 goes back to the daemon's own
 * credentials at once and after every request. Only for threads that do nothing else that
 * depends on their credentials (omxd's worker pool); off by default. */
void omfs_server_thread_sticky(int on);

/* Closes every handle of `session` (its peer went away). */
void omfs_server_session_close(struct omfs_server *srv, uint64_t session);

/* Number of open handles (all sessions); for tests and `omx status`. */
size_t omfs_server_handle_count(struct omfs_server *srv);
