/* mfs_cmds.c - omx ls/cat/cp/stat/rm/mkdir over the oMFS client library (see mfs_cmds.h).
 *
 * Small on purpose: each command is the coreutils behaviour people script against (one name
 * per line for ls, `-l` long form, "cannot access" messages and exit codes), not every option.
 */
#include "cli/mfs_cmds.h"
#include "cli/mfs_x.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

int mfs_parse_path(const struct mfs_env *env, const char *arg, uint32_t *ret_node,
		   char *ret_path, size_t size)
{
	if (strncmp(arg, "/mfs/", 5) != 0)
		return -EINVAL;
	const char *p = arg + 5;
	size_t n = strcspn(p, "/");
	uint32_t node;
	if ((n == 4 && strncmp(p, "here", 4) == 0) || (n == 4 && strncmp(p, "home", 4) == 0)) {
		node = env->self;
	} else {
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		if (n == 0 || end != p + n || v == 0 || v > UINT32_MAX)
			return -EINVAL;
		node = (uint32_t)v;
	}
	const char *rest = p[n] ? p + n : "/";
	if (strlen(rest) >= size)
		return -ENAMETOOLONG;
	strcpy(ret_path, rest);
	*ret_node = node;
	return 0;
}

/* An /mfs/NODE/PATH argument parsed and stat'ed (lstat semantics of the server): the node and
 * path are returned too, for the command's next request. 0 or negative errno. */
static int stat_arg(const struct mfs_env *env, const char *arg, uint32_t *ret_node, char *ret_path,
		    size_t size, struct omfs_attr *ret_attr)
{
	int rc = mfs_parse_path(env, arg, ret_node, ret_path, size);
	if (rc < 0)
		return rc;
	return omfs_client_stat(env->client, *ret_node, &env->cred, ret_path, ret_attr);
}

static void mode_string(uint32_t mode, char out[11])
{
	const char *t = "?";
	switch (mode & S_IFMT) {
	case S_IFREG: t = "-"; break;
	case S_IFDIR: t = "d"; break;
	case S_IFLNK: t = "l"; break;
	case S_IFCHR: t = "c"; break;
	case S_IFBLK: t = "b"; break;
	case S_IFIFO: t = "p"; break;
	case S_IFSOCK: t = "s"; break;
	}
	out[0] = t[0];
	const char *rwx = "rwxrwxrwx";
	for (int i = 0; i < 9; i++)
		out[1 + i] = (mode & (0400u >> i)) ? rwx[i] : '-';
	if (mode & S_ISUID)
		out[3] = (mode & S_IXUSR) ? 's' : 'S';
	if (mode & S_ISGID)
		out[6] = (mode & S_IXGRP) ? 's' : 'S';
	if (mode & S_ISVTX)
		out[9] = (mode & S_IXOTH) ? 't' : 'T';
	out[10] = '\0';
}

static const char *user_name(uint32_t uid, char *buf, size_t n)
{
	struct passwd *pw = getpwuid(uid);
	if (pw)
		return pw->pw_name;
	snprintf(buf, n, "%u", uid);
	return buf;
}

static const char *group_name(uint32_t gid, char *buf, size_t n)
{
	struct group *gr = getgrgid(gid);
	if (gr)
		return gr->gr_name;
	snprintf(buf, n, "%u", gid);
	return buf;
}

struct widths {
	int nlink, user, group, size;
};

