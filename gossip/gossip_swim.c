/* gossip_swim.c - SWIM failure detection with Lifeguard's refinements.
 *
 * One probe per protocol period, members in a shuffled round-robin order. A probe pings the
 * target; without an ack by the probe timeout it asks k random members to ping it (ping-req),
 * each of which answers with the forwarded ack or, Lifeguard-style, a nack when the target is
 * silent for 80 % of the timeout. No ack by the end of the period: the target becomes suspect
 * through an accusation we sign. Suspicion ends in death after a timeout that starts at
 * suspicion_max_mult * min and shrinks logarithmically with each independent confirmation down
 * to min = suspicion_mult * log10(n) * probe_interval. Local health (Lifeguard LHA): a score
 * raised by failed probes, missing nacks and having to refute a suspicion of ourselves, lowered
 * by successful probes; the probe interval and timeout are multiplied by (score + 1), so a slow
 * or overloaded node probes more patiently instead of accusing healthy members.
 *
 * Re-probe before accusing: one failed probe is weak evidence (packet loss, a slow or busy peer,
 * a connection still being set up while a whole cluster joins). A member whose last probe by us
 * succeeded, or that we just learned (GM_RETRY), is not accused on a failed probe: it is probed
 * again in the next period, without a local-health penalty, and accused only if that fails too.
 * Two consecutive failures are needed, so a member that really dies is suspected at most one
 * probe period later (sim, 300 nodes: first DEAD median 2.50 -> 2.81 s), while false
 * suspicions at 10-20 % loss drop 4-8x.
 *
 * Missing nacks are evidence against the prober: a failed probe for which more than half of the
 * ping-req helpers did not even nack is not held against the target at all; it raises our local
 * health score and the target is probed again. In the simulator every failed probe at 10 % loss
 * came from a slow node before this rule (1,000 nodes, 5 % slow: suspicions of live nodes 5,956
 * -> 0 in 120 s).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/gossip_int.h"

/* Independent confirmations after which the suspicion timeout reaches its minimum (Lifeguard's
 * K; memberlist uses suspicion_mult - 2 = 2). */
#define GOSSIP_SUSPICION_CONFIRMATIONS 3

void gossip_awareness(struct gossip *g, int delta)
{
	int max = g->t.awareness_max ? (int)g->t.awareness_max - 1 : 0;
	int a = (int)g->awareness + delta;
	if (a < 0)
		a = 0;
	if (a > max)
		a = max;
	g->awareness = (uint32_t)a;
}

static void make_acc(struct gossip *g, uint8_t kind, const struct gossip_rec *target,
		     struct gossip_acc *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->kind = kind;
	ret->has_sig = 1;
	memcpy(ret->target, target->key, GOSSIP_KEY_LEN);
	ret->incarnation = target->incarnation;
	memcpy(ret->accuser, g->self->key, GOSSIP_KEY_LEN);
	int n = gossip_wire_acc_signed_bytes(ret, g->sigbuf, sizeof(g->sigbuf));
	if (n > 0)
		g->ops.sign(g->ops.ctx, g->sigbuf, (size_t)n, ret->sig);
}

static struct gsusp *susp_find(struct gossip *g, const uint8_t key[GOSSIP_KEY_LEN])
{
	for (size_t i = 0; i < g->n_susp; i++)
		if (memcmp(g->susp[i].key, key, GOSSIP_KEY_LEN) == 0)
			return &g->susp[i];
	return NULL;
}

void gossip_suspicion_drop(struct gossip *g, const uint8_t key[GOSSIP_KEY_LEN])
{
	struct gsusp *s = susp_find(g, key);
	if (s)
		*s = g->susp[--g->n_susp];
}

