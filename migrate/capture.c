/* capture.c - see capture.h. The order matters:
 *   refuse (cantmove, nothing touched) -> freeze -> re-check threads (one may have been born
 *   between the check and the stop) -> registers, xsave -> /proc state -> injected queries
 *   (their scratch page is gone again before the regions are read) -> regions -> stream the
 *   image -> kill, or put the registers back and let the process go.
 */
#include "migrate/capture.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <elf.h>
#include <unistd.h>

#include "common/cpu.h"
#include "migrate/cantmove.h"
#include "migrate/ident.h"
#include "migrate/vdso.h"

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int count_threads(pid_t pid)
{
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	int n = -EBADMSG;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

static int capture_header(pid_t pid, struct mig_image *img)
{
	img->hdr.version = MIG_IMAGE_VERSION;
	img->hdr.xsave_features = cpu_xsave_features();
	img->hdr.xsave_size = cpu_xsave_size();
	int r = cpu_vdso_fingerprint(img->hdr.vdso_fp);
	if (r < 0)
		return r;
	img->hdr.pid = pid;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	img->hdr.created_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	FILE *f = fopen(path, "re");
	if (f) {
		if (fgets(img->hdr.comm, sizeof(img->hdr.comm), f))
			img->hdr.comm[strcspn(img->hdr.comm, "\n")] = 0;
		fclose(f);
	}
	return 0;
}

static int capture_xsave(struct mig_tracee *t, struct mig_image *img)
{
	uint32_t size = img->hdr.xsave_size;
	if (size == 0)
		return -ENOTSUP;
	img->xsave = calloc(1, size);
	if (!img->xsave)
		return -ENOMEM;
	struct iovec iov = { img->xsave, size };
	if (ptrace(PTRACE_GETREGSET, t->pid, NT_X86_XSTATE, &iov) < 0)
		return -errno;
	if (iov.iov_len != size)
		return -EIO;
	img->xsave_len = size;
	return 0;
}

/* siginfo of the signals queued at the freeze (PTRACE_PEEKSIGINFO reads both queues without
 * dequeuing) and of those held back meanwhile: a timer's or sigqueue's value survives. */
static int capture_pending_info(struct mig_tracee *t, struct mig_image *img)
{
	img->pending_info = calloc(MIG_MAX_PENDING_INFO, sizeof(siginfo_t));
	if (!img->pending_info)
		return -ENOMEM;
	size_t n = 0;
	for (int shared = 0; shared < 2; shared++) {
		struct __ptrace_peeksiginfo_args a = {
			.off = 0,
			.flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0,
			.nr = (int32_t)(MIG_MAX_PENDING_INFO - n),
		};
		if (a.nr <= 0)
			break;
		long k = ptrace(PTRACE_PEEKSIGINFO, t->pid, &a, &img->pending_info[n]);
		if (k < 0)
			return -errno;
		n += (size_t)k;
	}
	for (int i = 0; i < t->n_held && n < MIG_MAX_PENDING_INFO; i++)
		img->pending_info[n++] = t->held[i];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int sig = img->pending_info[i].si_signo;
		if (sig <= 0 || sig > MIG_NSIG)
			continue;
		/* queued since /proc/PID/status was read (timers run on while we look) */
		img->pending |= 1ull << (sig - 1);
		img->pending_info[k++] = img->pending_info[i];
	}
	img->n_pending_info = k;
	return 0;
}

/* The [vdso] pages, so that another kernel build can still run the process (vdso.h). */
static int capture_vdso(struct mig_tracee *t, struct mig_image *img)
{
	for (size_t i = 0; i < img->n_regions; i++) {
		const struct mig_region *g = &img->regions[i];
		if (g->kind != MIG_REG_VDSO || g->end - g->start > MIG_VDSO_MAX)
			continue;
		img->vdso_text = malloc(g->end - g->start);
		if (!img->vdso_text)
			return -ENOMEM;
		img->vdso_len = (uint32_t)(g->end - g->start);
		return mig_tracee_read(t, g->start, img->vdso_text, img->vdso_len);
	}
	return 0;
}

