/* inject.c - see inject.h.
 *
 * Stops we meet while injecting, and what we do:
 *  - syscall-entry / syscall-exit stops (SIGTRAP|0x80, PTRACE_O_TRACESYSGOOD): the injected call;
 *  - a signal-delivery stop: some signal arrived; record it in `deferred` and suppress it now
 *    (it is re-sent on release, or saved as pending in the image);
 *  - a PTRACE_EVENT_STOP (group stop, or our own interrupt): resume and keep waiting.
 * The registers are restored by the caller (mig_tracee_release / mig_tracee_abandon), never
 * between calls: every call starts from t->saved with rip/rax/args replaced.
 */
#include "migrate/inject.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "migrate/image.h"
#include "migrate/procmaps.h"

#define SYSCALL_STOP (SIGTRAP | 0x80)

static int wait_stop(pid_t pid, int *ret_status)
{
	int st = 0;
	for (;;) {
		pid_t w = waitpid(pid, &st, __WALL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		break;
	}
	if (!WIFSTOPPED(st))
		return -ESRCH; /* exited or killed */
	*ret_status = st;
	return 0;
}

void mig_tracee_hold(struct mig_tracee *t, int sig, const siginfo_t *info)
{
	if (sig <= 0 || sig > MIG_NSIG)
		return;
	t->deferred |= 1ull << (sig - 1);
	if (info && t->n_held < MIG_HELD_MAX)
		t->held[t->n_held++] = *info;
}

/* A signal-delivery stop: the signal is held back with its siginfo (and not delivered). */
static void hold_stopped(struct mig_tracee *t, int sig)
{
	siginfo_t si;
	int known = ptrace(PTRACE_GETSIGINFO, t->pid, 0, &si) == 0 && si.si_signo == sig;
	mig_tracee_hold(t, sig, known ? &si : NULL);
}

/* Resumes with PTRACE_SYSCALL until a syscall stop arrives, absorbing other stops. */
static int next_syscall_stop(struct mig_tracee *t)
{
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, t->pid, 0, 0) < 0)
			return -errno;
		int st = 0, r = wait_stop(t->pid, &st);
		if (r < 0)
			return r;
		int sig = WSTOPSIG(st), event = st >> 16;
		if (sig == SYSCALL_STOP)
			return 0;
		if (event == 0 && sig > 0 && sig <= MIG_NSIG && sig != SIGTRAP)
			hold_stopped(t, sig);
	}
}

int mig_tracee_seize(pid_t pid, unsigned long extra_opts, struct mig_tracee *ret_t)
{
	static const struct mig_tracee empty = { .memfd = -1 };
	struct mig_tracee t = empty;
	t.pid = pid;
	if (ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD | extra_opts) < 0)
		return -errno;
	int r = 0;
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0) {
		r = -errno;
		goto fail;
	}
	for (;;) {
		int st = 0;
		r = wait_stop(pid, &st);
		if (r < 0)
			goto fail;
		int sig = WSTOPSIG(st), event = st >> 16;
		if (event == PTRACE_EVENT_STOP)
			break;
		/* a signal-delivery stop came first: hold the signal, let the interrupt arrive */
		if (sig > 0 && sig <= MIG_NSIG)
			hold_stopped(&t, sig);
		if (ptrace(PTRACE_CONT, pid, 0, 0) < 0) {
			r = -errno;
			goto fail;
		}
	}
	if (ptrace(PTRACE_GETREGS, pid, 0, &t.saved) < 0) {
		r = -errno;
		goto fail;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	t.memfd = open(path, O_RDWR | O_CLOEXEC);
	if (t.memfd < 0) {
		r = -errno;
		goto fail;
	}
	*ret_t = t;
	return 0;
fail:
	(void)mig_tracee_abandon(&t);
	return r;
}

/* No [vdso] (a process restored under another kernel build has an anonymous copy instead, or
 * one that unmapped it): any `0f 05` byte pair in executable memory will do, since rip may
 * point into the middle of other instructions. */
static int find_syscall_anywhere(struct mig_tracee *t)
{
	struct mig_map *m;
	size_t n;
	int r = mig_maps_read(t->pid, &m, &n);
	if (r < 0)
		return r;
	static uint8_t buf[1 << 16];
	r = -ENOENT;
	for (size_t i = 0; i < n && r == -ENOENT; i++) {
		if (!(m[i].prot & PROT_EXEC) || strcmp(m[i].path, "[vsyscall]") == 0)
			continue;
		size_t len = m[i].end - m[i].start < sizeof(buf) ? m[i].end - m[i].start : sizeof(buf);
		if (mig_tracee_read(t, m[i].start, buf, len) < 0)
			continue;
		for (size_t k = 0; k + 1 < len; k++) {
			if (buf[k] == 0x0f && buf[k + 1] == 0x05) {
				t->syscall_ip = m[i].start + k;
				r = 0;
				break;
			}
		}
	}
	free(m);
	return r;
}

int mig_tracee_find_syscall(struct mig_tracee *t)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	unsigned long s = 0, e = 0;
	int found = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "[vdso]") && sscanf(line, "%lx-%lx", &s, &e) == 2) {
			found = 1;
			break;
		}
	}
	fclose(f);
	if (!found || e - s > (1 << 20))
		return find_syscall_anywhere(t);
	uint8_t buf[1 << 14];
	size_t len = e - s < sizeof(buf) ? e - s : sizeof(buf);
	int r = mig_tracee_read(t, s, buf, len);
	if (r < 0)
		return r;
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] == 0x0f && buf[i + 1] == 0x05) {
			t->syscall_ip = s + i;
			return 0;
		}
	}
	return -ENOENT;
}

