/* restore_state.c - kernel-side state and registers of a restored process.
 *
 * Order: PR_SET_MM_MAP (brk, stack, args, env, auxv, exe) -> rlimits (from outside, prlimit) ->
 * signal actions, alternate stack, interval timers -> POSIX timers (ptimers.c) -> files (reopened by path, moved to their
 * number, seeked) -> cwd, umask, personality, name -> robust list, clear_child_tid -> rseq ->
 * identity filter if the PID was taken (ident.h; while still privileged) ->
 * credentials (late: dropping them could forbid earlier steps) -> signal mask -> control page
 * unmapped -> xsave and general registers (syscall restart rule applied).
 */
#include "migrate/restore.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "migrate/ident.h"
#include "migrate/ptimers.h"

struct kmm_map {
	uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint64_t auxv;
	uint32_t auxv_size, exe_fd;
};

static int set_mm(struct mig_tracee *t, uint64_t ctl, const struct mig_image *img)
{
	const struct mig_mm *m = &img->mm;
	uint64_t scratch = ctl + MIG_SCRATCH_OFF;
	struct kmm_map k = { m->start_code, m->end_code, m->start_data, m->end_data,
			     m->start_brk, m->brk, m->start_stack, m->arg_start, m->arg_end,
			     m->env_start, m->env_end, scratch + 512, m->auxv_words * 8,
			     (uint32_t)-1 };
	int r = mig_tracee_write(t, scratch + 512, m->auxv, m->auxv_words * 8);
	long exe = -1;
	if (r == 0 && m->exe && strlen(m->exe) < 3000) {
		r = mig_tracee_write(t, scratch + 1024, m->exe, strlen(m->exe) + 1);
		if (r == 0)
			exe = mig_tracee_call(t, SYS_openat, (uint64_t)AT_FDCWD, scratch + 1024,
					      O_RDONLY | O_CLOEXEC, 0, 0, 0);
	}
	if (r < 0)
		return r;
	long k2 = -EINVAL;
	if (exe >= 0) { /* the /proc/PID/exe link too, if the kernel lets us */
		k.exe_fd = (uint32_t)exe;
		r = mig_tracee_write(t, scratch, &k, sizeof(k));
		if (r < 0)
			return r;
		k2 = mig_tracee_call(t, SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, scratch, sizeof(k), 0,
				     0);
		long c = mig_tracee_call(t, SYS_close, (uint64_t)exe, 0, 0, 0, 0, 0);
		if (c < 0)
			return (int)c;
	}
	if (k2 < 0) {
		k.exe_fd = (uint32_t)-1;
		r = mig_tracee_write(t, scratch, &k, sizeof(k));
		if (r < 0)
			return r;
		k2 = mig_tracee_call(t, SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, scratch, sizeof(k), 0,
				     0);
	}
	return k2 < 0 ? (int)k2 : 0;
}

static int set_signals(struct mig_tracee *t, uint64_t ctl, const struct mig_image *img)
{
	uint64_t scratch = ctl + MIG_SCRATCH_OFF;
	for (int s = 1; s <= MIG_NSIG; s++) {
		const struct mig_sigaction *sa = &img->sigactions[s];
		if (!sa->set)
			continue;
		uint64_t ka[4] = { sa->handler, sa->flags, sa->restorer, sa->mask };
		int r = mig_tracee_write(t, scratch, ka, sizeof(ka));
		if (r < 0)
			return r;
		long k = mig_tracee_call(t, SYS_rt_sigaction, (uint64_t)s, scratch, 0, 8, 0, 0);
		if (k < 0)
			return (int)k;
	}
	struct {
		uint64_t sp;
		int32_t flags, pad;
		uint64_t size;
	} ss = { img->altstack_sp, (int32_t)(img->altstack_flags & ~(uint32_t)SS_ONSTACK), 0,
		 img->altstack_size };
	if (ss.flags & SS_DISABLE)
		ss.sp = 0, ss.size = 0;
	int r = mig_tracee_write(t, scratch, &ss, sizeof(ss));
	if (r < 0)
		return r;
	long k = mig_tracee_call(t, SYS_sigaltstack, scratch, 0, 0, 0, 0, 0);
	if (k < 0)
		return (int)k;
	for (int w = 0; w < 3; w++) {
		const struct mig_itimer *it = &img->itimers[w];
		/* A periodic ITIMER_REAL that just fired reads 0 until its SIGALRM is dequeued (the
		 * kernel re-arms it then): the signal is restored pending, so arm the timer for one
		 * interval instead of dropping it (setitimer with value 0 disarms it for good). */
		int64_t value_us = it->value_us ? it->value_us : it->interval_us;
		if (!value_us)
			continue;
		int64_t v[4] = { it->interval_us / 1000000, it->interval_us % 1000000,
				 value_us / 1000000, value_us % 1000000 };
		r = mig_tracee_write(t, scratch, v, sizeof(v));
		if (r < 0)
			return r;
		k = mig_tracee_call(t, SYS_setitimer, (uint64_t)w, scratch, 0, 0, 0, 0);
		if (k < 0)
			return (int)k;
	}
	return 0;
}