static void print_long(const struct mfs_env *env, uint32_t node, const char *path,
		       const char *name, const struct omfs_attr *a, const struct widths *w)
{
	char mode[11], ub[16], gb[16], when[32];
	mode_string(a->mode, mode);
	time_t t = (time_t)a->mtime_sec;
	struct tm tm;
	localtime_r(&t, &tm);
	time_t now = time(NULL);
	int recent = t <= now && now - t < 182 * 24 * 3600;
	strftime(when, sizeof(when), recent ? "%b %e %H:%M" : "%b %e  %Y", &tm);
	fprintf(env->out, "%s %*u %-*s %-*s %*lld %s %s", mode, w ? w->nlink : 0, a->nlink,
		w ? w->user : 0, user_name(a->uid, ub, sizeof(ub)), w ? w->group : 0,
		group_name(a->gid, gb, sizeof(gb)), w ? w->size : 0, (long long)a->size, when,
		name);
	if (S_ISLNK(a->mode)) {
		char target[PATH_MAX];
		if (omfs_client_readlink(env->client, node, &env->cred, path, target,
					 sizeof(target)) >= 0)
			fprintf(env->out, " -> %s", target);
	}
	fputc('\n', env->out);
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

/* ls -l of sorted entries: "total", then aligned columns as coreutils does */
static void print_long_list(const struct mfs_env *env, uint32_t node, const char *path,
			    struct omfs_dirent *ents, size_t n)
{
	struct widths w = { 0 };
	long long blocks = 0;
	char child[PATH_MAX], b[32], ub[16], gb[16];
	for (size_t i = 0; i < n; i++) {
		if (snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "",
			     ents[i].name) >= (int)sizeof(child))
			continue; /* name too long to stat: listed without attributes */
		if (!ents[i].has_attr &&
		    omfs_client_stat(env->client, node, &env->cred, child, &ents[i].attr) == 0)
			ents[i].has_attr = 1;
		if (!ents[i].has_attr)
			continue;
		const struct omfs_attr *a = &ents[i].attr;
		blocks += a->blocks;
		w.nlink = max_int(w.nlink, snprintf(b, sizeof(b), "%u", a->nlink));
		w.size = max_int(w.size, snprintf(b, sizeof(b), "%lld", (long long)a->size));
		w.user = max_int(w.user, (int)strlen(user_name(a->uid, ub, sizeof(ub))));
		w.group = max_int(w.group, (int)strlen(group_name(a->gid, gb, sizeof(gb))));
	}
	fprintf(env->out, "total %lld\n", (blocks + 1) / 2);
	for (size_t i = 0; i < n; i++) {
		if (!ents[i].has_attr)
			continue;
		if (snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "",
			     ents[i].name) >= (int)sizeof(child))
			continue;
		print_long(env, node, child, ents[i].name, &ents[i].attr, &w);
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(((const struct omfs_dirent *)a)->name, ((const struct omfs_dirent *)b)->name);
}

/* Lists one directory; returns 0 or -errno. */
static int ls_dir(const struct mfs_env *env, uint32_t node, const char *path, int lng, int all)
{
	uint64_t fh;
	int rc = omfs_client_opendir(env->client, node, &env->cred, path, &fh);
	if (rc < 0)
		return rc;
	struct omfs_dirent *ents = NULL;
	size_t n = 0, cap = 0;
	int64_t off = 0;
	for (int eof = 0; !eof && rc == 0;) {
		struct omfs_resp resp;
		rc = omfs_client_readdir(env->client, node, &env->cred, fh, off, lng, &resp);
		if (rc < 0)
			break;
		eof = resp.eof || resp.nentries == 0;
		for (size_t i = 0; i < resp.nentries; i++) {
			struct omfs_dirent *d = &resp.entries[i];
			off = d->off;
			if (d->name[0] == '.' && !all)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				struct omfs_dirent *ne = realloc(ents, cap * sizeof(*ents));
				if (!ne) {
					rc = -ENOMEM;
					break;
				}
				ents = ne;
			}
			ents[n] = *d;
			d->name = NULL; /* moved */
			n++;
		}
		omfs_resp_clear(&resp);
	}
	(void)omfs_client_release(env->client, node, &env->cred, fh, 1);
	if (rc == 0) {
		qsort(ents, n, sizeof(*ents), cmp_names);
		if (lng)
			print_long_list(env, node, path, ents, n);
		else
			for (size_t i = 0; i < n; i++)
				fprintf(env->out, "%s\n", ents[i].name);
	}
	for (size_t i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
	return rc;
}

int mfs_ls_main(const struct mfs_env *env, int argc, char **argv)
{
	int lng = 0, all = 0, dironly = 0, c;
	optind = 0;
	while ((c = getopt(argc, argv, "lad1")) != -1) {
		if (c == 'l')
			lng = 1;
		else if (c == 'a')
			all = 1;
		else if (c == 'd')
			dironly = 1;
		else if (c != '1')
			return 2;
	}
	int status = 0, nargs = argc - optind;
	if (nargs == 0) {
		fprintf(env->err, "omx ls: missing operand (an /mfs/<node>/path)\n");
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		char path[PATH_MAX];
		uint32_t node;
		struct omfs_attr a;
		int rc = stat_arg(env, argv[i], &node, path, sizeof(path), &a);
		if (rc < 0) {
			fprintf(env->err, "omx ls: cannot access '%s': %s\n", argv[i],
				strerror(-rc));
			status = 2;
			continue;
		}
		if (!S_ISDIR(a.mode) || dironly) {
			if (lng)
				print_long(env, node, path, argv[i], &a, NULL);
			else
				fprintf(env->out, "%s\n", argv[i]);
			continue;
		}
		if (nargs > 1)
			fprintf(env->out, "%s%s:\n", i > optind ? "\n" : "", argv[i]);
		rc = ls_dir(env, node, path, lng, all);
		if (rc < 0) {
			fprintf(env->err, "omx ls: cannot open directory '%s': %s\n", argv[i],
				strerror(-rc));
			status = 2;
		}
	}
	return status;
}

