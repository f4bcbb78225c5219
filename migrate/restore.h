/* restore.h - rebuild a process from its image (the restore half of migration).
 *
 * mig_restore() reads the image's header and process state, refuses what this machine cannot
 * run (format version, CPU features, vDSO), then starts a stub child of the caller (with the
 * original PID when it is free), and turns it into the image by injected system calls
 * (restore_mem.c: address space and pages; restore_state.c: kernel-side state and registers).
 * The stub inherits the caller's standard streams. Once mig_restore returns, the process runs;
 * the caller is its parent and reaps it.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "migrate/image.h"
#include "migrate/inject.h"

struct mig_restore_stats {
	uint64_t total_us;   /* from the first byte of the image to the process running */
	uint64_t pages_us;   /* of which: filling memory */
	uint64_t page_bytes; /* page data written */
	int same_pid;        /* 1 if the process got its original PID back */
	int vdso_syscalls;   /* 1 if its vDSO calls were redirected to system calls */
	int orig_pid;        /* the PID in the image */
};

/* Restores the image read from r. On success *ret_pid is the running process (a child of the
 * caller). If the image's PID was taken, the process runs under another PID with its identity
 * calls translated (ident.h): then *ret_ident is the seccomp listener the caller owns and must
 * serve for as long as the process lives (mig_ident_spawn or mig_ident_serve; until then those
 * calls block); otherwise *ret_ident is -1. On failure nothing is left behind and why says
 * what went wrong (-EPROTONOSUPPORT: format version; -ENOEXEC: CPU or kernel mismatch;
 * -EBADMSG: damaged image; -ESTALE: a mapped file changed since the checkpoint). */
__attribute__((warn_unused_result)) int mig_restore(struct mig_reader *r, pid_t *ret_pid,
						    int *ret_ident,
						    struct mig_restore_stats *ret_stats, char *why,
						    size_t whylen);

/* Can this machine run the image? 0: yes; MIG_COMPAT_VDSO_SYSCALLS: yes, but it was taken
 * under another kernel build, so its vDSO calls must become system calls (vdso.h); or
 * -ENOEXEC/-EPROTONOSUPPORT with the reason in why. */
#define MIG_COMPAT_VDSO_SYSCALLS 1
__attribute__((warn_unused_result)) int mig_image_compat(const struct mig_image *img, char *why,
							 size_t whylen);

/* ---- internal to the restore files ---- */

/* The stub's control page: a `syscall` instruction at its start, scratch space after. */
#define MIG_CTL_PAGES 2
#define MIG_SCRATCH_OFF 64

/* Replaces the stub's address space with the image's regions (stub mappings and rseq dropped,
 * the vDSO moved, or with vdso_syscalls the image's own vDSO mapped back redirected to system
 * calls). Returns 0 or negative errno (why set). */
int mig_restore_space(struct mig_tracee *t, uint64_t ctl, const struct mig_image *img,
		      int vdso_syscalls, char *why, size_t whylen);
/* Streams the page chunks from r into the tracee. */
int mig_restore_pages(struct mig_tracee *t, const struct mig_image *img, struct mig_reader *r,
		      uint64_t *ret_bytes, char *why, size_t whylen);
/* Everything else, then the registers; the tracee is left stopped, ready to be detached.
 * translate: install the identity filter for the image's PID (its listener goes to
 * *ret_ident, caller owns it); otherwise *ret_ident is left alone. */
int mig_restore_state(struct mig_tracee *t, uint64_t ctl, const struct mig_image *img,
		      int translate, int *ret_ident, char *why, size_t whylen);