static uint64_t suspicion_timeout(const struct gossip *g, const struct gsusp *s)
{
	double n = g->n_live > 1 ? (double)g->n_live : 1.0;
	double lg = log10(n) < 1.0 ? 1.0 : log10(n);
	double min = g->t.suspicion_mult * lg * g->t.probe_interval_ms;
	double max = min * (g->t.suspicion_max_mult > 1 ? g->t.suspicion_max_mult : 1);
	double k = GOSSIP_SUSPICION_CONFIRMATIONS;
	if (k > n - 2)
		k = n - 2;
	if (k < 1)
		return (uint64_t)min;
	double c = s->n_conf > 0 ? s->n_conf - 1 : 0;
	double t = max - (max - min) * log(c + 1.0) / log(k + 1.0);
	return (uint64_t)(t < min ? min : t);
}

static bool accuser_known(struct gossip *g, const struct gossip_acc *a)
{
	struct gmember *acc = gossip_find(g, a->accuser);
	return acc && acc->state != GOSSIP_DEAD && acc->state != GOSSIP_LEFT &&
	       memcmp(a->accuser, a->target, GOSSIP_KEY_LEN) != 0;
}

static int verify_acc(struct gossip *g, const struct gossip_acc *a)
{
	if (!a->has_sig) {
		g->stats.drop_unsigned++;
		return -EPERM;
	}
	int n = gossip_wire_acc_signed_bytes(a, g->sigbuf, sizeof(g->sigbuf));
	if (n < 0 || g->ops.verify(g->ops.ctx, a->accuser, g->sigbuf, (size_t)n, a->sig) != 0) {
		g->stats.drop_badsig++;
		return -EPERM;
	}
	return 0;
}

static void start_suspicion(struct gossip *g, uint64_t now, struct gmember *e,
			    const struct gossip_acc *a)
{
	struct gsusp s;
	memset(&s, 0, sizeof(s));
	memcpy(s.key, e->rec->key, GOSSIP_KEY_LEN);
	s.incarnation = a->incarnation;
	s.start_ms = now;
	s.n_conf = 1;
	s.accusers[0] = gossip_key_prefix(a->accuser);
	if (g->n_susp == g->cap_susp) {
		size_t nc = g->cap_susp ? g->cap_susp * 2 : 8;
		struct gsusp *ns = realloc(g->susp, nc * sizeof(*ns));
		if (!ns)
			return; /* stays alive in our view: no false death from OOM */
		g->susp = ns;
		g->cap_susp = nc;
	}
	g->susp[g->n_susp++] = s;
	g->stats.suspicions++;
	gossip_member_set_state(g, e, GOSSIP_SUSPECT, now);
	gossip_bq_acc(g, a);
}

static void refute(struct gossip *g, uint64_t now, const struct gossip_acc *a)
{
	if (g->leaving)
		return;
	if (a->incarnation + 1 > g->inc_floor)
		g->inc_floor = a->incarnation + 1;
	g->stats.false_suspicions_refuted++;
	gossip_awareness(g, 1);
	gossip_publish_self(g, now, true);
}