int mfs_cat_main(const struct mfs_env *env, int argc, char **argv)
{
	int status = 0;
	struct xfile out = { .env = env, .local_fd = fileno(env->out) };
	fflush(env->out);
	for (int i = 1; i < argc; i++) {
		struct xfile in;
		int rc = x_open(env, argv[i], O_RDONLY, 0, &in);
		if (rc < 0) {
			fprintf(env->err, "omx cat: %s: %s\n", argv[i], strerror(-rc));
			status = 1;
			continue;
		}
		if (x_copy(env, "cat", &in, argv[i], &out, "write error") < 0)
			status = 1;
		if (x_close(&in) < 0)
			status = 1;
	}
	return status;
}

static const char *type_name(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "regular file";
	case S_IFDIR: return "directory";
	case S_IFLNK: return "symbolic link";
	case S_IFCHR: return "character special file";
	case S_IFBLK: return "block special file";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	default: return "weird file";
	}
}

static void print_time(FILE *out, const char *label, int64_t sec, uint32_t nsec)
{
	char buf[64], zone[8];
	time_t t = (time_t)sec;
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	fprintf(out, "%s: %s.%09u %s\n", label, buf, nsec, zone);
}

int mfs_stat_main(const struct mfs_env *env, int argc, char **argv)
{
	int status = 0;
	for (int i = 1; i < argc; i++) {
		char path[PATH_MAX], mode[11], ub[16], gb[16];
		uint32_t node;
		struct omfs_attr a;
		int rc = stat_arg(env, argv[i], &node, path, sizeof(path), &a);
		if (rc < 0) {
			fprintf(env->err, "omx stat: cannot statx '%s': %s\n", argv[i],
				strerror(-rc));
			status = 1;
			continue;
		}
		mode_string(a.mode, mode);
		fprintf(env->out, "  File: %s\n", argv[i]);
		fprintf(env->out, "  Size: %-10lld\tBlocks: %-10lld IO Block: %-6u %s\n",
			(long long)a.size, (long long)a.blocks, a.blksize, type_name(a.mode));
		fprintf(env->out, "Device: %llu,%llu\tInode: %-11llu Links: %u\n",
			(unsigned long long)major(a.dev), (unsigned long long)minor(a.dev),
			(unsigned long long)a.ino, a.nlink);
		fprintf(env->out, "Access: (%04o/%s)  Uid: (%5u/%8s)   Gid: (%5u/%8s)\n",
			a.mode & 07777, mode, a.uid, user_name(a.uid, ub, sizeof(ub)), a.gid,
			group_name(a.gid, gb, sizeof(gb)));
		print_time(env->out, "Access", a.atime_sec, a.atime_nsec);
		print_time(env->out, "Modify", a.mtime_sec, a.mtime_nsec);
		print_time(env->out, "Change", a.ctime_sec, a.ctime_nsec);
		fprintf(env->out, " Birth: -\n");
	}
	return status;
}

/* rm -r below an already lstat'ed directory: children first, then the directory itself. */
static int rm_tree(const struct mfs_env *env, const char *arg)
{
	char **names;
	size_t n;
	int rc = x_list(env, arg, &names, &n), status = 0;
	if (rc < 0) {
		fprintf(env->err, "omx rm: cannot remove '%s': %s\n", arg, strerror(-rc));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		char child[PATH_MAX];
		struct omfs_attr a;
		rc = x_join(child, sizeof(child), arg, names[i]);
		if (rc == 0)
			rc = x_lstat(env, child, &a);
		if (rc == 0 && S_ISDIR(a.mode)) {
			status |= rm_tree(env, child);
			continue;
		}
		if (rc == 0)
			rc = x_unlink(env, child);
		if (rc < 0 && rc != -ENOENT) {
			fprintf(env->err, "omx rm: cannot remove '%s': %s\n", child,
				strerror(-rc));
			status = 1;
		}
	}
	x_names_free(names, n);
	rc = status ? 0 : x_rmdir(env, arg);
	if (rc < 0 && rc != -ENOENT) {
		fprintf(env->err, "omx rm: cannot remove '%s': %s\n", arg, strerror(-rc));
		status = 1;
	}
	return status;
}

