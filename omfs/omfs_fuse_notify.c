/* omfs_fuse_notify.c - dropping what the kernel caches of /mfs when a server says it changed
 * (omfs_fuse_notify) or a node went away (omfs_fuse_node_gone).
 *
 * The kernel keeps attributes and entries the server marked `watched` for watched_timeout
 * (10 s) instead of 1 s; this is what keeps that coherent. Each change is a server path: the
 * node table gives the node ids the kernel knows for it and its directory, and libfuse's
 * notifications drop them:
 *   name changed (created, removed, renamed): the entry (parent, name), negative ones too, the
 *     directory's attributes (times, link count) and the node's own (link count);
 *   attributes: the node's attributes;   data: the node's attributes and page cache.
 * A path the kernel was never given costs a table walk and nothing else. The kernel orders
 * these against lookups in flight itself (an entry notification waits for the directory's
 * lock, which a lookup holds; attributes carry a version a reply older than the notification
 * cannot overwrite), so a reply that crossed the notification cannot reinstate a stale entry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omfs/omfs_fuse_int.h"
#include "omfs/omfs_wire.h"

int omfs_fuse_node_gone(struct omfs_fuse *f, uint32_t node)
{
	char name[16];
	int n = snprintf(name, sizeof(name), "%u", node);
	if (f->dirs)
		omfs_dirs_forget_node(f->dirs, node);
	return fuse_lowlevel_notify_inval_entry(f->se, FUSE_ROOT_ID, name, (size_t)n);
}

/* Everything of one node: its /mfs/<node> entry (the kernel drops the dentries below it) and
 * every node's attributes and pages. */
static void forget_node(struct omfs_fuse *f, uint32_t node)
{
	size_t max = 65536;
	fuse_ino_t *ids = malloc(max * sizeof(*ids));
	size_t n = ids ? ft_nodes_of(&f->ft, node, ids, max) : 0;
	for (size_t i = 0; i < n; i++)
		(void)fuse_lowlevel_notify_inval_inode(f->se, ids[i], 0, 0);
	free(ids);
	(void)omfs_fuse_node_gone(f, node);
}

int omfs_fuse_notify(struct omfs_fuse *f, uint32_t node, const struct omfs_notify *nt)
{
	if (nt->all) {
		forget_node(f, node);
		return 0;
	}
	for (size_t i = 0; i < nt->n; i++) {
		const struct omfs_change *c = &nt->c[i];
		fuse_ino_t parent, ino;
		const char *name;
		if (f->dirs)
			omfs_dirs_changed(f->dirs, node, c->path);
		if (ft_resolve(&f->ft, node, c->path, &parent, &ino, &name) < 0)
			continue;
		if ((c->what & OMFS_CHG_NAME) && parent && name) {
			size_t len = strcspn(name, "/");
			(void)fuse_lowlevel_notify_inval_entry(f->se, parent, name, len);
			(void)fuse_lowlevel_notify_inval_inode(f->se, parent, -1, 0);
		}
		if (ino)
			(void)fuse_lowlevel_notify_inval_inode(
			    f->se, ino, (c->what & OMFS_CHG_DATA) ? 0 : -1, 0);
	}
	return 0;
}
