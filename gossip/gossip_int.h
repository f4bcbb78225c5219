/* gossip_int.h - internal structures shared by the gossip core's files (not a public API).
 *
 * Memory layout is chosen for the simulator: 10,000 cores of 10,000 members each are 10^8 member
 * entries, so an entry is 24 bytes and points to an immutable, refcounted record
 * (struct gossip_rec) interned in a pool that every core of a process may share.
 *
 * Files:
 *   gossip.c           lifecycle, dispatch of received packets, timers, self record, accessors
 *   gossip_wire.c      protobuf-c pack/unpack (the only file that sees gossip.pb-c.h)
 *   gossip_pool.c      record interning
 *   gossip_members.c   member table (hash by key), events, id conflicts, record application
 *   gossip_swim.c      probing, indirect probes, suspicion, Lifeguard awareness
 *   gossip_broadcast.c piggyback queue with retransmit limits and byte budgets
 *   gossip_pushpull.c  anti-entropy and join
 */
#pragma once
#include "gossip/gossip.h"

#define GOSSIP_WIRE_VERSION 1
#define GOSSIP_PKT_BUDGET   1200 /* bytes of piggyback in a ping/ack/gossip packet */
#define GOSSIP_LOAD_BUDGET  400	 /* of which at most this for load-only records */
#define GOSSIP_PP_BUDGET    (56 * 1024) /* push/pull packets are split below this */
#define GOSSIP_PP_DIGEST_MAX 2048	    /* digest entries per push/pull page */
#define GOSSIP_PP_RETRIES   2	    /* unanswered periodic exchanges retried per period */
#define GOSSIP_MAX_CONFIRM  8
#define GOSSIP_RELAY_MAX    64
#define GOSSIP_SMALL_CLUSTER 64 /* live members: bytes matter less than delays */

enum gossip_acc_kind { GOSSIP_ACC_SUSPECT = 1, GOSSIP_ACC_DEAD = 2 };

/* A signed node record. Immutable once interned; shared by every member entry (of any core
 * using the same pool) that holds this version. Strings and padding are zeroed so that two
 * identical records compare equal with memcmp. */
struct gossip_rec {
	struct gossip_rec *pool_next;
	uint32_t refs;
	uint16_t wire_len; /* packed NodeRecord size, signature included */
	uint16_t id;
	uint8_t state;	   /* GOSSIP_ALIVE or GOSSIP_LEFT */
	uint8_t has_sig;   /* decoded with a 64-byte signature (always 1 once interned) */
	uint8_t key[GOSSIP_KEY_LEN];
	uint64_t incarnation;
	uint64_t version;
	struct gossip_info info;
	uint8_t sig[GOSSIP_SIG_LEN];
};

struct gossip_acc {
	uint8_t kind;
	uint8_t has_sig;
	uint8_t target[GOSSIP_KEY_LEN];
	uint64_t incarnation;
	uint8_t accuser[GOSSIP_KEY_LEN];
	uint8_t sig[GOSSIP_SIG_LEN];
};

/* Decoded datagram (gossip_wire_decode) or datagram to encode (gossip_wire_encode). */
enum gw_body { GW_NONE, GW_PING, GW_ACK, GW_PING_REQ, GW_NACK, GW_PUSHPULL, GW_GOSSIP };
enum { GW_PP_JOIN = 1, GW_PP_RESPONSE = 2, GW_PP_RECORDS = 4 };

struct gw_digest {
	uint64_t key; /* key prefix, see gossip_key_prefix() */
	uint64_t version;
};

struct gw_update {
	const struct gossip_rec *rec; /* exactly one of rec / acc */
	const struct gossip_acc *acc;
};

struct gw_msg {
	uint8_t sender[GOSSIP_KEY_LEN];
	uint16_t sender_id;
	enum gw_body body;
	uint32_t seq;			/* ping, ack, ping-req, nack */
	uint8_t target[GOSSIP_KEY_LEN]; /* ping, ping-req */
	char reply_addr[GOSSIP_ADDR_MAX]; /* ping */
	bool suspect;			  /* ping: you are suspect at incarnation */
	uint64_t incarnation;
	uint32_t pp_flags, pp_page_bits, pp_page;
	size_t n_digest;
	struct gw_digest *digest;
	size_t n_recs;
	struct gossip_rec *recs;	/* decoded, not interned, not verified */
	const struct gossip_rec **out_recs; /* encode side */
	size_t n_upd;
	struct gw_update *upd;
	/* decode side storage for updates */
	struct gossip_rec *upd_recs;
	struct gossip_acc *upd_accs;
};

