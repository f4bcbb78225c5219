/* mfs_cmds.h - `omx ls|cat|cp|stat|rm|mkdir` on /mfs/<node>/path without a FUSE mount.
 *
 * Each command talks to the node's oMFS server through an omfs_client, whatever carries it
 * (the mesh via omxd; the loopback transport in tests/omfs/omfs_cmd.c). Paths: /mfs/<id>/path,
 * /mfs/here/path and /mfs/home/path (both mean env->self for now); `cp` also takes local paths
 * on either side. Output and exit codes follow the coreutils namesakes (ls: 2 when an operand
 * cannot be accessed; the others: 1 on any failure).
 *
 * Registered in cli/omx.c, whose transport carries each request through the local omxd's control
 * socket (CONTROL_OP_OMFS); tests/omfs/omfs_cmd.c runs the same code over the loopback transport.
 * argv[0] is the subcommand name.
 */
#pragma once
#include <stdint.h>
#include <stdio.h>

#include "omfs/omfs_client.h"

struct mfs_env {
	struct omfs_client *client; /* borrowed */
	uint32_t self;		    /* this node's id (/mfs/here, /mfs/home) */
	struct omfs_cred cred;	    /* the caller's credentials (omfs_cred_self) */
	FILE *out, *err;
	size_t io_size;		    /* bytes per read/write request; 0 = OMFS_MAX_IO */
};

int mfs_ls_main(const struct mfs_env *env, int argc, char **argv);
int mfs_cat_main(const struct mfs_env *env, int argc, char **argv);
int mfs_cp_main(const struct mfs_env *env, int argc, char **argv);
int mfs_stat_main(const struct mfs_env *env, int argc, char **argv);
int mfs_rm_main(const struct mfs_env *env, int argc, char **argv);
int mfs_mkdir_main(const struct mfs_env *env, int argc, char **argv);

/* Splits "/mfs/<id>/rest" into node and "/rest". Returns 0, or -EINVAL if not an /mfs path. */
int mfs_parse_path(const struct mfs_env *env, const char *arg, uint32_t *ret_node,
		   char *ret_path, size_t size);
