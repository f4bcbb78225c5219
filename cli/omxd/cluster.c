/* cluster.c - omxd's life in a cluster: start (mesh + gossip core) with a cluster key, join
 * retries, deferred `omx join` / `omx leave` replies, graceful leave, and the gossip ops.
 *
 * Join. `omx join KEY` starts the mesh and the core and contacts the seeds. The reply waits until
 * some other member is alive in our view (success: the key is stored, 0600) or the timeout
 * expires (failure: mesh and core are torn down, nothing stored). A node whose own endpoint is a
 * seed (the founder) succeeds at once. A key for another cluster cannot be told apart from
 * unreachable seeds: CURVE fails silently on the server side, by design.
 *
 * While joined with no other live member, the seeds are contacted again with backoff (1 s to
 * 8 s), so nodes restarted with a stored key, or cut off by a partition, find their way back.
 * With live members, the seeds are still contacted every RESEED_INTERVAL_MS (long partitions).
 */
#define LOG_PREFIX "omxd"
#include "cli/omxd/omxd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

#define JOIN_BACKOFF_MIN_MS 1000
#define JOIN_BACKOFF_MAX_MS 8000
/* While other members are alive, the seeds still get a push/pull this often: two halves of a
 * partition that lasted longer than the core remembers dead members (dead_reclaim_ms) have
 * forgotten each other, and only a seed exchange brings them back into one view. */
#define RESEED_INTERVAL_MS 60000
#define PRECONNECT_MAX_MEMBERS 64

/* ---- gossip ops -------------------------------------------------------------------------- */

static void op_send(void *ctx, const char *addr, const uint8_t *to_key, const uint8_t *data,
		    size_t len)
{
	struct omxd *d = ctx;
	(void)to_key;
	if (!d->mesh)
		return;
	int r = gossip_mesh_send(d->mesh, d->now_ms, addr, GOSSIP_MESH_CH_GOSSIP, data, len);
	if (r < 0 && r != -EAGAIN)
		log_debug("send to %s: %s", addr, strerror(-r));
}

static void op_sign(void *ctx, const uint8_t *data, size_t len, uint8_t sig[GOSSIP_SIG_LEN])
{
	struct omxd *d = ctx;
	omxsec_sign(d->id, data, len, sig);
}

static int op_verify(void *ctx, const uint8_t pubkey[GOSSIP_KEY_LEN], const uint8_t *data,
		     size_t len, const uint8_t sig[GOSSIP_SIG_LEN])
{
	return omxsec_verify(pubkey, data, len, sig);
}

static int op_peer_check(void *ctx, const uint8_t pubkey[GOSSIP_KEY_LEN], const uint8_t *peer,
			 size_t peer_len)
{
	return omxsec_peer_check(pubkey, peer, peer_len);
}

static const char *ep_of(const char *addr)
{
	return strncmp(addr, "tcp://", 6) == 0 ? addr + 6 : addr;
}

static void op_event(void *ctx, enum gossip_event_kind kind, const struct gossip_member *m)
{
	struct omxd *d = ctx;
	omxd_mfs_member_event(d, kind, m);
	switch (kind) {
	case GOSSIP_EV_JOIN:
		/* bench/mesh_16.sh replays these lines: "joined" last means alive */
		if (m->state == GOSSIP_ALIVE)
			log_info("node %u (%s, %s) joined", m->id, m->info.name, ep_of(m->info.addr));
		else
			log_info("node %u (%s, %s) joined, %s", m->id, m->info.name, ep_of(m->info.addr),
				 gossip_state_name(m->state));
		/* small clusters: open the connection now, so the first probe does not wait for a
		 * handshake; large ones rely on the mesh holding datagrams (and on idle close) */
		if (d->mesh && d->g && !m->is_self && m->info.addr[0] &&
		    gossip_member_count(d->g) <= PRECONNECT_MAX_MEMBERS) {
			int r = gossip_mesh_connect(d->mesh, d->now_ms, m->info.addr);
			if (r < 0)
				log_debug("connect %s: %s", m->info.addr, strerror(-r));
		}
		break;
	case GOSSIP_EV_STATE:
		log_info("node %u (%s) is %s", m->id, m->info.name, gossip_state_name(m->state));
		break;
	case GOSSIP_EV_FORGET:
		log_debug("node %u (%s) forgotten", m->id, m->info.name);
		break;
	case GOSSIP_EV_UPDATE:
		break;
	case GOSSIP_EV_SELF_ID: {
		log_info("node id is now %u", m->id);
		d->node_id = m->id;
		int r = d->trial ? 0 : omxd_state_save_id(d, m->id);
		if (r < 0)
			log_error("saving node id %u: %s", m->id, strerror(-r));
		break;
	}
	case GOSSIP_EV_ID_CONFLICT:
		log_error("fixed node id %u is also claimed by %s (smaller key wins): choose another "
			  "--node-id",
			  m->id, m->info.name);
		break;
	}
}

