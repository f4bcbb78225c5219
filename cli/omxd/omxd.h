/* omxd.h - the daemon's shared state and the functions its files provide one another.
 *
 * omxd is a shell: it wires the pure gossip core (gossip/gossip.h) to the mesh transport
 * (gossip/mesh.h), the node identity and cluster key (crypto/), the load sampler (nodeinfo.c)
 * and the local control socket (ctl.c). One thread, one zmq_poll() loop (main.c).
 *
 *   main.c      options, config file, signals, the loop
 *   state.c     state dir files: node id, stored cluster key
 *   cluster.c   join / leave / rejoin; gossip ops; mesh glue
 *   ctl.c       control socket server (SO_PEERCRED) and request handlers
 *   nodeinfo.c  load and machine facts for struct gossip_info
 *   mfs.c       oMFS: the /mfs FUSE mount, the client transport over the mesh, members
 *   mfs_serve.c oMFS: serving members' requests (sessions, worker pool), control pass-through
 * oMFS adds threads (FUSE workers, a worker pool); they meet the loop only through mfs.c's
 * queues and an eventfd, never through the mesh or the gossip core.
 */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/control.h"
#include "crypto/clusterkey.h"
#include "crypto/identity.h"
#include "gossip/gossip.h"
#include "gossip/mesh.h"

#define OMXD_DEFAULT_PORT     4660
#define OMXD_EP_MAX	      120 /* "host:port", including NUL (fits "tcp://" + it in GOSSIP_ADDR_MAX) */
#define OMXD_CTL_CLIENTS_MAX  16
#define OMXD_JOIN_TIMEOUT_MS  10000
#define OMXD_LEAVE_MAX_MS     2000
#define OMXD_INFO_INTERVAL_MS 1000
#define OMXD_KEY_FILE	      "cluster.key"
#define OMXD_ID_FILE	      "node_id"
#define OMXD_EXPORTS_MAX      16
#define OMXD_MFS_DEFAULT      "/mfs"

struct omxd_opts {
	char state_dir[PATH_MAX];
	char listen[OMXD_EP_MAX];    /* host:port */
	char advertise[OMXD_EP_MAX]; /* host:port, "" = derive */
	uint16_t node_id;	     /* 0 = automatic */
	char name[GOSSIP_NAME_MAX];  /* "" = host name */
	char profile[8];	     /* "lan" | "wan" */
	int nice;		     /* niceness of the loop and ZeroMQ I/O threads; 0 = leave */
	bool accept_guests;
	/* oMFS */
	char exports[OMXD_EXPORTS_MAX][PATH_MAX]; /* exported directories; none = "/" */
	bool export_ro[OMXD_EXPORTS_MAX];
	size_t n_exports;
	bool root_squash;	/* default on */
	char mfs_dir[PATH_MAX]; /* FUSE mount point; "" = no mount (--no-mfs) */
};

struct omxd_mfs;

struct omxd_nodeinfo;

/* A control client waiting for a deferred reply (JOIN, LEAVE). */
struct omxd_waiter {
	int fd; /* -1 = none */
	uint64_t deadline_ms;
};

struct omxd {
	struct omxd_opts opts;
	uint64_t now_ms, start_ms;
	bool stop; /* leave the loop */
	struct omxsec_identity *id;
	char advertise[OMXD_EP_MAX]; /* resolved host:port */
	char addr[GOSSIP_ADDR_MAX];  /* "tcp://" + advertise */
	uint16_t node_id;	     /* last known (persisted) */
	struct omxd_nodeinfo *ni;
	uint64_t next_info_ms;

	/* cluster: key == NULL means idle (no mesh) */
	struct omxsec_clusterkey *key;
	char cluster_id[2 * OMXSEC_CLUSTER_ID_LEN + 1];
	struct gossip_mesh *mesh;
	struct gossip *g;
	bool founder;		  /* our own endpoint is one of the seeds */
	bool trial;		  /* an `omx join` not yet confirmed: persist nothing */
	uint64_t next_join_ms, join_backoff_ms;
	uint64_t next_reseed_ms; /* periodic seed push/pull while joined (partition healing) */
	struct omxd_waiter join;  /* omx join waiting for a first contact */
	bool leaving;		  /* gossip_leave() sent, waiting for leave_done */
	bool leave_forget;	  /* after leaving: delete the stored key (omx leave) */
	uint64_t leave_deadline_ms;
	struct omxd_waiter leave; /* omx leave waiting */

	/* control socket */
	int ctl_fd;
	int ctl_clients[OMXD_CTL_CLIENTS_MAX];
	uint64_t ctl_since_ms[OMXD_CTL_CLIENTS_MAX]; /* accept time: silent clients are dropped */
	uint64_t ctl_rejected, ctl_malformed;
	uint32_t ctl_uid[OMXD_CTL_CLIENTS_MAX]; /* SO_PEERCRED at accept */
	uint32_t ctl_gid[OMXD_CTL_CLIENTS_MAX];

