/* capture.h - freeze a process and write its image (the checkpoint half of migration).
 *
 * mig_capture() refuses what cantmove.h refuses, then stops the process with ptrace, reads its
 * state (capture_proc.c: /proc; capture_sig.c: calls injected into it; capture_mem.c: regions
 * and pages) and streams the image into a writer. Transactional: unless the whole image was
 * written, the process is left exactly as it was and running. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "migrate/image.h"
#include "migrate/inject.h"

enum mig_after { MIG_AFTER_LEAVE = 0, MIG_AFTER_KILL };

struct mig_capture_stats {
	uint64_t freeze_us;   /* from the stop until the process runs again (or is killed) */
	uint64_t state_us;    /* of which: registers and kernel-side state */
	uint64_t pages_us;    /* of which: memory */
	uint64_t scan_us;     /* of which: choosing pages (PAGEMAP_SCAN, or pagemap reads) */
	uint64_t rss_bytes;   /* resident memory of the process at the freeze (pagemap present) */
	uint64_t page_bytes;  /* page data written */
	uint64_t image_bytes; /* whole image */
	uint64_t zero_pages;  /* anonymous pages skipped because they were all zero */
	uint64_t file_pages;  /* file-backed pages skipped (restored from the file) */
};

/* Captures pid into w, then leaves it running or kills it. On refusal returns -EBUSY with the
 * reasons in why. On any other failure returns a negative errno, with a message in why. */
__attribute__((warn_unused_result)) int mig_capture(pid_t pid, enum mig_after after,
						    struct mig_writer *w,
						    struct mig_capture_stats *ret_stats, char *why,
						    size_t whylen);

/* ---- internal to the capture files ---- */

/* /proc-readable state: mm fields, auxv, exe, masks, ids, umask, rlimits, cwd, personality,
 * file descriptors. */
int mig_capture_proc(pid_t pid, struct mig_image *img, char *why, size_t whylen);
/* State only the process can report, asked by injected calls; rseq; robust list. */
int mig_capture_sig(struct mig_tracee *t, struct mig_image *img);
/* Regions from /proc/PID/maps (the tracee must be stopped). */
int mig_capture_regions(pid_t pid, struct mig_image *img, char *why, size_t whylen);
/* Page contents of img's regions into w (pagemap decides what is copied). */
int mig_capture_pages(struct mig_tracee *t, const struct mig_image *img, struct mig_writer *w,
		      struct mig_capture_stats *stats);
