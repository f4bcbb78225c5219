/* capture_proc.c - the part of a process's state that /proc (and prlimit) report from outside:
 * mm layout fields (/proc/PID/stat), auxv, exe, signal mask and pending sets, credentials and
 * umask (/proc/PID/status), rlimits, cwd, personality, file descriptors (/proc/PID/fd and
 * fdinfo: path, offset, flags) and POSIX timers (/proc/PID/timers, ptimers.c). Regular files are reopened by path at restore; any other
 * standard stream is inherited from the restoring command; anything else was refused earlier.
 */
#include "migrate/capture.h"
#include "migrate/ptimers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int read_small(pid_t pid, const char *what, char *buf, size_t len, size_t *ret_n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t n = 0;
	while (n + 1 < len) {
		ssize_t k = read(fd, buf + n, len - 1 - n);
		if (k < 0) {
			int e = -errno;
			(void)close(fd);
			return e;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	(void)close(fd);
	buf[n] = 0;
	*ret_n = n;
	return 0;
}

static int read_link(pid_t pid, const char *what, char **ret)
{
	char path[64], target[4096];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	ssize_t k = readlink(path, target, sizeof(target) - 1);
	if (k < 0)
		return -errno;
	target[k] = 0;
	char *d = strdup(target);
	if (!d)
		return -ENOMEM;
	*ret = d;
	return 0;
}

/* Fields 26-28 and 45-51 of /proc/PID/stat (man 5 proc), counted after the ")" of comm. */
static int capture_stat(pid_t pid, struct mig_mm *mm)
{
	char buf[2048];
	size_t n;
	int r = read_small(pid, "stat", buf, sizeof(buf), &n);
	if (r < 0)
		return r;
	char *p = strrchr(buf, ')');
	if (!p)
		return -EBADMSG;
	uint64_t f[53] = { 0 };
	int field = 3;
	p += 2;
	while (*p && field <= 52) {
		if (*p >= '0' && *p <= '9')
			f[field] = strtoull(p, NULL, 10);
		else if (*p == '-')
			f[field] = (uint64_t)strtoll(p, NULL, 10);
		p = strchr(p, ' ');
		if (!p)
			break;
		p++;
		field++;
	}
	if (field < 51)
		return -EBADMSG;
	mm->start_code = f[26];
	mm->end_code = f[27];
	mm->start_stack = f[28];
	mm->start_data = f[45];
	mm->end_data = f[46];
	mm->start_brk = f[47];
	mm->arg_start = f[48];
	mm->arg_end = f[49];
	mm->env_start = f[50];
	mm->env_end = f[51];
	return 0;
}

static int capture_auxv(pid_t pid, struct mig_mm *mm)
{
	char buf[sizeof(mm->auxv) + 1];
	size_t n;
	int r = read_small(pid, "auxv", buf, sizeof(buf), &n);
	if (r < 0)
		return r;
	size_t words = n / 8;
	if (words > sizeof(mm->auxv) / 8)
		return -E2BIG;
	memcpy(mm->auxv, buf, words * 8);
	for (size_t i = 0; i + 1 < words; i += 2) {
		if (mm->auxv[i] == 0) { /* AT_NULL: stop there */
			words = i + 2;
			break;
		}
	}
	mm->auxv_words = (uint32_t)(words & ~1ul);
	return 0;
}

static int capture_status(pid_t pid, struct mig_image *img)
{
	char buf[4096];
	size_t n;
	int r = read_small(pid, "status", buf, sizeof(buf), &n);
	if (r < 0)
		return r;
	char *save = NULL;
	unsigned long long v;
	unsigned a, b, c, d;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (sscanf(l, "SigBlk: %llx", &v) == 1)
			img->sigmask = v;
		else if (sscanf(l, "SigPnd: %llx", &v) == 1 || sscanf(l, "ShdPnd: %llx", &v) == 1)
			img->pending |= v;
		else if (sscanf(l, "Umask: %llo", &v) == 1)
			img->umask = (uint32_t)v;
		else if (sscanf(l, "Uid: %u %u %u %u", &a, &b, &c, &d) == 4) {
			img->ids[0] = a, img->ids[1] = b, img->ids[2] = c, img->ids[3] = d;
		} else if (sscanf(l, "Gid: %u %u %u %u", &a, &b, &c, &d) == 4) {
			img->ids[4] = a, img->ids[5] = b, img->ids[6] = c, img->ids[7] = d;
		}
	}
	return 0;
}

