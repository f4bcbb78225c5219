/* gossip.h - the pure SWIM + Lifeguard + scuttlebutt protocol core of the omx mesh.
 *
 * This is the contract between the protocol core (gossip/gossip*.c), the daemon that wires it to
 * ZeroMQ (cli/omxd/), and the discrete-event simulator (bench/gossip_sim.c). The core owns no
 * socket, no clock and no randomness: time is passed in (milliseconds, any monotonic origin),
 * randomness comes from the seed in the config, bytes go out through ops->send and arrive through
 * gossip_handle(). Signing and the transport identity check are injected too (ops), so the
 * simulator can run 10,000 nodes with cheap fake signatures while the daemon uses Ed25519.
 *
 * Model
 *   - A node is identified by its Ed25519 public key; its short numeric id (1..65535) is a
 *     human-friendly alias chosen automatically, unique across the cluster. A node started with
 *     config.self_id == 0 (no persisted id, no --node-id) holds a provisional id in
 *     GOSSIP_PROVISIONAL_ID_MIN..65535 until it knows the membership (a short while after the
 *     first answer to its join, or at its first tick if it is not joining anyone, or when no
 *     seed answered for GOSSIP_JOIN_SETTLE_TRIES join attempts), then settles on the smallest id
 *     no member it knows uses (its own id of a previous run if that record comes back) and
 *     raises GOSSIP_EV_SELF_ID so the daemon persists it; gossip_self_id_settled() tells which.
 *     When two keys claim the same id, the one with the smaller public key (memcmp) keeps it
 *     and the other moves to the next id free in its view (GOSSIP_EV_SELF_ID again). An id
 *     fixed by the operator (config.fixed_id) is never changed; a conflict on it is logged by
 *     the daemon through GOSSIP_EV_ID_CONFLICT.
 *   - Each node's self-description (struct gossip_info) travels as a record signed by its origin
 *     with a version that only the origin increases; a record with a version not newer than the
 *     one held is dropped (and counted as a replay), so a member cannot speak for another or
 *     replay old state.
 *   - Membership: SWIM probing with Lifeguard (indirect probes through k members, suspicion with
 *     confirmations shortening the timeout, local health multiplier), piggybacked broadcasts,
 *     and periodic push/pull anti-entropy (digest of versions, then the missing records).
 *
 * Ownership: gossip_new() returns an object the caller owns and frees with gossip_free(). Buffers
 * passed to ops->send are owned by the core and valid only during the call.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GOSSIP_KEY_LEN	 32 /* Ed25519 public key */
#define GOSSIP_SIG_LEN	 64 /* Ed25519 signature */
#define GOSSIP_NAME_MAX	 64 /* including NUL */
#define GOSSIP_ADDR_MAX	 128 /* "tcp://host:port", including NUL */
#define GOSSIP_KERNEL_MAX 65 /* uname release, including NUL */
#define GOSSIP_FP_LEN	 16 /* vDSO / kernel build fingerprint */
#define GOSSIP_MSG_MAX	 (64 * 1024) /* larger packets are dropped and counted as oversized */
#define GOSSIP_PROVISIONAL_ID_MIN 61440 /* provisional ids: 61440..65535, from the key */
#define GOSSIP_JOIN_SETTLE_TRIES  4	/* unanswered join attempts before settling alone */

enum gossip_state {
	GOSSIP_ALIVE = 0,
	GOSSIP_SUSPECT = 1,
	GOSSIP_DEAD = 2,
	GOSSIP_LEFT = 3,
};

/* "alive", "suspect", "dead", "left" (the words `omx nodes --json` prints). */
const char *gossip_state_name(enum gossip_state s);

/* What a node says about itself. Filled by the daemon (cli/omxd/nodeinfo.c) from /proc and
 * cgroups; gossiped as the payload of the node's signed record. */
struct gossip_info {
	char name[GOSSIP_NAME_MAX];   /* host name or --name */
	char addr[GOSSIP_ADDR_MAX];   /* advertised mesh endpoint, "tcp://10.0.0.1:4660" */
	uint32_t cpus;		      /* online CPUs */
	uint32_t cpu_quota_milli;     /* cgroup CPU quota in milli-CPUs, 0 = unlimited */
	uint32_t speed_mhz;	      /* nominal CPU speed */
	uint32_t load_milli;	      /* smoothed run queue (or cgroup usage) x 1000 */
	uint32_t cpu_usage_milli;     /* recent CPU use in milli-CPUs (cgroup-aware) */
	uint64_t mem_total_kb;
	uint64_t mem_free_kb;	      /* MemAvailable */
	uint32_t guests;	      /* migrated-in processes running here */
	bool accept_guests;	      /* policy: may others send processes here */
	char kernel[GOSSIP_KERNEL_MAX]; /* uname -r */
	uint8_t vdso_fp[GOSSIP_FP_LEN]; /* hash of the live vDSO image: same build, same layout */
	uint64_t cpu_features;	      /* xsave feature mask (XCR0) */
	uint32_t xsave_size;	      /* bytes of the xsave area */
};

