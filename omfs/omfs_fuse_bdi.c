/* omfs_fuse_bdi.c - the mount's read-ahead, set through its backing device in sysfs.
 *
 * The mount is found in /proc/self/mountinfo by its mount point (the canonical path taken
 * before mounting) and type fuse.omfs; the last such line is the newest mount there. Nothing
 * here stats the mount point: before the loop runs, a stat would wait for an answer that never
 * comes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "omfs/omfs_fuse_int.h"
#include "omfs/omfs_mounts.h"

/* "MAJ:MIN" of the newest fuse.omfs mount on `mnt` into dev; 0, -ENOENT or -errno */
static int mount_dev(const char *mnt, char *dev, size_t size)
{
	struct omfs_mount *m;
	size_t n;
	int rc = omfs_mounts_read(&m, &n);
	if (rc < 0)
		return rc;
	rc = -ENOENT;
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].fstype, "fuse.omfs") == 0 && strcmp(m[i].point, mnt) == 0 &&
		    strlen(m[i].dev) < size) {
			strcpy(dev, m[i].dev);
			rc = 0;
		}
	omfs_mounts_free(m, n);
	return rc;
}

int omfs_fuse_set_readahead(struct omfs_fuse *f, unsigned kb)
{
	char dev[32], path[96], val[16];
	if (!f->mnt)
		return -ENOENT;
	int rc = mount_dev(f->mnt, dev, sizeof(dev));
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int len = snprintf(val, sizeof(val), "%u\n", kb);
	rc = write(fd, val, (size_t)len) == len ? 0 : -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}
