/* omfs_server_cred.c - run one request as the requesting user, in the calling thread only.
 *
 * Linux credentials are per thread; glibc makes setuid()/setgroups() process-wide by signalling
 * every thread, which is exactly what a multi-threaded server must not do. So we use only calls
 * that touch the current thread: setfsuid()/setfsgid() (thin syscall wrappers), the raw
 * SYS_setgroups syscall, and capset() on pid 0. Changing fsuid away from 0 drops only the
 * "file system" capabilities; a root daemon would keep CAP_SYS_ADMIN (trusted.* xattrs),
 * CAP_SETFCAP, CAP_SYS_PTRACE (/proc/<pid>/mem) and others. Hence the effective capability set
 * is emptied for every non-root request and restored afterwards: the kernel then checks
 * everything exactly as for a process of that user.
 *
 * Failing to restore the daemon's own credentials would leave a thread running as someone else;
 * that cannot happen with valid saved values, and if it does we abort rather than continue.
 *
 * Sticky threads (omfs_server_thread_sticky): a thread that does nothing but serve requests
 * (omxd's workers) keeps the last requester's credentials after a request instead of
 * restoring the daemon's, and the next request from the same requester then costs no system
 * call at all (a switch costs about 13). What the thread runs as is tracked in thread-local
 * state, so a request from anyone else still starts from the daemon's credentials.
 */
#include <errno.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "omfs/omfs_server_int.h"

/* What a sticky thread runs as between requests. */
static _Thread_local struct {
	int sticky; /* opted in */
	int active; /* running as the fields below, not as the daemon */
	uid_t uid;
	gid_t gid;
	size_t n;
	gid_t groups[OMFS_MAX_GROUPS];
	int dropped;
} cur;

static int caps_get(uint32_t caps[6])
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		caps[3 * i] = d[i].effective;
		caps[3 * i + 1] = d[i].permitted;
		caps[3 * i + 2] = d[i].inheritable;
	}
	return 0;
}

static int caps_set(const uint32_t caps[6], int drop_effective)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	for (int i = 0; i < 2; i++) {
		d[i].effective = drop_effective ? 0 : caps[3 * i];
		d[i].permitted = caps[3 * i + 1];
		d[i].inheritable = caps[3 * i + 2];
	}
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}

int srv_cred_probe(struct omfs_server *srv)
{
	uint32_t caps[6] = { 0 };
	int rc = caps_get(caps);
	if (rc < 0)
		return rc;
	uint32_t need = (1u << CAP_SETUID) | (1u << CAP_SETGID);
	srv->can_switch = (caps[0] & need) == need;
	memcpy(srv->base_caps, caps, sizeof(srv->base_caps));
	srv->base_uid = geteuid();
	srv->base_gid = getegid();
	int n = getgroups(0, NULL);
	if (n < 0)
		return -errno;
	srv->base_groups = calloc((size_t)n + 1, sizeof(gid_t));
	if (!srv->base_groups)
		return -ENOMEM;
	n = getgroups(n, srv->base_groups);
	if (n < 0)
		return -errno;
	srv->nbase_groups = n;
	return 0;
}

int srv_is_root(const struct srv_export *e, const struct omfs_cred *c)
{
	return c->uid == 0 && e->no_root_squash;
}

/* The daemon's own ids and groups again (abort rather than go on as someone else). The base
 * values are the process's: every server instance has the same ones. */
static void restore_ids(uid_t uid, gid_t gid, const gid_t *groups, int n)
{
	(void)setfsuid(uid);
	(void)setfsgid(gid);
	if (syscall(SYS_setgroups, (size_t)n, groups) < 0)
		abort();
	if ((uid_t)setfsuid((uid_t)-1) != uid || (gid_t)setfsgid((gid_t)-1) != gid)
		abort();
}

/* A sticky thread's daemon credentials, recorded when it last switched. */
static _Thread_local struct {
	uint32_t caps[6];
	uid_t uid;
	gid_t gid;
	int n;
	gid_t groups[NGROUPS_MAX > 1024 ? 1024 : NGROUPS_MAX];
} base;