/* gossip_wire.c */
/* Decode; on success *ret owns heap arrays released by gossip_wire_msg_release(). -EBADMSG if
 * the bytes do not decode or a field is out of range. */
int gossip_wire_decode(const uint8_t *data, size_t len, struct gw_msg *ret)
	__attribute__((warn_unused_result));
void gossip_wire_msg_release(struct gw_msg *m);
/* Encode into buf (cap bytes). Returns the length or -EMSGSIZE. */
int gossip_wire_encode(const struct gw_msg *m, uint8_t *buf, size_t cap)
	__attribute__((warn_unused_result));
/* Canonical bytes a record's / accusation's signature covers. Returns length or -EMSGSIZE. */
int gossip_wire_rec_signed_bytes(const struct gossip_rec *r, uint8_t *buf, size_t cap)
	__attribute__((warn_unused_result));
int gossip_wire_acc_signed_bytes(const struct gossip_acc *a, uint8_t *buf, size_t cap)
	__attribute__((warn_unused_result));
/* Packed size of a record (with signature). */
size_t gossip_wire_rec_size(const struct gossip_rec *r);
#define GOSSIP_ACC_WIRE_SIZE 150 /* upper bound of a packed accusation in an Update */

/* gossip_pool.c */
struct gossip_pool;
/* Return the pooled record equal to *r (refcount taken), or a new pooled copy. NULL on OOM. */
struct gossip_rec *gossip_pool_intern(struct gossip_pool *p, const struct gossip_rec *r);
void gossip_rec_ref(struct gossip_rec *r);
void gossip_rec_unref(struct gossip_pool *p, struct gossip_rec *r);

/* The 24-byte member entry. Times are ms since g->epoch (rebased before they overflow). */
struct gmember {
	struct gossip_rec *rec;
	uint32_t state_t;
	uint32_t info_t;
	uint32_t bq;	/* broadcast slot + 1, 0 = none */
	uint8_t state;	/* enum gossip_state as this node sees it */
	uint8_t flags;	/* GM_* */
};

/* Its next failed probe is retried before we accuse it: set when the member is learned or comes
 * back from dead/left, and whenever it acks our probe; consumed by a failed probe (gossip_swim.c). */
#define GM_RETRY 0x01

struct gsusp {
	uint8_t key[GOSSIP_KEY_LEN];
	uint64_t incarnation;
	uint64_t start_ms;
	uint32_t n_conf;
	uint64_t accusers[GOSSIP_MAX_CONFIRM]; /* key prefixes of distinct accusers */
};

/* A broadcast slot: the newest thing to say about one member (record or accusation). */
struct gbcast {
	uint8_t key[GOSSIP_KEY_LEN]; /* subject */
	struct gossip_rec *rec;	      /* holds a reference, or NULL */
	struct gossip_acc acc;	      /* valid when rec == NULL */
	uint32_t transmits;
	uint8_t load_only;	      /* low priority: only the load figures changed */
	uint8_t used;
	uint32_t prev, next;	      /* bucket list links (slot + 1, 0 = none) */
	uint32_t bucket;
};

struct grelay { /* an indirect probe we run for someone else */
	uint32_t our_seq, their_seq;
	uint8_t requester[GOSSIP_KEY_LEN];
	uint64_t deadline_ms;
	bool used;
};

#define GOSSIP_BQ_BUCKETS 32

struct gossip {
	struct gossip_config cfg;
	struct gossip_ops ops;
	struct gossip_timing t;
	struct gossip_pool *pool;
	bool own_pool;
	uint64_t rng[4];
	uint64_t epoch;	/* ms origin of the member entries' 32-bit times */
	uint64_t now;

	/* self */
	struct gossip_rec *self;       /* our current published record (also in the table) */
	struct gossip_info want_info;  /* last gossip_set_info */
	bool info_dirty;
	uint64_t info_pub_ms;	       /* when self was last published */
	uint64_t ver_floor, inc_floor; /* our records seen from a previous run */
	bool leaving;
	uint64_t leave_ms;
	uint16_t self_id;
	bool id_provisional;   /* self_id is provisional: settle at id_settle_ms */
	bool id_join_started;  /* id_settle_ms was set by the first gossip_join() */
	uint16_t id_previous;  /* our id in a record of a previous run, 0 = none seen */
	uint64_t id_settle_ms;
	uint64_t id_move_ms;   /* lost an id conflict: move at this time, 0 = no */

