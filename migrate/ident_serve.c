/* ident_serve.c - see ident.h: the supervisor answering a restored process's identity calls.
 *
 * Each notification is answered by doing the call here with the real PID in place of the
 * virtual one (the caller is stopped in the kernel meanwhile), copying argument structures
 * from and results to its memory with process_vm_readv/writev, and checking the notification
 * is still alive (SECCOMP_IOCTL_NOTIF_ID_VALID) before acting on what was read. pidfd_open's
 * descriptor is installed in the caller with SECCOMP_IOCTL_NOTIF_ADDFD (SEND: atomically the
 * call's result). A signal the process sends itself through us carries our PID in si_pid;
 * rt_sigqueueinfo with a kernel-reserved si_code (which only the process itself may use) is
 * sent as a plain signal.
 */
#include "migrate/ident.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_AFFINITY 8192

struct ctx {
	int listener;
	pid_t real, vpid;
	const struct seccomp_notif *n;
};

static pid_t map(const struct ctx *c, __u64 arg)
{
	pid_t p = (pid_t)(int32_t)arg;
	return p == c->vpid ? c->real : p;
}

static int tgid_of(pid_t tid)
{
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	int tgid = -ESRCH;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

static int peer_read(const struct ctx *c, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = { buf, len }, r = { (void *)(uintptr_t)addr, len };
	ssize_t k = process_vm_readv((pid_t)c->n->pid, &l, 1, &r, 1, 0);
	if (k < 0)
		return -errno;
	if ((size_t)k != len)
		return -EFAULT;
	/* what was read belongs to this notification's caller only if it is still waiting */
	uint64_t id = c->n->id;
	if (ioctl(c->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0)
		return -ESRCH;
	return 0;
}

static int peer_write(const struct ctx *c, uint64_t addr, const void *buf, size_t len)
{
	struct iovec l = { (void *)(uintptr_t)buf, len }, r = { (void *)(uintptr_t)addr, len };
	ssize_t k = process_vm_writev((pid_t)c->n->pid, &l, 1, &r, 1, 0);
	if (k < 0)
		return -errno;
	return (size_t)k == len ? 0 : -EFAULT;
}

static long ret(long k)
{
	return k < 0 ? -errno : k;
}

static long sigqueue_call(const struct ctx *c, int tg)
{
	const __u64 *a = c->n->data.args;
	siginfo_t info;
	int r = peer_read(c, a[tg ? 3 : 2], &info, sizeof(info));
	if (r < 0)
		return r;
	int sig = (int)a[tg ? 2 : 1];
	if (info.si_code >= 0 || info.si_code == SI_TKILL) /* only the process itself may */
		return tg ? ret(syscall(SYS_tgkill, map(c, a[0]), map(c, a[1]), sig))
			  : ret(kill(map(c, a[0]), sig));
	if (tg)
		return ret(syscall(SYS_rt_tgsigqueueinfo, map(c, a[0]), map(c, a[1]), sig, &info));
	return ret(syscall(SYS_rt_sigqueueinfo, map(c, a[0]), sig, &info));
}

static long prlimit_call(const struct ctx *c)
{
	const __u64 *a = c->n->data.args;
	struct rlimit nl, ol;
	if (a[2]) {
		int r = peer_read(c, a[2], &nl, sizeof(nl));
		if (r < 0)
			return r;
	}
	long k = ret(syscall(SYS_prlimit64, map(c, a[0]), a[1], a[2] ? &nl : NULL,
			     a[3] ? &ol : NULL));
	if (k == 0 && a[3]) {
		int r = peer_write(c, a[3], &ol, sizeof(ol));
		if (r < 0)
			return r;
	}
	return k;
}

static long affinity_call(const struct ctx *c, int set)
{
	const __u64 *a = c->n->data.args;
	uint8_t mask[MAX_AFFINITY];
	size_t len = a[1] < sizeof(mask) ? (size_t)a[1] : sizeof(mask);
	if (set) {
		int r = peer_read(c, a[2], mask, len);
		if (r < 0)
			return r;
		return ret(syscall(SYS_sched_setaffinity, map(c, a[0]), len, mask));
	}
	long k = ret(syscall(SYS_sched_getaffinity, map(c, a[0]), len, mask));
	if (k > 0) {
		int r = peer_write(c, a[2], mask, (size_t)k);
		if (r < 0)
			return r;
	}
	return k;
}

/* pidfd_open: the new descriptor goes straight into the caller; 1 means "already answered". */
static long pidfd_call(const struct ctx *c, struct seccomp_notif_resp *resp)
{
	const __u64 *a = c->n->data.args;
	int fd = (int)syscall(SYS_pidfd_open, map(c, a[0]), (unsigned)a[1]);
	if (fd < 0)
		return -errno;
	struct seccomp_notif_addfd add = { .id = c->n->id,
					   .flags = SECCOMP_ADDFD_FLAG_SEND,
					   .srcfd = (uint32_t)fd,
					   .newfd_flags = O_CLOEXEC };
	long k = ioctl(c->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
	int e = errno;
	(void)close(fd);
	if (k >= 0)
		return 1;
	resp->flags = 0;
	return -e;
}

/* Fills resp; returns 1 if the notification was already answered (no SEND needed). */
static int handle(const struct ctx *c, struct seccomp_notif_resp *resp)
{
	const struct seccomp_notif *n = c->n;
	const __u64 *a = n->data.args;
	long v;
	resp->id = n->id;
	switch (n->data.nr) {
	case SYS_getpid:
		if ((pid_t)n->pid != c->real && tgid_of((pid_t)n->pid) != c->real) {
			resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE; /* a child of ours */
			return 0;
		}
		v = c->vpid;
		break;
	case SYS_gettid:
		if ((pid_t)n->pid != c->real) {
			resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE; /* another thread */
			return 0;
		}
		v = c->vpid;
		break;
	case SYS_kill:
		v = ret(kill(map(c, a[0]), (int)a[1]));
		break;
	case SYS_tkill:
		v = ret(syscall(SYS_tkill, map(c, a[0]), (int)a[1]));
		break;
	case SYS_tgkill:
		v = ret(syscall(SYS_tgkill, map(c, a[0]), map(c, a[1]), (int)a[2]));
		break;
	case SYS_rt_sigqueueinfo:
	case SYS_rt_tgsigqueueinfo:
		v = sigqueue_call(c, n->data.nr == SYS_rt_tgsigqueueinfo);
		break;
	case SYS_pidfd_open:
		v = pidfd_call(c, resp);
		if (v == 1)
			return 1;
		break;
	case SYS_getpgid:
		v = ret(getpgid(map(c, a[0])));
		break;
	case SYS_getsid:
		v = ret(getsid(map(c, a[0])));
		break;
	case SYS_prlimit64:
		v = prlimit_call(c);
		break;
	case SYS_sched_getaffinity:
	case SYS_sched_setaffinity:
		v = affinity_call(c, n->data.nr == SYS_sched_setaffinity);
		break;
	default: /* not ours to translate */
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		return 0;
	}
	if (v < 0)
		resp->error = (int32_t)v;
	else
		resp->val = v;
	return 0;
}

int mig_ident_serve(int listener, pid_t real, pid_t vpid)
{
	int r = 0;
	for (;;) {
		struct pollfd p = { .fd = listener, .events = POLLIN };
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (!(p.revents & POLLIN))
			break; /* POLLHUP: nobody runs under the filter any more */
		struct seccomp_notif n;
		memset(&n, 0, sizeof(n));
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0) {
			if (errno == EINTR || errno == ENOENT) /* the caller went away */
				continue;
			r = -errno;
			break;
		}
		struct ctx c = { listener, real, vpid, &n };
		struct seccomp_notif_resp resp = { 0 };
		if (handle(&c, &resp) == 1)
			continue;
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT) {
			r = -errno;
			break;
		}
	}
	(void)close(listener);
	return r;
}

static __attribute__((noreturn)) void supervisor(int listener, pid_t real, pid_t vpid)
{
	(void)setsid();
	pid_t p = fork();
	if (p != 0)
		_exit(p < 0 ? 1 : 0);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(1);
	if (dup2(listener, 3) < 0)
		_exit(1);
	(void)syscall(SYS_close_range, 4, ~0u, 0);
	(void)prctl(PR_SET_NAME, "omx-ident", 0, 0, 0);
	_exit(mig_ident_serve(3, real, vpid) < 0 ? 1 : 0);
}

int mig_ident_spawn(int listener, pid_t real, pid_t vpid)
{
	pid_t p = fork();
	if (p == 0)
		supervisor(listener, real, vpid);
	int e = p < 0 ? -errno : 0;
	(void)close(listener);
	int st = 0;
	while (p > 0 && waitpid(p, &st, 0) < 0) {
		if (errno != EINTR) {
			e = -errno;
			break;
		}
	}
	if (e == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		e = -ECHILD;
	return e;
}
