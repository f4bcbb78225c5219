/* mesh.c - the omx mesh transport over plain libzmq; see mesh.h.
 *
 * Why plain libzmq and not czmq's zsock: czmq shares one global context per process, and the ZAP
 * endpoint (inproc://zeromq.zap.01) is per context. Owning the context lets each mesh own its
 * handler (several meshes per process in tests) and be sure it is bound before the ROUTER.
 *
 * Wire: a datagram is one ZeroMQ frame, [channel byte][payload]; the ROUTER sees
 * [routing id][channel+payload]. Sends are non-blocking; a DEALER has ZMQ_IMMEDIATE set, so a
 * datagram for a peer whose CURVE handshake has not completed is held (up to HELD_MAX per peer,
 * pending_ms), then dropped and counted. Held datagrams go out when the caller's poll finds the
 * DEALER writable (gossip_mesh_pollitems_out: the handshake is done), else on a HELD_RETRY_MS
 * timer from gossip_mesh_tick(). A DEALER without a successful send for idle_close_ms (an idle
 * or dead peer) is closed; the next send reopens it.
 */
#include "gossip/mesh.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/identity.h"

#define HELD_MAX	   16
#define HELD_RETRY_MS	   10
#define IDLE_SCAN_MS	   1000
#define DISPATCH_BUDGET	   1024
#define ADDR_MAX	   160
#define ZAP_ENDPOINT	   "inproc://zeromq.zap.01"
#define ZAP_DOMAIN	   "omx"
#define ZAP_FRAMES_MAX	   8
#define MONITOR_ENDPOINT   "inproc://omx-mesh-monitor" /* per context: one per mesh */
#define MONITOR_EVENTS                                                                             \
	(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |              \
	 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

struct held {
	uint64_t since_ms;
	zmq_msg_t msg;
};

struct peer {
	char addr[ADDR_MAX];
	void *sock;
	uint64_t last_ok_ms;
	size_t n_held;
	struct held held[HELD_MAX];
};

struct secrets {
	uint8_t server_sk[GOSSIP_MESH_KEY_LEN];
	uint8_t client_sk[GOSSIP_MESH_KEY_LEN];
};

struct handler {
	gossip_mesh_recv_fn fn;
	void *ctx;
};

struct gossip_mesh {
	void *ctx, *zap, *router, *monitor;
	struct secrets *sec;
	uint8_t server_pk[GOSSIP_MESH_KEY_LEN], client_pk[GOSSIP_MESH_KEY_LEN];
	uint32_t sndhwm, idle_close_ms, pending_ms;
	struct peer **peers;
	size_t n_peers, cap_peers;
	uint8_t (*deny)[GOSSIP_MESH_KEY_LEN];
	size_t n_deny, cap_deny;
	struct handler handlers[GOSSIP_MESH_CH_MAX];
	size_t n_held; /* over all peers */
	bool out_all;	/* the last gossip_mesh_pollitems_out() listed every peer holding data */
	bool rx_more;	/* the ROUTER hit DISPATCH_BUDGET: messages wait without a new signal */
	bool zap_more;	/* the same for the ZAP socket */
	bool unread;	/* not yet read to EAGAIN since created: their fds may not have fired */
	int fd_zap, fd_router, fd_monitor; /* their ZMQ_FDs (edge-like: see pollitems) */
	uint64_t next_idle_scan_ms, last_now_ms;
	struct gossip_mesh_stats stats;
	char endpoint[ADDR_MAX];
};

static int setopt_int(void *s, int opt, int v)
{
	return zmq_setsockopt(s, opt, &v, sizeof(v)) < 0 ? -errno : 0;
}

static int setopt_bin(void *s, int opt, const void *v, size_t len)
{
	return zmq_setsockopt(s, opt, v, len) < 0 ? -errno : 0;
}

static int socket_fd(void *s, int *ret)
{
	size_t len = sizeof(*ret);
	return zmq_getsockopt(s, ZMQ_FD, ret, &len) < 0 ? -errno : 0;
}

/* ---- ZAP handler (RFC 27) -------------------------------------------------------------- */

static bool denied(const struct gossip_mesh *m, const uint8_t *key)
{
	for (size_t i = 0; i < m->n_deny; i++)
		if (memcmp(m->deny[i], key, GOSSIP_MESH_KEY_LEN) == 0)
			return true;
	return false;
}

static int zap_send(void *s, const void *data, size_t len, bool more)
{
	return zmq_send(s, data, len, more ? ZMQ_SNDMORE : 0) < 0 ? -errno : 0;
}

/* Handles one request: [version][request id][domain][address][identity][mechanism][creds...].
 * Always replies (REP requires it): 200 with User-Id = hex client key, 400 denied, 500 bad. */
static void zap_handle_one(struct gossip_mesh *m)
{
	zmq_msg_t f[ZAP_FRAMES_MAX];
	size_t n = 0;
	bool overflow = false;
	for (;;) {
		zmq_msg_t tmp;
		zmq_msg_init(&tmp);
		if (zmq_msg_recv(&tmp, m->zap, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&tmp);
			if (n == 0)
				return; /* nothing there */
			break;
		}
		bool more = zmq_msg_more(&tmp);
		if (n < ZAP_FRAMES_MAX)
			f[n++] = tmp;
		else {
			overflow = true;
			zmq_msg_close(&tmp);
		}
		if (!more)
			break;
	}

	const char *status = "500", *text = "malformed ZAP request";
	char user[2 * GOSSIP_MESH_KEY_LEN + 1] = "";
	if (!overflow && n == 7 && zmq_msg_size(&f[0]) == 3 && memcmp(zmq_msg_data(&f[0]), "1.0", 3) == 0 &&
	    zmq_msg_size(&f[5]) == 5 && memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
	    zmq_msg_size(&f[2]) == strlen(ZAP_DOMAIN) &&
	    memcmp(zmq_msg_data(&f[2]), ZAP_DOMAIN, strlen(ZAP_DOMAIN)) == 0 &&
	    zmq_msg_size(&f[6]) == GOSSIP_MESH_KEY_LEN) {
		const uint8_t *key = zmq_msg_data(&f[6]);
		if (denied(m, key)) {
			status = "400";
			text = "key denied";
			m->stats.zap_denied++;
		} else {
			status = "200";
			text = "OK";
			omxsec_hex(key, GOSSIP_MESH_KEY_LEN, user);
			m->stats.zap_accepted++;
		}
	} else {
		m->stats.zap_malformed++;
	}

	const void *reqid = n > 1 ? zmq_msg_data(&f[1]) : "";
	size_t reqid_len = n > 1 ? zmq_msg_size(&f[1]) : 0;
	/* A failed reply leaves the REP socket in a state we cannot fix; libzmq then fails the
	 * handshake by timeout, which is the safe direction. Nothing else to do. */
	if (zap_send(m->zap, "1.0", 3, true) == 0 && zap_send(m->zap, reqid, reqid_len, true) == 0 &&
	    zap_send(m->zap, status, 3, true) == 0 &&
	    zap_send(m->zap, text, strlen(text), true) == 0 &&
	    zap_send(m->zap, user, strlen(user), true) == 0)
		(void)zap_send(m->zap, "", 0, false);
	for (size_t i = 0; i < n; i++)
		zmq_msg_close(&f[i]);
}

/* ---- peers --------------------------------------------------------------------------- */

static void peer_free(struct gossip_mesh *m, struct peer *p)
{
	for (size_t i = 0; i < p->n_held; i++)
		zmq_msg_close(&p->held[i].msg);
	m->n_held -= p->n_held;
	if (p->sock)
		(void)zmq_close(p->sock); /* LINGER 0: cannot block */
	free(p);
}

static struct peer *peer_find(struct gossip_mesh *m, const char *addr, size_t *ret_idx)
{
	for (size_t i = 0; i < m->n_peers; i++)
		if (strcmp(m->peers[i]->addr, addr) == 0) {
			if (ret_idx)
				*ret_idx = i;
			return m->peers[i];
		}
	return NULL;
}

static int peer_open(struct gossip_mesh *m, uint64_t now_ms, const char *addr, struct peer **ret)
{
	if (strncmp(addr, "tcp://", 6) != 0 || strlen(addr) >= ADDR_MAX)
		return -EINVAL;
	if (m->n_peers == m->cap_peers) {
		size_t cap = m->cap_peers ? 2 * m->cap_peers : 16;
		struct peer **np = realloc(m->peers, cap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		m->peers = np;
		m->cap_peers = cap;
	}
	struct peer *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	strcpy(p->addr, addr);
	p->last_ok_ms = now_ms;
	p->sock = zmq_socket(m->ctx, ZMQ_DEALER);
	int r = p->sock ? 0 : -errno;
	if (r == 0)
		r = setopt_bin(p->sock, ZMQ_CURVE_SERVERKEY, m->server_pk, GOSSIP_MESH_KEY_LEN);
	if (r == 0)
		r = setopt_bin(p->sock, ZMQ_CURVE_PUBLICKEY, m->client_pk, GOSSIP_MESH_KEY_LEN);
	if (r == 0)
		r = setopt_bin(p->sock, ZMQ_CURVE_SECRETKEY, m->sec->client_sk, GOSSIP_MESH_KEY_LEN);
	if (r == 0)
		r = setopt_int(p->sock, ZMQ_IMMEDIATE, 1);
	if (r == 0)
		r = setopt_int(p->sock, ZMQ_SNDHWM, (int)m->sndhwm);
	if (r == 0)
		r = setopt_int(p->sock, ZMQ_RCVHWM, 1);
	if (r == 0)
		r = setopt_int(p->sock, ZMQ_LINGER, 0);
	if (r == 0)
		r = setopt_int(p->sock, ZMQ_RECONNECT_IVL, 100);
	if (r == 0)
		r = setopt_int(p->sock, ZMQ_RECONNECT_IVL_MAX, 2000);
	if (r == 0)
		r = setopt_int(p->sock, ZMQ_HANDSHAKE_IVL, 5000);
	if (r == 0)
		r = setopt_int(p->sock, ZMQ_TCP_KEEPALIVE, 1);
	if (r == 0)
		r = setopt_int(p->sock, ZMQ_IPV6, strchr(addr, '[') != NULL); /* tcp://[::1]:4660 */
	if (r == 0 && zmq_connect(p->sock, addr) < 0)
		r = -errno;
	if (r < 0) {
		peer_free(m, p);
		return r;
	}
	m->peers[m->n_peers++] = p;
	m->stats.peers_opened++;
	*ret = p;
	return 0;
}

static void peer_close_at(struct gossip_mesh *m, size_t i)
{
	peer_free(m, m->peers[i]);
	m->peers[i] = m->peers[--m->n_peers];
	m->stats.peers_closed++;
}

/* Sends the held datagrams in order; stops at the first that would block. */
static void peer_flush(struct gossip_mesh *m, struct peer *p, uint64_t now_ms)
{
	size_t done = 0;
	while (done < p->n_held) {
		size_t len = zmq_msg_size(&p->held[done].msg);
		if (zmq_msg_send(&p->held[done].msg, p->sock, ZMQ_DONTWAIT) < 0)
			break;
		zmq_msg_close(&p->held[done].msg); /* no-op after a successful send */
		m->stats.tx_frames++;
		m->stats.tx_bytes += len;
		p->last_ok_ms = now_ms;
		done++;
	}
	size_t expired = 0;
	while (done + expired < p->n_held &&
	       now_ms - p->held[done + expired].since_ms >= m->pending_ms) {
		zmq_msg_close(&p->held[done + expired].msg);
		m->stats.tx_dropped++;
		expired++;
	}
	size_t gone = done + expired;
	if (gone) {
		memmove(p->held, p->held + gone, (p->n_held - gone) * sizeof(p->held[0]));
		p->n_held -= gone;
		m->n_held -= gone;
	}
}

static void drain(void *s);

/* ---- public -------------------------------------------------------------------------- */

int gossip_mesh_new(const struct gossip_mesh_config *cfg, struct gossip_mesh **ret)
{
	if (!cfg || !cfg->listen || strlen(cfg->listen) >= ADDR_MAX)
		return -EINVAL;
	if (sodium_init() < 0)
		return -ENOMEM;
	struct gossip_mesh *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	int r = 0;
	m->sec = sodium_malloc(sizeof(*m->sec));
	if (!m->sec) {
		free(m);
		return -ENOMEM;
	}
	memcpy(m->sec->server_sk, cfg->server_sk, GOSSIP_MESH_KEY_LEN);
	memcpy(m->sec->client_sk, cfg->client_sk, GOSSIP_MESH_KEY_LEN);
	memcpy(m->server_pk, cfg->server_pk, GOSSIP_MESH_KEY_LEN);
	memcpy(m->client_pk, cfg->client_pk, GOSSIP_MESH_KEY_LEN);
	m->sndhwm = cfg->sndhwm ? cfg->sndhwm : 64;
	m->idle_close_ms = cfg->idle_close_ms ? cfg->idle_close_ms : 30000;
	m->pending_ms = cfg->pending_ms ? cfg->pending_ms : 1000;

	m->ctx = zmq_ctx_new();
	if (!m->ctx) {
		r = -errno;
		goto fail;
	}
	if (zmq_ctx_set(m->ctx, ZMQ_MAX_SOCKETS, 8192) < 0 || zmq_ctx_set(m->ctx, ZMQ_BLOCKY, 0) < 0) {
		r = -errno;
		goto fail;
	}
	/* The ZAP handler first: a CURVE server without one accepts every client key. */
	m->zap = zmq_socket(m->ctx, ZMQ_REP);
	if (!m->zap) {
		r = -errno;
		goto fail;
	}
	if ((r = setopt_int(m->zap, ZMQ_LINGER, 0)) < 0)
		goto fail;
	if (zmq_bind(m->zap, ZAP_ENDPOINT) < 0) {
		r = -errno;
		goto fail;
	}
	m->router = zmq_socket(m->ctx, ZMQ_ROUTER);
	if (!m->router) {
		r = -errno;
		goto fail;
	}
	int64_t maxsz = GOSSIP_MESH_FRAME_MAX + 1;
	if ((r = setopt_int(m->router, ZMQ_CURVE_SERVER, 1)) < 0 ||
	    (r = setopt_bin(m->router, ZMQ_CURVE_SECRETKEY, m->sec->server_sk, GOSSIP_MESH_KEY_LEN)) <
		    0 ||
	    (r = setopt_bin(m->router, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN))) < 0 ||
	    (r = setopt_int(m->router, ZMQ_LINGER, 0)) < 0 ||
	    (r = setopt_int(m->router, ZMQ_RCVHWM, 10000)) < 0 ||
	    (r = setopt_int(m->router, ZMQ_HANDSHAKE_IVL, 5000)) < 0 ||
	    (r = setopt_int(m->router, ZMQ_IPV6, strchr(cfg->listen, '[') != NULL)) < 0 ||
	    (r = setopt_bin(m->router, ZMQ_MAXMSGSIZE, &maxsz, sizeof(maxsz))) < 0)
		goto fail;
	/* Failed handshakes are invisible to the ZAP handler (a wrong server key fails before
	 * ZAP runs): count them from the ROUTER's monitor. */
	if (zmq_socket_monitor(m->router, MONITOR_ENDPOINT, MONITOR_EVENTS) < 0) {
		r = -errno;
		goto fail;
	}
	m->monitor = zmq_socket(m->ctx, ZMQ_PAIR);
	if (!m->monitor) {
		r = -errno;
		goto fail;
	}
	if ((r = setopt_int(m->monitor, ZMQ_LINGER, 0)) < 0)
		goto fail;
	if (zmq_connect(m->monitor, MONITOR_ENDPOINT) < 0) {
		r = -errno;
		goto fail;
	}
	if (zmq_bind(m->router, cfg->listen) < 0) {
		r = -errno;
		goto fail;
	}
	size_t elen = sizeof(m->endpoint);
	if (zmq_getsockopt(m->router, ZMQ_LAST_ENDPOINT, m->endpoint, &elen) < 0 ||
	    (r = socket_fd(m->zap, &m->fd_zap)) < 0 || (r = socket_fd(m->router, &m->fd_router)) < 0 ||
	    (r = socket_fd(m->monitor, &m->fd_monitor)) < 0) {
		r = r < 0 ? r : -errno;
		goto fail;
	}
	m->unread = true;
	*ret = m;
	return 0;
fail:
	gossip_mesh_free(&m);
	return r;
}

void gossip_mesh_free(struct gossip_mesh **mp)
{
	if (!mp || !*mp)
		return;
	struct gossip_mesh *m = *mp;
	for (size_t i = 0; i < m->n_peers; i++)
		peer_free(m, m->peers[i]);
	free(m->peers);
	if (m->monitor)
		(void)zmq_close(m->monitor);
	if (m->router) {
		(void)zmq_socket_monitor(m->router, NULL, 0);
		(void)zmq_close(m->router);
	}
	if (m->zap)
		(void)zmq_close(m->zap);
	if (m->ctx)
		(void)zmq_ctx_term(m->ctx); /* every socket has LINGER 0: returns at once */
	sodium_free(m->sec);
	free(m->deny);
	free(m);
	*mp = NULL;
}

int gossip_mesh_set_handler(struct gossip_mesh *m, uint8_t ch, gossip_mesh_recv_fn fn, void *ctx)
{
	if (ch == 0 || ch >= GOSSIP_MESH_CH_MAX)
		return -EINVAL;
	m->handlers[ch].fn = fn;
	m->handlers[ch].ctx = ctx;
	return 0;
}

int gossip_mesh_connect(struct gossip_mesh *m, uint64_t now_ms, const char *addr)
{
	struct peer *p = peer_find(m, addr, NULL);
	return p ? 0 : peer_open(m, now_ms, addr, &p);
}

int gossip_mesh_send(struct gossip_mesh *m, uint64_t now_ms, const char *addr, uint8_t ch,
		     const uint8_t *data, size_t len)
{
	if (ch == 0 || ch >= GOSSIP_MESH_CH_MAX || !addr)
		return -EINVAL;
	if (len + 1 > GOSSIP_MESH_FRAME_MAX)
		return -EMSGSIZE;
	m->last_now_ms = now_ms;
	struct peer *p = peer_find(m, addr, NULL);
	if (!p) {
		int r = peer_open(m, now_ms, addr, &p);
		if (r < 0)
			return r;
	}
	zmq_msg_t msg;
	if (zmq_msg_init_size(&msg, len + 1) < 0)
		return -ENOMEM;
	uint8_t *d = zmq_msg_data(&msg);
	d[0] = ch;
	if (len)
		memcpy(d + 1, data, len);
	if (p->n_held == 0) {
		if (zmq_msg_send(&msg, p->sock, ZMQ_DONTWAIT) >= 0) {
			m->stats.tx_frames++;
			m->stats.tx_bytes += len + 1;
			p->last_ok_ms = now_ms;
			return 0;
		}
		if (errno != EAGAIN) {
			int r = -errno;
			zmq_msg_close(&msg);
			m->stats.tx_dropped++;
			return r;
		}
	}
	if (p->n_held == HELD_MAX) {
		zmq_msg_close(&msg);
		m->stats.tx_dropped++;
		return -EAGAIN;
	}
	p->held[p->n_held].since_ms = now_ms;
	p->held[p->n_held].msg = msg; /* moved */
	p->n_held++;
	m->n_held++;
	return 0;
}

int gossip_mesh_deny(struct gossip_mesh *m, const uint8_t key[GOSSIP_MESH_KEY_LEN])
{
	if (denied(m, key))
		return 0;
	if (m->n_deny == m->cap_deny) {
		size_t cap = m->cap_deny ? 2 * m->cap_deny : 8;
		void *nd = realloc(m->deny, cap * GOSSIP_MESH_KEY_LEN);
		if (!nd)
			return -ENOMEM;
		m->deny = nd;
		m->cap_deny = cap;
	}
	memcpy(m->deny[m->n_deny++], key, GOSSIP_MESH_KEY_LEN);
	return 0;
}

/* The three inbound sockets are polled through their ZMQ_FD, not as ZeroMQ sockets: zmq_poll()
 * asks every socket item for ZMQ_EVENTS before and after its poll(), and each ask processes the
 * socket's command mailbox (a poll() and a getpid() system call), about 20 extra system calls per
 * oMFS round trip on each node. ZMQ_FD only says "the socket's state may have changed": it stays
 * quiet while messages wait once the signal was consumed, so gossip_mesh_dispatch() reads each
 * socket that fired until EAGAIN (which processes the mailbox and re-arms the fd), and a ROUTER
 * left with messages after its budget makes gossip_mesh_next_deadline() return at once. */
void gossip_mesh_pollitems(struct gossip_mesh *m, zmq_pollitem_t items[GOSSIP_MESH_POLLITEMS])
{
	items[0] = (zmq_pollitem_t){ .fd = m->fd_zap, .events = ZMQ_POLLIN };
	items[1] = (zmq_pollitem_t){ .fd = m->fd_router, .events = ZMQ_POLLIN };
	items[2] = (zmq_pollitem_t){ .fd = m->fd_monitor, .events = ZMQ_POLLIN };
}

/* One monitor event: [uint16 event, uint32 value][endpoint]. */
static bool monitor_recv_one(struct gossip_mesh *m)
{
	zmq_msg_t ev;
	zmq_msg_init(&ev);
	if (zmq_msg_recv(&ev, m->monitor, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&ev);
		return false;
	}
	uint16_t code = 0;
	if (zmq_msg_size(&ev) >= sizeof(code))
		memcpy(&code, zmq_msg_data(&ev), sizeof(code));
	if (code & MONITOR_EVENTS)
		m->stats.handshake_failed++;
	bool more = zmq_msg_more(&ev);
	zmq_msg_close(&ev);
	if (more)
		drain(m->monitor);
	return true;
}

/* Drains the remaining frames of a message already partly read. */
static void drain(void *s)
{
	int more = 1;
	size_t sz = sizeof(more);
	while (zmq_getsockopt(s, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
		zmq_msg_t tmp;
		zmq_msg_init(&tmp);
		int r = zmq_msg_recv(&tmp, s, ZMQ_DONTWAIT);
		zmq_msg_close(&tmp);
		if (r < 0)
			break;
	}
}

/* Reads one [routing id][channel+payload] message; false when nothing is waiting. */
static bool router_recv_one(struct gossip_mesh *m)
{
	zmq_msg_t rid, body;
	zmq_msg_init(&rid);
	if (zmq_msg_recv(&rid, m->router, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&rid);
		return false;
	}
	bool more = zmq_msg_more(&rid);
	zmq_msg_close(&rid);
	if (!more) {
		m->stats.drop_shape++;
		return true;
	}
	zmq_msg_init(&body);
	if (zmq_msg_recv(&body, m->router, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&body);
		m->stats.drop_shape++;
		return true;
	}
	if (zmq_msg_more(&body)) {
		drain(m->router);
		zmq_msg_close(&body);
		m->stats.drop_shape++;
		return true;
	}
	size_t len = zmq_msg_size(&body);
	const uint8_t *d = zmq_msg_data(&body);
	uint8_t peer[GOSSIP_MESH_KEY_LEN];
	const char *uid = zmq_msg_gets(&body, "User-Id");
	m->stats.rx_frames++;
	m->stats.rx_bytes += len;
	if (len < 1 || len > GOSSIP_MESH_FRAME_MAX || d[0] == 0 || d[0] >= GOSSIP_MESH_CH_MAX)
		m->stats.drop_shape++;
	else if (!uid || omxsec_unhex(uid, peer, sizeof(peer)) < 0)
		m->stats.drop_noid++;
	else if (!m->handlers[d[0]].fn)
		m->stats.drop_nochan++;
	else
		m->handlers[d[0]].fn(m->handlers[d[0]].ctx, peer, d + 1, len - 1);
	zmq_msg_close(&body);
	return true;
}

void gossip_mesh_dispatch(struct gossip_mesh *m, uint64_t now_ms,
			  const zmq_pollitem_t items[GOSSIP_MESH_POLLITEMS])
{
	m->last_now_ms = now_ms;
	bool all = m->unread;
	m->unread = false;
	if ((items[0].revents & ZMQ_POLLIN) || m->zap_more || all) {
		int i = 0;
		for (; i < 64; i++) {
			uint64_t before = m->stats.zap_accepted + m->stats.zap_denied +
					  m->stats.zap_malformed;
			zap_handle_one(m);
			if (m->stats.zap_accepted + m->stats.zap_denied + m->stats.zap_malformed ==
			    before)
				break;
		}
		m->zap_more = i == 64;
	}
	if ((items[1].revents & ZMQ_POLLIN) || m->rx_more || all) {
		int i = 0;
		while (i < DISPATCH_BUDGET && router_recv_one(m))
			i++;
		m->rx_more = i == DISPATCH_BUDGET; /* not read to EAGAIN: the fd may stay quiet */
	}
	if ((items[2].revents & ZMQ_POLLIN) || all)
		while (monitor_recv_one(m))
			;
}

void gossip_mesh_tick(struct gossip_mesh *m, uint64_t now_ms)
{
	m->last_now_ms = now_ms;
	if (m->n_held)
		for (size_t i = 0; i < m->n_peers; i++)
			if (m->peers[i]->n_held)
				peer_flush(m, m->peers[i], now_ms);
	if (now_ms < m->next_idle_scan_ms)
		return;
	m->next_idle_scan_ms = now_ms + IDLE_SCAN_MS;
	for (size_t i = 0; i < m->n_peers;) {
		struct peer *p = m->peers[i];
		if (p->n_held == 0 && now_ms - p->last_ok_ms >= m->idle_close_ms)
			peer_close_at(m, i); /* moves the last peer into i */
		else
			i++;
	}
}

int gossip_mesh_pollitems_out(struct gossip_mesh *m, zmq_pollitem_t *items, int max)
{
	int n = 0;
	m->out_all = true;
	for (size_t i = 0; i < m->n_peers && m->n_held; i++) {
		if (!m->peers[i]->n_held)
			continue;
		if (n == max) {
			m->out_all = false;
			break;
		}
		items[n++] = (zmq_pollitem_t){ .socket = m->peers[i]->sock, .events = ZMQ_POLLOUT };
	}
	return n;
}

void gossip_mesh_dispatch_out(struct gossip_mesh *m, uint64_t now_ms, const zmq_pollitem_t *items,
			      int n)
{
	m->last_now_ms = now_ms;
	for (int k = 0; k < n; k++) {
		if (!(items[k].revents & ZMQ_POLLOUT))
			continue;
		for (size_t i = 0; i < m->n_peers; i++)
			if (m->peers[i]->sock == items[k].socket) {
				if (m->peers[i]->n_held)
					peer_flush(m, m->peers[i], now_ms);
				break;
			}
	}
}

uint64_t gossip_mesh_next_deadline(const struct gossip_mesh *m)
{
	if (m->rx_more || m->zap_more || m->unread)
		return m->last_now_ms;
	if (m->n_held && !m->out_all)
		return m->last_now_ms + HELD_RETRY_MS;
	uint64_t t = m->next_idle_scan_ms;
	for (size_t i = 0; i < m->n_peers && m->n_held; i++) {
		const struct peer *p = m->peers[i];
		if (p->n_held && p->held[0].since_ms + m->pending_ms < t)
			t = p->held[0].since_ms + m->pending_ms; /* the oldest held datagram expires */
	}
	return t;
}

const struct gossip_mesh_stats *gossip_mesh_get_stats(const struct gossip_mesh *m)
{
	return &m->stats;
}

const char *gossip_mesh_endpoint(const struct gossip_mesh *m)
{
	return m->endpoint;
}
