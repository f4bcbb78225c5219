/* omfs_fuse.h - the /mfs FUSE front (libfuse3 low-level API) over the oMFS client library.
 *
 *   /mfs/                 one directory per live node id (from hooks.members), plus:
 *   /mfs/home -> <id>     the calling process's home node (hooks.home_of), resolved per caller
 *   /mfs/here -> <id>     the node the calling process runs on (hooks.here_of)
 *   /mfs/<id>/path        `path` on node <id>, through omfs_client to that node's server core
 *
 * Kernel caching: entries and attributes for `entry_timeout`/`attr_timeout` seconds, or for
 * `watched_timeout` where the server marks them watched (it then reports every change, which
 * the owner hands to omfs_fuse_notify); page cache dropped at every open (close-to-open
 * consistency, as NFS), so mmap works (no direct_io).
 * Requests run in libfuse's multi-threaded loop; 1 MiB reads and writes.
 * omfs_fuse_free() unmounts. Not async-signal-safe: call omfs_fuse_exit() from a normal thread
 * (or let libfuse's own signal handlers, installed by omfs_fuse_run, do it).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct omfs_client;
struct omfs_fuse;

struct omfs_fuse_hooks {
	/* Writes up to `max` live node ids (self included) to ids; returns how many. */
	size_t (*members)(void *ctx, uint32_t *ids, size_t max);
	/* The node /mfs/home and /mfs/here mean for process `pid`; NULL hooks mean "self". */
	uint32_t (*home_of)(void *ctx, pid_t pid);
	uint32_t (*here_of)(void *ctx, pid_t pid);
	void *ctx;
};

struct omfs_fuse_config {
	const char *mountpoint;
	uint32_t self; /* this node's id */
	struct omfs_client *client; /* borrowed; must outlive the mount */
	struct omfs_fuse_hooks hooks;
	double entry_timeout, attr_timeout; /* seconds; 0 means the default 1.0 */
	double watched_timeout; /* for attributes the server marks watched; 0: OMFS_WATCHED_TTL_S */
	int allow_other;		    /* let every user see the mount (omxd: yes) */
	int debug;			    /* libfuse request tracing on stderr */
	int max_threads;		    /* 0: libfuse's default */
};

/* Creates the session and mounts it. Caller owns *ret (omfs_fuse_free).
 * Returns 0, -EINVAL, -ENOMEM, or -EIO when the mount fails (libfuse says why on stderr). */
__attribute__((warn_unused_result)) int omfs_fuse_new(const struct omfs_fuse_config *cfg,
						      struct omfs_fuse **ret);

/* How far the kernel reads ahead of a program reading a /mfs file sequentially. FUSE mounts
 * get the block layer's default, 128 KiB, whatever the file system asks for: a request per
 * 128 KiB, each a round trip through the mesh. 4 MiB lets the kernel send 1 MiB reads
 * (OMFS_MAX_IO), several at a time: a cold 512 MiB read went from 6-7.4 s to 1.8-2.9 s on the
 * two-node bench, with half the CPU time on each side (8 and 16 MiB gained nothing more). */
#define OMFS_FUSE_READAHEAD_KB 4096

/* Sets the mount's read-ahead to `kb` KiB (its /sys/class/bdi/MAJ:MIN/read_ahead_kb; needs
 * root). Pass OMFS_FUSE_READAHEAD_KB: the INIT reply asks for that much, and the kernel keeps
 * the smaller of it and read_ahead_kb as it stands when INIT is answered. Returns 0, -ENOENT
 * when the mount is not found in /proc/self/mountinfo, or the errno of opening or writing the
 * sysfs file. Does not touch the mount itself: safe before omfs_fuse_run(). */
__attribute__((warn_unused_result)) int omfs_fuse_set_readahead(struct omfs_fuse *f, unsigned kb);

/* Serves requests until unmounted or omfs_fuse_exit(). Installs SIGINT/SIGTERM/SIGHUP handlers
 * that end the loop if `handle_signals`. Returns 0 or a negative errno. */
__attribute__((warn_unused_result)) int omfs_fuse_run(struct omfs_fuse *f, int handle_signals);

/* Asks the loop to return (it notices at the next request or signal). */
void omfs_fuse_exit(struct omfs_fuse *f);

/* Unmounts, frees, sets *f to NULL. NULL-safe. */
void omfs_fuse_free(struct omfs_fuse **f);

/* Drops the kernel's cached /mfs/<node> entry (the node died or left): its directory
 * disappears at the next lookup. Returns 0 or a negative errno. */
int omfs_fuse_node_gone(struct omfs_fuse *f, uint32_t node);

struct omfs_notify;
/* Node `node` reported changes: drops what the kernel caches of those paths (names, their
 * directories' and their own attributes, data for data changes; everything of that node for
 * `all`). Blocks on the kernel's locks: call it from a thread that no FUSE request waits on
 * (never the FUSE loop or a thread a FUSE request needs to finish). Returns 0. */
int omfs_fuse_notify(struct omfs_fuse *f, uint32_t node, const struct omfs_notify *nt);
