/* procmaps.c - see procmaps.h. Lines look like
 * "7f3d16b77000-7f3d16b9d000 r-xp 00001000 fe:00 332383    /usr/lib/.../ld-linux-x86-64.so.2". */
#include "migrate/procmaps.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int parse_line(char *line, struct mig_map *m)
{
	char perms[5];
	int off = 0;
	memset(m, 0, sizeof(*m));
	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 " %n", &m->start,
		   &m->end, perms, &m->pgoff, &m->dev_major, &m->dev_minor, &m->ino, &off) < 7)
		return -EBADMSG;
	m->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
		  (perms[2] == 'x' ? PROT_EXEC : 0);
	m->shared = perms[3] == 's';
	char *p = line + off;
	size_t n = strcspn(p, "\n");
	if (n >= sizeof(m->path))
		return -ENAMETOOLONG;
	memcpy(m->path, p, n);
	m->path[n] = 0;
	return 0;
}

int mig_maps_read(pid_t pid, struct mig_map **ret_maps, size_t *ret_n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	struct mig_map *v = NULL;
	size_t n = 0, cap = 0;
	char line[4096 + 128];
	int r = 0;
	while (fgets(line, sizeof(line), f)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct mig_map *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			v = nv;
		}
		r = parse_line(line, &v[n]);
		if (r < 0)
			break;
		n++;
	}
	fclose(f);
	if (r < 0) {
		free(v);
		return r;
	}
	*ret_maps = v;
	*ret_n = n;
	return 0;
}
