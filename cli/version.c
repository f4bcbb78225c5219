/* version.c - `omx version`. */
#include <stdio.h>

#include "cli/subcommands.h"

int version_main(int argc, char **argv)
{
	if (omx_wants_help(argc, argv)) {
		omx_subcommand_help("version", true);
		return OMX_EXIT_OK;
	}
	if (argc > 1) {
		omx_subcommand_help("version", false);
		return OMX_EXIT_USAGE;
	}
	printf("omx %s (control protocol %d)\n", OMX_VERSION_STRING, CONTROL_VERSION);
	return OMX_EXIT_OK;
}
