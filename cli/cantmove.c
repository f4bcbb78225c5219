/* cantmove.c - `omx cantmove PID`: why a process cannot be checkpointed (one reason a line),
 * like openMosix's /proc/PID/cantmove. Exit 0 if it can move, 1 if not (or no such process). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/migrate_cmds.h"
#include "cli/subcommands.h"
#include "migrate/cantmove.h"

int cantmove_main(int argc, char **argv)
{
	if (omx_wants_help(argc, argv)) {
		omx_subcommand_help("cantmove", true);
		return OMX_EXIT_OK;
	}
	char *end;
	long pid = argc == 2 ? strtol(argv[1], &end, 10) : 0;
	if (argc != 2 || *end || pid <= 0) {
		omx_subcommand_help("cantmove", false);
		return OMX_EXIT_USAGE;
	}
	char buf[4096];
	int n = mig_cantmove((pid_t)pid, buf, sizeof(buf));
	if (n < 0) {
		fprintf(stderr, "omx: process %ld: %s\n", pid, strerror(-n));
		return OMX_EXIT_ERROR;
	}
	if (n == 0) {
		printf("%ld: can move\n", pid);
		return OMX_EXIT_OK;
	}
	for (char *save = NULL, *r = strtok_r(buf, ";", &save); r; r = strtok_r(NULL, ";", &save))
		printf("%ld: %s\n", pid, r + (r[0] == ' '));
	return OMX_EXIT_ERROR;
}