	/* members, in probe order */
	struct gmember *m;
	size_t n, cap;
	uint32_t *hash; /* open addressing, member index + 1 */
	size_t hcap;
	size_t n_live;	/* alive + suspect, self included */

	/* probing */
	size_t probe_idx;
	uint64_t next_probe_ms;
	struct {
		bool active;
		uint8_t key[GOSSIP_KEY_LEN];
		uint32_t seq;
		uint64_t sent_ms, timeout_ms, end_ms;
		bool indirect_sent, acked;
		uint32_t expected_nacks, nacks;
	} probe;
	uint32_t awareness;
	bool reprobe; /* probe reprobe_key next: a GM_RETRY probe of it failed */
	uint8_t reprobe_key[GOSSIP_KEY_LEN];
	struct grelay relay[GOSSIP_RELAY_MAX];

	struct gsusp *susp;
	size_t n_susp, cap_susp;

	/* broadcasts */
	struct gbcast *bq;
	size_t bq_cap, bq_used;
	uint32_t bq_free;			/* free list head (slot + 1) */
	uint32_t bq_head[2][GOSSIP_BQ_BUCKETS]; /* [load_only][transmits] */
	size_t bq_count[2];
	uint32_t sel[64]; /* slots chosen for the packet being built (slot + 1) */
	size_t n_sel;
	uint64_t next_gossip_ms;

	/* anti-entropy */
	uint64_t next_pushpull_ms;
	uint32_t pp_page;
	bool pp_waiting;	/* our periodic exchange with pp_wait_key is unanswered so far */
	uint8_t pp_wait_key[GOSSIP_KEY_LEN];
	uint64_t pp_wait_ms;	/* retry with another member at this time */
	uint32_t pp_retries;	/* retries left in this period */
	char **join_addrs;
	size_t n_join;
	bool joined; /* got a join response */
	uint64_t next_join_ms;

	uint64_t next_reclaim_ms;
	uint64_t next_stranger_pp_ms; /* rate limit of push/pull with unknown pingers */
	uint64_t notice_window_ms;    /* death notices sent in the current probe interval */
	uint32_t notices;

	/* gossip_member_at's order by (id, key): rebuilt lazily when members change */
	struct gsort {
		uint64_t prefix;
		uint16_t id;
	} *sorted;
	size_t n_sorted;
	bool sorted_dirty;

	struct gossip_stats stats;
	uint8_t buf[GOSSIP_MSG_MAX];
	uint8_t sigbuf[1024];
};

/* gossip.c */
uint64_t gossip_rand(struct gossip *g);
uint64_t gossip_key_prefix(const uint8_t key[GOSSIP_KEY_LEN]);
/* Encode m with piggybacked broadcasts (if piggyback) and send it. */
void gossip_send_msg(struct gossip *g, const char *addr, const uint8_t *to_key, struct gw_msg *m,
		     bool piggyback);
void gossip_publish_self(struct gossip *g, uint64_t now, bool membership);
void gossip_send_direct(struct gossip *g, const struct gmember *to, const struct gossip_rec *rec,
			const struct gossip_acc *acc);
/* A record from its own origin was older than ours: send ours back (rate-limited). */
void gossip_check_stale_origin(struct gossip *g, uint64_t now, const struct gossip_rec *r,
			       const uint8_t sender[GOSSIP_KEY_LEN]);
void gossip_normalize_info(struct gossip_info *dst, const struct gossip_info *src);

/* gossip_members.c */
struct gmember *gossip_find(const struct gossip *g, const uint8_t key[GOSSIP_KEY_LEN]);
struct gmember *gossip_find_prefix(const struct gossip *g, uint64_t prefix);
/* Take ownership of one reference of rec. Returns the entry or NULL on OOM. */
struct gmember *gossip_member_add(struct gossip *g, struct gossip_rec *rec, uint64_t now);
void gossip_member_set_state(struct gossip *g, struct gmember *e, enum gossip_state s,
			     uint64_t now);
void gossip_member_set_rec(struct gossip *g, struct gmember *e, struct gossip_rec *rec,
			   uint64_t now);