static int fdinfo(pid_t pid, int fd, uint64_t *ret_pos, uint32_t *ret_flags)
{
	char what[64], buf[4096];
	size_t n;
	snprintf(what, sizeof(what), "fdinfo/%d", fd);
	int r = read_small(pid, what, buf, sizeof(buf), &n);
	if (r < 0)
		return r;
	unsigned long long pos = 0;
	unsigned flags = 0;
	char *p = strstr(buf, "pos:");
	char *q = strstr(buf, "flags:");
	if (!p || !q || sscanf(p, "pos: %llu", &pos) != 1 || sscanf(q, "flags: %o", &flags) != 1)
		return -EBADMSG;
	*ret_pos = pos;
	*ret_flags = flags;
	return 0;
}

static int capture_fd(pid_t pid, int fd, struct mig_fd *out, char *why, size_t whylen)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/fd/%d", pid, fd);
	struct stat st;
	if (stat(p, &st) < 0)
		return -errno;
	out->fd = fd;
	if (!S_ISREG(st.st_mode)) {
		if (fd > 2) {
			snprintf(why, whylen, "fd %d is not a regular file", fd);
			return -EBUSY;
		}
		out->kind = MIG_FD_INHERIT;
		return 0;
	}
	char what[32];
	snprintf(what, sizeof(what), "fd/%d", fd);
	int r = read_link(pid, what, &out->path);
	if (r < 0)
		return r;
	out->kind = MIG_FD_FILE;
	return fdinfo(pid, fd, &out->pos, &out->flags);
}

#define KCMP_FILE 0

/* Descriptors sharing one open file description (and so one offset) must share it again after
 * the restore: kcmp tells which. The first of each group is reopened, the others dup'ed. */
static int find_dups(pid_t pid, struct mig_image *img)
{
	for (size_t i = 0; i < img->n_fds; i++) {
		struct mig_fd *f = &img->fds[i];
		if (f->kind != MIG_FD_FILE)
			continue;
		for (size_t j = 0; j < i; j++) {
			const struct mig_fd *g = &img->fds[j];
			if (g->kind != MIG_FD_FILE || g->is_dup)
				continue;
			long k = syscall(SYS_kcmp, pid, pid, KCMP_FILE, g->fd, f->fd);
			if (k < 0)
				return -errno;
			if (k == 0) {
				f->is_dup = true;
				f->dup_of = g->fd;
				break;
			}
		}
	}
	return 0;
}

static int capture_fds(pid_t pid, struct mig_image *img, char *why, size_t whylen)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	int r = 0;
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (img->n_fds == cap) {
			cap = cap ? cap * 2 : 16;
			if (cap > MIG_MAX_FDS) {
				r = -EMFILE;
				break;
			}
			struct mig_fd *nv = realloc(img->fds, cap * sizeof(*nv));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			img->fds = nv;
		}
		struct mig_fd *f = &img->fds[img->n_fds];
		memset(f, 0, sizeof(*f));
		r = capture_fd(pid, atoi(de->d_name), f, why, whylen);
		if (r < 0) {
			free(f->path);
			break;
		}
		img->n_fds++;
	}
	closedir(d);
	if (r == 0)
		r = find_dups(pid, img);
	return r;
}

int mig_capture_proc(pid_t pid, struct mig_image *img, char *why, size_t whylen)
{
	int r = capture_stat(pid, &img->mm);
	if (r == 0)
		r = capture_auxv(pid, &img->mm);
	if (r == 0)
		r = capture_status(pid, img);
	if (r == 0 && read_link(pid, "exe", &img->mm.exe) < 0)
		img->mm.exe = NULL; /* not essential */
	if (r == 0)
		r = read_link(pid, "cwd", &img->cwd);
	if (r < 0) {
		snprintf(why, whylen, "reading /proc/%d: %s", pid, strerror(-r));
		return r;
	}
	for (int i = 0; i < MIG_NRLIMIT && i < RLIM_NLIMITS; i++) {
		struct rlimit rl;
		if (prlimit(pid, (__rlimit_resource_t)i, NULL, &rl) < 0)
			continue;
		img->rlimits[i] = (struct mig_rlimit){ true, rl.rlim_cur, rl.rlim_max };
	}
	char buf[64];
	size_t n;
	if (read_small(pid, "personality", buf, sizeof(buf), &n) == 0)
		img->personality = (uint32_t)strtoul(buf, NULL, 16);
	r = capture_fds(pid, img, why, whylen);
	if (r < 0 && r != -EBUSY)
		snprintf(why, whylen, "reading fds of %d: %s", pid, strerror(-r));
	if (r == 0) {
		r = mig_ptimers_read(pid, &img->ptimers, &img->n_ptimers, why, whylen);
		if (r == -ENOENT) /* no /proc/PID/timers in this kernel: cantmove said nothing */
			r = 0;
		else if (r < 0 && r != -EBUSY)
			snprintf(why, whylen, "reading /proc/%d/timers: %s", pid, strerror(-r));
	}
	return r;
}
