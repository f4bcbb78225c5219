/* omfs_fuse_int.h - the FUSE front's node table (omfs_fuse_inode.c), shared with omfs_fuse*.c.
 *
 * The server speaks paths; the kernel speaks node ids. Each kernel-visible node is a struct
 * fnode (its address is the FUSE node id, except the root, id 1) named by (parent, name), like
 * libfuse's high-level layer: a path is rebuilt by walking parents up to the /mfs/<id> node.
 * Lookup counts follow the FUSE contract (every entry reply +1, forget -n); a node is freed when
 * the kernel has forgotten it and no child still names it as parent. Unlink/rename detach or
 * move names, so later path operations on a detached node fail (ENOENT) while its open handles
 * keep working. One mutex guards the table.
 */
#pragma once
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>

enum fkind { FK_ROOT, FK_HOME, FK_HERE, FK_NODE, FK_FILE };

struct fnode {
	struct fnode *parent; /* NULL for the root */
	char *name;	      /* NULL for the root */
	uint32_t node;	      /* cluster node (FK_NODE, FK_FILE) */
	enum fkind kind;
	uint64_t nlookup;
	uint32_t nchildren;
	int hashed;
	struct fnode *hnext;
	int64_t nocap_until_ms; /* security.capability known absent until then (monotonic) */
	int64_t noxattr_until_ms; /* no extended attribute at all until then (monotonic) */
};

struct ftable {
	pthread_mutex_t lock;
	struct fnode root;
	struct fnode **buckets;
	size_t nbuckets;
	size_t count;
};

int ft_init(struct ftable *t);
void ft_destroy(struct ftable *t);
struct fnode *ft_node(struct ftable *t, fuse_ino_t ino);
fuse_ino_t ft_ino(struct ftable *t, struct fnode *n);
/* Finds or creates (parent, name) and takes one lookup reference; NULL when out of memory. */
struct fnode *ft_ref_child(struct ftable *t, struct fnode *parent, const char *name,
			   enum fkind kind, uint32_t node);
void ft_forget(struct ftable *t, struct fnode *n, uint64_t count);
/* The server path of n (or of its child `name` when name != NULL) into buf.
 * Returns 0, -ENOENT (detached), -ENAMETOOLONG, or -EINVAL (not a file-system node). */
int ft_path(struct ftable *t, struct fnode *n, const char *name, char *buf, size_t size);
/* After a successful unlink/rmdir: forget the name (an open file stays usable by handle). */
void ft_detach(struct ftable *t, struct fnode *parent, const char *name);
/* After a successful rename; exchange swaps the two names. */
void ft_rename(struct ftable *t, struct fnode *p1, const char *n1, struct fnode *p2,
	       const char *n2, int exchange);
/* The node ids of server path `path` on cluster node `node` and of its parent (0: the kernel
 * was never given one); *ret_name: its last component, inside path. Also forgets the xattr
 * answers cached for it. Returns -EINVAL for a path that is not absolute. */
int ft_resolve(struct ftable *t, uint32_t node, const char *path, fuse_ino_t *ret_parent,
	       fuse_ino_t *ret_ino, const char **ret_name);
/* Up to max node ids of cluster node `node` (its /mfs/<node> directory included); how many. */
size_t ft_nodes_of(struct ftable *t, uint32_t node, fuse_ino_t *ids, size_t max);

#include "omfs/omfs_client.h"
#include "omfs/omfs_dirs.h"
#include "omfs/omfs_fuse.h"

/* A server path the FUSE front builds (PATH_MAX). */
#define MFS_PATH_MAX 4096
/* Writes in flight at once (1 MiB each at most). */
#define FZ_WB_MAX 16
/* Small writes that continue each other are sent as one of at most this many bytes, at the
 * latest this long after the first (omfs_fuse_wb.c). */
#define FZ_GATHER_MAX (256u * 1024u)
#define FZ_GATHER_MS 5
/* The request loop (omfs_fuse_loop.c): how long the leader keeps reading before it sleeps,
 * and a bound on its threads. */
#define FZ_SPIN_US 50
#define FZ_LOOP_MAX_THREADS 64
/* Releases waiting to ride on a later request (omfs_fuse_rel.c). */
#define FZ_REL_MAX 64

