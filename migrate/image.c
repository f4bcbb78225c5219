/* image.c - life cycle and sanity of struct mig_image (see image.h). The validator is the
 * gate every decoded image passes before restore code looks at it: after it, regions are
 * ordered, page-aligned, disjoint and in user space, and every path a restore will open is set. */
#include "migrate/image.h"

#include <errno.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>

/* Highest user address on x86-64 with 5-level paging; 4-level processes stay far below. */
#define MIG_USER_TOP (1ull << 56)

struct mig_image *mig_image_new(void)
{
	return calloc(1, sizeof(struct mig_image));
}

void mig_image_free(struct mig_image **pimg)
{
	struct mig_image *img = *pimg;
	if (!img)
		return;
	for (size_t i = 0; i < img->n_regions; i++)
		free(img->regions[i].path);
	free(img->regions);
	for (size_t i = 0; i < img->n_fds; i++)
		free(img->fds[i].path);
	free(img->fds);
	free(img->ptimers);
	free(img->pending_info);
	free(img->vdso_text);
	free(img->xsave);
	free(img->mm.exe);
	free(img->cwd);
	free(img);
	*pimg = NULL;
}

static int validate_regions(const struct mig_image *img)
{
	uint64_t prev_end = 0;
	for (size_t i = 0; i < img->n_regions; i++) {
		const struct mig_region *r = &img->regions[i];
		if (r->start >= r->end || r->start % MIG_PAGE || r->end % MIG_PAGE ||
		    r->end > MIG_USER_TOP || r->start < prev_end)
			return -EBADMSG;
		if (r->prot & ~(uint32_t)(PROT_READ | PROT_WRITE | PROT_EXEC))
			return -EBADMSG;
		if ((r->kind == MIG_REG_FILE) != (r->path != NULL))
			return -EBADMSG;
		if (r->shared && r->kind != MIG_REG_FILE)
			return -EBADMSG;
		if (r->kind == MIG_REG_FILE && r->pgoff % MIG_PAGE)
			return -EBADMSG;
		prev_end = r->end;
	}
	return 0;
}

static int validate_fds(const struct mig_image *img)
{
	for (size_t i = 0; i < img->n_fds; i++) {
		const struct mig_fd *f = &img->fds[i];
		if (f->fd < 0 || f->fd >= (1 << 20))
			return -EBADMSG;
		if ((f->kind == MIG_FD_FILE) != (f->path != NULL))
			return -EBADMSG;
		int dup_found = 0;
		for (size_t j = 0; j < i; j++) {
			if (img->fds[j].fd == f->fd)
				return -EBADMSG;
			dup_found |= f->is_dup && img->fds[j].fd == f->dup_of &&
				     img->fds[j].kind == MIG_FD_FILE && !img->fds[j].is_dup;
		}
		if (f->is_dup && (!dup_found || f->kind != MIG_FD_FILE))
			return -EBADMSG;
	}
	return 0;
}

bool mig_ptimer_clock_ok(int32_t clock)
{
	/* CPU-time clocks of the calling process or thread (pid 0 in the kernel's encoding:
	 * ~pid << 3 | per-thread << 2 | PROF/VIRT/SCHED), as glibc passes CLOCK_*_CPUTIME_ID;
	 * a clock naming a PID would name another process after the move */
	if (clock < 0)
		return clock >= -8 && (clock & 3) != 3;
	return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC || clock == CLOCK_BOOTTIME ||
	       clock == CLOCK_TAI || clock == CLOCK_PROCESS_CPUTIME_ID ||
	       clock == CLOCK_THREAD_CPUTIME_ID;
}

static int validate_ptimers(const struct mig_image *img)
{
	if (img->n_ptimers > MIG_MAX_PTIMERS)
		return -EBADMSG;
	for (size_t i = 0; i < img->n_ptimers; i++) {
		const struct mig_ptimer *t = &img->ptimers[i];
		if (t->id < 0 || (i > 0 && t->id <= img->ptimers[i - 1].id))
			return -EBADMSG;
		if (!mig_ptimer_clock_ok(t->clock) || t->signo < 0 || t->signo > MIG_NSIG)
			return -EBADMSG;
		if (t->notify != SIGEV_SIGNAL && t->notify != SIGEV_NONE &&
		    t->notify != SIGEV_THREAD_ID)
			return -EBADMSG;
		if (t->notify != SIGEV_NONE && t->signo == 0)
			return -EBADMSG;
		if (t->interval_ns < 0 || t->value_ns < 0)
			return -EBADMSG;
	}
	return 0;
}

int mig_image_validate(const struct mig_image *img)
{
	if (img->hdr.version != MIG_IMAGE_VERSION || img->xsave_len != img->hdr.xsave_size)
		return -EBADMSG;
	if (img->hdr.pid <= 0 || img->umask > 0777)
		return -EBADMSG;
	if (img->mm.auxv_words % 2)
		return -EBADMSG;
	int r = validate_regions(img);
	if (r == 0)
		r = validate_fds(img);
	if (r == 0)
		r = validate_ptimers(img);
	if (img->n_pending_info > MIG_MAX_PENDING_INFO)
		return -EBADMSG;
	if (img->vdso_len) { /* the pages of the image's [vdso] region, exactly */
		int found = 0;
		for (size_t i = 0; i < img->n_regions; i++)
			found |= img->regions[i].kind == MIG_REG_VDSO &&
				 img->regions[i].end - img->regions[i].start == img->vdso_len;
		if (!found)
			return -EBADMSG;
	}
	for (size_t i = 0; i < img->n_pending_info && r == 0; i++) {
		int sig = img->pending_info[i].si_signo;
		if (sig <= 0 || sig > MIG_NSIG || !(img->pending & (1ull << (sig - 1))))
			r = -EBADMSG;
	}
	return r;
}
