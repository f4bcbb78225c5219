/* omfs_fuse_dirs.c - the FUSE front's use of omfs_dirs: the names it knows a directory does
 * not hold, kept from this mount's own namespace requests (every one passes fz_call).
 *
 * The kernel looks a name up before every create, so each new file cost a round trip that
 * could only answer ENOENT (a third of `create+stat+rm`, a fifth of untar). A directory this
 * mount made where the server watches starts empty and known; this mount's own successful
 * creates, links, removals and renames in it keep its name set; a failed one, a change report
 * (omfs_fuse_notify.c), the node going away or the end of the report window forget it. A
 * lookup of a name such a directory does not hold is answered ENOENT here (docs/omfs.md, FUSE
 * front).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "omfs/omfs_fuse_int.h"

/* r's path or path2 as a C string (the FUSE front's requests point into NUL-terminated
 * buffers, but a length is all the wire type promises). */
static const char *cpath(const struct omfs_buf *b, char *buf, size_t size)
{
	if (!b->p || b->len == 0 || b->len >= size)
		return NULL;
	memcpy(buf, b->p, b->len);
	buf[b->len] = '\0';
	return buf;
}

int fz_dirs_absent(struct omfs_fuse *f, uint32_t node, const char *path, uint32_t uid)
{
	return f->dirs && omfs_dirs_absent(f->dirs, node, path, uid, fz_now_ms());
}

void fz_dirs_note(struct omfs_fuse *f, uint32_t node, const struct omfs_req *r, int rc,
		  const struct omfs_resp *resp, int64_t sent_ms, uint64_t gen)
{
	struct omfs_dirs *d = f->dirs;
	char b1[MFS_PATH_MAX], b2[MFS_PATH_MAX];
	const char *p1 = cpath(&r->path, b1, sizeof(b1));
	if (!d || !p1)
		return;
	/* the server's promise (MFS_TTL_MS), whatever this mount's caching is set to */
	double w =
	    f->watched_timeout < OMFS_WATCHED_TTL_S ? f->watched_timeout : OMFS_WATCHED_TTL_S;
	int64_t ttl = (int64_t)(w * 1000);
	switch (r->op) {
	case OMFS_OP_SETATTR: /* a directory's mode may say something else about searching it */
		omfs_dirs_forget_tree(d, node, p1);
		return;
	case OMFS_OP_LOOKUP:
		if (rc == -ENOENT) /* only names not known absent are asked for */
			omfs_dirs_forget_parent(d, node, p1);
		return;
	case OMFS_OP_MKDIR: /* a name in its parent as well */
	case OMFS_OP_CREATE:
	case OMFS_OP_MKNOD:
	case OMFS_OP_SYMLINK:
		if (rc == 0)
			omfs_dirs_added(d, node, p1, sent_ms);
		else
			omfs_dirs_forget_parent(d, node, p1);
		if (r->op == OMFS_OP_MKDIR && rc == 0 && resp->attr.watched)
			omfs_dirs_created(d, node, p1, r->cred.uid, gen, sent_ms + ttl);
		return;
	case OMFS_OP_UNLINK:
	case OMFS_OP_RMDIR:
		if (rc == 0)
			omfs_dirs_removed(d, node, p1, sent_ms);
		else
			omfs_dirs_forget_parent(d, node, p1);
		omfs_dirs_forget_tree(d, node, p1);
		return;
	case OMFS_OP_LINK:
	case OMFS_OP_RENAME: {
		const char *p2 = cpath(&r->path2, b2, sizeof(b2));
		if (!p2 || rc < 0) {
			omfs_dirs_forget_parent(d, node, p1);
			if (p2)
				omfs_dirs_forget_parent(d, node, p2);
			else
				omfs_dirs_forget_node(d, node);
			return;
		}
		if (r->op == OMFS_OP_LINK) {
			omfs_dirs_added(d, node, p2, sent_ms);
			return;
		}
		/* both directories: a rename of one hard link over another succeeds and changes
		 * nothing, so the sets cannot simply follow it */
		omfs_dirs_forget_parent(d, node, p1);
		omfs_dirs_forget_parent(d, node, p2);
		omfs_dirs_forget_tree(d, node, p1); /* what was below them has other paths now */
		omfs_dirs_forget_tree(d, node, p2);
		return;
	}
	default:
		return;
	}
}
