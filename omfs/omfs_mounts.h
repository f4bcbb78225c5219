/* omfs_mounts.h - this process's mounts, from /proc/self/mountinfo.
 *
 * Two users: the watch (which file systems lie below an export) and the FUSE front (which
 * backing device its own mount got, for its read-ahead). Nothing here touches a mount: a stat
 * of a FUSE mount point would wait for a file system that may not be serving yet.
 */
#pragma once
#include <stddef.h>

struct omfs_mount {
	char *dev;    /* "MAJ:MIN" */
	char *point;  /* the mount point, unescaped */
	char *fstype; /* "ext4", "fuse.omfs", ... */
};

/* Reads every mount, in mountinfo's order (a later mount on the same point hides an earlier
 * one). Caller owns *ret (omfs_mounts_free). Returns 0, or -errno of reading mountinfo, or
 * -ENOMEM. */
__attribute__((warn_unused_result)) int omfs_mounts_read(struct omfs_mount **ret, size_t *ret_n);
void omfs_mounts_free(struct omfs_mount *m, size_t n);

/* 1 when path is base or below it (both absolute, normalized) */
int omfs_path_under(const char *path, const char *base);
