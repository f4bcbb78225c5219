/* omfs_server_path.c - from a request path to a descriptor that cannot be outside an export.
 *
 * Two stages. srv_path_check() is pure string work: refuse NUL (EINVAL), relative paths
 * (EINVAL), over PATH_MAX or a component over NAME_MAX (ENAMETOOLONG); collapse "//" and ".",
 * apply ".." lexically (clamped at "/", as the client's kernel does before it ever sends a path),
 * then pick the export with the longest matching prefix. Nothing here is trusted for safety:
 * srv_open_rel() then resolves the path inside the export with openat2() and
 * RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS from the export root's O_PATH descriptor, so symlinks
 * (relative, absolute, chains of ..) are resolved as if the export root were "/", /proc magic
 * links are refused, and the kernel's rename/mount sequence checks make a concurrently renamed
 * directory fail the walk (EAGAIN, retried) instead of escaping. RESOLVE_IN_ROOT rather than
 * RESOLVE_BENEATH: an absolute symlink then means the same thing it means locally when the export
 * is "/" (the default), instead of failing with EXDEV; for other exports it stays inside.
 *
 * Ancestors of exports (e.g. "/" when only "/srv/a" is exported) are "virtual" read-only
 * directories listing the next component of each export below them.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "omfs/omfs_server_int.h"
#include "omfs/omfs_xattr.h"

#ifndef SYS_listxattrat
#define SYS_listxattrat 465
#endif

/* Is the normalized path s[0..len) a strict ancestor of some export? */
static int is_ancestor(const struct omfs_server *srv, const char *s, size_t len)
{
	for (size_t k = 0; k < srv->nexports; k++) {
		const struct srv_export *e = &srv->exports[k];
		if (len == 1 || (strncmp(e->path, s, len) == 0 && e->path[len] == '/'))
			return 1;
	}
	return 0;
}

