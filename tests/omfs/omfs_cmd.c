/* omfs_cmd.c - run `omx ls|cat|cp|stat|rm|mkdir` (cli/mfs_cmds.c) over the loopback transport.
 *
 * Usage: omfs_cmd [--node N] [--no-root-squash] --export DIR [--export DIR]... CMD ARGS...
 * The server core runs in this process with the given exports; /mfs/<N>/... names them.
 * Exit status and output are the command's.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/mfs_cmds.h"
#include "omfs/omfs_server.h"

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "export", required_argument, NULL, 'e' },
		{ "no-root-squash", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	struct omfs_export ex[16];
	size_t nex = 0;
	uint32_t node = 1;
	int no_squash = 0, c;
	while ((c = getopt_long(argc, argv, "+n:e:R", opts, NULL)) != -1) {
		if (c == 'n')
			node = (uint32_t)strtoul(optarg, NULL, 10);
		else if (c == 'e' && nex < 16)
			ex[nex++] = (struct omfs_export){ .path = optarg };
		else if (c == 'R')
			no_squash = 1;
		else
			return 2;
	}
	if (optind >= argc || nex == 0) {
		fprintf(stderr, "usage: omfs_cmd [--node N] --export DIR... ls|cat|cp|stat|rm|mkdir ARGS\n");
		return 2;
	}
	for (size_t i = 0; i < nex; i++)
		ex[i].no_root_squash = no_squash;
	struct omfs_server_config cfg = { .exports = ex, .nexports = nex };
	struct omfs_server *srv;
	if (omfs_server_new(&cfg, &srv) < 0) {
		fprintf(stderr, "omfs_cmd: bad export\n");
		return 2;
	}
	struct omfs_loopback lb = { .srv = srv, .session = 1, .node = node };
	struct omfs_transport t = { .request = omfs_loopback_request, .ctx = &lb };
	struct omfs_client *client;
	if (omfs_client_new(&t, &client) < 0)
		return 2;
	struct mfs_env env = { .client = client, .self = node, .out = stdout, .err = stderr };
	omfs_cred_self(&env.cred);
	static const struct {
		const char *name;
		int (*fn)(const struct mfs_env *, int, char **);
	} cmds[] = { { "ls", mfs_ls_main },	{ "cat", mfs_cat_main }, { "cp", mfs_cp_main },
		     { "stat", mfs_stat_main }, { "rm", mfs_rm_main },	 { "mkdir", mfs_mkdir_main } };
	int rc = 2;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[optind], cmds[i].name) == 0)
			rc = cmds[i].fn(&env, argc - optind, argv + optind);
	fflush(stdout);
	omfs_client_free(&client);
	omfs_server_free(&srv);
	return rc;
}