int gossip_on_accusation(struct gossip *g, uint64_t now, const struct gossip_acc *a)
{
	if (!a->has_sig) {
		g->stats.drop_unsigned++;
		return -EPERM;
	}
	if (memcmp(a->target, g->self->key, GOSSIP_KEY_LEN) == 0) {
		if (g->leaving)
			return 0;
		/* any member may tell us, even one we hold dead (a healing partition) */
		struct gmember *acc = gossip_find(g, a->accuser);
		if (a->incarnation < g->self->incarnation) {
			/* already refuted, but the accuser missed it: a death notice means it holds
			 * us dead and will not ask again, so send it our current record */
			if (a->kind == GOSSIP_ACC_DEAD && acc && acc->state != GOSSIP_LEFT &&
			    gossip_notice_allowed(g, now) && verify_acc(g, a) == 0)
				gossip_send_direct(g, acc, g->self, NULL);
			return 0;
		}
		if (!acc || acc->state == GOSSIP_LEFT || verify_acc(g, a) < 0)
			return -EPERM;
		refute(g, now, a);
		return 0;
	}
	struct gmember *e = gossip_find(g, a->target);
	if (!e || e->rec->incarnation != a->incarnation || e->state == GOSSIP_DEAD ||
	    e->state == GOSSIP_LEFT || !accuser_known(g, a))
		return 0; /* stale or unknown: nothing to learn */
	if (a->kind == GOSSIP_ACC_DEAD) {
		if (verify_acc(g, a) < 0)
			return -EPERM;
		g->stats.deaths++;
		gossip_member_set_state(g, e, GOSSIP_DEAD, now);
		gossip_bq_acc(g, a);
		return 0;
	}
	struct gsusp *s = susp_find(g, a->target);
	if (e->state == GOSSIP_SUSPECT && s) {
		uint64_t p = gossip_key_prefix(a->accuser);
		for (uint32_t i = 0; i < s->n_conf; i++)
			if (s->accusers[i] == p)
				return 0;
		if (s->n_conf >= GOSSIP_MAX_CONFIRM)
			return 0;
		if (verify_acc(g, a) < 0)
			return -EPERM;
		s->accusers[s->n_conf++] = p;
		gossip_bq_acc(g, a); /* Lifeguard: re-gossip independent confirmations */
		return 0;
	}
	if (verify_acc(g, a) < 0)
		return -EPERM;
	start_suspicion(g, now, e, a);
	return 0;
}

static void send_simple(struct gossip *g, enum gw_body body, uint32_t seq,
			const struct gossip_rec *to, bool piggyback)
{
	struct gw_msg m;
	memset(&m, 0, sizeof(m));
	m.body = body;
	m.seq = seq;
	memcpy(m.target, to->key, GOSSIP_KEY_LEN);
	if (body == GW_PING) {
		memcpy(m.reply_addr, g->self->info.addr, GOSSIP_ADDR_MAX);
		struct gmember *e = gossip_find(g, to->key);
		if (e && e->state == GOSSIP_SUSPECT) {
			m.suspect = true;
			m.incarnation = to->incarnation;
		}
	}
	gossip_send_msg(g, to->info.addr, to->key, &m, piggyback);
}

static uint32_t new_seq(struct gossip *g)
{
	uint32_t s;
	do
		s = (uint32_t)gossip_rand(g);
	while (s == 0);
	return s;
}

static struct gmember *next_probe_target(struct gossip *g)
{
	if (g->reprobe) {
		g->reprobe = false;
		struct gmember *e = gossip_find(g, g->reprobe_key);
		if (e && e->rec != g->self && e->state == GOSSIP_ALIVE)
			return e;
	}
	for (size_t k = 0; k <= g->n; k++) {
		if (g->probe_idx >= g->n) {
			gossip_members_shuffle(g);
			g->probe_idx = 0;
		}
		struct gmember *e = &g->m[g->probe_idx++];
		if (e->rec != g->self && (e->state == GOSSIP_ALIVE || e->state == GOSSIP_SUSPECT))
			return e;
	}
	return NULL;
}

static void start_probe(struct gossip *g, uint64_t now)
{
	uint32_t scale = g->awareness + 1;
	g->next_probe_ms = now + (uint64_t)g->t.probe_interval_ms * scale;
	if (g->leaving)
		return;
	struct gmember *e = next_probe_target(g);
	if (!e)
		return;
	memset(&g->probe, 0, sizeof(g->probe));
	g->probe.active = true;
	memcpy(g->probe.key, e->rec->key, GOSSIP_KEY_LEN);
	g->probe.seq = new_seq(g);
	g->probe.sent_ms = now;
	g->probe.timeout_ms = now + (uint64_t)g->t.probe_timeout_ms * scale;
	g->probe.end_ms = g->next_probe_ms;
	g->stats.probes++;
	send_simple(g, GW_PING, g->probe.seq, e->rec, true);
}