void gossip_members_rebuild_hash(struct gossip *g);
void gossip_members_shuffle(struct gossip *g);
void gossip_members_reclaim(struct gossip *g, uint64_t now);
void gossip_emit(struct gossip *g, enum gossip_event_kind k, const struct gmember *e);
void gossip_fill_member(const struct gossip *g, const struct gmember *e,
			struct gossip_member *ret);
/* A received record (decoded, unverified). Applies it if newer, counts drops; queues it for
 * piggybacking if rebroadcast (not for records pulled by anti-entropy: old news). */
int gossip_on_record(struct gossip *g, uint64_t now, const struct gossip_rec *r, bool rebroadcast);
void gossip_check_id_conflict(struct gossip *g, uint64_t now, const struct gmember *e);
uint16_t gossip_pick_free_id(const struct gossip *g, uint16_t from);
/* Leave the provisional id for the smallest free one (or id_previous) and announce it. */
void gossip_settle_id(struct gossip *g, uint64_t now);
/* Lost an id conflict (check_id_conflict scheduled id_move_ms): move to a free id. */
void gossip_move_id(struct gossip *g, uint64_t now);
/* Pick a random member in state alive/suspect other than self and `not`. */
struct gmember *gossip_random_member(struct gossip *g, const uint8_t *not_key);

/* gossip_swim.c */
void gossip_swim_tick(struct gossip *g, uint64_t now);
void gossip_swim_on_ping(struct gossip *g, uint64_t now, const struct gw_msg *m);
void gossip_swim_on_ack(struct gossip *g, uint64_t now, const struct gw_msg *m);
void gossip_swim_on_nack(struct gossip *g, uint64_t now, const struct gw_msg *m);
void gossip_swim_on_ping_req(struct gossip *g, uint64_t now, const struct gw_msg *m);
int gossip_on_accusation(struct gossip *g, uint64_t now, const struct gossip_acc *a);
void gossip_suspicion_drop(struct gossip *g, const uint8_t key[GOSSIP_KEY_LEN]);
uint64_t gossip_swim_deadline(const struct gossip *g);
void gossip_awareness(struct gossip *g, int delta);
/* A packet came from key: if we hold it dead, tell it (it will refute if it is alive). */
void gossip_swim_heard_from(struct gossip *g, uint64_t now, const uint8_t key[GOSSIP_KEY_LEN]);
/* Partition healing: poke a random dead member with its death notice. */
void gossip_swim_reconnect(struct gossip *g, uint64_t now);
/* Rate limit shared by unsolicited corrections (death notices, stale-origin replies). */
bool gossip_notice_allowed(struct gossip *g, uint64_t now);

/* gossip_broadcast.c */
void gossip_bq_rec(struct gossip *g, struct gossip_rec *rec, bool load_only);
void gossip_bq_acc(struct gossip *g, const struct gossip_acc *a);
/* Choose broadcasts for one packet; returns count written to upd (at most max). */
size_t gossip_bq_select(struct gossip *g, struct gw_update *upd, size_t max, size_t budget);
/* After the packet built from the last selection was sent: count the transmissions. */
void gossip_bq_commit(struct gossip *g);
void gossip_bq_drop_key(struct gossip *g, const uint8_t key[GOSSIP_KEY_LEN]);
void gossip_bq_free_all(struct gossip *g);
uint32_t gossip_retransmit_limit(const struct gossip *g, bool load_only);
void gossip_gossip_tick(struct gossip *g, uint64_t now);
bool gossip_bq_pending_key(const struct gossip *g, const uint8_t key[GOSSIP_KEY_LEN]);

/* gossip_pushpull.c */
void gossip_pp_tick(struct gossip *g, uint64_t now);
void gossip_pp_on_msg(struct gossip *g, uint64_t now, const struct gw_msg *m);
void gossip_pp_send_join(struct gossip *g, uint64_t now);
/* Start an anti-entropy exchange with a given peer (e.g. one that pinged us unknown). */
void gossip_pp_start(struct gossip *g, uint64_t now, const char *addr, const uint8_t *key);
uint64_t gossip_pp_deadline(const struct gossip *g);

static inline uint32_t gossip_t32(const struct gossip *g, uint64_t now)
{
	uint64_t d = now > g->epoch ? now - g->epoch : 0;
	return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}