static void sticky_restore(void)
{
	if (!cur.active)
		return;
	if (caps_set(base.caps, 0) < 0)
		abort();
	restore_ids(base.uid, base.gid, base.groups, base.n);
	cur.active = 0;
}

void omfs_server_thread_sticky(int on)
{
	if (!on)
		sticky_restore();
	cur.sticky = on != 0;
}

static int same_as_cur(uid_t uid, gid_t gid, const gid_t *groups, size_t n, int drop)
{
	return cur.active && cur.uid == uid && cur.gid == gid && cur.n == n &&
	       cur.dropped == drop && memcmp(cur.groups, groups, n * sizeof(groups[0])) == 0;
}

int srv_cred_enter(struct omfs_server *srv, const struct srv_export *e, const struct omfs_cred *c,
		   struct srv_saved_cred *saved)
{
	uid_t uid = c->uid;
	gid_t gid = c->gid;
	gid_t groups[OMFS_MAX_GROUPS];
	size_t n = c->ngroups <= OMFS_MAX_GROUPS ? c->ngroups : OMFS_MAX_GROUPS;
	int squash = !e->no_root_squash;
	if (squash && uid == 0)
		uid = srv->squash_uid;
	if (squash && gid == 0)
		gid = srv->squash_gid;
	for (size_t i = 0; i < n; i++)
		groups[i] = (squash && c->groups[i] == 0) ? srv->squash_gid : c->groups[i];

	saved->switched = 0;
	saved->dropped = 0;
	if (!srv->can_switch)
		return uid == srv->base_uid ? 0 : -EACCES;
	memcpy(saved->caps, srv->base_caps, sizeof(saved->caps));
	int drop = uid != 0;
	if (same_as_cur(uid, gid, groups, n, drop)) { /* a sticky thread, the same requester */
		saved->switched = 1;
		saved->dropped = drop;
		return 0;
	}
	sticky_restore(); /* someone else's: start from the daemon's credentials */
	int rc;
	if (syscall(SYS_setgroups, n, groups) < 0)
		return -errno;
	saved->switched = 1;
	(void)setfsgid(gid);
	(void)setfsuid(uid);
	if ((gid_t)setfsgid((gid_t)-1) != gid || (uid_t)setfsuid((uid_t)-1) != uid) {
		srv_cred_leave(srv, saved);
		return -EPERM;
	}
	if (drop) {
		rc = caps_set(saved->caps, 1);
		if (rc < 0) {
			srv_cred_leave(srv, saved);
			return rc;
		}
		saved->dropped = 1;
	}
	if (cur.sticky) {
		memcpy(base.caps, saved->caps, sizeof(base.caps));
		base.uid = srv->base_uid;
		base.gid = srv->base_gid;
		base.n = srv->nbase_groups < (int)(sizeof(base.groups) / sizeof(base.groups[0]))
				 ? srv->nbase_groups
				 : (int)(sizeof(base.groups) / sizeof(base.groups[0]));
		memcpy(base.groups, srv->base_groups, (size_t)base.n * sizeof(base.groups[0]));
		cur.uid = uid;
		cur.gid = gid;
		cur.n = n;
		memcpy(cur.groups, groups, n * sizeof(groups[0]));
		cur.dropped = drop;
		cur.active = 1;
	}
	return 0;
}

void srv_cred_leave(struct omfs_server *srv, struct srv_saved_cred *saved)
{
	if (!saved->switched)
		return;
	saved->switched = 0;
	if (cur.active && cur.sticky)
		return; /* kept for the next request (see the top of this file) */
	if (caps_set(saved->caps, 0) < 0)
		abort();
	restore_ids(srv->base_uid, srv->base_gid, srv->base_groups, srv->nbase_groups);
}

int srv_cred_raise(const struct srv_saved_cred *saved)
{
	if (!saved || !saved->switched || !saved->dropped)
		return -EPERM;
	return caps_set(saved->caps, 0);
}

void srv_cred_lower(const struct srv_saved_cred *saved)
{
	/* a thread left with the daemon's capabilities would serve the next request with them */
	if (caps_set(saved->caps, 1) < 0)
		abort();
}