static void send_indirect(struct gossip *g, struct gmember *target)
{
	g->probe.indirect_sent = true;
	/* a second direct ping along with the indirect ones (memberlist's TCP fallback, in
	 * datagram form): a single lost packet no longer makes a probe depend on intermediaries */
	send_simple(g, GW_PING, g->probe.seq, target->rec, false);
	uint8_t chosen[8][GOSSIP_KEY_LEN];
	uint32_t k = g->t.indirect_checks > 8 ? 8 : g->t.indirect_checks;
	uint32_t n = 0;
	for (uint32_t tries = 0; n < k && tries < 4 * k; tries++) {
		struct gmember *e = gossip_random_member(g, target->rec->key);
		if (!e)
			break;
		bool dup = false;
		for (uint32_t i = 0; i < n; i++)
			dup |= memcmp(chosen[i], e->rec->key, GOSSIP_KEY_LEN) == 0;
		if (dup || e->state != GOSSIP_ALIVE)
			continue;
		memcpy(chosen[n++], e->rec->key, GOSSIP_KEY_LEN);
		struct gw_msg m;
		memset(&m, 0, sizeof(m));
		m.body = GW_PING_REQ;
		m.seq = g->probe.seq;
		memcpy(m.target, target->rec->key, GOSSIP_KEY_LEN);
		gossip_send_msg(g, e->rec->info.addr, e->rec->key, &m, false);
	}
	g->probe.expected_nacks = n;
}

static void reprobe(struct gossip *g, const struct gmember *e)
{
	g->reprobe = true;
	memcpy(g->reprobe_key, e->rec->key, GOSSIP_KEY_LEN);
}

static void probe_failed(struct gossip *g, uint64_t now)
{
	struct gmember *e = gossip_find(g, g->probe.key);
	uint32_t missing = g->probe.expected_nacks - g->probe.nacks;
	if (g->t.awareness_max > 1 && g->probe.expected_nacks &&
	    missing * 2 > g->probe.expected_nacks) {
		/* most of the members we asked to help did not even answer with a nack: the
		 * evidence is about us (slow, overloaded, our links lossy), not about the target
		 * (Lifeguard). Raise our local health score and try again instead of accusing. */
		g->stats.probe_failures++;
		g->stats.accusations_held++;
		gossip_awareness(g, (int)missing);
		if (e && (e->state == GOSSIP_ALIVE || e->state == GOSSIP_SUSPECT))
			reprobe(g, e);
		return;
	}
	if (e && e->state == GOSSIP_ALIVE && (e->flags & GM_RETRY)) {
		/* first failure: no accusation, no local-health penalty, probe it again next */
		e->flags &= (uint8_t)~GM_RETRY;
		g->stats.reprobes++;
		reprobe(g, e);
		return;
	}
	g->stats.probe_failures++;
	if (g->probe.expected_nacks > 0)
		gossip_awareness(g, (int)missing);
	else
		gossip_awareness(g, 1);
	if (!e || (e->state != GOSSIP_ALIVE && e->state != GOSSIP_SUSPECT))
		return;
	struct gossip_acc a;
	make_acc(g, GOSSIP_ACC_SUSPECT, e->rec, &a);
	if (e->state == GOSSIP_ALIVE) {
		start_suspicion(g, now, e, &a);
		return;
	}
	/* already suspect: our failed probe is an independent confirmation */
	struct gsusp *s = susp_find(g, e->rec->key);
	uint64_t p = gossip_key_prefix(g->self->key);
	if (!s || s->incarnation != a.incarnation || s->n_conf >= GOSSIP_MAX_CONFIRM)
		return;
	for (uint32_t i = 0; i < s->n_conf; i++)
		if (s->accusers[i] == p)
			return;
	s->accusers[s->n_conf++] = p;
	gossip_bq_acc(g, &a);
}

