/* mesh.h - the omx mesh: CURVE-encrypted, authenticated best-effort datagrams between omxd's.
 *
 * One ROUTER per daemon (CURVE server, bound on --listen) receives; one persistent DEALER per
 * destination address (CURVE client) sends. Every frame carries a channel byte so the gossip
 * core, the deputies and oMFS share one listener and one connection per peer. The mesh is pure
 * transport: no protocol logic, no retries beyond a short wait for a connection being set up.
 *
 * Security
 *   - Every member binds its ROUTER with the cluster CURVE server key pair (derived from the
 *     cluster secret) and connects with the matching public key: without the secret a client
 *     cannot complete the handshake.
 *   - The mesh runs its own ZAP handler (RFC 27) on its own ZeroMQ context, bound before the
 *     ROUTER: libzmq 4.3.4 accepts any client key when no handler is bound. The handler rejects
 *     keys on the local deny list and sets the connection's User-Id to the client's public key,
 *     which every received datagram reports as `peer` (the sender's transport identity).
 *   - Frames of the wrong shape (frame count, channel byte, size) are dropped and counted.
 *
 * Use: gossip_mesh_new(); gossip_mesh_set_handler() per channel; put the items from
 * gossip_mesh_pollitems() (and, optionally, gossip_mesh_pollitems_out()) in the caller's
 * zmq_poll() set, then call gossip_mesh_dispatch() (gossip_mesh_dispatch_out()) with them; call
 * gossip_mesh_tick() at least by gossip_mesh_next_deadline().
 *
 * Ownership: gossip_mesh_new() returns an object the caller owns (gossip_mesh_free). Data passed
 * to a handler is owned by the mesh and valid only during the call. Not thread-safe: one thread
 * drives a mesh.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define GOSSIP_MESH_KEY_LEN   32
#define GOSSIP_MESH_POLLITEMS 3
#define GOSSIP_MESH_FRAME_MAX (4 * 1024 * 1024) /* larger frames are dropped (drop_shape) */

/* Channel byte at the head of every datagram. */
enum gossip_mesh_channel {
	GOSSIP_MESH_CH_GOSSIP = 1,
	GOSSIP_MESH_CH_DEPUTY = 2,
	GOSSIP_MESH_CH_OMFS = 3,
	GOSSIP_MESH_CH_MIGRATE = 4,
	GOSSIP_MESH_CH_MAX = 16, /* channels are 1 .. GOSSIP_MESH_CH_MAX - 1 */
};

struct gossip_mesh_config {
	const char *listen;			       /* "tcp://0.0.0.0:4660" */
	uint8_t server_pk[GOSSIP_MESH_KEY_LEN];	       /* cluster CURVE server key pair */
	uint8_t server_sk[GOSSIP_MESH_KEY_LEN];
	uint8_t client_pk[GOSSIP_MESH_KEY_LEN];	       /* this node's CURVE key pair */
	uint8_t client_sk[GOSSIP_MESH_KEY_LEN];
	uint32_t sndhwm;	 /* messages queued per peer; 0 = default (64) */
	uint32_t idle_close_ms;	 /* close a DEALER without a successful send for this long; 0 = 30 s */
	uint32_t pending_ms;	 /* hold a datagram this long while a connection is set up; 0 = 1 s */
};

struct gossip_mesh_stats {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	uint64_t tx_dropped;	/* not connected / queue full past pending_ms */
	uint64_t drop_shape;	/* wrong frame count, channel, size */
	uint64_t drop_nochan;	/* channel without a handler */
	uint64_t drop_noid;	/* no CURVE User-Id (cannot happen with our ZAP handler) */
	uint64_t zap_accepted, zap_denied, zap_malformed;
	uint64_t handshake_failed; /* incoming CURVE handshakes that failed (wrong cluster key,
				    * denied key, garbage), from the ROUTER's socket monitor */
	uint64_t peers_opened, peers_closed;
};

/* peer: the sender's CURVE public key (GOSSIP_MESH_KEY_LEN bytes). */
typedef void (*gossip_mesh_recv_fn)(void *ctx, const uint8_t *peer, const uint8_t *data,
				    size_t len);