static void on_gossip(void *ctx, const uint8_t *peer, const uint8_t *data, size_t len)
{
	struct omxd *d = ctx;
	if (d->g)
		(void)gossip_handle(d->g, d->now_ms, data, len, peer, GOSSIP_MESH_KEY_LEN);
	/* drops are counted by the core (omx status) */
}

/* ---- self endpoint ------------------------------------------------------------------------- */

static int split_ep(const char *ep, char *host, size_t cap, const char **ret_port)
{
	const char *colon = strrchr(ep, ':');
	if (!colon || (size_t)(colon - ep) >= cap)
		return -EINVAL;
	memcpy(host, ep, (size_t)(colon - ep));
	host[colon - ep] = '\0';
	*ret_port = colon + 1;
	return 0;
}

static bool is_local_ipv4(const char *host)
{
	struct in_addr a;
	if (inet_pton(AF_INET, host, &a) != 1)
		return false;
	struct ifaddrs *ifs, *i;
	if (getifaddrs(&ifs) < 0)
		return false;
	bool found = false;
	for (i = ifs; i && !found; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == a.s_addr)
			found = true;
	freeifaddrs(ifs);
	return found;
}

bool omxd_is_self_endpoint(const struct omxd *d, const char *ep)
{
	if (strcmp(ep, d->advertise) == 0)
		return true;
	char host[OMXD_EP_MAX], lhost[OMXD_EP_MAX];
	const char *port, *lport;
	if (split_ep(ep, host, sizeof(host), &port) < 0 ||
	    split_ep(d->opts.listen, lhost, sizeof(lhost), &lport) < 0 || strcmp(port, lport) != 0)
		return false;
	if (strcmp(lhost, "0.0.0.0") != 0 && strcmp(lhost, "*") != 0)
		return strcmp(host, lhost) == 0;
	return is_local_ipv4(host);
}

/* ---- start / stop ----------------------------------------------------------------------- */

static void contact_seeds(struct omxd *d)
{
	const char *addrs[OMXSEC_SEEDS_MAX];
	char buf[OMXSEC_SEEDS_MAX][OMXSEC_SEED_MAX + 8];
	size_t n = 0;
	for (size_t i = 0; i < d->key->n_seeds; i++) {
		if (omxd_is_self_endpoint(d, d->key->seeds[i]))
			continue;
		snprintf(buf[n], sizeof(buf[n]), "tcp://%s", d->key->seeds[i]);
		addrs[n] = buf[n];
		n++;
	}
	if (n)
		gossip_join(d->g, d->now_ms, addrs, n);
}