	struct omxd_mfs *mfs; /* oMFS (mfs.c); NULL only before start-up */
};

/* main.c */
uint64_t omxd_now_ms(void);

/* state.c: files in opts.state_dir. */
__attribute__((warn_unused_result)) int omxd_state_prepare(struct omxd *d);
__attribute__((warn_unused_result)) int omxd_state_load_id(struct omxd *d, uint16_t *ret);
__attribute__((warn_unused_result)) int omxd_state_save_id(struct omxd *d, uint16_t id);
/* Caller owns *ret. -ENOENT when no key is stored. */
__attribute__((warn_unused_result)) int omxd_state_load_key(struct omxd *d,
							   struct omxsec_clusterkey **ret);
__attribute__((warn_unused_result)) int omxd_state_save_key(struct omxd *d,
							   const struct omxsec_clusterkey *k);
__attribute__((warn_unused_result)) int omxd_state_forget_key(struct omxd *d);

/* cluster.c */
/* Starts mesh + gossip with k (ownership of *k moves to d on success). */
__attribute__((warn_unused_result)) int omxd_cluster_start(struct omxd *d,
							  struct omxsec_clusterkey **k);
void omxd_cluster_stop(struct omxd *d);
/* The join is confirmed: persist the key and the node id, leave trial mode. */
__attribute__((warn_unused_result)) int omxd_cluster_commit(struct omxd *d);
/* Alive or suspect members other than self. */
size_t omxd_cluster_others(const struct omxd *d);
void omxd_cluster_leave(struct omxd *d, bool forget);
/* Periodic work: timers, join retries, deferred replies. */
void omxd_cluster_tick(struct omxd *d);
uint64_t omxd_cluster_next_deadline(const struct omxd *d);
/* True for "host:port" naming this node (its advertised endpoint, or a local address with our
 * listen port). */
bool omxd_is_self_endpoint(const struct omxd *d, const char *ep);

/* ctl.c */
__attribute__((warn_unused_result)) int omxd_ctl_open(struct omxd *d);
void omxd_ctl_close(struct omxd *d);
/* Number of fds added to items (from index 0). */
int omxd_ctl_pollitems(struct omxd *d, zmq_pollitem_t *items, int max);
void omxd_ctl_dispatch(struct omxd *d, const zmq_pollitem_t *items, int n);
/* Sends a reply on a waiting client and closes it. */
void omxd_ctl_reply(struct omxd *d, struct omxd_waiter *w, int error, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Sends an OMFS reply (err < 0: no payload) on a parked control client and closes it. */
void omxd_ctl_reply_omfs(int fd, int err, const uint8_t *resp, size_t len);

/* mfs.c: the oMFS side of omxd. */
/* Server core on the exports, worker pool, client, eventfd. Fails on a bad export. */
__attribute__((warn_unused_result)) int omxd_mfs_new(struct omxd *d);
/* Unmounts, stops every thread, frees. NULL-safe. */
void omxd_mfs_free(struct omxd *d);
/* The eventfd the loop polls; omxd_mfs_dispatch() when readable. */
int omxd_mfs_fd(const struct omxd *d);
void omxd_mfs_dispatch(struct omxd *d);
/* The mesh and gossip core exist: take the oMFS channel. */
__attribute__((warn_unused_result)) int omxd_mfs_cluster_started(struct omxd *d);
/* Before the mesh goes: unmount, fail calls in flight, close every member's session. */
void omxd_mfs_cluster_stopping(struct omxd *d);
void omxd_mfs_member_event(struct omxd *d, enum gossip_event_kind kind,
			   const struct gossip_member *m);
/* Mount once joined, expire calls. */
void omxd_mfs_tick(struct omxd *d);
uint64_t omxd_mfs_next_deadline(const struct omxd *d);
void omxd_mfs_counters(const struct omxd *d, struct control_status *s);
/* CONTROL_OP_OMFS from a control client (credentials from SO_PEERCRED). Returns true when fd
 * was kept (answered later), false when already answered (the caller closes fd). */
bool omxd_mfs_ctl(struct omxd *d, int fd, const struct control_request *req, uint32_t uid,
		  uint32_t gid);

/* nodeinfo.c */
__attribute__((warn_unused_result)) int omxd_nodeinfo_new(const char *name, const char *addr,
							 bool accept_guests,
							 struct omxd_nodeinfo **ret);
void omxd_nodeinfo_free(struct omxd_nodeinfo **ni);
/* Takes a new sample (call about once a second). */
void omxd_nodeinfo_sample(struct omxd_nodeinfo *ni, uint64_t now_ms);
const struct gossip_info *omxd_nodeinfo_get(const struct omxd_nodeinfo *ni);
