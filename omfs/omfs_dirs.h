/* omfs_dirs.h - what a client knows a directory on a node does NOT hold, so that a lookup of a
 * name that is not there needs no round trip (the LOOKUP the kernel sends before every create).
 *
 * A directory is known when this client created it (empty) on a file system the server
 * watches, for its creator only, and at most until `until` (fixed at its creation: change
 * reports are best effort, so knowledge never outlives the window they are promised for, see
 * docs/omfs.md, Change notifications); this client's own successful changes in it keep the
 * name set current meanwhile. Any report about it or a name in it, any doubt (a failed change,
 * removing a name not in the set), its own rename or removal, the node going away, or `until`
 * passing forget it. Keys are server paths; nothing here does I/O. Thread-safe.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct omfs_dirs;

/* At most max_dirs directories of at most max_names names each are kept (the oldest one goes
 * first; a directory that outgrows max_names is forgotten). */
int omfs_dirs_new(size_t max_dirs, size_t max_names, struct omfs_dirs **ret);
void omfs_dirs_free(struct omfs_dirs **d);

/* The report generation of `node` (shared by node ids equal modulo OMFS_DIRS_GENS): read it
 * before sending a request whose reply may start knowledge (omfs_dirs_created); a report about
 * that node processed meanwhile makes that reply too old. Reports about other nodes do not:
 * they say nothing of this node's directories (a busy node's stream of reports used to stop
 * every other node's knowledge from starting). */
#define OMFS_DIRS_GENS 64
uint64_t omfs_dirs_gen(struct omfs_dirs *d, uint32_t node);

/* User uid of this client created directory `path` (absolute server path) on `node`, asking
 * at gen. */
void omfs_dirs_created(struct omfs_dirs *d, uint32_t node, const char *path, uint32_t uid,
		       uint64_t gen, int64_t until_ms);
/* 1 when the entry `path` (the directory is its parent) is known not to exist at now_ms, as
 * far as user uid may be told (only the directory's creator is). */
int omfs_dirs_absent(struct omfs_dirs *d, uint32_t node, const char *path, uint32_t uid,
		     int64_t now_ms);
/* This client's own change, sent at sent_ms, succeeded: `path` now exists, or no longer does
 * (no-ops for a directory not known at sent_ms; removing a name not in the set forgets it). */
void omfs_dirs_added(struct omfs_dirs *d, uint32_t node, const char *path, int64_t sent_ms);
void omfs_dirs_removed(struct omfs_dirs *d, uint32_t node, const char *path, int64_t sent_ms);
/* Forget the directory holding `path` (its names changed, or may have). */
void omfs_dirs_forget_parent(struct omfs_dirs *d, uint32_t node, const char *path);
/* Forget `path` itself and every known directory below it (it was renamed or removed). */
void omfs_dirs_forget_tree(struct omfs_dirs *d, uint32_t node, const char *path);
/* A report about `path` (its name, attributes or data changed): both of the above, and the
 * generation moves on. */
void omfs_dirs_changed(struct omfs_dirs *d, uint32_t node, const char *path);
/* Everything of a node (a report of `all`, the node gone). */
void omfs_dirs_forget_node(struct omfs_dirs *d, uint32_t node);
/* How many directories are known (tests). */
size_t omfs_dirs_count(struct omfs_dirs *d);
