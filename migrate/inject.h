/* inject.h - a process held under ptrace, and system calls executed inside it.
 *
 * Both halves of migration drive a process this way: capture asks the frozen process for state
 * only it can report (its signal actions, alternate stack, timers), restore builds a new process
 * entirely from injected calls. The tracee is stopped with PTRACE_SEIZE + PTRACE_INTERRUPT;
 * an injected call points rip at a `syscall` instruction inside the tracee, runs it from
 * syscall-entry to syscall-exit stop, and reads rax. Signals that arrive meanwhile are held
 * back (recorded in `deferred`) so nothing runs in the tracee but the injected calls.
 */
#pragma once
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#define MIG_HELD_MAX 64

struct mig_tracee {
	pid_t pid;
	struct user_regs_struct saved; /* registers at the freeze */
	uint64_t syscall_ip;           /* address of a `syscall` instruction in the tracee */
	int memfd;                     /* /proc/PID/mem, read-write; -1 if not open */
	uint64_t deferred;             /* signals (bit sig-1) held back during injection */
	/* their siginfo where known (at most MIG_HELD_MAX), so that a timer's signal keeps its
	 * value: re-sent with rt_tgsigqueueinfo when the kernel lets another process queue
	 * that si_code (negative, not SI_TKILL), else as a plain tgkill */
	siginfo_t held[MIG_HELD_MAX];
	int n_held;
	int injected; /* a call ran: we now stop at a syscall exit */
};

/* Records signal sig (and its siginfo, if info is not NULL) as held back. */
void mig_tracee_hold(struct mig_tracee *t, int sig, const siginfo_t *info);

/* Seizes and stops pid, saves its registers and opens its memory. extra_opts are added to
 * PTRACE_O_TRACESYSGOOD (restore adds PTRACE_O_EXITKILL: a half-built process must not outlive
 * its builder). On failure the process is detached again (left running as it was).
 * Returns 0 or negative errno. */
__attribute__((warn_unused_result)) int mig_tracee_seize(pid_t pid, unsigned long extra_opts,
							 struct mig_tracee *ret_t);

/* Finds a `syscall` instruction in the tracee's [vdso] and records it in t->syscall_ip.
 * Returns 0, -ENOENT (no vDSO) or negative errno. */
__attribute__((warn_unused_result)) int mig_tracee_find_syscall(struct mig_tracee *t);

/* Executes syscall nr with up to six arguments inside the tracee. Returns 0 and sets *ret_val to
 * the raw result (negative errno values included), or a negative errno if ptrace failed (the
 * tracee may be gone). */
__attribute__((warn_unused_result)) int mig_tracee_syscall(struct mig_tracee *t, long nr,
							   const uint64_t args[6], long *ret_val);

/* Convenience: like mig_tracee_syscall but folds the result: returns the syscall's result
 * (>= 0) or a negative errno (from the syscall or from ptrace). */
__attribute__((warn_unused_result)) long mig_tracee_call(struct mig_tracee *t, long nr, uint64_t a1,
							 uint64_t a2, uint64_t a3, uint64_t a4,
							 uint64_t a5, uint64_t a6);

/* Reads/writes tracee memory through /proc/PID/mem (works on read-only and PROT_NONE pages).
 * Return 0 or negative errno (-EIO on a short transfer). */
__attribute__((warn_unused_result)) int mig_tracee_read(struct mig_tracee *t, uint64_t addr,
							void *buf, size_t len);
__attribute__((warn_unused_result)) int mig_tracee_write(struct mig_tracee *t, uint64_t addr,
							 const void *buf, size_t len);

/* Applies the kernel's syscall-restart rule to registers captured inside an interrupted
 * system call (rax -512/-513/-514: re-issue; -516: re-issue, a relative clock_nanosleep with
 * its remaining time), so that resuming at them continues the call. orig_rax becomes -1.
 * restart_block: use restart_syscall for -516 (only valid in the original process). */
void mig_regs_restart(struct user_regs_struct *regs, int restart_block);

/* Sets registers (unless regs is NULL: already set) and detaches; the tracee continues.
 * Deferred signals are sent again (with their siginfo where held). Closes memfd.
 * Returns 0 or negative errno. */
__attribute__((warn_unused_result)) int mig_tracee_release(struct mig_tracee *t,
							   const struct user_regs_struct *regs);

/* Detaches leaving the process as it was at the freeze (saved registers, restart rule applied
 * if calls were injected): --leave-running, and every failed capture. Best effort; returns 0
 * or negative errno. */
int mig_tracee_abandon(struct mig_tracee *t);