static int image_has_fd(const struct mig_image *img, int fd)
{
	for (size_t i = 0; i < img->n_fds; i++)
		if (img->fds[i].fd == fd)
			return 1;
	return 0;
}

static int open_fd(struct mig_tracee *t, uint64_t ctl, const struct mig_fd *f, char *why,
		   size_t whylen)
{
	uint64_t scratch = ctl + MIG_SCRATCH_OFF;
	if (strlen(f->path) >= MIG_CTL_PAGES * MIG_PAGE - MIG_SCRATCH_OFF)
		return -ENAMETOOLONG;
	int r = mig_tracee_write(t, scratch, f->path, strlen(f->path) + 1);
	if (r < 0)
		return r;
	uint32_t flags = f->flags & ~(uint32_t)(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);
	long fd = mig_tracee_call(t, SYS_openat, (uint64_t)AT_FDCWD, scratch, flags, 0, 0, 0);
	if (fd < 0) {
		snprintf(why, whylen, "reopening fd %d (%s): %s", f->fd, f->path,
			 strerror((int)-fd));
		return (int)fd;
	}
	if (fd != f->fd) {
		long k = mig_tracee_call(t, SYS_dup3, (uint64_t)fd, (uint64_t)f->fd,
					 flags & O_CLOEXEC, 0, 0, 0);
		long c = mig_tracee_call(t, SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
		if (k < 0 || c < 0)
			return k < 0 ? (int)k : (int)c;
	}
	long k = mig_tracee_call(t, SYS_lseek, (uint64_t)f->fd, f->pos, SEEK_SET, 0, 0, 0);
	if (k < 0 && k != -ESPIPE) {
		snprintf(why, whylen, "seeking fd %d: %s", f->fd, strerror((int)-k));
		return (int)k;
	}
	return 0;
}

static int set_files(struct mig_tracee *t, uint64_t ctl, const struct mig_image *img, char *why,
		     size_t whylen)
{
	/* the stub holds the standard streams of the restoring command and nothing else */
	for (int fd = 0; fd <= 2; fd++) {
		if (image_has_fd(img, fd))
			continue;
		long k = mig_tracee_call(t, SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
		if (k < 0 && k != -EBADF)
			return (int)k;
	}
	/* and its pipe to the builder */
	long c = mig_tracee_call(t, SYS_close_range, 3, ~0u, 0, 0, 0, 0);
	if (c < 0)
		return (int)c;
	for (size_t i = 0; i < img->n_fds; i++) {
		const struct mig_fd *f = &img->fds[i];
		if (f->kind != MIG_FD_FILE || f->is_dup)
			continue;
		int r = open_fd(t, ctl, f, why, whylen);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < img->n_fds; i++) {
		const struct mig_fd *f = &img->fds[i];
		if (!f->is_dup)
			continue;
		long k = mig_tracee_call(t, SYS_dup3, (uint64_t)f->dup_of, (uint64_t)f->fd,
					 f->flags & O_CLOEXEC, 0, 0, 0);
		if (k < 0) {
			snprintf(why, whylen, "dup of fd %d as %d: %s", f->dup_of, f->fd,
				 strerror((int)-k));
			return (int)k;
		}
	}
	uint64_t scratch = ctl + MIG_SCRATCH_OFF;
	int r = img->cwd ? mig_tracee_write(t, scratch, img->cwd, strlen(img->cwd) + 1) : 0;
	if (r < 0)
		return r;
	long k = img->cwd ? mig_tracee_call(t, SYS_chdir, scratch, 0, 0, 0, 0, 0) : 0;
	if (k < 0) {
		snprintf(why, whylen, "chdir %s: %s", img->cwd, strerror((int)-k));
		return (int)k;
	}
	return 0;
}

static int set_misc(struct mig_tracee *t, uint64_t ctl, const struct mig_image *img)
{
	uint64_t scratch = ctl + MIG_SCRATCH_OFF;
	long k = mig_tracee_call(t, SYS_umask, img->umask, 0, 0, 0, 0, 0);
	if (k >= 0)
		k = mig_tracee_call(t, SYS_personality, img->personality, 0, 0, 0, 0, 0);
	if (k < 0)
		return (int)k;
	int r = mig_tracee_write(t, scratch, img->hdr.comm, sizeof(img->hdr.comm));
	if (r < 0)
		return r;
	k = mig_tracee_call(t, SYS_prctl, PR_SET_NAME, scratch, 0, 0, 0, 0);
	if (k >= 0)
		k = mig_tracee_call(t, SYS_set_robust_list, img->robust_head, img->robust_len, 0, 0,
				    0, 0);
	if (k >= 0)
		k = mig_tracee_call(t, SYS_set_tid_address, img->clear_child_tid, 0, 0, 0, 0, 0);
	if (k >= 0 && img->rseq_ptr)
		k = mig_tracee_call(t, SYS_rseq, img->rseq_ptr, img->rseq_len, 0, img->rseq_sig, 0,
				    0);
	return k < 0 ? (int)k : 0;
}

static int set_creds(struct mig_tracee *t, const struct mig_image *img)
{
	const uint32_t *id = img->ids;
	if (id[0] == getuid() && id[1] == geteuid() && id[4] == getgid() && id[5] == getegid())
		return 0;
	long k = mig_tracee_call(t, SYS_setgroups, 0, 0, 0, 0, 0, 0);
	if (k >= 0)
		k = mig_tracee_call(t, SYS_setresgid, id[4], id[5], id[6], 0, 0, 0);
	if (k >= 0)
		k = mig_tracee_call(t, SYS_setresuid, id[0], id[1], id[2], 0, 0, 0);
	return k < 0 ? (int)k : 0;
}

static int set_registers(struct mig_tracee *t, const struct mig_image *img)
{
	struct iovec iov = { img->xsave, img->xsave_len };
	if (ptrace(PTRACE_SETREGSET, t->pid, NT_X86_XSTATE, &iov) < 0)
		return -errno;
	struct user_regs_struct regs = img->regs;
	mig_regs_restart(&regs, 0);
	if (ptrace(PTRACE_SETREGS, t->pid, 0, &regs) < 0)
		return -errno;
	return 0;
}

int mig_restore_state(struct mig_tracee *t, uint64_t ctl, const struct mig_image *img,
		      int translate, int *ret_ident, char *why, size_t whylen)
{
	int ident = -1;
	const char *step = "PR_SET_MM_MAP";
	int r = set_mm(t, ctl, img);
	for (int i = 0; i < MIG_NRLIMIT && r == 0; i++) {
		if (!img->rlimits[i].set)
			continue;
		struct rlimit rl = { img->rlimits[i].cur, img->rlimits[i].max };
		if (prlimit(t->pid, (__rlimit_resource_t)i, &rl, NULL) < 0) {
			step = "rlimits";
			r = -errno;
		}
	}
	if (r == 0) {
		step = "signal actions, sigaltstack, itimers";
		r = set_signals(t, ctl, img);
	}
	if (r == 0) {
		r = mig_ptimers_restore(t, ctl + MIG_SCRATCH_OFF, img, why, whylen);
		if (r < 0)
			return r;
	}
	if (r == 0) {
		r = set_files(t, ctl, img, why, whylen);
		if (r < 0)
			return r;
		step = "umask, personality, robust list, tid address, rseq";
		r = set_misc(t, ctl, img);
	}
	if (r == 0 && translate) { /* before credentials: root needs no no_new_privs */
		step = "identity filter";
		r = mig_ident_install(t, ctl + MIG_SCRATCH_OFF, img->hdr.pid, &ident);
	}
	if (r == 0) {
		step = "credentials";
		r = set_creds(t, img);
	}
	if (r == 0) {
		step = "signal mask";
		r = mig_tracee_write(t, ctl + MIG_SCRATCH_OFF, &img->sigmask, 8);
		long k = r < 0 ? r
			       : mig_tracee_call(t, SYS_rt_sigprocmask, SIG_SETMASK,
						 ctl + MIG_SCRATCH_OFF, 0, 8, 0, 0);
		r = k < 0 ? (int)k : 0;
	}
	if (r == 0) {
		step = "unmapping the control page";
		long k = mig_tracee_call(t, SYS_munmap, ctl, MIG_CTL_PAGES * MIG_PAGE, 0, 0, 0, 0);
		r = k < 0 ? (int)k : 0;
	}
	if (r == 0) {
		step = "registers";
		r = set_registers(t, img);
	}
	if (r < 0) {
		snprintf(why, whylen, "%s: %s", step, strerror(-r));
		if (ident >= 0)
			(void)close(ident);
		return r;
	}
	if (ident >= 0)
		*ret_ident = ident;
	return 0;
}
