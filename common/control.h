/* control.h - the local control protocol between `omx` and `omxd`.
 *
 * Transport: a unix SOCK_SEQPACKET socket, STATE_DIR/omxd.sock; one request packet, one reply
 * packet, then the daemon may close. Messages are proto/control.proto, packed and unpacked only
 * in common/control_wire.c; everything else sees the C structs below. The daemon admits only
 * root and its own uid (SO_PEERCRED). A request that does not decode gets an error reply.
 *
 * OMFS carries one encoded oMFS request to a node and its encoded response back; omxd forwards it
 * over the mesh or serves it itself. The daemon sets the request's credentials: a non-root
 * caller's come from SO_PEERCRED/SO_PEERGROUPS, never from the message.
 *
 * NODES is paged (offset, up to CONTROL_NODES_PER_REPLY per reply) so a reply stays well under
 * CONTROL_MSG_MAX whatever the cluster size.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONTROL_VERSION		1
#define CONTROL_MSG_MAX		(128 * 1024)
#define CONTROL_NODES_PER_REPLY 128
#define CONTROL_SOCKET_NAME	"omxd.sock"
#define CONTROL_KEY_MAX		4096
#define CONTROL_TEXT_MAX	256
#define CONTROL_NAME_MAX	64
#define CONTROL_ADDR_MAX	128
#define CONTROL_KERNEL_MAX	65
#define CONTROL_COUNTERS_MAX	256
#define CONTROL_COUNTER_NAME_MAX 32
#define CONTROL_OMFS_MAX	(120 * 1024) /* encoded oMFS request or response (OMFS) */
#define CONTROL_GROUPS_MAX	64

enum control_op {
	CONTROL_OP_JOIN = 1,
	CONTROL_OP_LEAVE = 2,
	CONTROL_OP_NODES = 3,
	CONTROL_OP_STATUS = 4,
	CONTROL_OP_OMFS = 5, /* oMFS pass-through: omx ls/cat/cp/... without a FUSE mount */
};

struct control_request {
	enum control_op op;
	char cluster_key[CONTROL_KEY_MAX]; /* JOIN; secret material: wipe after use */
	uint32_t timeout_ms;		    /* JOIN */
	uint32_t offset;		    /* NODES */
	/* OMFS: target node, the caller's credentials (trusted from root callers only), request */
	uint32_t node;
	uint32_t uid, gid, ngroups;
	uint32_t groups[CONTROL_GROUPS_MAX];
	size_t omfs_len;
	uint8_t omfs[CONTROL_OMFS_MAX];
};

struct control_node {
	uint16_t id;
	uint8_t pubkey[32];
	uint32_t state; /* enum gossip_state */
	char name[CONTROL_NAME_MAX];
	char addr[CONTROL_ADDR_MAX];
	uint32_t cpus, cpu_quota_milli, speed_mhz, load_milli, cpu_usage_milli;
	uint64_t mem_total_kb, mem_free_kb;
	uint32_t guests;
	bool accept_guests;
	char kernel[CONTROL_KERNEL_MAX];
	uint64_t age_ms;
	bool is_self;
	uint64_t incarnation, version, cpu_features;
	uint32_t xsave_size;
};

struct control_counter {
	char name[CONTROL_COUNTER_NAME_MAX];
	uint64_t value;
};

struct control_status {
	uint16_t node_id;
	char name[CONTROL_NAME_MAX];
	char addr[CONTROL_ADDR_MAX];
	char state[16];
	char cluster_id[17];
	uint32_t members, alive;
	uint64_t uptime_ms;
	uint8_t pubkey[32];
	size_t n_counters;
	struct control_counter counters[CONTROL_COUNTERS_MAX];
};

struct control_reply {
	int error; /* 0 or negative errno */
	char message[CONTROL_TEXT_MAX];
	size_t n_nodes; /* NODES */
	struct control_node nodes[CONTROL_NODES_PER_REPLY];
	uint32_t total;
	bool has_status; /* STATUS */
	struct control_status status;
	size_t omfs_len; /* OMFS: the encoded response */
	uint8_t omfs[CONTROL_OMFS_MAX];
};

/* Pack into buf; returns the length or -EMSGSIZE if cap is too small. */
__attribute__((warn_unused_result)) int control_request_pack(const struct control_request *req,
							    uint8_t *buf, size_t cap);
__attribute__((warn_unused_result)) int control_reply_pack(const struct control_reply *rep,
							  uint8_t *buf, size_t cap);

/* Decode into *ret (caller-allocated; partly written on failure). -EBADMSG when the
 * bytes do not decode, -EPROTONOSUPPORT for another protocol version, -EINVAL for a field out
 * of range (unknown op, strings too long). Never crashes on any input (fuzz_control.c). */
__attribute__((warn_unused_result)) int control_request_unpack(const uint8_t *buf, size_t len,
							      struct control_request *ret);
__attribute__((warn_unused_result)) int control_reply_unpack(const uint8_t *buf, size_t len,
							    struct control_reply *ret);

/* Appends a counter to a status (past CONTROL_COUNTERS_MAX: dropped, with one warning logged). */
void control_status_add_counter(struct control_status *st, const char *name, uint64_t value);

/* Client side: connect to DIR/omxd.sock, send req, wait up to timeout_ms for the reply.
 * -ENOENT/-ECONNREFUSED when no daemon listens, -ETIMEDOUT, or a decode error. */
__attribute__((warn_unused_result)) int control_call(const char *state_dir,
						    const struct control_request *req,
						    uint32_t timeout_ms, struct control_reply *ret);