int srv_path_check(struct omfs_server *srv, struct omfs_buf p, struct srv_path *ret)
{
	if (p.len == 0)
		return -ENOENT;
	if (memchr(p.p, 0, p.len))
		return -EINVAL;
	if (p.len >= PATH_MAX)
		return -ENAMETOOLONG;
	if (p.p[0] != '/')
		return -EINVAL;
	char *out = ret->norm;
	size_t o = 0, i = 0;
	while (i < p.len) {
		while (i < p.len && p.p[i] == '/')
			i++;
		size_t s = i;
		while (i < p.len && p.p[i] != '/')
			i++;
		size_t n = i - s;
		if (n == 0)
			break;
		if (n > NAME_MAX)
			return -ENAMETOOLONG;
		if (n == 1 && p.p[s] == '.')
			continue;
		if (n == 2 && p.p[s] == '.' && p.p[s + 1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, p.p + s, n);
		o += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';

	ret->exp = NULL;
	ret->virt = ret->parent_virt = 0;
	ret->rel = NULL;
	size_t best = 0;
	for (size_t k = 0; k < srv->nexports; k++) {
		struct srv_export *e = &srv->exports[k];
		int match = e->len == 1 ||
			    (strncmp(out, e->path, e->len) == 0 &&
			     (out[e->len] == '\0' || out[e->len] == '/'));
		if (match && (!ret->exp || e->len > best)) {
			ret->exp = e;
			best = e->len;
		}
	}
	if (ret->exp) {
		const char *r = ret->exp->len == 1 ? out : out + ret->exp->len;
		while (*r == '/')
			r++;
		ret->rel = *r ? r : ".";
		return 0;
	}
	ret->virt = is_ancestor(srv, out, o);
	size_t plen = (size_t)(strrchr(out, '/') - out);
	ret->parent_virt = is_ancestor(srv, out, plen ? plen : 1);
	return 0;
}

int srv_open_rel(const struct srv_export *e, const char *rel, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	/* EAGAIN: a rename or mount raced with the walk; the kernel refused rather than risk an
	 * escape. Retry a few times, then report it. */
	for (int tries = 0;; tries++) {
		long fd = syscall(SYS_openat2, e->rootfd, rel, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN || tries >= 16)
			return -errno;
	}
}

int srv_open_parent(const struct srv_path *p, struct srv_parent *ret)
{
	if (!p->exp)
		return -EROFS;
	if (strcmp(p->rel, ".") == 0)
		return -EBUSY; /* the export root itself has no name to create or remove */
	const char *slash = strrchr(p->rel, '/');
	char parent[PATH_MAX];
	const char *name = p->rel;
	if (slash) {
		size_t n = (size_t)(slash - p->rel);
		memcpy(parent, p->rel, n);
		parent[n] = '\0';
		name = slash + 1;
	} else {
		strcpy(parent, ".");
	}
	size_t nl = strlen(name);
	if (nl > NAME_MAX)
		return -ENAMETOOLONG;
	int fd = srv_open_rel(p->exp, parent, O_PATH | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	memcpy(ret->name, name, nl + 1);
	ret->dirfd = fd;
	return 0;
}

static int has_name(char **names, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
			return 1;
	return 0;
}

int srv_virtual_children(struct omfs_server *srv, const char *norm, char ***ret_names,
			 size_t *ret_n)
{
	size_t nl = strcmp(norm, "/") == 0 ? 0 : strlen(norm);
	char **names = calloc(srv->nexports ? srv->nexports : 1, sizeof(*names));
	size_t n = 0;
	if (!names)
		return -ENOMEM;
	for (size_t k = 0; k < srv->nexports; k++) {
		const char *ep = srv->exports[k].path;
		if (strncmp(ep, norm, nl) != 0 || ep[nl] != '/' || ep[nl + 1] == '\0')
			continue;
		const char *c = ep + nl + 1;
		size_t cl = strcspn(c, "/");
		if (has_name(names, n, c, cl))
			continue;
		names[n] = strndup(c, cl);
		if (!names[n]) {
			for (size_t i = 0; i < n; i++)
				free(names[i]);
			free(names);
			return -ENOMEM;
		}
		n++;
	}
	*ret_names = names;
	*ret_n = n;
	return 0;
}

/* Sets a->no_xattrs when the inode (name in dirfd, or the descriptor dirfd itself when name is
 * "") has no extended attributes oMFS carries, so that a client can answer getxattr "no such
 * attribute" without asking (ls -l asks for an ACL on every file). Leaves it 0, "not known", on
 * any failure, for a list longer than a label or two, and for anything but regular files and
 * directories. listxattrat (Linux 6.13) when there is a name, else, or on older kernels, the
 * descriptor's /proc/self/fd link (as op_xattr does). The list is read, not only its size: on
 * a host with SELinux every file has a label, which oMFS does not carry (omfs_xattr.h). */
void srv_attr_xattrs(int dirfd, const char *name, struct omfs_attr *a)
{
	if (!S_ISREG(a->mode) && !S_ISDIR(a->mode))
		return;
	char list[256];
	ssize_t n = -1;
	if (name[0]) {
		n = syscall(SYS_listxattrat, dirfd, name, AT_SYMLINK_NOFOLLOW, list, sizeof(list));
		if (n < 0 && errno != ENOSYS)
			return;
	}
	if (n < 0) {
		char proc[32 + NAME_MAX];
		int len = snprintf(proc, sizeof(proc), "/proc/self/fd/%d%s%s", dirfd,
				   name[0] ? "/" : "", name);
		if (len < 0 || (size_t)len >= sizeof(proc))
			return;
		/* the fd's own link must be followed; a name inside it must not */
		n = name[0] ? llistxattr(proc, list, sizeof(list))
			    : listxattr(proc, list, sizeof(list));
		if (n < 0)
			return; /* ERANGE: a long list, something is carried */
	}
	a->no_xattrs = omfs_xattr_filter_list(list, (size_t)n) == 0;
}

void srv_virtual_attr(struct omfs_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->mode = S_IFDIR | 0555;
	a->nlink = 2;
	a->blksize = 4096;
	a->ino = 1;
}
