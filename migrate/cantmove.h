/* cantmove.h - why a process cannot be checkpointed (openMosix's /proc/PID/cantmove).
 * Reads /proc only: the process is never stopped or touched. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/* Collects every reason pid cannot be checkpointed into buf ("; "-separated, NUL-terminated,
 * truncated to len). Returns the number of reasons (0: it can move) or a negative errno
 * (-ESRCH: no such process). */
__attribute__((warn_unused_result)) int mig_cantmove(pid_t pid, char *buf, size_t len);
