/* omfs_loopmount.c - mount the /mfs tree at DIR, served in-process over the loopback transport.
 *
 * The same FUSE front, client library and server core omxd uses, minus the mesh: /DIR/<node>/...
 * shows this machine's exported trees, so real tools (tar, cp -a, git, sqlite3, make) can be run
 * against oMFS today (tests/cluster/test_omfs_local.sh, bench/omfs_bench.sh).
 *
 * Usage: omfs_loopmount [--node N] [--no-root-squash] [--ro] [--threads N] [--debug]
 *                       MOUNTPOINT EXPORT...
 * Runs in the foreground until SIGINT/SIGTERM or `fusermount3 -u MOUNTPOINT`; prints "mounted"
 * on stdout once the mount is up.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omfs/omfs_client.h"
#include "omfs/omfs_fuse.h"
#include "omfs/omfs_server.h"

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--node N] [--no-root-squash] [--ro] [--threads N] [--debug] "
		"MOUNTPOINT EXPORT...\n",
		argv0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "no-root-squash", no_argument, NULL, 'R' },
		{ "ro", no_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 't' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t node = 1;
	int no_squash = 0, ro = 0, debug = 0, threads = 0, c;
	while ((c = getopt_long(argc, argv, "n:Rrt:dh", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			node = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'R':
			no_squash = 1;
			break;
		case 'r':
			ro = 1;
			break;
		case 't':
			threads = atoi(optarg);
			break;
		case 'd':
			debug = 1;
			break;
		default:
			usage(argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (argc - optind < 2 || node == 0) {
		usage(argv[0]);
		return 2;
	}
	const char *mnt = argv[optind++];
	size_t nex = (size_t)(argc - optind);
	struct omfs_export *ex = calloc(nex, sizeof(*ex));
	if (!ex)
		return 1;
	for (size_t i = 0; i < nex; i++)
		ex[i] = (struct omfs_export){ .path = argv[optind + (int)i],
					      .read_only = ro,
					      .no_root_squash = no_squash };
	struct omfs_server_config scfg = { .exports = ex, .nexports = nex };
	struct omfs_server *srv = NULL;
	int rc = omfs_server_new(&scfg, &srv);
	free(ex);
	if (rc < 0) {
		fprintf(stderr, "omfs_loopmount: exports: %s\n", strerror(-rc));
		return 1;
	}
	struct omfs_loopback lb = { .srv = srv, .session = 1, .node = node };
	struct omfs_transport t = { .request = omfs_loopback_request, .ctx = &lb };
	struct omfs_client *client = NULL;
	struct omfs_fuse *fuse = NULL;
	rc = omfs_client_new(&t, &client);
	if (rc == 0) {
		struct omfs_fuse_config fcfg = { .mountpoint = mnt,
						 .self = node,
						 .client = client,
						 .allow_other = 1,
						 .debug = debug,
						 .max_threads = threads };
		rc = omfs_fuse_new(&fcfg, &fuse);
		if (rc == 0 && omfs_fuse_set_readahead(fuse, OMFS_FUSE_READAHEAD_KB) < 0)
			fprintf(stderr, "omfs_loopmount: read-ahead not set\n");
	}
	if (rc < 0) {
		fprintf(stderr, "omfs_loopmount: mount %s: %s\n", mnt, strerror(-rc));
	} else {
		printf("mounted\n");
		fflush(stdout);
		rc = omfs_fuse_run(fuse, 1);
		if (rc < 0)
			fprintf(stderr, "omfs_loopmount: loop: %s\n", strerror(-rc));
	}
	omfs_fuse_free(&fuse);
	omfs_client_free(&client);
	omfs_server_free(&srv);
	return rc < 0 ? 1 : 0;
}
