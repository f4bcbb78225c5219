/* omfs_watch.c - fanotify file-system marks on the exports, events turned into oMFS changes
 * (see omfs_watch.h).
 *
 * An event names a directory by file handle plus an entry name. The handle is opened with
 * open_by_handle_at() on a descriptor of that file system (kept from marking time) and named
 * by readlink of its /proc/self/fd link: a path as this process sees it, which is what
 * clients use. Consecutive events in one directory resolve it once per read() batch (a
 * batch is short, so a directory renamed meanwhile is not named by a stale path for long; a
 * path that no longer resolves is skipped, the name event on its parent covers it).
 */
#include "omfs/omfs_watch.h"
#include "omfs/omfs_mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define WATCH_MAX_FS 64
#define WATCH_MASK                                                                                 \
	(FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_ATTRIB | FAN_MODIFY |       \
	 FAN_ONDIR)
/* events handled per omfs_watch_read call: the caller's loop has other work */
#define WATCH_BATCH 4096

struct wfs {
	uint64_t dev;
	fsid_t fsid;
	int fd; /* any descriptor on it, for open_by_handle_at */
};

struct omfs_watch {
	int fan;
	pid_t self;
	size_t nfs;
	struct wfs fs[WATCH_MAX_FS];
	/* the directory resolved last (within one read batch) */
	const struct wfs *last_fs;
	size_t last_len;
	alignas(struct file_handle) unsigned char last_handle[sizeof(struct file_handle) +
							      MAX_HANDLE_SZ];
	char last_path[PATH_MAX];
};

int omfs_watch_fd(const struct omfs_watch *w)
{
	return w->fan;
}

size_t omfs_watch_count(const struct omfs_watch *w)
{
	return w->nfs;
}

int omfs_watch_covers(void *ctx, uint64_t dev)
{
	const struct omfs_watch *w = ctx;
	for (size_t i = 0; i < w->nfs; i++)
		if (w->fs[i].dev == dev)
			return 1;
	return 0;
}

/* Marks the file system holding path (once per file system). Failure only means "not
 * watched". */
static void mark_fs(struct omfs_watch *w, const char *path)
{
	struct stat st;
	if (w->nfs == WATCH_MAX_FS || stat(path, &st) < 0)
		return;
	for (size_t i = 0; i < w->nfs; i++)
		if (w->fs[i].dev == (uint64_t)st.st_dev)
			return;
	if (fanotify_mark(w->fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, WATCH_MASK, AT_FDCWD, path) <
	    0)
		return; /* no file handles on it (proc, sysfs, ...), or not allowed */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct statfs sf;
	if (fd < 0 || fstatfs(fd, &sf) < 0) {
		if (fd >= 0)
			(void)close(fd);
		(void)fanotify_mark(w->fan, FAN_MARK_REMOVE | FAN_MARK_FILESYSTEM, WATCH_MASK,
				    AT_FDCWD, path);
		return;
	}
	w->fs[w->nfs++] = (struct wfs){.dev = (uint64_t)st.st_dev, .fsid = sf.f_fsid, .fd = fd};
}

/* File systems whose changes nobody caches: device nodes, terminals, message queues, kernel
 * interfaces. A device node on /mfs is the client's own device, and its "data" is a stream,
 * not pages; marking them only turned every terminal echo and every write to /dev/null or
 * /dev/fuse by any other process into a change report for every client. FUSE mounts (/mfs
 * itself among them) are skipped as well: they report to their own clients. */
static int skipped(const struct omfs_mount *m, const char *skip)
{
	static const char *const pseudo[] = {
	    "devtmpfs",	   "devpts",	"mqueue",  "cgroup",	 "cgroup2",    "pstore",
	    "bpf",	   "tracefs",	"debugfs", "securityfs", "configfs",   "fusectl",
	    "binfmt_misc", "hugetlbfs", "autofs",  "efivarfs",	 "rpc_pipefs", "nsfs"};
	if (strncmp(m->fstype, "fuse", 4) == 0 || (skip && omfs_path_under(m->point, skip)))
		return 1;
	for (size_t i = 0; i < sizeof(pseudo) / sizeof(pseudo[0]); i++)
		if (strcmp(m->fstype, pseudo[i]) == 0)
			return 1;
	return 0;
}

int omfs_watch_new(const struct omfs_export *exports, size_t nexports, const char *skip,
		   struct omfs_watch **ret)
{
	struct omfs_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->self = getpid();
	w->fan = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME | FAN_CLOEXEC | FAN_NONBLOCK,
			       O_RDONLY | O_LARGEFILE);
	if (w->fan < 0) {
		int e = errno;
		free(w);
		return -e;
	}
	struct omfs_mount *m = NULL;
	size_t n = 0;
	int rc = omfs_mounts_read(&m, &n);
	for (size_t e = 0; rc == 0 && e < nexports; e++) {
		const char *x = exports[e].path;
		/* the mount holding the export itself: the longest mount point above it */
		const struct omfs_mount *holder = NULL;
		for (size_t i = 0; i < n; i++)
			if (omfs_path_under(x, m[i].point) &&
			    (!holder || strlen(m[i].point) >= strlen(holder->point)))
				holder = &m[i];
		if (holder && !skipped(holder, skip))
			mark_fs(w, x);
		for (size_t i = 0; i < n; i++)
			if (omfs_path_under(m[i].point, x) && strcmp(m[i].point, x) != 0 &&
			    !skipped(&m[i], skip))
				mark_fs(w, m[i].point);
	}
	omfs_mounts_free(m, n);
	if (rc < 0) {
		omfs_watch_free(&w);
		return rc;
	}
	*ret = w;
	return 0;
}