int omxd_cluster_start(struct omxd *d, struct omxsec_clusterkey **kp)
{
	struct omxsec_clusterkey *k = *kp;
	struct gossip_mesh_config mc = { 0 };
	char listen[OMXD_EP_MAX + 8];
	snprintf(listen, sizeof(listen), "tcp://%s", d->opts.listen);
	mc.listen = listen;
	int r = omxsec_derive_server_keys(k->secret, mc.server_pk, mc.server_sk);
	if (r < 0)
		return r;
	memcpy(mc.client_pk, d->id->curve_pk, GOSSIP_MESH_KEY_LEN);
	memcpy(mc.client_sk, d->id->curve_sk, GOSSIP_MESH_KEY_LEN);
	r = gossip_mesh_new(&mc, &d->mesh);
	sodium_memzero(&mc, sizeof(mc));
	if (r < 0) {
		log_error("mesh on %s: %s", listen, zmq_strerror(-r));
		return r;
	}
	r = gossip_mesh_set_handler(d->mesh, GOSSIP_MESH_CH_GOSSIP, on_gossip, d);
	if (r < 0) {
		gossip_mesh_free(&d->mesh);
		return r;
	}

	struct gossip_config gc = { 0 };
	memcpy(gc.self_key, d->id->sign_pk, GOSSIP_KEY_LEN);
	gc.self_id = d->opts.node_id ? d->opts.node_id : d->node_id;
	gc.fixed_id = d->opts.node_id != 0;
	r = gossip_timing_by_name(d->opts.profile, &gc.timing);
	if (r < 0) {
		gossip_mesh_free(&d->mesh);
		return r;
	}
	randombytes_buf(&gc.seed, sizeof(gc.seed));
	gc.ops = (struct gossip_ops){ .ctx = d,
				      .send = op_send,
				      .sign = op_sign,
				      .verify = op_verify,
				      .peer_check = op_peer_check,
				      .event = op_event };
	omxd_nodeinfo_sample(d->ni, d->now_ms);
	d->g = gossip_new(&gc, omxd_nodeinfo_get(d->ni), d->now_ms);
	if (!d->g) {
		gossip_mesh_free(&d->mesh);
		return -ENOMEM;
	}
	/* a provisional id (no persisted one yet) is never written: it settles later */
	uint16_t id = gossip_self_id(d->g);
	if (gossip_self_id_settled(d->g) && id != d->node_id) {
		d->node_id = id;
		r = d->trial ? 0 : omxd_state_save_id(d, id);
		if (r < 0)
			log_error("saving node id %u: %s", id, strerror(-r));
	}
	d->key = k;
	*kp = NULL;
	omxsec_cluster_id(k->secret, d->cluster_id);
	d->founder = k->n_seeds == 0;
	for (size_t i = 0; i < k->n_seeds; i++)
		if (omxd_is_self_endpoint(d, k->seeds[i]))
			d->founder = true;
	d->join_backoff_ms = JOIN_BACKOFF_MIN_MS;
	d->next_join_ms = d->now_ms + d->join_backoff_ms;
	d->next_reseed_ms = d->now_ms + RESEED_INTERVAL_MS;
	d->leaving = false;
	r = omxd_mfs_cluster_started(d);
	if (r < 0) {
		gossip_free(&d->g);
		gossip_mesh_free(&d->mesh);
		d->key = NULL;
		*kp = k;
		return r;
	}
	contact_seeds(d);
	gossip_tick(d->g, d->now_ms); /* a founder joining nobody settles its id here */
	log_info("node %u in cluster %s on %s (advertised %s), %zu seed(s)%s",
		 gossip_self_id(d->g), d->cluster_id,
		 gossip_mesh_endpoint(d->mesh), d->advertise, k->n_seeds,
		 d->founder ? ", founder" : "");
	return 0;
}

int omxd_cluster_commit(struct omxd *d)
{
	int r = omxd_state_save_key(d, d->key);
	if (r < 0)
		return r;
	d->trial = false;
	if (!d->g || !gossip_self_id_settled(d->g) || d->node_id == 0)
		return 0; /* saved by GOSSIP_EV_SELF_ID once it settles */
	r = omxd_state_save_id(d, d->node_id);
	if (r < 0)
		log_error("saving node id %u: %s", d->node_id, strerror(-r));
	return 0;
}

void omxd_cluster_stop(struct omxd *d)
{
	omxd_mfs_cluster_stopping(d);
	if (d->trial) {
		/* forget an id chosen during a join that did not succeed */
		uint16_t id = 0;
		d->node_id = omxd_state_load_id(d, &id) == 0 ? id : d->opts.node_id;
	}
	gossip_free(&d->g);
	gossip_mesh_free(&d->mesh);
	omxsec_clusterkey_free(&d->key);
	d->cluster_id[0] = '\0';
	d->leaving = false;
	d->founder = false;
	d->trial = false;
}

size_t omxd_cluster_others(const struct omxd *d)
{
	if (!d->g)
		return 0;
	size_t n = 0;
	struct gossip_member m;
	for (size_t i = 0; gossip_member_at(d->g, i, &m) == 0; i++)
		if (!m.is_self && (m.state == GOSSIP_ALIVE || m.state == GOSSIP_SUSPECT))
			n++;
	return n;
}

void omxd_cluster_leave(struct omxd *d, bool forget)
{
	d->leave_forget = d->leave_forget || forget;
	if (!d->g) {
		d->leaving = true;
		d->leave_deadline_ms = d->now_ms;
		return;
	}
	if (!d->leaving) {
		log_info("leaving cluster %s", d->cluster_id);
		gossip_leave(d->g, d->now_ms);
		d->leaving = true;
		d->leave_deadline_ms = d->now_ms + OMXD_LEAVE_MAX_MS;
	}
}