static void relay_tick(struct gossip *g, uint64_t now)
{
	for (size_t i = 0; i < GOSSIP_RELAY_MAX; i++) {
		struct grelay *r = &g->relay[i];
		if (!r->used || now < r->deadline_ms)
			continue;
		r->used = false;
		struct gmember *req = gossip_find(g, r->requester);
		if (req)
			send_simple(g, GW_NACK, r->their_seq, req->rec, false);
	}
}

static void suspicion_tick(struct gossip *g, uint64_t now)
{
	for (size_t i = 0; i < g->n_susp;) {
		struct gsusp *s = &g->susp[i];
		if (now < s->start_ms + suspicion_timeout(g, s)) {
			i++;
			continue;
		}
		struct gmember *e = gossip_find(g, s->key);
		if (!e || e->state != GOSSIP_SUSPECT) {
			*s = g->susp[--g->n_susp];
			continue;
		}
		struct gossip_acc a;
		make_acc(g, GOSSIP_ACC_DEAD, e->rec, &a);
		g->stats.deaths++;
		gossip_member_set_state(g, e, GOSSIP_DEAD, now); /* drops s */
		gossip_bq_acc(g, &a);
	}
}

void gossip_swim_tick(struct gossip *g, uint64_t now)
{
	relay_tick(g, now);
	if (g->probe.active && !g->probe.acked) {
		struct gmember *t = gossip_find(g, g->probe.key);
		if (!t || t->state == GOSSIP_DEAD || t->state == GOSSIP_LEFT)
			g->probe.active = false;
		else if (!g->probe.indirect_sent && now >= g->probe.timeout_ms &&
			 g->t.indirect_checks)
			send_indirect(g, t);
	}
	if (g->probe.active && now >= g->probe.end_ms) {
		g->probe.active = false;
		if (!g->probe.acked)
			probe_failed(g, now);
	}
	suspicion_tick(g, now);
	if (!g->probe.active && now >= g->next_probe_ms)
		start_probe(g, now);
}

uint64_t gossip_swim_deadline(const struct gossip *g)
{
	uint64_t d = g->next_probe_ms;
	if (g->probe.active) {
		if (!g->probe.acked && !g->probe.indirect_sent && g->probe.timeout_ms < d)
			d = g->probe.timeout_ms;
		if (g->probe.end_ms < d)
			d = g->probe.end_ms;
	}
	for (size_t i = 0; i < GOSSIP_RELAY_MAX; i++)
		if (g->relay[i].used && g->relay[i].deadline_ms < d)
			d = g->relay[i].deadline_ms;
	for (size_t i = 0; i < g->n_susp; i++) {
		uint64_t t = g->susp[i].start_ms + suspicion_timeout(g, &g->susp[i]);
		if (t < d)
			d = t;
	}
	return d;
}

void gossip_swim_on_ping(struct gossip *g, uint64_t now, const struct gw_msg *m)
{
	if (memcmp(m->target, g->self->key, GOSSIP_KEY_LEN) != 0)
		return; /* meant for a previous owner of our address */
	if (m->suspect && !g->leaving) {
		/* refute on the ack itself: a new incarnation if the accusation is current, else
		 * make sure our current record rides along */
		if (m->incarnation >= g->self->incarnation) {
			struct gossip_acc a = { .incarnation = m->incarnation };
			refute(g, now, &a);
		} else {
			gossip_bq_rec(g, g->self, false);
		}
	}
	struct gmember *from = gossip_find(g, m->sender);
	const char *addr = from ? from->rec->info.addr : m->reply_addr;
	if (!addr[0])
		return;
	if (!from && now >= g->next_stranger_pp_ms) {
		/* a member we never heard of: pull its record (and whatever else we miss) */
		g->next_stranger_pp_ms = now + g->t.probe_interval_ms;
		gossip_pp_start(g, now, addr, m->sender);
	}
	struct gw_msg a;
	memset(&a, 0, sizeof(a));
	a.body = GW_ACK;
	a.seq = m->seq;
	gossip_send_msg(g, addr, m->sender, &a, true);
}