void omfs_watch_free(struct omfs_watch **pw)
{
	struct omfs_watch *w = pw ? *pw : NULL;
	if (!w)
		return;
	for (size_t i = 0; i < w->nfs; i++)
		(void)close(w->fs[i].fd);
	if (w->fan >= 0)
		(void)close(w->fan);
	free(w);
	*pw = NULL;
}

static const struct wfs *fs_of(const struct omfs_watch *w, const fsid_t *id)
{
	for (size_t i = 0; i < w->nfs; i++)
		if (memcmp(&w->fs[i].fsid, id, sizeof(*id)) == 0)
			return &w->fs[i];
	return NULL;
}

/* The path of the directory with handle fh (hlen bytes, unaligned in the event) on fs. */
static int resolve_dir(struct omfs_watch *w, const struct wfs *fs, const unsigned char *fh,
		       size_t hlen, char out[PATH_MAX])
{
	if (w->last_fs == fs && w->last_len == hlen && memcmp(w->last_handle, fh, hlen) == 0) {
		memcpy(out, w->last_path, strlen(w->last_path) + 1);
		return 0;
	}
	memcpy(w->last_handle, fh, hlen);
	w->last_fs = NULL;
	int fd =
	    open_by_handle_at(fs->fd, (struct file_handle *)w->last_handle, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno; /* gone meanwhile (ESTALE) */
	char link[32];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, out, PATH_MAX - 1);
	int e = errno;
	(void)close(fd);
	if (n < 0)
		return -e;
	if (n >= PATH_MAX - 1)
		return -ENAMETOOLONG;
	out[n] = '\0';
	static const char deleted[] = " (deleted)";
	if (out[0] != '/' || ((size_t)n >= sizeof(deleted) - 1 &&
			      strcmp(out + n - (sizeof(deleted) - 1), deleted) == 0))
		return -ENOENT;
	memcpy(w->last_path, out, (size_t)n + 1);
	w->last_fs = fs;
	w->last_len = hlen;
	return 0;
}

static uint32_t what_of(uint64_t mask)
{
	uint32_t what = 0;
	if (mask & (FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO))
		what |= OMFS_CHG_NAME;
	if (mask & FAN_ATTRIB)
		what |= OMFS_CHG_ATTR;
	if (mask & FAN_MODIFY)
		what |= OMFS_CHG_DATA;
	return what;
}

/* One event's directory-handle record (+ name) -> a change. */
static void on_event(struct omfs_watch *w, const struct fanotify_event_metadata *meta,
		     struct omfs_notify *chg)
{
	const unsigned char *p = (const unsigned char *)meta + meta->metadata_len;
	const unsigned char *end = (const unsigned char *)meta + meta->event_len;
	uint32_t what = what_of(meta->mask);
	while (what && p + sizeof(struct fanotify_event_info_header) <= end) {
		struct fanotify_event_info_header hdr;
		memcpy(&hdr, p, sizeof(hdr));
		if (hdr.len < sizeof(hdr) || p + hdr.len > end)
			break;
		const unsigned char *rec = p;
		p += hdr.len;
		if (hdr.info_type != FAN_EVENT_INFO_TYPE_DFID_NAME &&
		    hdr.info_type != FAN_EVENT_INFO_TYPE_DFID)
			continue;
		size_t off = offsetof(struct fanotify_event_info_fid, handle);
		struct file_handle fh;
		if (off + sizeof(fh) > hdr.len)
			continue;
		fsid_t id;
		memcpy(&id, rec + offsetof(struct fanotify_event_info_fid, fsid), sizeof(id));
		memcpy(&fh, rec + off, sizeof(fh));
		size_t hlen = sizeof(fh) + fh.handle_bytes;
		if (fh.handle_bytes > MAX_HANDLE_SZ || off + hlen > hdr.len)
			continue;
		const char *name = "";
		if (hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME) {
			name = (const char *)rec + off + hlen;
			if (!memchr(name, '\0', hdr.len - off - hlen))
				continue;
		}
		const struct wfs *fs = fs_of(w, &id);
		char path[PATH_MAX];
		if (!fs || resolve_dir(w, fs, rec + off, hlen, path) < 0)
			continue;
		size_t len = strlen(path);
		if (name[0] && strcmp(name, ".") != 0) {
			size_t nl = strlen(name);
			if (len + 1 + nl >= PATH_MAX || strchr(name, '/'))
				continue;
			if (len > 1)
				path[len++] = '/';
			memcpy(path + len, name, nl + 1);
			len += nl;
		}
		omfs_notify_add(chg, path, len, what);
		return;
	}
}

int omfs_watch_read(struct omfs_watch *w, struct omfs_notify *chg)
{
	alignas(struct fanotify_event_metadata) unsigned char buf[16384];
	int total = 0;
	w->last_fs = NULL;
	while (total < WATCH_BATCH) {
		ssize_t n = read(w->fan, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? total : -errno;
		if (n == 0)
			break;
		const struct fanotify_event_metadata *meta = (const void *)buf;
		for (; FAN_EVENT_OK(meta, n); meta = FAN_EVENT_NEXT(meta, n)) {
			total++;
			if (meta->fd >= 0)
				(void)close(meta->fd); /* never with handle reporting */
			if (!chg)
				continue;
			if (meta->vers != FANOTIFY_METADATA_VERSION ||
			    (meta->mask & FAN_Q_OVERFLOW)) {
				omfs_notify_add(chg, "", 0, OMFS_CHG_NAME); /* events lost: all */
				continue;
			}
			if (meta->pid != w->self)
				on_event(w, meta, chg);
		}
	}
	return total;
}
