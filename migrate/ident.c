/* ident.c - see ident.h: the identity filter, built, recognized and installed.
 *
 * The program: anything not x86-64 or an x32 number is allowed; then one block per trapped
 * system call. getpid/gettid trap unconditionally; the others compare the low 32 bits of their
 * PID arguments (pid_t is an int; the kernel truncates the same way) with the virtual PID and
 * trap only on a match. Jumps go to two shared exits at the end (ALLOW, USER_NOTIF). The
 * virtual PID is an immediate in the program, which is how a later checkpoint reads it back
 * (PTRACE_SECCOMP_GET_FILTER) and checks the rest is exactly ours.
 */
#include "migrate/ident.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define TO_ALLOW 255 /* placeholder jump targets, resolved at the end */
#define TO_NOTIF 254

struct trapped {
	int nr;
	int args; /* bit i: args[i] is a PID compared with the virtual PID; 0: always trapped */
};

static const struct trapped trapped[] = {
	{ SYS_getpid, 0 },	      { SYS_gettid, 0 },	  { SYS_kill, 1 },
	{ SYS_tkill, 1 },	      { SYS_tgkill, 3 },	  { SYS_rt_sigqueueinfo, 1 },
	{ SYS_rt_tgsigqueueinfo, 3 }, { SYS_pidfd_open, 1 },	  { SYS_getpgid, 1 },
	{ SYS_getsid, 1 },	      { SYS_prlimit64, 1 },	  { SYS_sched_getaffinity, 1 },
	{ SYS_sched_setaffinity, 1 },
};

static void emit(struct sock_filter *out, size_t *n, uint16_t code, uint8_t jt, uint8_t jf,
		 uint32_t k)
{
	out[(*n)++] = (struct sock_filter){ code, jt, jf, k };
}

size_t mig_ident_filter(int32_t vpid, struct sock_filter *out)
{
	size_t n = 0;
	emit(out, &n, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch));
	emit(out, &n, BPF_JMP | BPF_JEQ | BPF_K, 0, TO_ALLOW, AUDIT_ARCH_X86_64);
	emit(out, &n, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
	emit(out, &n, BPF_JMP | BPF_JGE | BPF_K, TO_ALLOW, 0, 0x40000000u); /* x32 */
	for (size_t i = 0; i < sizeof(trapped) / sizeof(trapped[0]); i++) {
		const struct trapped *s = &trapped[i];
		if (!s->args) {
			emit(out, &n, BPF_JMP | BPF_JEQ | BPF_K, TO_NOTIF, 0, (uint32_t)s->nr);
			continue;
		}
		int nargs = __builtin_popcount((unsigned)s->args);
		/* skip: per argument a load and a compare, then the return */
		emit(out, &n, BPF_JMP | BPF_JEQ | BPF_K, 0, (uint8_t)(2 * nargs + 1),
		     (uint32_t)s->nr);
		for (int a = 0; a < 6; a++) {
			if (!(s->args & (1 << a)))
				continue;
			emit(out, &n, BPF_LD | BPF_W | BPF_ABS, 0, 0,
			     (uint32_t)(offsetof(struct seccomp_data, args) + 8 * (size_t)a));
			emit(out, &n, BPF_JMP | BPF_JEQ | BPF_K, TO_NOTIF, 0, (uint32_t)vpid);
		}
		emit(out, &n, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
	}
	size_t allow = n;
	emit(out, &n, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
	size_t notif = n;
	emit(out, &n, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_USER_NOTIF);
	for (size_t i = 0; i < n; i++) {
		if (BPF_CLASS(out[i].code) != BPF_JMP)
			continue;
		if (out[i].jt == TO_ALLOW || out[i].jt == TO_NOTIF)
			out[i].jt = (uint8_t)((out[i].jt == TO_ALLOW ? allow : notif) - i - 1);
		if (out[i].jf == TO_ALLOW || out[i].jf == TO_NOTIF)
			out[i].jf = (uint8_t)((out[i].jf == TO_ALLOW ? allow : notif) - i - 1);
	}
	return n;
}

static int seccomp_mode(pid_t pid)
{
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	int mode = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	fclose(f);
	return mode;
}

int mig_ident_recognize(pid_t pid, int32_t *ret_vpid)
{
	int mode = seccomp_mode(pid);
	if (mode < 0)
		return mode;
	if (mode == 0) {
		*ret_vpid = 0;
		return 0;
	}
	if (mode != SECCOMP_MODE_FILTER)
		return -EBUSY;
	struct sock_filter got[MIG_IDENT_MAX_INSNS + 1], want[MIG_IDENT_MAX_INSNS];
	long n = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, NULL);
	if (n < 0)
		return -errno;
	if (n > MIG_IDENT_MAX_INSNS || n < 8)
		return -EBUSY;
	if (ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, got) != n)
		return -EIO;
	if (ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 1, NULL) >= 0 || errno != ENOENT)
		return -EBUSY; /* a second filter */
	/* the first argument comparison holds the virtual PID: after the 4-instruction prologue,
	 * getpid, gettid, kill's number check and its argument load */
	int32_t vpid = (int32_t)got[MIG_IDENT_VPID_INSN].k;
	size_t m = mig_ident_filter(vpid, want);
	if (vpid <= 0 || (size_t)n != m || memcmp(got, want, m * sizeof(want[0])) != 0)
		return -EBUSY;
	*ret_vpid = vpid;
	return 0;
}

