/* ctl.c - the control socket STATE_DIR/omxd.sock: SOCK_SEQPACKET, mode 0600, and SO_PEERCRED
 * admits only root and the daemon's own uid (file modes alone are not trusted: a directory
 * could be opened up). One request per connection; JOIN and LEAVE answer later (struct
 * omxd_waiter), OMFS when its node has answered (mfs_serve.c), everything else at once.
 *
 * oMFS pass-through and other users: not admitted either. File handles are numbers valid in a
 * session, and every local caller of the pass-through shares this node's session with each
 * server, so a user allowed to send raw requests could present a handle another user opened
 * (reads need no credentials once a file is open). Unprivileged users have /mfs, where the
 * kernel keeps each process to its own handles. The credentials of an admitted caller that is
 * not root (the daemon's own uid) are still taken from the socket, never from the message. A request that does not decode gets an error reply and
 * is counted (ctl_malformed); it never reaches a handler.
 */
#define LOG_PREFIX "omxd"
#include "cli/omxd/omxd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "common/log.h"

#define JOIN_TIMEOUT_MAX_MS 120000
#define CLIENT_SILENCE_MS   5000 /* a client that sends no request in time is dropped */

static int sock_path(const struct omxd *d, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", d->opts.state_dir,
		     CONTROL_SOCKET_NAME) >= (int)sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

int omxd_ctl_open(struct omxd *d)
{
	struct sockaddr_un sa;
	int r = sock_path(d, &sa);
	if (r < 0)
		return r;
	for (int i = 0; i < OMXD_CTL_CLIENTS_MAX; i++)
		d->ctl_clients[i] = -1;
	/* A live socket means another omxd owns this state dir. */
	int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	bool busy = connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	(void)close(probe);
	if (busy)
		return -EADDRINUSE;
	if (unlink(sa.sun_path) < 0 && errno != ENOENT)
		return -errno;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old);
	if (r == 0 && chmod(sa.sun_path, 0600) < 0)
		r = -errno;
	if (r == 0 && listen(fd, 16) < 0)
		r = -errno;
	if (r < 0) {
		(void)close(fd);
		return r;
	}
	d->ctl_fd = fd;
	return 0;
}

static void client_drop(struct omxd *d, int i)
{
	(void)close(d->ctl_clients[i]);
	d->ctl_clients[i] = -1;
}

void omxd_ctl_close(struct omxd *d)
{
	for (int i = 0; i < OMXD_CTL_CLIENTS_MAX; i++)
		if (d->ctl_clients[i] >= 0)
			client_drop(d, i);
	if (d->join.fd >= 0)
		omxd_ctl_reply(d, &d->join, -ESHUTDOWN, "omxd is shutting down");
	if (d->leave.fd >= 0)
		omxd_ctl_reply(d, &d->leave, -ESHUTDOWN, "omxd is shutting down");
	if (d->ctl_fd >= 0) {
		struct sockaddr_un sa;
		if (sock_path(d, &sa) == 0)
			(void)unlink(sa.sun_path);
		(void)close(d->ctl_fd);
		d->ctl_fd = -1;
	}
}

int omxd_ctl_pollitems(struct omxd *d, zmq_pollitem_t *items, int max)
{
	int n = 0;
	for (int i = 0; i < OMXD_CTL_CLIENTS_MAX; i++)
		if (d->ctl_clients[i] >= 0 && d->now_ms - d->ctl_since_ms[i] > CLIENT_SILENCE_MS)
			client_drop(d, i);
	if (d->ctl_fd >= 0 && n < max)
		items[n++] = (zmq_pollitem_t){ .fd = d->ctl_fd, .events = ZMQ_POLLIN };
	for (int i = 0; i < OMXD_CTL_CLIENTS_MAX && n < max; i++)
		if (d->ctl_clients[i] >= 0)
			items[n++] = (zmq_pollitem_t){ .fd = d->ctl_clients[i], .events = ZMQ_POLLIN };
	return n;
}

