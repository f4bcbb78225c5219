/* capture_sig.c - state that no /proc file shows, asked of the frozen process itself.
 *
 * A scratch page is mapped in the tracee (and unmapped before its regions are read), then one
 * injected call per item writes the answer there: rt_sigaction for every catchable signal,
 * sigaltstack, getitimer x3, brk(0) (the exact break; /proc only shows its page),
 * prctl(PR_GET_TID_ADDRESS) for clear_child_tid, and timer_gettime per POSIX timer. rseq and the robust futex list are read from
 * outside (PTRACE_GET_RSEQ_CONFIGURATION, get_robust_list).
 */
#include "migrate/capture.h"
#include "migrate/ptimers.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

/* struct ptrace_rseq_configuration (linux/ptrace.h, which clashes with sys/ptrace.h) */
struct rseq_conf {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};

/* the kernel's struct sigaction for rt_sigaction on x86-64 */
struct ksigaction {
	uint64_t handler, flags, restorer, mask;
};

struct kaltstack {
	uint64_t sp;
	int32_t flags;
	int32_t pad;
	uint64_t size;
};

struct kitimerval {
	int64_t i_sec, i_usec, v_sec, v_usec;
};

static int capture_sigactions(struct mig_tracee *t, uint64_t scratch, struct mig_image *img)
{
	for (int s = 1; s <= MIG_NSIG; s++) {
		if (s == SIGKILL || s == SIGSTOP)
			continue;
		long r = mig_tracee_call(t, SYS_rt_sigaction, (uint64_t)s, 0, scratch, 8, 0, 0);
		if (r < 0)
			return (int)r;
		struct ksigaction ka;
		int e = mig_tracee_read(t, scratch, &ka, sizeof(ka));
		if (e < 0)
			return e;
		img->sigactions[s] = (struct mig_sigaction){ true, ka.handler, ka.flags,
							     ka.restorer, ka.mask };
	}
	return 0;
}

static int capture_timers_stack(struct mig_tracee *t, uint64_t scratch, struct mig_image *img)
{
	long r = mig_tracee_call(t, SYS_sigaltstack, 0, scratch, 0, 0, 0, 0);
	if (r < 0)
		return (int)r;
	struct kaltstack as;
	int e = mig_tracee_read(t, scratch, &as, sizeof(as));
	if (e < 0)
		return e;
	img->altstack_sp = as.sp;
	img->altstack_flags = (uint32_t)as.flags;
	img->altstack_size = as.size;
	for (int w = 0; w < 3; w++) {
		r = mig_tracee_call(t, SYS_getitimer, (uint64_t)w, scratch, 0, 0, 0, 0);
		if (r < 0)
			return (int)r;
		struct kitimerval it;
		e = mig_tracee_read(t, scratch, &it, sizeof(it));
		if (e < 0)
			return e;
		img->itimers[w].interval_us = it.i_sec * 1000000 + it.i_usec;
		img->itimers[w].value_us = it.v_sec * 1000000 + it.v_usec;
	}
	return 0;
}

static int capture_mm_bits(struct mig_tracee *t, uint64_t scratch, struct mig_image *img)
{
	long r = mig_tracee_call(t, SYS_brk, 0, 0, 0, 0, 0, 0);
	if (r < 0)
		return (int)r;
	img->mm.brk = (uint64_t)r;
	r = mig_tracee_call(t, SYS_prctl, PR_GET_TID_ADDRESS, scratch, 0, 0, 0, 0);
	if (r == 0) {
		int e = mig_tracee_read(t, scratch, &img->clear_child_tid, 8);
		if (e < 0)
			return e;
	} /* else: kernel without CONFIG_CHECKPOINT_RESTORE; leave it 0 (glibc sets it itself) */
	return 0;
}

static int capture_outside(pid_t pid, struct mig_image *img)
{
	struct rseq_conf rc = { 0 };
	long k = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, pid, sizeof(rc), &rc);
	if (k >= (long)offsetof(struct rseq_conf, flags)) {
		img->rseq_ptr = rc.rseq_abi_pointer;
		img->rseq_len = rc.rseq_abi_size;
		img->rseq_sig = rc.signature;
	}
	void *head = NULL;
	size_t len = 0;
	if (syscall(SYS_get_robust_list, pid, &head, &len) < 0)
		return -errno;
	img->robust_head = (uint64_t)(uintptr_t)head;
	img->robust_len = len;
	return 0;
}

int mig_capture_sig(struct mig_tracee *t, struct mig_image *img)
{
	long scratch = mig_tracee_call(t, SYS_mmap, 0, MIG_PAGE, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	if (scratch < 0)
		return (int)scratch;
	int r = capture_sigactions(t, (uint64_t)scratch, img);
	if (r == 0)
		r = capture_timers_stack(t, (uint64_t)scratch, img);
	if (r == 0)
		r = capture_mm_bits(t, (uint64_t)scratch, img);
	if (r == 0)
		r = mig_ptimers_values(t, (uint64_t)scratch, img);
	long u = mig_tracee_call(t, SYS_munmap, (uint64_t)scratch, MIG_PAGE, 0, 0, 0, 0);
	if (r == 0 && u < 0)
		r = (int)u;
	if (r == 0)
		r = capture_outside(t->pid, img);
	return r;
}
