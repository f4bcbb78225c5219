/* mfs_x.h - one set of file calls for both sides of `omx cp`, `omx rm -r`: a path is either
 * /mfs/<node>/path (served over the oMFS client, as the caller's credentials) or a local path
 * (plain system calls). Everything returns 0 (or a count) or a negative errno and prints nothing,
 * except x_copy, which reports in the calling command's words.
 *
 * Internal to the omx tool (cli/mfs_*.c).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "cli/mfs_cmds.h"

/* An open file on either side. */
struct xfile {
	const struct mfs_env *env;
	int local_fd; /* -1 for /mfs */
	uint32_t node;
	uint64_t fh;
	int64_t off;
};

__attribute__((warn_unused_result)) int x_open(const struct mfs_env *env, const char *arg,
					       int flags, uint32_t mode, struct xfile *ret);
__attribute__((warn_unused_result)) long x_read(struct xfile *x, void *buf, size_t n);
/* Writes all n bytes (or fails). */
__attribute__((warn_unused_result)) long x_write(struct xfile *x, const void *buf, size_t n);
int x_close(struct xfile *x);
/* Copies in to out until EOF; prints "omx CMD: NAME: error" on failure. 0 or -errno. */
__attribute__((warn_unused_result)) int x_copy(const struct mfs_env *env, const char *cmd,
					       struct xfile *in, const char *inname,
					       struct xfile *out, const char *outname);

/* lstat (the link itself) or stat (following it; on /mfs the server resolves within the
 * export). Local results are translated into struct omfs_attr. */
__attribute__((warn_unused_result)) int x_lstat(const struct mfs_env *env, const char *arg,
						struct omfs_attr *ret);
__attribute__((warn_unused_result)) int x_stat(const struct mfs_env *env, const char *arg,
					       struct omfs_attr *ret);

/* The names in a directory, without "." and "..", unsorted. On success *ret_names is a
 * malloc'ed array of malloc'ed strings the caller frees with x_names_free. */
__attribute__((warn_unused_result)) int x_list(const struct mfs_env *env, const char *arg,
					       char ***ret_names, size_t *ret_n);
void x_names_free(char **names, size_t n);

__attribute__((warn_unused_result)) int x_mkdir(const struct mfs_env *env, const char *arg,
						uint32_t mode);
__attribute__((warn_unused_result)) int x_rmdir(const struct mfs_env *env, const char *arg);
__attribute__((warn_unused_result)) int x_unlink(const struct mfs_env *env, const char *arg);
__attribute__((warn_unused_result)) int x_symlink(const struct mfs_env *env, const char *target,
						  const char *arg);
/* A hard link `to` of `from`: -EXDEV unless both are local or on the same node. */
__attribute__((warn_unused_result)) int x_link(const struct mfs_env *env, const char *from,
					       const char *to);
/* Reads a link into buf (NUL-terminated); returns its length. */
__attribute__((warn_unused_result)) long x_readlink(const struct mfs_env *env, const char *arg,
						    char *buf, size_t size);
/* A fifo or device node (mode carries the type). */
__attribute__((warn_unused_result)) int x_mknod(const struct mfs_env *env, const char *arg,
						uint32_t mode, uint64_t rdev);

/* What `cp -p` carries over from `a`; OMFS_SET_* bits in `what` choose among mode, owner and
 * times. Never follows a final symlink for owner and times; mode is skipped on links. */
__attribute__((warn_unused_result)) int x_setattr(const struct mfs_env *env, const char *arg,
						  const struct omfs_attr *a, uint32_t what);

/* Which side a path is on: 0 local, the node id for /mfs, -1 for an /mfs path too long. */
int64_t x_side(const struct mfs_env *env, const char *arg);

/* The last component of p, trailing slashes ignored: its start and length ("a/b/" -> "b"). */
size_t x_last_name(const char *p, const char **ret_start);

/* Joins dir and name with one '/' into buf; -ENAMETOOLONG if it does not fit. */
__attribute__((warn_unused_result)) int x_join(char *buf, size_t size, const char *dir,
					       const char *name);
