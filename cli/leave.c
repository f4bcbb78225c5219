/* leave.c - `omx leave`: graceful leave; the daemon forgets its stored cluster key. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/subcommands.h"

int leave_main(int argc, char **argv)
{
	if (omx_wants_help(argc, argv)) {
		omx_subcommand_help("leave", true);
		return OMX_EXIT_OK;
	}
	if (argc != 1) {
		omx_subcommand_help("leave", false);
		return OMX_EXIT_USAGE;
	}
	struct control_request req = { .op = CONTROL_OP_LEAVE };
	struct control_reply *rep = calloc(1, sizeof(*rep));
	if (!rep) {
		fprintf(stderr, "omx: out of memory\n");
		return OMX_EXIT_ERROR;
	}
	int rc = omx_call(&req, 10000, rep);
	if (rc == OMX_EXIT_OK)
		printf("%s\n", rep->message);
	free(rep);
	return rc;
}
