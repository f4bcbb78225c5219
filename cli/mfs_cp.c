/* mfs_cp.c - `omx cp [-rRpa] SOURCE DEST` and `omx cp [-rRpa] SOURCE... DIRECTORY`, where any
 * operand may be /mfs/<node>/path or a local path (see mfs_cmds.h).
 *
 * The coreutils behaviour people script against: without -r a directory operand is skipped
 * with "-r not specified"; -r copies trees (symbolic links as links, fifos and devices as
 * nodes, never following links inside the tree); -p keeps mode, owner (when allowed) and times;
 * -a is -rp plus hard links kept as hard links. A failure on one entry is reported and the copy
 * goes on; the exit status is then 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/mfs_cmds.h"
#include "cli/mfs_x.h"

struct cp_opts {
	int recursive, preserve, links;
	uint32_t umask;
	/* hard links seen (-a): source (dev, ino) -> first destination path */
	struct cp_link {
		uint64_t dev, ino;
		char *dst;
	} *seen;
	size_t nseen, capseen;
};

static int fail(const struct mfs_env *env, const char *what, const char *name, int rc)
{
	fprintf(env->err, "omx cp: %s '%s': %s\n", what, name, strerror(-rc));
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* -p: mode, owner and times of `a` onto dst. Owner changes a non-root caller may not make are
 * skipped quietly, as cp does. */
static int preserve(const struct mfs_env *env, const char *dst, const struct omfs_attr *a)
{
	int rc = x_setattr(env, dst, a, OMFS_SET_UID | OMFS_SET_GID);
	if (rc == -EPERM || rc == -EINVAL)
		rc = x_setattr(env, dst, a, OMFS_SET_GID);
	if (rc == -EPERM || rc == -EINVAL)
		rc = 0;
	if (rc == 0)
		rc = x_setattr(env, dst, a, OMFS_SET_MODE | OMFS_SET_ATIME | OMFS_SET_MTIME);
	return rc < 0 ? fail(env, "preserving attributes of", dst, rc) : 0;
}

/* -a: 1 if src is a further name of a file already copied (and dst was linked to it). */
static int relink(const struct mfs_env *env, struct cp_opts *o, const struct omfs_attr *a,
		  const char *dst, int *status)
{
	if (!o->links || S_ISDIR(a->mode) || a->nlink < 2)
		return 0;
	for (size_t i = 0; i < o->nseen; i++) {
		if (o->seen[i].dev != a->dev || o->seen[i].ino != a->ino)
			continue;
		int rc = x_link(env, o->seen[i].dst, dst);
		if (rc == -EEXIST && x_unlink(env, dst) == 0)
			rc = x_link(env, o->seen[i].dst, dst);
		if (rc == -EXDEV)
			return 0; /* another side: copy the data again */
		if (rc < 0)
			*status = fail(env, "cannot create hard link", dst, rc);
		return 1;
	}
	if (o->nseen == o->capseen) {
		size_t nc = o->capseen ? o->capseen * 2 : 16;
		struct cp_link *ns = realloc(o->seen, nc * sizeof(*ns));
		if (!ns)
			return 0;
		o->seen = ns;
		o->capseen = nc;
	}
	char *d = strdup(dst);
	if (d)
		o->seen[o->nseen++] = (struct cp_link){ .dev = a->dev, .ino = a->ino, .dst = d };
	return 0;
}

static int copy_file(const struct mfs_env *env, const char *src, const char *dst,
		     const struct omfs_attr *a)
{
	struct xfile in, out;
	int rc = x_open(env, src, O_RDONLY, 0, &in);
	if (rc < 0) {
		fprintf(env->err, "omx cp: cannot open '%s' for reading: %s\n", src, strerror(-rc));
		return 1;
	}
	rc = x_open(env, dst, O_WRONLY | O_CREAT | O_TRUNC, a->mode & 0777, &out);
	if (rc < 0) {
		(void)x_close(&in);
		return fail(env, "cannot create regular file", dst, rc);
	}
	int status = x_copy(env, "cp", &in, src, &out, dst) < 0;
	(void)x_close(&in);
	rc = x_close(&out);
	if (rc < 0)
		status = fail(env, "closing", dst, rc);
	return status;
}

static int copy_any(const struct mfs_env *env, struct cp_opts *o, const char *src,
		    const char *dst, int top);

static int copy_dir(const struct mfs_env *env, struct cp_opts *o, const char *src,
		    const char *dst, const struct omfs_attr *a)
{
	struct omfs_attr da;
	int rc = x_stat(env, dst, &da), status = 0;
	if (rc == 0 && !S_ISDIR(da.mode)) {
		fprintf(env->err, "omx cp: cannot overwrite non-directory '%s' with directory '%s'\n",
			dst, src);
		return 1;
	}
	int made = rc < 0;
	/* owner-writable while it is filled; the real mode is set once it is full */
	if (made && (rc = x_mkdir(env, dst, (a->mode & 07777) | 0700)) < 0)
		return fail(env, "cannot create directory", dst, rc);
	char **names;
	size_t n;
	rc = x_list(env, src, &names, &n);
	if (rc < 0) {
		status = fail(env, "cannot access", src, rc);
		n = 0;
		names = NULL;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char s[PATH_MAX], d[PATH_MAX];
		if (x_join(s, sizeof(s), src, names[i]) < 0 ||
		    x_join(d, sizeof(d), dst, names[i]) < 0) {
			status = fail(env, "cannot copy", names[i], -ENAMETOOLONG);
			continue;
		}
		status |= copy_any(env, o, s, d, 0);
	}
	x_names_free(names, n);
	if (o->preserve)
		status |= preserve(env, dst, a);
	else if (made) {
		struct omfs_attr m = *a;
		m.mode = a->mode & 07777 & ~o->umask;
		rc = x_setattr(env, dst, &m, OMFS_SET_MODE);
		if (rc < 0)
			status = fail(env, "setting permissions for", dst, rc);
	}
	return status;
}

static int copy_link(const struct mfs_env *env, const char *src, const char *dst)
{
	char target[PATH_MAX];
	long n = x_readlink(env, src, target, sizeof(target));
	if (n < 0)
		return fail(env, "cannot read symbolic link", src, (int)n);
	int rc = x_symlink(env, target, dst);
	if (rc == -EEXIST && x_unlink(env, dst) == 0)
		rc = x_symlink(env, target, dst);
	return rc < 0 ? fail(env, "cannot create symbolic link", dst, rc) : 0;
}

static int copy_any(const struct mfs_env *env, struct cp_opts *o, const char *src,
		    const char *dst, int top)
{
	struct omfs_attr a;
	/* without -r, cp follows a symbolic link operand; inside a tree it never does */
	int rc = (top && !o->recursive) ? x_stat(env, src, &a) : x_lstat(env, src, &a);
	if (rc < 0)
		return fail(env, "cannot stat", src, rc);
	if (S_ISDIR(a.mode)) {
		if (!o->recursive) {
			fprintf(env->err, "omx cp: -r not specified; omitting directory '%s'\n",
				src);
			return 1;
		}
		return copy_dir(env, o, src, dst, &a);
	}
	struct omfs_attr da;
	if (x_stat(env, dst, &da) == 0) {
		if (S_ISDIR(da.mode)) {
			fprintf(env->err,
				"omx cp: cannot overwrite directory '%s' with non-directory\n", dst);
			return 1;
		}
		if (da.dev == a.dev && da.ino == a.ino && x_side(env, src) == x_side(env, dst)) {
			fprintf(env->err, "omx cp: '%s' and '%s' are the same file\n", src, dst);
			return 1;
		}
	}
	int status = 0;
	if (relink(env, o, &a, dst, &status))
		return status;
	if (S_ISLNK(a.mode)) {
		status = copy_link(env, src, dst);
	} else if (S_ISREG(a.mode)) {
		status = copy_file(env, src, dst, &a);
	} else {
		if (!o->recursive) {
			fprintf(env->err, "omx cp: cannot copy special file '%s' without -r\n", src);
			return 1;
		}
		rc = x_mknod(env, dst, a.mode, a.rdev);
		if (rc < 0)
			return fail(env, "cannot create special file", dst, rc);
	}
	if (status == 0 && o->preserve)
		status = preserve(env, dst, &a);
	return status;
}

/* 1 if dst lies inside the directory src (same side, textually), as cp refuses. */
static int inside(const char *src, const char *dst)
{
	size_t l = strlen(src);
	while (l > 1 && src[l - 1] == '/')
		l--;
	return strncmp(src, dst, l) == 0 && (dst[l] == '/' || dst[l] == '\0');
}

static const char *base_name(const char *p, char *buf, size_t size)
{
	const char *s;
	size_t l = x_last_name(p, &s);
	snprintf(buf, size, "%.*s", (int)l, s);
	return buf;
}

int mfs_cp_main(const struct mfs_env *env, int argc, char **argv)
{
	struct cp_opts o = { 0 };
	int c;
	optind = 0;
	while ((c = getopt(argc, argv, "rRpa")) != -1) {
		if (c == 'r' || c == 'R') {
			o.recursive = 1;
		} else if (c == 'p') {
			o.preserve = 1;
		} else if (c == 'a') {
			o.recursive = o.preserve = o.links = 1;
		} else {
			fprintf(env->err, "usage: omx cp [-rRpa] SOURCE DEST | omx cp [-rRpa] "
					  "SOURCE... DIRECTORY (any may be /mfs/<node>/path)\n");
			return 1;
		}
	}
	int nsrc = argc - optind - 1;
	if (nsrc < 1) {
		fprintf(env->err, nsrc < 0 ? "omx cp: missing file operand\n" :
					     "omx cp: missing destination file operand after '%s'\n",
			argv[argc - 1]);
		return 1;
	}
	mode_t um = umask(0);
	umask(um);
	o.umask = (uint32_t)um;
	const char *dest = argv[argc - 1];
	struct omfs_attr da;
	int dest_dir = x_stat(env, dest, &da) == 0 && S_ISDIR(da.mode);
	if (nsrc > 1 && !dest_dir) {
		fprintf(env->err, "omx cp: target '%s' is not a directory\n", dest);
		return 1;
	}
	int status = 0;
	for (int i = optind; i < argc - 1; i++) {
		char dst[PATH_MAX], base[NAME_MAX + 1];
		const char *src = argv[i];
		if (dest_dir &&
		    x_join(dst, sizeof(dst), dest, base_name(src, base, sizeof(base))) < 0) {
			status = fail(env, "cannot copy to", dest, -ENAMETOOLONG);
			continue;
		}
		if (!dest_dir)
			snprintf(dst, sizeof(dst), "%s", dest);
		struct omfs_attr sa;
		if (o.recursive && x_side(env, src) == x_side(env, dst) && inside(src, dst) &&
		    x_lstat(env, src, &sa) == 0 && S_ISDIR(sa.mode)) {
			fprintf(env->err, "omx cp: cannot copy a directory, '%s', into itself, '%s'\n",
				src, dst);
			status = 1;
			continue;
		}
		status |= copy_any(env, &o, src, dst, 1);
	}
	for (size_t i = 0; i < o.nseen; i++)
		free(o.seen[i].dst);
	free(o.seen);
	return status;
}
