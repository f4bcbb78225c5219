/* restore.c - see restore.h. The stub and its control page:
 *
 * The caller picks an address free both in its own address space and in the image (the
 * "hole"), then clones a child (clone3 with set_tid = the original PID when it is free). The
 * child closes every descriptor but the standard streams and its pipe, maps the control page
 * at the hole with a `syscall` instruction at its start, says it is ready and blocks reading its
 * pipe. The caller seizes and interrupts it there; from then on the child only executes calls
 * injected at the control page, and dies with the caller (PTRACE_O_EXITKILL) until the moment
 * it is released as the restored process.
 */
#include "migrate/restore.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cpu.h"
#include "migrate/procmaps.h"

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int mig_image_compat(const struct mig_image *img, char *why, size_t whylen)
{
	uint64_t have = cpu_xsave_features();
	if (img->hdr.version != MIG_IMAGE_VERSION) {
		snprintf(why, whylen, "image format %u, this omx reads %u", img->hdr.version,
			 MIG_IMAGE_VERSION);
		return -EPROTONOSUPPORT;
	}
	if ((img->hdr.xsave_features & ~have) || img->hdr.xsave_size != cpu_xsave_size()) {
		snprintf(why, whylen,
			 "CPU mismatch: image needs xsave features %#llx (%u bytes), this CPU has "
			 "%#llx (%u bytes)",
			 (unsigned long long)img->hdr.xsave_features, img->hdr.xsave_size,
			 (unsigned long long)have, cpu_xsave_size());
		return -ENOEXEC;
	}
	uint8_t fp[CPU_FP_LEN];
	int r = cpu_vdso_fingerprint(fp);
	if (r == 0 && memcmp(fp, img->hdr.vdso_fp, CPU_FP_LEN) == 0)
		return 0;
	if (r == 0 && img->vdso_len) /* validated: the pages of its [vdso] region */
		return MIG_COMPAT_VDSO_SYSCALLS;
	snprintf(why, whylen, "kernel mismatch: the image was taken under another kernel build "
			      "(vDSO fingerprint differs) and does not carry its vDSO");
	return -ENOEXEC;
}

static int overlaps(uint64_t a, uint64_t len, uint64_t s, uint64_t e)
{
	return a < e && s < a + len;
}

/* An address for the control page, free in the image and in this process. */
static int pick_hole(const struct mig_image *img, uint64_t *ret)
{
	struct mig_map *m;
	size_t n;
	int r = mig_maps_read(getpid(), &m, &n);
	if (r < 0)
		return r;
	uint64_t len = MIG_CTL_PAGES * MIG_PAGE;
	r = -ENOMEM;
	for (uint64_t a = 0x10000000ull; a < 0x7f0000000000ull; a += 0x10000000ull) {
		int busy = 0;
		for (size_t i = 0; i < img->n_regions && !busy; i++)
			busy = overlaps(a, len, img->regions[i].start, img->regions[i].end);
		for (size_t i = 0; i < n && !busy; i++)
			busy = overlaps(a, len, m[i].start, m[i].end);
		if (!busy) {
			*ret = a;
			r = 0;
			break;
		}
	}
	free(m);
	return r;
}