int mig_tracee_syscall(struct mig_tracee *t, long nr, const uint64_t args[6], long *ret_val)
{
	if (!t->syscall_ip)
		return -EINVAL;
	struct user_regs_struct regs = t->saved;
	regs.rip = t->syscall_ip;
	regs.rax = (uint64_t)nr;
	regs.orig_rax = (uint64_t)-1;
	regs.rdi = args[0];
	regs.rsi = args[1];
	regs.rdx = args[2];
	regs.r10 = args[3];
	regs.r8 = args[4];
	regs.r9 = args[5];
	if (ptrace(PTRACE_SETREGS, t->pid, 0, &regs) < 0)
		return -errno;
	t->injected = 1;
	int r = next_syscall_stop(t); /* entry */
	if (r < 0)
		return r;
	r = next_syscall_stop(t); /* exit */
	if (r < 0)
		return r;
	if (ptrace(PTRACE_GETREGS, t->pid, 0, &regs) < 0)
		return -errno;
	*ret_val = (long)regs.rax;
	return 0;
}

long mig_tracee_call(struct mig_tracee *t, long nr, uint64_t a1, uint64_t a2, uint64_t a3,
		     uint64_t a4, uint64_t a5, uint64_t a6)
{
	const uint64_t args[6] = { a1, a2, a3, a4, a5, a6 };
	long v = 0; /* set on success; gcc -O3 cannot see that */
	int r = mig_tracee_syscall(t, nr, args, &v);
	if (r < 0)
		return r;
	return v;
}

/* The whole of len bytes at addr through /proc/PID/mem (it reads and writes read-only and
 * PROT_NONE pages, where process_vm_* fail); a short transfer that makes no progress is -EIO. */
static int memfd_xfer(int memfd, uint64_t addr, uint8_t *buf, size_t len, bool write)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = write ? pwrite(memfd, buf + done, len - done, (off_t)(addr + done))
				  : pread(memfd, buf + done, len - done, (off_t)(addr + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

int mig_tracee_read(struct mig_tracee *t, uint64_t addr, void *buf, size_t len)
{
	return memfd_xfer(t->memfd, addr, buf, len, false);
}

int mig_tracee_write(struct mig_tracee *t, uint64_t addr, const void *buf, size_t len)
{
	/* pwrite does not modify buf; the cast only lets one loop serve both directions */
	return memfd_xfer(t->memfd, addr, (uint8_t *)(uintptr_t)buf, len, true);
}

void mig_regs_restart(struct user_regs_struct *regs, int restart_block)
{
	long rax = (long)regs->rax, nr = (long)regs->orig_rax;
	if (nr >= 0) {
		switch (rax) {
		case -512: /* ERESTARTSYS */
		case -513: /* ERESTARTNOINTR */
		case -514: /* ERESTARTNOHAND */
			regs->rax = (uint64_t)nr;
			regs->rip -= 2;
			break;
		case -516: /* ERESTART_RESTARTBLOCK */
			regs->rip -= 2;
			if (restart_block) {
				regs->rax = SYS_restart_syscall;
				break;
			}
			regs->rax = (uint64_t)nr;
			/* a relative sleep wrote its remaining time to rem: sleep only that long */
			if (nr == SYS_clock_nanosleep && !(regs->rsi & TIMER_ABSTIME) && regs->r10)
				regs->rdx = regs->r10;
			else if (nr == SYS_nanosleep && regs->rsi)
				regs->rdi = regs->rsi;
			break;
		}
	}
	regs->orig_rax = (uint64_t)-1;
}

static void resend_deferred(struct mig_tracee *t)
{
	uint64_t done = 0;
	for (int i = 0; i < t->n_held; i++) {
		siginfo_t *si = &t->held[i];
		int s = si->si_signo;
		if (s <= 0 || s > MIG_NSIG || !(t->deferred & (1ull << (s - 1))))
			continue;
		/* only the process itself may queue SI_USER/SI_KERNEL/SI_TKILL infos */
		if (si->si_code >= 0 || si->si_code == SI_TKILL)
			continue;
		if (syscall(SYS_rt_tgsigqueueinfo, t->pid, t->pid, s, si) == 0)
			done |= 1ull << (s - 1);
	}
	for (int s = 1; s <= MIG_NSIG; s++)
		if ((t->deferred & ~done) & (1ull << (s - 1)))
			(void)syscall(SYS_tgkill, t->pid, t->pid, s);
	t->deferred = 0;
	t->n_held = 0;
}

int mig_tracee_release(struct mig_tracee *t, const struct user_regs_struct *regs)
{
	int r = 0;
	if (regs && ptrace(PTRACE_SETREGS, t->pid, 0, regs) < 0)
		r = -errno;
	if (t->memfd >= 0 && close(t->memfd) < 0 && r == 0)
		r = -errno;
	t->memfd = -1;
	if (ptrace(PTRACE_DETACH, t->pid, 0, 0) < 0 && r == 0)
		r = -errno;
	resend_deferred(t);
	return r;
}

int mig_tracee_abandon(struct mig_tracee *t)
{
	struct user_regs_struct regs = t->saved;
	/* Nothing injected yet: the saved registers are those of a stop inside get_signal, where
	 * the kernel applies the restart rule itself. After injections we stop at a syscall
	 * exit, where it does not: apply it here (the restart block is still ours). */
	int r = 0;
	if (t->injected)
		mig_regs_restart(&regs, 1);
	if (regs.rip && ptrace(PTRACE_SETREGS, t->pid, 0, &regs) < 0)
		r = -errno;
	if (t->memfd >= 0)
		(void)close(t->memfd);
	t->memfd = -1;
	if (ptrace(PTRACE_DETACH, t->pid, 0, 0) < 0 && r == 0)
		r = -errno;
	resend_deferred(t);
	return r;
}
