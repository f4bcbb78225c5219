/* mfs_int.h - what mfs.c and mfs_serve.c share: the oMFS state of omxd.
 *
 * Threads. The loop thread owns `d` (gossip core, mesh, control clients) and the session table.
 * Worker threads (the pool, mfs_serve.c) and FUSE threads touch only: the server core and the
 * calls table (both thread-safe), the job queue, the result queue (+ the eventfd that wakes the
 * loop), the members snapshot and the atomics below, each under its own lock.
 */
#pragma once
#include <pthread.h>
#include <stdatomic.h>

#include "cli/omxd/omxd.h"
#include "omfs/omfs_calls.h"
#include "omfs/omfs_client.h"
#include "omfs/omfs_fuse.h"
#include "omfs/omfs_server.h"
#include "omfs/omfs_watch.h"

#define MFS_POOL_MIN 4
#define MFS_POOL_MAX 64
/* Sessions of this node's own callers (no real node has id 0, so these never clash with a
 * member's (node id << 32 | epoch)). */
#define MFS_SESSION_FUSE ((uint64_t)1)
#define MFS_SESSION_CTL	 ((uint64_t)2)
/* The origin of changes the file-system watch saw (nobody's request: everybody hears). */
#define MFS_SESSION_WATCH ((uint64_t)0)
/* How long after its last request a client still caches what it got (the notifications'
 * audience). */
#define MFS_TTL_MS ((uint64_t)OMFS_WATCHED_TTL_S * 1000u)

enum mfs_job_kind {
	MFS_JOB_SERVE,	       /* a member's request: reply to it over the mesh */
	MFS_JOB_CTL_LOCAL,     /* a control client's request for this node */
	MFS_JOB_CLOSE_SESSION, /* a member went away */
	MFS_JOB_NODE_GONE,     /* drop /mfs/<node> from the kernel's cache */
	MFS_JOB_INVAL,	       /* node reported changes (chg): drop them from the kernel's cache */
};

struct mfs_job {
	struct mfs_job *next;
	enum mfs_job_kind kind;
	uint64_t session;
	uint64_t xid;
	uint32_t node;
	int fd;
	char addr[GOSSIP_ADDR_MAX];
	struct omfs_frame frame; /* SERVE: owns the request payload */
	uint8_t *data;		 /* CTL_LOCAL: encoded request (owned) */
	size_t len;
	struct omfs_notify chg;	 /* INVAL (owned) */
};

enum mfs_result_kind { MFS_RES_PEER, MFS_RES_CTL, MFS_RES_NOTIFY };

struct mfs_result {
	struct mfs_result *next;
	enum mfs_result_kind kind;
	char addr[GOSSIP_ADDR_MAX]; /* PEER: where the encoded frame goes */
	int fd;			    /* CTL: the parked control client */
	int err;
	uint8_t *data; /* owned */
	size_t len;
	/* what the request changed (owned), told to the clients that may cache it after the
	 * reply went out: everyone recent but `origin`, and origin too when to_origin */
	struct omfs_notify chg;
	uint64_t origin;
	bool to_origin;
};

struct mfs_session {
	uint8_t curve[GOSSIP_MESH_KEY_LEN]; /* the member's transport key */
	uint32_t node;
	uint64_t id; /* node << 32 | epoch, chosen here */
	uint64_t last_ms; /* its last request (omxd_now_ms) */
};

struct omxd_mfs {
	struct omxd *d; /* loop thread only */
	struct omfs_server *srv;
	struct omfs_calls *calls;
	struct omfs_client *client;
	int efd;
	atomic_uint self;

	/* worker pool */
	pthread_mutex_t jlock;
	pthread_cond_t jcond;
	struct mfs_job *jhead, *jtail;
	bool jstop;
	size_t nthreads, nidle;
	pthread_t threads[MFS_POOL_MAX];

	/* results for the loop */
	pthread_mutex_t rlock;
	struct mfs_result *rhead, *rtail;

	/* live member ids for the FUSE root (self included) */
	pthread_mutex_t mlock;
	uint32_t *live;
	size_t nlive, live_cap;

	/* sessions of members (loop thread only) */
	struct mfs_session *sess;
	size_t nsess, sess_cap;
	uint32_t epoch;

	/* FUSE threads inside a local lock wait (poked with SIGUSR2 at unmount) */
	pthread_mutex_t blk_lock;
	pthread_t blockers[MFS_POOL_MAX];
	size_t nblockers;
	atomic_bool unmounting;

	/* FUSE */
	pthread_mutex_t flock; /* guards fuse against NODE_GONE jobs */
	struct omfs_fuse *fuse;
	pthread_t fuse_thread;
	bool mount_failed;