/* WAIT_KILLABLE_RECV: once the supervisor has taken a notification, only a fatal signal may
 * interrupt the trapped call. Without it, the signal the supervisor sends on the process's
 * behalf (kill/tgkill/sigqueue to itself) interrupts the very call waiting for the reply: the
 * kernel drops the notification, the handler runs, the call is restarted and trapped again, and
 * the signal is sent again (a handler run several times, or a loop). With it the call returns
 * first and the signal is delivered on that return, as for a real kill() of oneself. Kernels
 * before 5.19 lack the flag (EINVAL); there the filter goes in without it. */
static long set_filter(struct mig_tracee *t, uint64_t scratch)
{
	long fd = mig_tracee_call(t, SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				  SECCOMP_FILTER_FLAG_NEW_LISTENER |
					  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
				  scratch, 0, 0, 0);
	if (fd == -EINVAL)
		fd = mig_tracee_call(t, SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				     SECCOMP_FILTER_FLAG_NEW_LISTENER, scratch, 0, 0, 0);
	return fd;
}

int mig_ident_install(struct mig_tracee *t, uint64_t scratch, int32_t vpid, int *ret_listener)
{
	struct sock_filter prog[MIG_IDENT_MAX_INSNS];
	size_t n = mig_ident_filter(vpid, prog);
	struct {
		uint16_t len;
		uint16_t pad[3];
		uint64_t filter;
	} fprog = { (uint16_t)n, { 0 }, scratch + 16 };
	int r = mig_tracee_write(t, scratch, &fprog, sizeof(fprog));
	if (r == 0)
		r = mig_tracee_write(t, scratch + 16, prog, n * sizeof(prog[0]));
	if (r < 0)
		return r;
	long fd = set_filter(t, scratch);
	if (fd == -EACCES) { /* not privileged in there: the kernel wants no_new_privs */
		long k = mig_tracee_call(t, SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0);
		if (k < 0)
			return (int)k;
		fd = set_filter(t, scratch);
	}
	if (fd < 0)
		return (int)fd;
	int pidfd = (int)syscall(SYS_pidfd_open, t->pid, 0);
	int mine = pidfd < 0 ? -errno : (int)syscall(SYS_pidfd_getfd, pidfd, (int)fd, 0);
	if (pidfd >= 0 && mine < 0)
		mine = -errno;
	if (pidfd >= 0)
		(void)close(pidfd);
	long c = mig_tracee_call(t, SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
	if (mine >= 0 && c < 0) {
		(void)close(mine);
		mine = (int)c;
	}
	if (mine < 0)
		return mine;
	*ret_listener = mine;
	return 0;
}
