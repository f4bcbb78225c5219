/* omfs_server_int.h - what the omfs_server*.c files share (not a public interface).
 *
 * omfs_server.c: lifecycle, handle table, dispatch. omfs_server_path.c: path checks, export
 * choice, openat2 resolution. omfs_server_cred.c: per-thread credential switch.
 * omfs_server_ops.c: operations on paths. omfs_server_io.c: operations on handles.
 */
#pragma once
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "omfs/omfs_server.h"

struct srv_export {
	char *path; /* normalized, no trailing slash except for "/" */
	size_t len;
	int rootfd; /* O_PATH|O_DIRECTORY */
	int read_only, no_root_squash;
};

struct srv_lockfd {
	uint64_t owner;
	int fd;
	struct srv_lockfd *next;
};

struct srv_handle {
	uint64_t id, session;
	int fd;	     /* -1 for a virtual directory */
	int is_dir;
	int accmode; /* O_RDONLY / O_WRONLY / O_RDWR of fd */
	struct srv_export *exp;
	int refs;		/* table reference + one per request using it */
	pthread_mutex_t lock;	/* readdir position; lockfds list */
	struct srv_lockfd *lockfds; /* per POSIX lock owner, OFD locks */
	char *path;		/* normalized path at open (NULL: out of memory); virtual: what it lists */
	/* readdir's look-ahead (lock): getdents64 output not sent yet, [dpos, dlen) of dbuf, with
	 * fd's position just past it; good while the next request asks for doff, the cookie of
	 * the last entry sent (dvalid) */
	char *dbuf;
	long dlen, dpos;
	int64_t doff;
	int dvalid;
};

struct omfs_server {
	struct srv_export *exports;
	size_t nexports;
	uint32_t squash_uid, squash_gid;
	int (*watched)(void *ctx, uint64_t dev);
	void *watched_ctx;
	int can_switch; /* has CAP_SETUID and CAP_SETGID */
	uint32_t base_caps[6]; /* the daemon's capability sets (srv_cred_probe) */
	uid_t base_uid;
	gid_t base_gid;
	gid_t *base_groups;
	int nbase_groups;
	pthread_mutex_t hlock;
	struct srv_handle **slots;
	size_t nslots, cap;
	uint32_t *free_slots;
	size_t nfree;
	uint64_t gen;
	size_t nhandles;
};

/* A checked, normalized request path and the export it falls in. */
struct srv_path {
	struct srv_export *exp; /* NULL: not in any export */
	int virt;		/* exp == NULL and the path is an ancestor of an export */
	int parent_virt;	/* exp == NULL and the parent is (creating here: EROFS) */
	char norm[PATH_MAX];	/* "/a/b" */
	const char *rel;	/* inside norm, relative to the export root; "." for the root */
};

/* Parent directory + final name of a path, for operations creating or removing a name. */
struct srv_parent {
	int dirfd; /* O_PATH directory, caller closes */
	char name[NAME_MAX + 1];
};

/* omfs_server_path.c */
int srv_path_check(struct omfs_server *srv, struct omfs_buf p, struct srv_path *ret);
int srv_open_rel(const struct srv_export *e, const char *rel, int flags, mode_t mode);
int srv_open_parent(const struct srv_path *p, struct srv_parent *ret);
int srv_virtual_children(struct omfs_server *srv, const char *norm, char ***ret_names,
			 size_t *ret_n);
/* a->no_xattrs from name in dirfd, or from dirfd itself when name is "" */
void srv_attr_xattrs(int dirfd, const char *name, struct omfs_attr *a);
void srv_virtual_attr(struct omfs_attr *a);

/* omfs_server_cred.c */
struct srv_saved_cred {
	int switched;
	int dropped; /* the effective capabilities were emptied (any requester but unsquashed root) */
	uint32_t caps[2 * 3]; /* effective, permitted, inheritable of two words */
};
int srv_cred_probe(struct omfs_server *srv);
int srv_cred_enter(struct omfs_server *srv, const struct srv_export *e,
		   const struct omfs_cred *c, struct srv_saved_cred *saved);
void srv_cred_leave(struct omfs_server *srv, struct srv_saved_cred *saved);
/* Inside srv_cred_enter/leave: give the thread the daemon's effective capabilities back for
 * one privileged step (uid/gid/groups stay the requester's), then take them away again.
 * raise fails (-EPERM) when the request did not switch credentials (nothing to give back). */
int srv_cred_raise(const struct srv_saved_cred *saved);
void srv_cred_lower(const struct srv_saved_cred *saved);
int srv_is_root(const struct srv_export *e, const struct omfs_cred *c);

/* omfs_server.c: handle table */
int srv_handle_add(struct omfs_server *srv, uint64_t session, int fd, int is_dir, int accmode,
		   struct srv_export *e, char *path, uint64_t *ret_id);
int srv_handle_get(struct omfs_server *srv, uint64_t session, uint64_t id,
		   struct srv_handle **ret_h);
void srv_handle_put(struct omfs_server *srv, struct srv_handle *h);
int srv_handle_remove(struct omfs_server *srv, uint64_t session, uint64_t id);
/* After a rename: handles opened under `from` now name the file under `to` (their path names
 * it in change notifications). The paths are read and replaced under hlock only. */
void srv_handles_renamed(struct omfs_server *srv, const char *from, const char *to, int exchange);

/* omfs_server_ops.c / omfs_server_io.c: each returns 0 or a negative errno and fills resp */
int srv_op_path(struct omfs_server *srv, uint64_t session, const struct omfs_req *req,
		const struct srv_path *p, struct omfs_resp *resp);
int srv_op_rename_link(struct omfs_server *srv, const struct omfs_req *req,
		       const struct srv_path *from, const struct srv_path *to,
		       struct omfs_resp *resp);
int srv_op_handle(struct omfs_server *srv, const struct omfs_req *req, struct srv_handle *h,
		  struct omfs_resp *resp);
int srv_op_open(struct omfs_server *srv, uint64_t session, const struct omfs_req *req,
		const struct srv_path *p, struct omfs_resp *resp);
int srv_op_setattr(const struct omfs_req *req, const struct srv_path *p, struct srv_handle *h,
		   const struct srv_saved_cred *saved, struct omfs_resp *resp);