	/* change notifications (mfs_notify.c): until when someone may cache what we served
	 * (omxd_now_ms), a remote client and this node's own /mfs respectively */
	atomic_ullong remote_until_ms, fuse_until_ms;
	struct omfs_watch *watch; /* NULL: no file-system watch */
	pthread_t watch_thread;
	int watch_stop; /* eventfd */
	bool watch_running;

	/* counters (loop thread, except the atomic one) */
	uint64_t rx_requests, tx_replies, refused_nonmember, oversize, bad_frames;
	uint64_t tx_notifies, rx_notifies;
	uint64_t late_replies, ctl_requests, ctl_refused;
	atomic_ulong malformed;
	bool logged_nonmember, logged_oversize, logged_bad_frame;
	atomic_bool logged_malformed;
};

/* mfs.c */
void mfs_wake(struct omxd_mfs *m);
/* Queues a result for the loop (takes r) and wakes it. */
void mfs_push_result(struct omxd_mfs *m, struct mfs_result *r);
/* Sends one frame over the mesh to addr; -ENOTCONN when not in a cluster or dropped. */
int mfs_send_frame(struct omxd_mfs *m, const char *addr, enum omfs_frame_kind kind, uint64_t xid,
		   int err, const uint8_t *payload, size_t len);
/* The address of a live member, or -EHOSTUNREACH (unknown) / -ENOTCONN (dead, left, no
 * cluster). */
int mfs_member_addr(struct omxd_mfs *m, uint32_t node, char addr[GOSSIP_ADDR_MAX]);
/* Drops the kernel's /mfs/<node> entry, if mounted (worker thread: may block on the kernel). */
void mfs_fuse_node_gone(struct omxd_mfs *m, uint32_t node);

/* Worker side of MFS_JOB_INVAL. */
void mfs_fuse_notify(struct omxd_mfs *m, uint32_t node, const struct omfs_notify *chg);

/* mfs_notify.c */
/* Any thread: this node's /mfs was served a request (it may cache the reply). */
void mfs_note_local_fuse(struct omxd_mfs *m);
/* Any thread: changes seen outside a member's request (this node's /mfs, a control client, the
 * watch) go to the loop, which tells whoever may cache them; takes *chg (clears it). */
void mfs_push_changes(struct omxd_mfs *m, struct omfs_notify *chg, uint64_t origin);
/* Loop thread: tells every member session active within MFS_TTL_MS (not origin, unless
 * to_origin) and this node's /mfs (unless origin is it) of *chg; takes *chg. */
void mfs_fan_out(struct omxd_mfs *m, struct omfs_notify *chg, uint64_t origin, bool to_origin);
/* Loop thread: session s asked something (its last_ms, the audience's bound). */
void mfs_session_active(struct omxd_mfs *m, struct mfs_session *s);
/* Loop thread: a reply to session `id` goes out now (what it caches lives from now on). */
void mfs_session_replied(struct omxd_mfs *m, uint64_t id);
/* Loop thread: a notify frame from member `node`. */
void mfs_on_notify(struct omxd_mfs *m, uint32_t node, const struct omfs_frame *f);
/* The file-system watch for the server config (may leave m->watch NULL) and its thread. */
void mfs_watch_open(struct omxd_mfs *m, const struct omfs_export *ex, size_t n);
__attribute__((warn_unused_result)) int mfs_watch_start(struct omxd_mfs *m);
void mfs_watch_stop(struct omxd_mfs *m);

/* mfs_serve.c */
/* Decodes, executes (adding the changes to *chg), encodes; *ret_notify_sender: the request
 * asked for its own changes to be reported back. Counts undecodable requests. */
int mfs_serve_bytes(struct omxd_mfs *m, uint64_t session, const uint8_t *buf, size_t len,
		    uint8_t **ret, size_t *ret_len, struct omfs_notify *chg,
		    bool *ret_notify_sender);
__attribute__((warn_unused_result)) int mfs_pool_start(struct omxd_mfs *m);
void mfs_pool_stop(struct omxd_mfs *m);
/* Queues a job (takes j); grows the pool when every worker is busy. */
void mfs_push_job(struct omxd_mfs *m, struct mfs_job *j);
/* The CH_OMFS handler (ctx = struct omxd_mfs). */
void mfs_on_frame(void *ctx, const uint8_t *peer, const uint8_t *data, size_t len);
/* Drops the sessions of node (all when node == 0) and closes their handles. */
void mfs_sessions_drop(struct omxd_mfs *m, uint32_t node);
/* Loop thread: member mb got a new id (it settled on a smaller one): its session follows. */
void mfs_sessions_renumber(struct omxd_mfs *m, const struct gossip_member *mb);
