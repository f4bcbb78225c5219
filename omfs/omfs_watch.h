/* omfs_watch.h - what changes on a server's exported file systems behind oMFS's back.
 *
 * A server's clients may cache attributes and names for OMFS_WATCHED_TTL_S only if the server
 * tells them of every change within that time. Changes made through oMFS itself are known to
 * the server core (omfs_server_exec_changes); this watch reports the others: programs on the
 * serving node (or anything else writing to the same file systems) seen through fanotify.
 *
 * omfs_watch_new() puts a file-system mark (FAN_MARK_FILESYSTEM, events reported as directory
 * handle + name, FAN_REPORT_DFID_NAME) on the file system of every export and of every mount
 * below one, skipping FUSE mounts (our own /mfs among them) and `skip`. A file system that
 * cannot be marked (no file handles: proc, sysfs; no permission) is simply not watched, and
 * omfs_watch_covers() says so: its attributes go out unmarked (short client caching).
 * Events caused by this process are skipped: the server core reports those itself, to every
 * client but the one that asked.
 *
 * Needs CAP_SYS_ADMIN (omxd runs as root) and Linux >= 5.9. Thread-safety: covers() may be
 * called from any thread; read() from one thread at a time.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "omfs/omfs_server.h"
#include "omfs/omfs_wire.h"

struct omfs_watch;

/* Marks what can be marked. Returns 0 (even when nothing could be: see omfs_watch_count),
 * -ENOSYS/-EPERM/-EINVAL (no fanotify with directory handles here) or -ENOMEM.
 * skip (NULL: none): a mount point whose file system is never marked, with everything below. */
__attribute__((warn_unused_result)) int omfs_watch_new(const struct omfs_export *exports,
						       size_t nexports, const char *skip,
						       struct omfs_watch **ret);
void omfs_watch_free(struct omfs_watch **w);

/* The descriptor to poll for reading (non-blocking). */
int omfs_watch_fd(const struct omfs_watch *w);
/* File systems marked. */
size_t omfs_watch_count(const struct omfs_watch *w);
/* 1 if the file system with this st_dev is marked. ctx is the struct omfs_watch (the
 * signature of omfs_server_config.watched). */
int omfs_watch_covers(void *ctx, uint64_t dev);

/* Reads the events pending and adds each change made by another process to *chg (NULL:
 * drain only, nobody is listening). A lost event (queue overflow) makes *chg `all`.
 * Returns the number of events read (0: none pending) or a negative errno. */
int omfs_watch_read(struct omfs_watch *w, struct omfs_notify *chg);