static int capture_frozen(struct mig_tracee *t, struct mig_image *img, struct mig_writer *w,
			  struct mig_capture_stats *st, char *why, size_t whylen)
{
	int r = count_threads(t->pid);
	if (r > 1) {
		snprintf(why, whylen, "%d threads (only single-threaded processes move)", r);
		return -EBUSY;
	}
	int32_t vpid = 0;
	r = mig_ident_recognize(t->pid, &vpid);
	if (r < 0) {
		snprintf(why, whylen, r == -EBUSY ? "runs under a seccomp filter (only omx's own "
						    "identity filter is understood)"
						  : "reading its seccomp filter: %s",
			 strerror(-r));
		return r;
	}
	uint64_t t0 = now_us();
	img->regs = t->saved;
	r = capture_header(t->pid, img);
	if (vpid > 0) /* a restored process with a translated identity: keep the one it knows */
		img->hdr.pid = vpid;
	if (r == 0)
		r = capture_xsave(t, img);
	if (r < 0) {
		snprintf(why, whylen, "registers: %s", strerror(-r));
		return r;
	}
	r = mig_capture_proc(t->pid, img, why, whylen);
	if (r < 0)
		return r;
	r = mig_tracee_find_syscall(t);
	if (r == 0)
		r = mig_capture_sig(t, img);
	if (r < 0) {
		snprintf(why, whylen, "signal and timer state: %s", strerror(-r));
		return r;
	}
	img->pending |= t->deferred;
	r = capture_pending_info(t, img);
	if (r < 0) {
		snprintf(why, whylen, "pending signals: %s", strerror(-r));
		return r;
	}
	r = mig_capture_regions(t->pid, img, why, whylen);
	if (r == 0)
		r = capture_vdso(t, img);
	if (r < 0)
		return r;
	r = mig_image_validate(img);
	if (r < 0) {
		snprintf(why, whylen, "captured state is inconsistent");
		return r;
	}
	uint64_t t1 = now_us();
	st->state_us = t1 - t0;
	r = mig_write_begin(w, img);
	if (r == 0)
		r = mig_capture_pages(t, img, w, st);
	if (r == 0)
		r = mig_write_end(w);
	if (r < 0) {
		snprintf(why, whylen, "writing the image: %s", strerror(-r));
		return r;
	}
	st->pages_us = now_us() - t1;
	st->page_bytes = w->page_bytes;
	st->image_bytes = w->total_bytes;
	return 0;
}

static int kill_traced(pid_t pid)
{
	if (kill(pid, SIGKILL) < 0)
		return -errno;
	/* As its tracer we see it die too; the real parent reaps it. */
	int st;
	while (waitpid(pid, &st, __WALL) < 0) {
		if (errno != EINTR)
			return errno == ECHILD ? 0 : -errno;
	}
	return 0;
}

int mig_capture(pid_t pid, enum mig_after after, struct mig_writer *w,
		struct mig_capture_stats *ret_stats, char *why, size_t whylen)
{
	struct mig_capture_stats st = { 0 };
	int r = mig_cantmove(pid, why, whylen);
	if (r < 0) {
		snprintf(why, whylen, "process %d: %s", pid, strerror(-r));
		return r;
	}
	if (r > 0)
		return -EBUSY;
	struct mig_tracee t;
	uint64_t t0 = now_us();
	r = mig_tracee_seize(pid, 0, &t);
	if (r < 0) {
		snprintf(why, whylen, "cannot stop process %d: %s", pid, strerror(-r));
		return r;
	}
	struct mig_image *img = mig_image_new();
	r = img ? capture_frozen(&t, img, w, &st, why, whylen) : -ENOMEM;
	mig_image_free(&img);
	if (r == 0 && after == MIG_AFTER_KILL) {
		(void)close(t.memfd);
		r = kill_traced(pid);
		if (r < 0)
			snprintf(why, whylen, "killing %d after the checkpoint: %s", pid,
				 strerror(-r));
	} else {
		int e = mig_tracee_abandon(&t);
		if (r == 0 && e < 0) {
			snprintf(why, whylen, "resuming %d: %s", pid, strerror(-e));
			r = e;
		}
	}
	st.freeze_us = now_us() - t0;
	if (r == 0 && ret_stats)
		*ret_stats = st;
	return r;
}