/* The child side: runs between clone3 and the interrupt; only raw system calls. */
static __attribute__((noreturn)) void stub_main(int rd, int wr_ready, uint64_t ctl)
{
	unsigned a = (unsigned)(rd < wr_ready ? rd : wr_ready);
	unsigned b = (unsigned)(rd < wr_ready ? wr_ready : rd);
	if (a > 3)
		(void)syscall(SYS_close_range, 3, a - 1, 0);
	if (b > a + 1)
		(void)syscall(SYS_close_range, a + 1, b - 1, 0);
	(void)syscall(SYS_close_range, b + 1, ~0u, 0);
	long m = syscall(SYS_mmap, ctl, MIG_CTL_PAGES * MIG_PAGE,
			 PROT_READ | PROT_WRITE | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (m != (long)ctl)
		_exit(125);
	((volatile uint8_t *)ctl)[0] = 0x0f; /* syscall */
	((volatile uint8_t *)ctl)[1] = 0x05;
	char c = 1;
	if (syscall(SYS_write, wr_ready, &c, 1) != 1)
		_exit(125);
	(void)syscall(SYS_close, wr_ready);
	for (;;) {
		long k = syscall(SYS_read, rd, &c, 1);
		if (k <= 0 && k != -EINTR)
			_exit(125); /* the builder went away before seizing us */
	}
}

static pid_t clone_stub(pid_t want, int *ret_same)
{
	struct clone_args ca = { .exit_signal = SIGCHLD };
	pid_t tid = want;
	if (want > 0) {
		ca.set_tid = (uint64_t)(uintptr_t)&tid;
		ca.set_tid_size = 1;
	}
	long p = syscall(SYS_clone3, &ca, sizeof(ca));
	if (p < 0 && want > 0) {
		*ret_same = 0;
		return clone_stub(0, ret_same);
	}
	if (p < 0)
		return -errno;
	if (p > 0)
		*ret_same = want > 0;
	return (pid_t)p;
}

static int start_stub(const struct mig_image *img, uint64_t ctl, pid_t *ret_pid, int *ret_same,
		      int *ret_keep)
{
	int keep[2], ready[2];
	if (pipe2(keep, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(ready, O_CLOEXEC) < 0) {
		int e = -errno;
		(void)close(keep[0]);
		(void)close(keep[1]);
		return e;
	}
	pid_t p = clone_stub(img->hdr.pid, ret_same);
	if (p == 0)
		stub_main(keep[0], ready[1], ctl);
	(void)close(keep[0]);
	(void)close(ready[1]);
	int r = 0;
	char c;
	if (p < 0)
		r = p;
	else if (read(ready[0], &c, 1) != 1)
		r = -ECHILD;
	(void)close(ready[0]);
	if (r < 0) {
		(void)close(keep[1]);
		if (p > 0)
			(void)waitpid(p, NULL, 0);
		return r;
	}
	*ret_pid = p;
	*ret_keep = keep[1];
	return 0;
}

static void kill_stub(pid_t p)
{
	(void)kill(p, SIGKILL);
	while (waitpid(p, NULL, __WALL) < 0 && errno == EINTR)
		;
}

int mig_restore(struct mig_reader *rd, pid_t *ret_pid, int *ret_ident,
		struct mig_restore_stats *ret_stats, char *why, size_t whylen)
{
	int ident = -1;
	struct mig_restore_stats st = { 0 };
	uint64_t t0 = now_us();
	struct mig_image *img = NULL;
	int r = mig_read_begin(rd, &img);
	if (r < 0) {
		snprintf(why, whylen, "%s",
			 r == -EPROTONOSUPPORT ? "unsupported image format version"
			 : r == -EBADMSG	   ? "not an image, or a damaged or truncated one"
					   : strerror(-r));
		return r;
	}
	uint64_t ctl = 0;
	st.orig_pid = img->hdr.pid;
	r = mig_image_compat(img, why, whylen);
	st.vdso_syscalls = r == MIG_COMPAT_VDSO_SYSCALLS;
	if (r > 0)
		r = 0;
	if (r == 0 && pick_hole(img, &ctl) < 0) {
		snprintf(why, whylen, "no free address for the control page");
		r = -ENOMEM;
	}
	pid_t pid = 0;
	int keep = -1;
	if (r == 0) {
		r = start_stub(img, ctl, &pid, &st.same_pid, &keep);
		if (r < 0)
			snprintf(why, whylen, "starting the stub: %s", strerror(-r));
	}
	struct mig_tracee t = { .memfd = -1 };
	if (r == 0) {
		r = mig_tracee_seize(pid, PTRACE_O_EXITKILL, &t);
		if (r < 0)
			snprintf(why, whylen, "seizing the stub: %s", strerror(-r));
		else
			t.syscall_ip = ctl;
	}
	if (r == 0)
		r = mig_restore_space(&t, ctl, img, st.vdso_syscalls, why, whylen);
	if (r == 0) {
		uint64_t p0 = now_us();
		r = mig_restore_pages(&t, img, rd, &st.page_bytes, why, whylen);
		st.pages_us = now_us() - p0;
	}
	if (r == 0)
		r = mig_restore_state(&t, ctl, img, !st.same_pid, &ident, why, whylen);
	if (r == 0) {
		t.deferred |= img->pending;
		for (size_t i = 0; i < img->n_pending_info && t.n_held < MIG_HELD_MAX; i++)
			t.held[t.n_held++] = img->pending_info[i];
		r = mig_tracee_release(&t, NULL);
		if (r < 0)
			snprintf(why, whylen, "releasing the process: %s", strerror(-r));
	}
	if (keep >= 0)
		(void)close(keep);
	if (r < 0 && pid > 0)
		kill_stub(pid);
	else if (t.memfd >= 0)
		(void)close(t.memfd);
	mig_image_free(&img);
	if (r < 0) {
		if (ident >= 0)
			(void)close(ident);
		return r;
	}
	st.total_us = now_us() - t0;
	if (ret_stats)
		*ret_stats = st;
	*ret_pid = pid;
	*ret_ident = ident;
	return 0;
}