/* The end of a leave: tear down, forget the key if asked, answer `omx leave`. */
static void leave_finish(struct omxd *d)
{
	bool acked = d->g && gossip_leave_done(d->g, d->now_ms);
	omxd_cluster_stop(d);
	int r = 0;
	if (d->leave_forget) {
		r = omxd_state_forget_key(d);
		if (r < 0)
			log_error("removing the stored cluster key: %s", strerror(-r));
	}
	d->leave_forget = false;
	log_info("left the cluster%s", acked ? "" : " (not every member confirmed)");
	if (d->leave.fd >= 0)
		omxd_ctl_reply(d, &d->leave, r, r < 0 ? "left, but the stored key could not be "
							 "removed: %s"
						       : "left the cluster%s",
			       r < 0 ? strerror(-r) : "");
}

/* A pending `omx join`: success on first contact, failure (and rollback) at the deadline. */
static void join_check(struct omxd *d)
{
	if (d->join.fd < 0)
		return;
	size_t others = omxd_cluster_others(d);
	if (others == 0 && d->now_ms < d->join.deadline_ms)
		return;
	/* answer with the final id: it settles a moment after the seed's answer */
	if (others > 0 && !gossip_self_id_settled(d->g) && d->now_ms < d->join.deadline_ms)
		return;
	if (others == 0) {
		omxd_cluster_stop(d);
		log_warn("join failed: no bootstrap node answered");
		omxd_ctl_reply(d, &d->join, -ETIMEDOUT,
			       "no bootstrap node answered in time: wrong cluster key (a key of "
			       "another cluster fails the encrypted handshake silently), or the "
			       "seeds are down or unreachable; nothing was changed");
		return;
	}
	int r = omxd_cluster_commit(d);
	if (r < 0) {
		omxd_cluster_stop(d);
		omxd_ctl_reply(d, &d->join, r, "cannot store the cluster key in %s: %s",
			       d->opts.state_dir, strerror(-r));
		return;
	}
	omxd_ctl_reply(d, &d->join, 0, "joined cluster %s as node %u (%zu other node(s) seen)",
		       d->cluster_id, d->node_id, others);
}

void omxd_cluster_tick(struct omxd *d)
{
	if (d->leaving) {
		if (!d->g || gossip_leave_done(d->g, d->now_ms) || d->now_ms >= d->leave_deadline_ms) {
			leave_finish(d);
			return;
		}
	}
	if (d->now_ms >= d->next_info_ms) {
		omxd_nodeinfo_sample(d->ni, d->now_ms);
		if (d->g)
			gossip_set_info(d->g, d->now_ms, omxd_nodeinfo_get(d->ni));
		d->next_info_ms = d->now_ms + OMXD_INFO_INTERVAL_MS;
	}
	if (d->mesh)
		gossip_mesh_tick(d->mesh, d->now_ms);
	if (!d->g)
		return;
	gossip_tick(d->g, d->now_ms);
	if (!d->leaving && d->now_ms >= d->next_join_ms) {
		if (omxd_cluster_others(d) == 0) {
			contact_seeds(d);
			d->join_backoff_ms = d->join_backoff_ms * 2 > JOIN_BACKOFF_MAX_MS
						     ? JOIN_BACKOFF_MAX_MS
						     : d->join_backoff_ms * 2;
		} else {
			d->join_backoff_ms = JOIN_BACKOFF_MIN_MS;
			if (d->now_ms >= d->next_reseed_ms) {
				contact_seeds(d);
				d->next_reseed_ms = d->now_ms + RESEED_INTERVAL_MS;
			}
		}
		d->next_join_ms = d->now_ms + d->join_backoff_ms;
	}
	join_check(d);
}

uint64_t omxd_cluster_next_deadline(const struct omxd *d)
{
	uint64_t t = d->next_info_ms;
	if (d->leaving && d->leave_deadline_ms < t)
		t = d->leave_deadline_ms;
	if (d->leaving && d->g)
		t = t < d->now_ms + 50 ? t : d->now_ms + 50; /* poll gossip_leave_done */
	if (d->g) {
		uint64_t g = gossip_next_deadline(d->g);
		t = g < t ? g : t;
		t = d->next_join_ms < t ? d->next_join_ms : t;
	}
	if (d->mesh) {
		uint64_t m = gossip_mesh_next_deadline(d->mesh);
		t = m < t ? m : t;
	}
	if (d->join.fd >= 0) {
		t = d->join.deadline_ms < t ? d->join.deadline_ms : t;
		t = t < d->now_ms + 100 ? t : d->now_ms + 100;
	}
	return t;
}