/* "." or ".." as the last component (rm refuses them) */
static int dot_or_dotdot(const char *p)
{
	const char *s;
	size_t l = x_last_name(p, &s);
	return (l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.');
}

int mfs_rm_main(const struct mfs_env *env, int argc, char **argv)
{
	int force = 0, recursive = 0, dirs = 0, c, status = 0;
	optind = 0;
	while ((c = getopt(argc, argv, "frRd")) != -1) {
		if (c == 'f')
			force = 1;
		else if (c == 'r' || c == 'R')
			recursive = 1;
		else if (c == 'd')
			dirs = 1;
		else
			return 1;
	}
	if (optind == argc && !force) {
		fprintf(env->err, "omx rm: missing operand\n");
		return 1;
	}
	for (int i = optind; i < argc; i++) {
		char path[PATH_MAX];
		uint32_t node;
		struct omfs_attr a;
		if (recursive && dot_or_dotdot(argv[i])) {
			fprintf(env->err, "omx rm: refusing to remove '.' or '..' directory: "
					  "skipping '%s'\n", argv[i]);
			status = 1;
			continue;
		}
		int rc = stat_arg(env, argv[i], &node, path, sizeof(path), &a);
		if (rc == 0 && S_ISDIR(a.mode) && recursive && strcmp(path, "/") == 0) {
			fprintf(env->err, "omx rm: it is dangerous to operate recursively on '%s'\n",
				argv[i]);
			status = 1;
			continue;
		}
		if (rc == 0 && S_ISDIR(a.mode) && recursive) {
			status |= rm_tree(env, argv[i]);
			continue;
		}
		if (rc == 0)
			rc = S_ISDIR(a.mode) ? dirs ? x_rmdir(env, argv[i]) : -EISDIR :
					       x_unlink(env, argv[i]);
		if (rc == -ENOENT && force)
			continue;
		if (rc < 0) {
			fprintf(env->err, "omx rm: cannot remove '%s': %s\n", argv[i],
				strerror(-rc));
			status = 1;
		}
	}
	return status;
}

static int mkdir_one(const struct mfs_env *env, uint32_t node, char *path, uint32_t mode,
		     int parents)
{
	int rc = omfs_client_path_op(env->client, node, &env->cred, OMFS_OP_MKDIR, path, mode);
	if (!parents)
		return rc;
	if (rc == -ENOENT) {
		char *slash = strrchr(path, '/');
		if (slash && slash != path) {
			*slash = '\0';
			rc = mkdir_one(env, node, path, 0777, 1);
			*slash = '/';
			if (rc == 0)
				rc = omfs_client_path_op(env->client, node, &env->cred,
							 OMFS_OP_MKDIR, path, mode);
		}
	}
	if (rc == -EEXIST) {
		struct omfs_attr a;
		rc = omfs_client_stat(env->client, node, &env->cred, path, &a);
		if (rc == 0 && !S_ISDIR(a.mode))
			rc = -ENOTDIR;
	}
	return rc;
}

int mfs_mkdir_main(const struct mfs_env *env, int argc, char **argv)
{
	int parents = 0, c, status = 0;
	uint32_t mode = 0777 & ~(uint32_t)0022;
	mode_t um = umask(0);
	umask(um);
	mode = 0777 & ~(uint32_t)um;
	optind = 0;
	while ((c = getopt(argc, argv, "pm:")) != -1) {
		if (c == 'p') {
			parents = 1;
		} else if (c == 'm') {
			char *end;
			mode = (uint32_t)strtoul(optarg, &end, 8);
			if (*end || mode > 07777) {
				fprintf(env->err, "omx mkdir: invalid mode '%s'\n", optarg);
				return 1;
			}
		} else {
			return 1;
		}
	}
	if (optind == argc) {
		fprintf(env->err, "omx mkdir: missing operand\n");
		return 1;
	}
	for (int i = optind; i < argc; i++) {
		char path[PATH_MAX];
		uint32_t node;
		int rc = mfs_parse_path(env, argv[i], &node, path, sizeof(path));
		if (rc == 0)
			rc = mkdir_one(env, node, path, mode, parents);
		if (rc < 0) {
			fprintf(env->err, "omx mkdir: cannot create directory '%s': %s\n", argv[i],
				strerror(-rc));
			status = 1;
		}
	}
	return status;
}