void gossip_swim_on_ack(struct gossip *g, uint64_t now, const struct gw_msg *m)
{
	if (g->probe.active && !g->probe.acked && m->seq == g->probe.seq) {
		g->probe.acked = true;
		gossip_awareness(g, -1);
		struct gmember *e = gossip_find(g, g->probe.key);
		if (e)
			e->flags |= GM_RETRY; /* its next failure gets a retry again */
		return;
	}
	for (size_t i = 0; i < GOSSIP_RELAY_MAX; i++) {
		struct grelay *r = &g->relay[i];
		if (!r->used || r->our_seq != m->seq)
			continue;
		r->used = false;
		struct gmember *req = gossip_find(g, r->requester);
		if (req)
			send_simple(g, GW_ACK, r->their_seq, req->rec, false);
		return;
	}
}

void gossip_swim_on_nack(struct gossip *g, uint64_t now, const struct gw_msg *m)
{
	if (g->probe.active && m->seq == g->probe.seq && g->probe.nacks < g->probe.expected_nacks)
		g->probe.nacks++;
}

void gossip_swim_on_ping_req(struct gossip *g, uint64_t now, const struct gw_msg *m)
{
	struct gmember *t = gossip_find(g, m->target);
	struct gmember *req = gossip_find(g, m->sender);
	if (!t || !req || t->rec == g->self)
		return;
	if (t->state == GOSSIP_DEAD || t->state == GOSSIP_LEFT) {
		/* we already know it unreachable: say so at once. Staying silent would make the
		 * requester count a missing nack against itself and never accuse the target (a
		 * member partitioned away stayed alive in one view for good). */
		send_simple(g, GW_NACK, m->seq, req->rec, false);
		return;
	}
	struct grelay *r = NULL;
	for (size_t i = 0; i < GOSSIP_RELAY_MAX && !r; i++)
		if (!g->relay[i].used)
			r = &g->relay[i];
	if (!r) /* all busy: replace a random one */
		r = &g->relay[gossip_rand(g) % GOSSIP_RELAY_MAX];
	r->used = true;
	r->our_seq = new_seq(g);
	r->their_seq = m->seq;
	memcpy(r->requester, m->sender, GOSSIP_KEY_LEN);
	r->deadline_ms = now + (uint64_t)g->t.probe_timeout_ms * 8 / 10;
	send_simple(g, GW_PING, r->our_seq, t->rec, false);
}

#define DEATH_NOTICES_PER_INTERVAL 8

bool gossip_notice_allowed(struct gossip *g, uint64_t now)
{
	if (now >= g->notice_window_ms) {
		g->notice_window_ms = now + g->t.probe_interval_ms;
		g->notices = 0;
	}
	if (g->notices >= DEATH_NOTICES_PER_INTERVAL || g->leaving)
		return false;
	g->notices++;
	return true;
}

static void death_notice(struct gossip *g, uint64_t now, struct gmember *e)
{
	if (!gossip_notice_allowed(g, now))
		return;
	struct gossip_acc a;
	make_acc(g, GOSSIP_ACC_DEAD, e->rec, &a);
	gossip_send_direct(g, e, NULL, &a);
}

void gossip_swim_heard_from(struct gossip *g, uint64_t now, const uint8_t key[GOSSIP_KEY_LEN])
{
	struct gmember *e = gossip_find(g, key);
	if (e && e->state == GOSSIP_DEAD)
		death_notice(g, now, e);
}

void gossip_swim_reconnect(struct gossip *g, uint64_t now)
{
	size_t dead = 0;
	for (size_t i = 0; i < g->n; i++)
		dead += g->m[i].state == GOSSIP_DEAD;
	if (!dead)
		return;
	size_t pick = (size_t)(gossip_rand(g) % dead);
	for (size_t i = 0; i < g->n; i++) {
		if (g->m[i].state != GOSSIP_DEAD)
			continue;
		if (pick-- == 0) {
			death_notice(g, now, &g->m[i]);
			return;
		}
	}
}
