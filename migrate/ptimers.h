/* ptimers.h - POSIX timers (timer_create) of a process: read, captured, restored.
 *
 * /proc/PID/timers lists each timer's id, signal, sigev_value, notification and clock; the
 * remaining time and interval are asked of the frozen process (injected timer_gettime). At
 * restore each timer is created again under its old id - with PR_TIMER_CREATE_RESTORE_IDS
 * (Linux >= 6.16, made for checkpoint/restore) the kernel takes the id we ask for; without it,
 * ids are handed out in order from 0 in a new process, so the gaps are filled with placeholder
 * timers that are deleted afterwards - and armed with the remaining time (relative).
 */
#pragma once
#include <stddef.h>
#include <sys/types.h>

#include "migrate/image.h"
#include "migrate/inject.h"

/* Reads /proc/PID/timers (which lists the timers without stopping the process). On success
 * *ret (caller owns, free()) holds *ret_n timers in ascending id order, remaining times 0.
 * Returns 0, -EBUSY with the reason in why for a timer that cannot be restored (another
 * clock, a SIGEV_THREAD_ID target that is not the process itself), or a negative errno. */
__attribute__((warn_unused_result)) int mig_ptimers_read(pid_t pid, struct mig_ptimer **ret,
							 size_t *ret_n, char *why, size_t whylen);

/* Fills the remaining time and interval of img's timers by injected timer_gettime (scratch:
 * 32 bytes of tracee memory). 0 or negative errno. */
__attribute__((warn_unused_result)) int mig_ptimers_values(struct mig_tracee *t, uint64_t scratch,
							   struct mig_image *img);

/* Creates img's timers in the tracee under their ids and arms them (scratch: 128 bytes).
 * 0 or negative errno (why set). */
__attribute__((warn_unused_result)) int mig_ptimers_restore(struct mig_tracee *t, uint64_t scratch,
							    const struct mig_image *img, char *why,
							    size_t whylen);