static void send_reply(int fd, const struct control_reply *rep)
{
	uint8_t *buf = malloc(CONTROL_MSG_MAX);
	if (!buf)
		return;
	int n = control_reply_pack(rep, buf, CONTROL_MSG_MAX);
	if (n >= 0 && send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("control reply: %s", strerror(errno));
	free(buf);
}

static void vreply_fd(int fd, int error, const char *fmt, va_list ap)
{
	struct control_reply *rep = calloc(1, sizeof(*rep));
	if (!rep)
		return;
	rep->error = error;
	vsnprintf(rep->message, sizeof(rep->message), fmt, ap);
	send_reply(fd, rep);
	free(rep);
}

static void __attribute__((format(printf, 3, 4))) reply_fd(int fd, int error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreply_fd(fd, error, fmt, ap);
	va_end(ap);
}

void omxd_ctl_reply(struct omxd *d, struct omxd_waiter *w, int error, const char *fmt, ...)
{
	if (w->fd < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vreply_fd(w->fd, error, fmt, ap);
	va_end(ap);
	(void)close(w->fd);
	w->fd = -1;
}

void omxd_ctl_reply_omfs(int fd, int err, const uint8_t *resp, size_t len)
{
	struct control_reply *rep = calloc(1, sizeof(*rep));
	if (rep && err == 0 && len > CONTROL_OMFS_MAX)
		err = -EMSGSIZE;
	if (rep) {
		rep->error = err;
		if (err < 0) {
			snprintf(rep->message, sizeof(rep->message), "%s", strerror(-err));
		} else {
			if (len)
				memcpy(rep->omfs, resp, len);
			rep->omfs_len = len;
		}
		send_reply(fd, rep);
		free(rep);
	}
	(void)close(fd);
}

/* ---- handlers ---------------------------------------------------------------------------- */

static void member_to_node(const struct omxd *d, const struct gossip_member *m,
			   struct control_node *n)
{
	memset(n, 0, sizeof(*n));
	n->id = m->id;
	memcpy(n->pubkey, m->pubkey, sizeof(n->pubkey));
	n->state = (uint32_t)m->state;
	snprintf(n->name, sizeof(n->name), "%s", m->info.name);
	const char *a = m->info.addr;
	snprintf(n->addr, sizeof(n->addr), "%s", strncmp(a, "tcp://", 6) == 0 ? a + 6 : a);
	n->cpus = m->info.cpus;
	n->cpu_quota_milli = m->info.cpu_quota_milli;
	n->speed_mhz = m->info.speed_mhz;
	n->load_milli = m->info.load_milli;
	n->cpu_usage_milli = m->info.cpu_usage_milli;
	n->mem_total_kb = m->info.mem_total_kb;
	n->mem_free_kb = m->info.mem_free_kb;
	n->guests = m->info.guests;
	n->accept_guests = m->info.accept_guests;
	snprintf(n->kernel, sizeof(n->kernel), "%s", m->info.kernel);
	n->age_ms = d->now_ms > m->info_ms ? d->now_ms - m->info_ms : 0;
	n->is_self = m->is_self;
	n->incarnation = m->incarnation;
	n->version = m->version;
	n->cpu_features = m->info.cpu_features;
	n->xsave_size = m->info.xsave_size;
}

static void handle_nodes(struct omxd *d, int fd, const struct control_request *req)
{
	struct control_reply *rep = calloc(1, sizeof(*rep));
	if (!rep)
		return;
	struct gossip_member m;
	if (!d->g) {
		/* idle: only ourselves, as the sampler sees us */
		memset(&m, 0, sizeof(m));
		m.id = d->opts.node_id ? d->opts.node_id : d->node_id;
		memcpy(m.pubkey, d->id->sign_pk, sizeof(m.pubkey));
		m.state = GOSSIP_ALIVE;
		m.info = *omxd_nodeinfo_get(d->ni);
		m.info_ms = d->now_ms;
		m.is_self = true;
		rep->total = 1;
		if (req->offset == 0)
			member_to_node(d, &m, &rep->nodes[rep->n_nodes++]);
	} else {
		size_t total = gossip_member_count(d->g);
		rep->total = (uint32_t)total;
		for (size_t i = req->offset; i < total && rep->n_nodes < CONTROL_NODES_PER_REPLY; i++)
			if (gossip_member_at(d->g, i, &m) == 0)
				member_to_node(d, &m, &rep->nodes[rep->n_nodes++]);
	}
	send_reply(fd, rep);
	free(rep);
}

static void add_counters(struct omxd *d, struct control_status *s)
{
	if (d->g) {
		const struct gossip_stats *g = gossip_get_stats(d->g);
#define G(f) control_status_add_counter(s, "gossip_" #f, g->f)
		G(rx_msgs), G(rx_bytes), G(tx_msgs), G(tx_bytes), G(drop_oversize);
		G(drop_malformed), G(drop_unsigned), G(drop_badsig), G(drop_replay);
		G(drop_impostor), G(probes), G(probe_failures), G(suspicions);
		G(false_suspicions_refuted), G(deaths), G(pushpulls), G(reprobes);
		G(accusations_held), G(pushpull_retries);
#undef G
	}
	if (d->mesh) {
		const struct gossip_mesh_stats *m = gossip_mesh_get_stats(d->mesh);
#define M(f) control_status_add_counter(s, "mesh_" #f, m->f)
		M(rx_frames), M(rx_bytes), M(tx_frames), M(tx_bytes), M(tx_dropped);
		M(drop_shape), M(drop_nochan), M(drop_noid), M(zap_accepted), M(zap_denied);
		M(zap_malformed), M(handshake_failed), M(peers_opened), M(peers_closed);
#undef M
	}
	control_status_add_counter(s, "ctl_rejected", d->ctl_rejected);
	control_status_add_counter(s, "ctl_malformed", d->ctl_malformed);
	omxd_mfs_counters(d, s);
}

static void handle_status(struct omxd *d, int fd)
{
	struct control_reply *rep = calloc(1, sizeof(*rep));
	if (!rep)
		return;
	struct control_status *s = &rep->status;
	rep->has_status = true;
	s->node_id = d->opts.node_id ? d->opts.node_id : d->node_id;
	snprintf(s->name, sizeof(s->name), "%s", omxd_nodeinfo_get(d->ni)->name);
	snprintf(s->addr, sizeof(s->addr), "%s", d->advertise);
	memcpy(s->pubkey, d->id->sign_pk, sizeof(s->pubkey));
	s->uptime_ms = d->now_ms - d->start_ms;
	if (!d->g) {
		snprintf(s->state, sizeof(s->state), "idle");
		s->members = 1;
		s->alive = 1;
	} else {
		struct gossip_member self;
		const char *st = "alive";
		if (d->leaving)
			st = "leaving";
		else if (d->join.fd >= 0)
			st = "joining";
		else if (gossip_member_by_id(d->g, gossip_self_id(d->g), &self) == 0)
			st = gossip_state_name(self.state);
		snprintf(s->state, sizeof(s->state), "%s", st);
		s->node_id = gossip_self_id(d->g);
		snprintf(s->cluster_id, sizeof(s->cluster_id), "%s", d->cluster_id);
		s->members = (uint32_t)gossip_member_count(d->g);
		s->alive = (uint32_t)gossip_live_count(d->g);
	}
	add_counters(d, s);
	send_reply(fd, rep);
	free(rep);
}

/* Returns true when fd was handed to a waiter (the caller must not close it). */
static bool handle_join(struct omxd *d, int fd, const struct control_request *req)
{
	struct omxsec_clusterkey *k = NULL;
	int r = omxsec_clusterkey_parse(req->cluster_key, &k);
	if (r < 0) {
		reply_fd(fd, r, "invalid cluster key: %s", omxsec_clusterkey_strerror(r));
		return false;
	}
	bool keep = false;
	if (d->join.fd >= 0) {
		reply_fd(fd, -EBUSY, "another 'omx join' is in progress");
	} else if (d->leaving) {
		reply_fd(fd, -EBUSY, "a leave is in progress; try again in a moment");
	} else if (d->key) {
		char other[2 * OMXSEC_CLUSTER_ID_LEN + 1];
		omxsec_cluster_id(k->secret, other);
		if (sodium_memcmp(k->secret, d->key->secret, OMXSEC_SECRET_LEN) == 0)
			reply_fd(fd, 0, "already a member of cluster %s as node %u", d->cluster_id,
				 d->node_id);
		else
			reply_fd(fd, -EEXIST,
				 "wrong cluster key: this node is a member of cluster %s and the key "
				 "is for cluster %s; run 'omx leave' first",
				 d->cluster_id, other);
	} else if ((d->trial = true, r = omxd_cluster_start(d, &k)) < 0) {
		d->trial = false;
		reply_fd(fd, r, "cannot start the mesh on %s: %s", d->opts.listen, zmq_strerror(-r));
	} else if (d->founder) {
		r = omxd_cluster_commit(d);
		if (r < 0) {
			omxd_cluster_stop(d);
			reply_fd(fd, r, "cannot store the cluster key in %s: %s", d->opts.state_dir,
				 strerror(-r));
		} else {
			reply_fd(fd, 0, "joined cluster %s as node %u (this node is a seed)",
				 d->cluster_id, d->node_id);
		}
	} else {
		uint32_t t = req->timeout_ms ? req->timeout_ms : OMXD_JOIN_TIMEOUT_MS;
		t = t > JOIN_TIMEOUT_MAX_MS ? JOIN_TIMEOUT_MAX_MS : t;
		d->join.fd = fd;
		d->join.deadline_ms = d->now_ms + t;
		keep = true;
	}
	omxsec_clusterkey_free(&k);
	return keep;
}

static bool handle_leave(struct omxd *d, int fd)
{
	if (!d->key) {
		reply_fd(fd, -ENOTCONN, "not a member of any cluster");
		return false;
	}
	if (d->leave.fd >= 0) {
		reply_fd(fd, -EBUSY, "a leave is already in progress");
		return false;
	}
	if (d->join.fd >= 0)
		omxd_ctl_reply(d, &d->join, -ECANCELED, "join cancelled by 'omx leave'");
	d->leave.fd = fd;
	omxd_cluster_leave(d, true);
	return true;
}

/* One request from client slot i. */
static void client_request(struct omxd *d, int i)
{
	int fd = d->ctl_clients[i];
	uint8_t *buf = malloc(CONTROL_MSG_MAX);
	struct control_request *req = sodium_malloc(sizeof(*req));
	if (!buf || !req) {
		free(buf);
		sodium_free(req);
		client_drop(d, i);
		return;
	}
	ssize_t n = recv(fd, buf, CONTROL_MSG_MAX, MSG_TRUNC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		goto out_keep;
	bool handed = false;
	int r;
	if (n <= 0) {
		/* peer closed or error: nothing to answer */
	} else if ((size_t)n > CONTROL_MSG_MAX) {
		d->ctl_malformed++;
		reply_fd(fd, -EMSGSIZE, "request too large");
	} else if ((r = control_request_unpack(buf, (size_t)n, req)) < 0) {
		d->ctl_malformed++;
		reply_fd(fd, r, "malformed control request (%s)", strerror(-r));
	} else {
		switch (req->op) {
		case CONTROL_OP_JOIN:
			handed = handle_join(d, fd, req);
			break;
		case CONTROL_OP_LEAVE:
			handed = handle_leave(d, fd);
			break;
		case CONTROL_OP_NODES:
			handle_nodes(d, fd, req);
			break;
		case CONTROL_OP_STATUS:
			handle_status(d, fd);
			break;
		case CONTROL_OP_OMFS:
			handed = omxd_mfs_ctl(d, fd, req, d->ctl_uid[i], d->ctl_gid[i]);
			break;
		}
	}
	if (handed)
		d->ctl_clients[i] = -1;
	else
		client_drop(d, i);
out_keep:
	sodium_memzero(buf, CONTROL_MSG_MAX);
	free(buf);
	sodium_free(req);
}

static void accept_one(struct omxd *d)
{
	int fd = accept4(d->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		d->ctl_rejected++;
		log_warn("control socket: refused uid %d", len == sizeof(cred) ? (int)cred.uid : -1);
		(void)close(fd); /* the client sees the connection closed */
		return;
	}
	for (int i = 0; i < OMXD_CTL_CLIENTS_MAX; i++)
		if (d->ctl_clients[i] < 0) {
			d->ctl_clients[i] = fd;
			d->ctl_since_ms[i] = d->now_ms;
			d->ctl_uid[i] = cred.uid;
			d->ctl_gid[i] = cred.gid;
			return;
		}
	reply_fd(fd, -EBUSY, "too many control clients");
	(void)close(fd);
}

void omxd_ctl_dispatch(struct omxd *d, const zmq_pollitem_t *items, int n)
{
	for (int k = 0; k < n; k++) {
		if (!(items[k].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
			continue;
		if (items[k].fd == d->ctl_fd) {
			accept_one(d);
			continue;
		}
		for (int i = 0; i < OMXD_CTL_CLIENTS_MAX; i++)
			if (d->ctl_clients[i] == items[k].fd) {
				client_request(d, i);
				break;
			}
	}
}