/* A node as this node sees it. */
struct gossip_member {
	uint16_t id;
	uint8_t pubkey[GOSSIP_KEY_LEN];
	enum gossip_state state;
	uint64_t incarnation;	/* SWIM incarnation, bumped by the node to refute suspicion */
	uint64_t version;	/* origin's record version */
	struct gossip_info info;
	uint64_t info_ms;	/* local time (ms) at which this version was first learned */
	uint64_t state_ms;	/* local time (ms) of the last state change */
	bool is_self;
};

/* Timing profile. Fill with gossip_timing_lan() or gossip_timing_wan() and adjust. */
struct gossip_timing {
	uint32_t probe_interval_ms;	/* SWIM protocol period */
	uint32_t probe_timeout_ms;	/* wait for a direct ack before indirect probing */
	uint32_t indirect_checks;	/* k members asked to probe indirectly */
	uint32_t suspicion_mult;	/* suspicion timeout = mult * log10(n) * probe_interval */
	uint32_t suspicion_max_mult;	/* upper bound multiplier (Lifeguard) */
	uint32_t gossip_interval_ms;	/* piggyback broadcast period */
	uint32_t gossip_fanout;		/* members per gossip round */
	uint32_t retransmit_mult;	/* broadcasts are sent mult * log10(n+1) times */
	uint32_t pushpull_interval_ms;	/* anti-entropy period */
	uint32_t info_min_interval_ms;	/* fastest rate a node republishes changed load */
	uint32_t info_max_interval_ms;	/* republish at least this often even if unchanged */
	uint32_t dead_reclaim_ms;	/* forget dead/left members after this long */
	uint32_t awareness_max;		/* Lifeguard local health multiplier ceiling; <= 1 turns
					 * local health awareness off (also the missing-nack rule) */
};

void gossip_timing_lan(struct gossip_timing *ret);
void gossip_timing_wan(struct gossip_timing *ret);
/* "lan" | "wan" -> 0, else -EINVAL */
int gossip_timing_by_name(const char *name, struct gossip_timing *ret);

/* Counters shown by `omx status`. Every dropped input is counted under one reason. */
struct gossip_stats {
	uint64_t rx_msgs, rx_bytes, tx_msgs, tx_bytes;
	uint64_t drop_oversize;	 /* > GOSSIP_MSG_MAX */
	uint64_t drop_malformed; /* does not decode, or wrong version / fields out of range */
	uint64_t drop_unsigned;	 /* record without signature */
	uint64_t drop_badsig;	 /* signature does not verify */
	uint64_t drop_replay;	 /* record version not newer than the one held */
	uint64_t drop_impostor;	 /* transport identity does not match the claimed sender */
	uint64_t probes, probe_failures, suspicions, false_suspicions_refuted, deaths;
	uint64_t pushpulls;
	uint64_t reprobes; /* failed probes retried at once instead of accusing (GM_RETRY) */
	uint64_t accusations_held; /* failed probes without most nacks: our fault, not accused */
	uint64_t pushpull_retries; /* periodic exchanges unanswered, retried with another member */
	/* where the sent bytes went (tx_bytes split by packet kind, and the piggybacked part of
	 * them by what it carried); the simulator prints it */
	uint64_t tx_probe_bytes;    /* ping, ack, ping-req, nack packets */
	uint64_t tx_gossip_bytes;   /* gossip rounds and direct records/notices */
	uint64_t tx_pushpull_bytes; /* anti-entropy and join */
	uint64_t pb_member_bytes, pb_load_bytes, pb_acc_bytes; /* piggyback: records, accusations */
};

enum gossip_event_kind {
	GOSSIP_EV_JOIN,	       /* a member appeared */
	GOSSIP_EV_UPDATE,      /* a member's info changed */
	GOSSIP_EV_STATE,       /* a member's state changed (alive/suspect/dead/left) */
	GOSSIP_EV_FORGET,      /* a dead/left member was reclaimed */
	GOSSIP_EV_SELF_ID,     /* our own id was settled or changed (conflict): persist it */
	GOSSIP_EV_ID_CONFLICT, /* our fixed id is claimed by a smaller key: operator must act */
};