struct gossip_mesh;

/* Creates the context, the ZAP handler, then binds the ROUTER. The secret keys are copied into
 * sodium_malloc() memory. Caller owns *ret. Negative errno on failure (-EADDRINUSE, ...). */
__attribute__((warn_unused_result)) int gossip_mesh_new(const struct gossip_mesh_config *cfg,
						       struct gossip_mesh **ret);
/* Closes every socket (LINGER 0) and the context, wipes keys, sets *m to NULL. NULL-safe. */
void gossip_mesh_free(struct gossip_mesh **m);

/* Routes datagrams of channel ch to fn (NULL to stop). -EINVAL for a bad channel. */
__attribute__((warn_unused_result)) int gossip_mesh_set_handler(struct gossip_mesh *m, uint8_t ch,
							       gossip_mesh_recv_fn fn, void *ctx);

/* Sends one datagram to addr ("tcp://host:port") on channel ch. Never blocks. 0 when sent or
 * held for a connection being set up; -EAGAIN when dropped (counted); -EMSGSIZE, -EINVAL. */
__attribute__((warn_unused_result)) int gossip_mesh_send(struct gossip_mesh *m, uint64_t now_ms,
							const char *addr, uint8_t ch,
							const uint8_t *data, size_t len);

/* Opens (or keeps) the connection to addr ahead of the first send. */
__attribute__((warn_unused_result)) int gossip_mesh_connect(struct gossip_mesh *m, uint64_t now_ms,
							   const char *addr);

/* Adds a CURVE client key to the deny list: its future handshakes fail. Existing connections
 * stay until they break (ZAP runs only at handshake). -ENOMEM. */
__attribute__((warn_unused_result)) int gossip_mesh_deny(struct gossip_mesh *m,
							const uint8_t key[GOSSIP_MESH_KEY_LEN]);

/* What to poll for ZMQ_POLLIN (fills GOSSIP_MESH_POLLITEMS items): the inbound sockets' ZMQ_FDs,
 * plain fd items, so poll() serves as well as zmq_poll(). Pass every result to
 * gossip_mesh_dispatch() and honour gossip_mesh_next_deadline(): work left after a dispatch's
 * budget is not signalled again on the fds. */
void gossip_mesh_pollitems(struct gossip_mesh *m, zmq_pollitem_t items[GOSSIP_MESH_POLLITEMS]);
/* Handles what zmq_poll() found ready in those items (bounded work per call). */
void gossip_mesh_dispatch(struct gossip_mesh *m, uint64_t now_ms,
			  const zmq_pollitem_t items[GOSSIP_MESH_POLLITEMS]);

/* The connections that hold datagrams (CURVE handshake not done yet), for ZMQ_POLLOUT: a
 * DEALER becomes writable the moment its handshake completes. Fills at most max items and
 * returns their count. A caller that polls them (and passes them to gossip_mesh_dispatch_out)
 * is woken when a connection is up instead of retrying every few ms; when they did not all fit,
 * gossip_mesh_next_deadline() keeps the short retry. Optional: without it, held datagrams are
 * retried by gossip_mesh_tick() on a short timer. */
int gossip_mesh_pollitems_out(struct gossip_mesh *m, zmq_pollitem_t *items, int max);
/* Sends the held datagrams of the connections those items found writable. */
void gossip_mesh_dispatch_out(struct gossip_mesh *m, uint64_t now_ms, const zmq_pollitem_t *items,
			      int n);

/* Retries held datagrams, drops expired ones, closes idle connections. */
void gossip_mesh_tick(struct gossip_mesh *m, uint64_t now_ms);
/* Absolute time (ms) by which gossip_mesh_tick() wants to run; UINT64_MAX if never. */
uint64_t gossip_mesh_next_deadline(const struct gossip_mesh *m);

const struct gossip_mesh_stats *gossip_mesh_get_stats(const struct gossip_mesh *m);
/* The endpoint actually bound (useful with port 0), "tcp://a.b.c.d:port". */
const char *gossip_mesh_endpoint(const struct gossip_mesh *m);
