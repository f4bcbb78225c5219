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

/* mountinfo escapes space, tab, newline and backslash as \ooo: undo it in place */
static void unescape(char *s)
{
	char *o = s;
	for (char *i = s; *i; i++) {
		if (i[0] == '\\' && i[1] >= '0' && i[1] <= '3' && i[2] >= '0' && i[2] <= '7' &&
		    i[3] >= '0' && i[3] <= '7') {
			*o++ = (char)((i[1] - '0') * 64 + (i[2] - '0') * 8 + (i[3] - '0'));
			i += 3;
		} else {
			*o++ = *i;
		}
	}
	*o = '\0';
}

/* "MAJ:MIN" of the newest fuse.omfs mount on `mnt` into dev; 0 or -ENOENT/-errno */
static int mount_dev(const char *mnt, char *dev, size_t size)
{
	FILE *fp = fopen("/proc/self/mountinfo", "re");
	if (!fp)
		return -errno;
	char *line = NULL;
	size_t cap = 0;
	int rc = -ENOENT;
	while (getline(&line, &cap, fp) > 0) {
		/* id parent MAJ:MIN root mountpoint options [optional...] - fstype source ... */
		char *save = NULL, *f[5], *t;
		int n = 0;
		while (n < 5 && (t = strtok_r(n ? NULL : line, " ", &save)))
			f[n++] = t;
		if (n < 5)
			continue;
		char *rest = strtok_r(NULL, "\n", &save); /* options [optional...] - fstype ... */
		char *sep = rest ? strstr(rest, " - ") : NULL;
		if (!sep || strncmp(sep + 3, "fuse.omfs ", 10) != 0)
			continue;
		unescape(f[4]);
		if (strcmp(f[4], mnt) == 0 && strlen(f[2]) < size) {
			strcpy(dev, f[2]);
			rc = 0;
		}
	}
	free(line);
	fclose(fp);
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
