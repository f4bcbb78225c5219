/* omfs_mounts.c - this process's mounts, from /proc/self/mountinfo (see omfs_mounts.h) */
#include "omfs/omfs_mounts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

int omfs_path_under(const char *path, const char *base)
{
	size_t n = strlen(base);
	if (n == 1 && base[0] == '/')
		return path[0] == '/';
	return strncmp(path, base, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* One line: id parent maj:min root mountpoint options [optional...] - fstype source super.
 * Returns 1 with the three fields pointing into line, 0 for a line of another shape. */
static int parse(char *line, char **dev, char **point, char **fstype)
{
	char *save = NULL, *tok;
	int field = 0, after_dash = 0;
	*dev = *point = *fstype = NULL;
	for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		if (field == 2)
			*dev = tok;
		if (field == 4)
			*point = tok;
		if (after_dash) {
			*fstype = tok;
			break;
		}
		if (field >= 6 && strcmp(tok, "-") == 0)
			after_dash = 1;
		field++;
	}
	return *dev && *point && *fstype;
}

void omfs_mounts_free(struct omfs_mount *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++) {
		free(m[i].dev);
		free(m[i].point);
		free(m[i].fstype);
	}
	free(m);
}

int omfs_mounts_read(struct omfs_mount **ret, size_t *ret_n)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	struct omfs_mount *m = NULL;
	size_t n = 0, cap = 0;
	char *line = NULL, *dev, *point, *fstype;
	size_t lcap = 0;
	int rc = 0;
	while (rc == 0 && getline(&line, &lcap, f) > 0) {
		if (!parse(line, &dev, &point, &fstype))
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 32;
			struct omfs_mount *nm = realloc(m, ncap * sizeof(*nm));
			if (!nm) {
				rc = -ENOMEM;
				break;
			}
			m = nm;
			cap = ncap;
		}
		unescape(point);
		struct omfs_mount *x = &m[n++];
		*x = (struct omfs_mount){strdup(dev), strdup(point), strdup(fstype)};
		if (!x->dev || !x->point || !x->fstype)
			rc = -ENOMEM; /* what was copied is freed below with the rest */
	}
	free(line);
	(void)fclose(f);
	if (rc < 0) {
		omfs_mounts_free(m, n);
		return rc;
	}
	*ret = m;
	*ret_n = n;
	return 0;
}