struct omfs_fuse {
	struct fuse_session *se;
	struct omfs_client *client;
	uint32_t self;
	struct omfs_fuse_hooks hooks;
	double entry_timeout, attr_timeout;
	double watched_timeout; /* for what the server marked `watched` */
	int max_threads;
	int mounted;
	char *mnt; /* the mount point's canonical path (NULL: unknown) */
	struct ftable ft;
	struct omfs_dirs *dirs; /* names known absent (omfs_fuse_dirs.c); NULL: none kept */
	/* bumped by every setxattr/removexattr sent: an attribute reply that raced with one
	 * (xgen changed while it was in flight) must not mark its node as having no xattrs */
	uint32_t xgen;
	pthread_mutex_t gcache_lock; /* supplementary groups per pid, kept for 1 s */
	struct gcache_entry {
		pid_t pid;
		int64_t until_ms;
		uint32_t n;
		uint32_t groups[OMFS_MAX_GROUPS];
	} gcache[64];
	/* open files and directories: what the kernel never released when the session ends */
	pthread_mutex_t open_lock;
	struct fopen *open_list;
	/* writes in flight (write-behind, omfs_fuse_io.c): one slot each */
	pthread_mutex_t wb_lock;
	pthread_cond_t wb_cond; /* a slot was freed */
	uint64_t wb_seq;	/* the last write's sequence number */
	uint32_t wb_n;		/* slots in use */
	struct fopen *gather_list; /* files with gathered writes (wb_lock) */
	int64_t gather_since_ms;   /* when the list became non-empty; 0: empty (atomic) */
	uint32_t gflushing;	   /* gathered writes being handed to the transport (wb_lock) */
	struct wb_slot {
		struct omfs_fuse *f;
		struct fopen *fo; /* NULL: free */
		const struct fnode *fn; /* compared, never followed */
		uint64_t seq;
		int64_t lo, hi; /* the bytes [lo, hi) */
	} wb[FZ_WB_MAX];
	/* deferred releases (omfs_fuse_rel.c) */
	pthread_mutex_t rel_lock;
	pthread_cond_t rel_cond; /* queued a first handle, or stop (CLOCK_MONOTONIC) */
	struct { uint32_t node; uint64_t fh; } rel[FZ_REL_MAX];
	uint32_t nrel;	     /* read without the lock (atomic) to skip it when empty */
	int64_t rel_since_ms; /* when the oldest queued handle was queued */
	int rel_inited, rel_running, rel_stop;
	pthread_t rel_thread;
	struct fz_loop {
		pthread_mutex_t lock;
		pthread_cond_t cond; /* the lead is free, or stop */
		int leader;	     /* a thread leads (reads the device) */
		int idle;	     /* threads waiting for the lead */
		int nthreads, max;   /* threads started besides omfs_fuse_run's own */
		pthread_t threads[FZ_LOOP_MAX_THREADS];
		int error;	     /* the device read's failure that ended the loop */
		_Atomic int stop;
		int stopfd;	     /* eventfd: readable once stopping */
		int spin_us;	     /* 0: the leader never spins */
		int poll_ms;	     /* the leader's poll timeout (-1: none) */
		int64_t last_wait_us; /* the leader's last wait for a request */
		int spin_next;	      /* the last request was answered by the leader itself */
		int inited;
		uint64_t init_unique; /* the INIT request's, until its reply is written */
		uint32_t init_offered, init_add; /* INIT flags: the kernel's, what to add */
	} loop;
};

int64_t fz_now_ms(void);

/* One open file or directory on a node (fuse_file_info.fh points to it). */
struct fopen {
	struct fopen *prev, *next; /* omfs_fuse.open_list */
	uint64_t sfh; /* the server's handle */
	uint32_t node;
	int locked; /* POSIX locks were taken: flush must tell the server */
	int append; /* opened O_APPEND: writes stay synchronous (their order is their offset) */
	int wb_err; /* the first failure of a write already answered (wb_lock), not yet reported */
	/* writes answered but not sent yet (gathering, wb_lock): [goff, goff + glen) */
	uint8_t *gbuf;
	size_t glen, gcap;
	int64_t goff;
	struct omfs_cred gcred; /* the requester of all of them */
	const struct fnode *gfn;
	struct fopen *gnext; /* in omfs_fuse.gather_list */
	int gathered;
};

/* omfs_fuse_wb.c: sends what is gathered and waits until every write answered before this
 * call is done on the server; sends what is gathered (no waiting); the failure of an earlier
 * write on fo, now reported (and forgotten), or 0. */
void fz_wb_barrier(struct omfs_fuse *f);
void fz_wb_flush(struct omfs_fuse *f);
/* fz_call's barrier: when nothing is in flight and everything gathered is for `node` from r's
 * requester, it rides on r (Request.writes) instead of going out first (the caller then waits
 * for nothing); otherwise fz_wb_barrier. After the call, fz_wb_carried_done with the call's
 * error and response (each write's own result). */
struct fz_carried {
	uint32_t n;
	struct wb_slot *slot[OMFS_MAX_CARRIED];
	uint8_t *buf[OMFS_MAX_CARRIED];
};
uint32_t fz_wb_carry(struct omfs_fuse *f, uint32_t node, struct omfs_req *r,
		     struct fz_carried *c);
void fz_wb_carried_done(struct fz_carried *c, int err, const struct omfs_resp *resp);
int fz_wb_take_err(struct omfs_fuse *f, struct fopen *fo);

