/* ident.h - a restored process that could not get its PID back keeps its old identity.
 *
 * When the image's PID is taken, the process runs under another ("real") PID, but it remembers
 * the old ("virtual") one: glibc caches its TID in the thread descriptor (raise() sends
 * tgkill(getpid(), cached_tid, sig)), and programs keep getpid() results. The restore installs a
 * seccomp filter in the new process (last, after every other injected call) that sends to a
 * supervisor, through a SECCOMP_RET_USER_NOTIF listener, exactly these calls:
 *   getpid, gettid                                  -> answered with the virtual PID;
 *   kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo, pidfd_open, getpgid, getsid,
 *   prlimit64, sched_getaffinity, sched_setaffinity  -> only when a PID argument is the
 *                                                      virtual PID; done on the real one.
 * Everything else (pure computation included) never leaves the kernel's filter fast path.
 * Children and threads the process creates inherit the filter; their getpid/gettid pass through
 * unchanged (SECCOMP_USER_NOTIF_FLAG_CONTINUE) unless they belong to the process itself.
 *
 * A checkpoint of such a process recognizes this filter (and refuses any other) and records the
 * virtual PID as the process's PID, so a chain of checkpoints keeps one identity; if that PID
 * is free at the next restore, the process simply gets it back and runs without a filter.
 */
#pragma once
#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "migrate/inject.h"

/* Upper bound of the filter's length in instructions. */
#define MIG_IDENT_MAX_INSNS 64
/* Index of the instruction whose immediate is the virtual PID. */
#define MIG_IDENT_VPID_INSN 8

/* Writes the identity filter for virtual PID vpid into out (MIG_IDENT_MAX_INSNS entries).
 * Returns its length in instructions. */
size_t mig_ident_filter(int32_t vpid, struct sock_filter *out);

/* Which seccomp filter does the ptrace-stopped tracee pid run under? 0 with *ret_vpid = 0: none;
 * 0 with *ret_vpid > 0: exactly one filter, omx's identity filter for that virtual PID;
 * -EBUSY: any other filter (it cannot be captured); or another negative errno. */
__attribute__((warn_unused_result)) int mig_ident_recognize(pid_t pid, int32_t *ret_vpid);

/* Installs the identity filter in the tracee by injected calls (the filter program goes to
 * scratch, which must have room for it), and returns its listener in *ret_listener, a
 * descriptor of the caller (caller owns it). Without CAP_SYS_ADMIN in the tracee,
 * PR_SET_NO_NEW_PRIVS is set first. Returns 0 or negative errno. */
__attribute__((warn_unused_result)) int mig_ident_install(struct mig_tracee *t, uint64_t scratch,
							  int32_t vpid, int *ret_listener);

/* Serves the listener until no process uses the filter any more (then returns 0), or a
 * negative errno if the listener fails. real is the process's PID here, vpid the one it
 * believes it has. Takes ownership of listener (closed on return). */
int mig_ident_serve(int listener, pid_t real, pid_t vpid);

/* Starts a detached supervisor process (reparented to init, standard streams on /dev/null)
 * running mig_ident_serve. Closes the caller's listener either way. Returns 0 or negative
 * errno (then the process's identity calls fail with ENOSYS). */
__attribute__((warn_unused_result)) int mig_ident_spawn(int listener, pid_t real, pid_t vpid);