struct gossip_ops {
	void *ctx;
	/* Send one datagram. to_key is NULL when only the address is known (bootstrap). Delivery
	 * is best effort; the core never waits for the result. */
	void (*send)(void *ctx, const char *addr, const uint8_t *to_key, const uint8_t *data,
		     size_t len);
	/* Sign len bytes with the local node's secret key. */
	void (*sign)(void *ctx, const uint8_t *data, size_t len, uint8_t sig[GOSSIP_SIG_LEN]);
	/* 0 if sig is pubkey's signature over data, negative otherwise. */
	int (*verify)(void *ctx, const uint8_t pubkey[GOSSIP_KEY_LEN], const uint8_t *data,
		      size_t len, const uint8_t sig[GOSSIP_SIG_LEN]);
	/* 0 if the transport identity of the packet (CURVE public key) belongs to pubkey. May be
	 * NULL: then every packet is accepted (simulator only). */
	int (*peer_check)(void *ctx, const uint8_t pubkey[GOSSIP_KEY_LEN], const uint8_t *peer,
			  size_t peer_len);
	/* Optional notification; m points into core memory, valid during the call only. */
	void (*event)(void *ctx, enum gossip_event_kind kind, const struct gossip_member *m);
};

/* Record pool: identical signed records (same origin, version and bytes) are stored once and
 * shared by every core using the pool, which is what lets the simulator hold 10,000 cores of
 * 10,000 members. Single-threaded: cores sharing a pool must run on one thread. Optional: with
 * cfg.pool == NULL a core makes its own. Caller owns return value (gossip_pool_free), and frees
 * every core using the pool first. */
struct gossip_pool;
struct gossip_pool *gossip_pool_new(void);
void gossip_pool_free(struct gossip_pool **p);

struct gossip_config {
	uint8_t self_key[GOSSIP_KEY_LEN]; /* our Ed25519 public key */
	uint16_t self_id;		   /* persisted or wanted id; 0 = none: pick the smallest
					    * free one once the membership is known */
	bool fixed_id;			   /* --node-id: never change it */
	struct gossip_timing timing;
	uint64_t seed;			   /* randomness */
	struct gossip_ops ops;
	struct gossip_pool *pool;	   /* optional shared record pool, NULL = private */
};

struct gossip;

/* Caller owns return value (gossip_free). NULL on allocation failure. */
struct gossip *gossip_new(const struct gossip_config *cfg, const struct gossip_info *self,
			  uint64_t now_ms);
void gossip_free(struct gossip **g);

/* Contact bootstrap endpoints (push/pull). Idempotent; called again on each retry. */
void gossip_join(struct gossip *g, uint64_t now_ms, const char *const *addrs, size_t n);

/* Feed one received packet. peer is the transport identity (CURVE public key, 32 bytes).
 * Returns 0, or a negative errno for a dropped packet (already counted in stats). Never blocks. */
int gossip_handle(struct gossip *g, uint64_t now_ms, const uint8_t *data, size_t len,
		  const uint8_t *peer, size_t peer_len);

/* Advance timers; call at least every gossip_next_deadline() ms. */
void gossip_tick(struct gossip *g, uint64_t now_ms);
/* Absolute time (ms) at which gossip_tick() next has work to do. */
uint64_t gossip_next_deadline(const struct gossip *g);

/* Replace our own info; the core decides when a new record version is published (significant
 * change, rate-limited by info_min/max_interval). */
void gossip_set_info(struct gossip *g, uint64_t now_ms, const struct gossip_info *info);

/* Announce a graceful leave (state LEFT, broadcast). Afterwards gossip_left_acked() tells when
 * enough members have heard it (or the caller just gives it a short grace period). */
void gossip_leave(struct gossip *g, uint64_t now_ms);
bool gossip_leave_done(const struct gossip *g, uint64_t now_ms);

uint16_t gossip_self_id(const struct gossip *g);
/* False while the id is provisional (config.self_id was 0 and the membership is not known yet):
 * do not persist or announce gossip_self_id() until it is true; GOSSIP_EV_SELF_ID is raised
 * when it becomes true. */
bool gossip_self_id_settled(const struct gossip *g);
size_t gossip_member_count(const struct gossip *g); /* including self and dead/left */
/* i-th member (stable order by id) into *ret; -ENOENT past the end. */
int gossip_member_at(const struct gossip *g, size_t i, struct gossip_member *ret);
/* By node id; -ENOENT if unknown. */
int gossip_member_by_id(const struct gossip *g, uint16_t id, struct gossip_member *ret);
const struct gossip_stats *gossip_get_stats(const struct gossip *g);

/* Simulator/test helper: learn `other`'s current self record as if it had arrived by push/pull
 * (no packet, no signature check: both cores live in this process). Lets a simulator start
 * 10,000 converged nodes without 10^8 record decodes. Returns 0 or -ENOMEM. */
int gossip_learn_from(struct gossip *g, uint64_t now_ms, const struct gossip *other)
	__attribute__((warn_unused_result));
/* The self record's version and incarnation (tests, simulator). */
uint64_t gossip_self_version(const struct gossip *g);
uint64_t gossip_self_incarnation(const struct gossip *g);
/* Members in state alive or suspect, self included. */
size_t gossip_live_count(const struct gossip *g);