/* omfs_fuse_io.c: a linked struct fopen (NULL on ENOMEM); unlink and free one; free all. */
struct fopen *fo_new(struct omfs_fuse *f);
void fo_free(struct omfs_fuse *f, struct fopen *fo);
void fo_free_all(struct omfs_fuse *f);

/* omfs_fuse_rel.c: queue a server handle for release (0, or -ENOSPC: release it now);
 * fz_call moves the node's queued handles into its request; start/stop the releaser. */
int fz_rel_defer(struct omfs_fuse *f, uint32_t node, uint64_t fh);
void fz_rel_attach(struct omfs_fuse *f, uint32_t node, struct omfs_req *r);
int fz_rel_start(struct omfs_fuse *f);
/* The first write was gathered: the releaser sends it FZ_GATHER_MS later if nothing else has. */
void fz_rel_poke(struct omfs_fuse *f);
void fz_rel_stop(struct omfs_fuse *f);

/* omfs_fuse_loop.c: the request loop (omfs_fuse_run), its stop (any thread), and the hand-over
 * of the lead by a thread about to block (a no-op in a thread that does not lead). */
int fz_loop_init(struct omfs_fuse *f);
void fz_loop_destroy(struct omfs_fuse *f);
int fz_loop_run(struct omfs_fuse *f, int handle_signals);
void fz_loop_stop(struct omfs_fuse *f);
void fz_loop_yield(struct omfs_fuse *f);
void *fz_loop_worker(void *arg);
/* After fuse_session_mount: the device I/O that completes libfuse's INIT reply; fz_init tells
 * it what the mount asked for. */
int fz_loop_attach(struct omfs_fuse *f);
void fz_loop_init_wants(struct omfs_fuse *f, const struct fuse_conn_info *conn);

/* omfs_fuse_dirs.c: is `path` known not to exist (no round trip needed); what a request sent
 * at sent_ms (report generation gen) and its result tell of directories. */
int fz_dirs_absent(struct omfs_fuse *f, uint32_t node, const char *path, uint32_t uid);
void fz_dirs_note(struct omfs_fuse *f, uint32_t node, const struct omfs_req *r, int rc,
		  const struct omfs_resp *resp, int64_t sent_ms, uint64_t gen);
/* Directories and names per directory omfs_dirs keeps. */
#define FZ_DIRS_MAX 256
#define FZ_DIRS_NAMES 16384

/* omfs_fuse.c */
void fz_cred(fuse_req_t req, struct omfs_cred *ret, int with_groups);
int fz_call(struct omfs_fuse *f, uint32_t node, struct omfs_req *r, struct omfs_resp *resp);
void fz_stat(uint32_t node, const struct omfs_attr *a, struct stat *st);
void fz_req_init(struct omfs_req *r, enum omfs_op op, fuse_req_t req, int with_groups);
/* Path of node n (child `name` if not NULL) and its cluster node; replies the error itself
 * and returns < 0 on failure. */
int fz_path(fuse_req_t req, struct fnode *n, const char *name, char *buf, uint32_t *ret_node);

/* omfs_fuse_io.c: the operations on open files, directories, xattrs, locks */
void fz_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fz_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void fz_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	      struct fuse_file_info *fi);
void fz_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fz_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fz_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void fz_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
		  struct fuse_file_info *fi);
void fz_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			struct fuse_file_info *fi_out, size_t len, int flags);
void fz_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fz_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void fz_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void fz_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fz_statfs(fuse_req_t req, fuse_ino_t ino);
void fz_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		 size_t size, int flags);
void fz_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void fz_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void fz_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);
void fz_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock);
void fz_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock,
	      int sleep);
void fz_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op);
void fz_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi);
/* Replies an entry for (parent, name) with attributes a, taking the lookup reference.
 * xgen: f->xgen read (fz_xgen) before the request that produced a was sent. */
void fz_reply_entry(fuse_req_t req, struct fnode *parent, const char *name, uint32_t node,
		    const struct omfs_attr *a, uint32_t xgen);
/* How long the kernel may keep attributes a, and an entry for them: long where the server
 * reports every change (a->watched); a non-directory with several names not at all (each name
 * is its own node here, and a change through one name shows on that node only). */
double fz_attr_ttl(const struct omfs_fuse *f, const struct omfs_attr *a);
double fz_entry_ttl(const struct omfs_fuse *f, const struct omfs_attr *a);
/* The xattr generation to pass to fz_note_attr, read before sending a request. */
uint32_t fz_xgen(struct omfs_fuse *f);
/* Attributes a of n were just given to the kernel: remember while they live whether the
 * server said n has no extended attributes (getxattr is then answered here). */
void fz_note_attr(struct omfs_fuse *f, struct fnode *n, const struct omfs_attr *a, uint32_t xgen);
