/* cantmove.c - see cantmove.h.
 *
 * What the engine handles is a single-threaded process whose memory is private (anonymous or
 * file-backed) or shared with regular files, whose descriptors are regular files (plus any
 * standard stream, which the restoring command provides), in our own namespaces. Anything else
 * is refused here, before anything is stopped, with a reason a user can act on.
 */
#include "migrate/cantmove.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migrate/procmaps.h"
#include "migrate/ptimers.h"

struct reasons {
	char *buf;
	size_t len, used;
	int n;
};

__attribute__((format(printf, 2, 3))) static void add(struct reasons *r, const char *fmt, ...)
{
	if (r->n > 0 && r->used + 2 < r->len) {
		memcpy(r->buf + r->used, "; ", 3);
		r->used += 2;
	}
	r->n++;
	if (r->used + 1 >= r->len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(r->buf + r->used, r->len - r->used, fmt, ap);
	va_end(ap);
	if (k > 0)
		r->used += (size_t)k < r->len - r->used ? (size_t)k : r->len - r->used - 1;
}

static int check_status(pid_t pid, struct reasons *r)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	long v, mode = 0, filters = 0;
	char c;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Threads: %ld", &v) == 1 && v > 1)
			add(r, "%ld threads (only single-threaded processes move)", v);
		else if (sscanf(line, "TracerPid: %ld", &v) == 1 && v != 0)
			add(r, "already traced by process %ld", v);
		else if (sscanf(line, "State: %c", &c) == 1 && strchr("TtZX", c))
			add(r, "state %c (stopped, traced or dead)", c);
		else if (sscanf(line, "Seccomp: %ld", &v) == 1)
			mode = v;
		else if (sscanf(line, "Seccomp_filters: %ld", &v) == 1)
			filters = v;
	}
	fclose(f);
	/* one filter may be omx's identity filter (ident.h), which the freeze checks exactly */
	if (mode != 0 && !(mode == 2 && filters == 1))
		add(r, "seccomp mode %ld with %ld filters (only omx's identity filter is captured)",
		    mode, filters);
	return 0;
}

static int same_ns(pid_t pid, const char *ns)
{
	char a[64], b[64];
	struct stat sa, sb;
	snprintf(a, sizeof(a), "/proc/%d/ns/%s", pid, ns);
	snprintf(b, sizeof(b), "/proc/self/ns/%s", ns);
	if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
		return 1; /* namespace kind not available: nothing to compare */
	return sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

static int special_ok(const char *p)
{
	static const char *const ok[] = { "[heap]", "[stack]", "[vdso]", "[vvar]", "[vvar_vclock]",
					   "[vsyscall]" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(p, ok[i]) == 0)
			return 1;
	return strncmp(p, "[anon:", 6) == 0;
}

static int check_maps(pid_t pid, struct reasons *r)
{
	struct mig_map *m;
	size_t n;
	int e = mig_maps_read(pid, &m, &n);
	if (e < 0)
		return e;
	if (n == 0)
		add(r, "no address space (kernel thread)");
	int shanon = 0, dev = 0, del = 0, special = 0;
	for (size_t i = 0; i < n; i++) {
		const char *p = m[i].path;
		size_t pl = strlen(p);
		if (m[i].shared && (p[0] == 0 || strncmp(p, "/SYSV", 5) == 0 ||
				    strncmp(p, "/dev/zero", 9) == 0 || strncmp(p, "/memfd:", 7) == 0 ||
				    p[0] == '[')) {
			if (!shanon++)
				add(r, "shared anonymous or SysV memory at %#lx",
				    (unsigned long)m[i].start);
		} else if (pl > 10 && strcmp(p + pl - 10, " (deleted)") == 0) {
			if (!del++)
				add(r, "maps a deleted file (%s)", p);
		} else if (strncmp(p, "/dev/", 5) == 0) {
			if (!dev++)
				add(r, "device mapping %s", p);
		} else if (p[0] == '[' && !special_ok(p)) {
			if (!special++)
				add(r, "special mapping %s", p);
		} else if (p[0] != 0 && p[0] != '/' && p[0] != '[') {
			add(r, "unsupported mapping %s", p);
		}
	}
	free(m);
	return 0;
}

static int check_fds(pid_t pid, struct reasons *r)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int fd = atoi(de->d_name);
		char p[384], target[512];
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		ssize_t k = readlink(p, target, sizeof(target) - 1);
		if (k < 0)
			continue; /* closed meanwhile */
		target[k] = 0;
		struct stat st;
		int regular = stat(p, &st) == 0 && S_ISREG(st.st_mode);
		if (fd <= 2 && !(regular && strstr(target, " (deleted)")))
			continue; /* standard streams come from the restoring command */
		if (!regular)
			add(r, "fd %d is %s (only regular files move)", fd, target);
		else if (strstr(target, " (deleted)") || target[0] != '/')
			add(r, "fd %d is a deleted or unreachable file (%s)", fd, target);
	}
	closedir(d);
	return 0;
}

static int file_nonempty(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	int c = fgetc(f);
	fclose(f);
	return c != EOF && c != '\n';
}

int mig_cantmove(pid_t pid, char *buf, size_t len)
{
	struct reasons r = { .buf = buf, .len = len };
	if (len)
		buf[0] = 0;
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (access(path, F_OK) < 0)
		return -ESRCH;
	if (pid == getpid())
		add(&r, "it is the checkpointing process itself");
	if (pid == 1)
		add(&r, "it is init");
	int e = check_status(pid, &r);
	if (e == 0)
		e = check_maps(pid, &r);
	if (e == 0)
		e = check_fds(pid, &r);
	if (e < 0)
		return e;
	static const char *const nss[] = { "pid", "mnt", "user", "time" };
	for (size_t i = 0; i < sizeof(nss) / sizeof(nss[0]); i++)
		if (!same_ns(pid, nss[i]))
			add(&r, "runs in another %s namespace", nss[i]);
	struct mig_ptimer *pt = NULL;
	size_t npt = 0;
	char why[160];
	e = mig_ptimers_read(pid, &pt, &npt, why, sizeof(why));
	if (e == -EBUSY)
		add(&r, "%s (only realtime/monotonic/boottime/tai/CPU-time timers signalling the "
			"process move)", why);
	free(pt);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	if (file_nonempty(path))
		add(&r, "has child processes");
	return r.n;
}
