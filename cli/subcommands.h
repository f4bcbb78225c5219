/* subcommands.h - the `omx` subcommands (one file each) and the helpers they share (util.c).
 * Each subcommand is `int x_main(int argc, char **argv)` with argv[0] the subcommand name and
 * returns the process exit code: 0 ok, 1 error, 2 usage. Errors go to stderr prefixed "omx: ". */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "common/control.h"

#define OMX_EXIT_OK    0
#define OMX_EXIT_ERROR 1
#define OMX_EXIT_USAGE 2

int keygen_main(int argc, char **argv);
int join_main(int argc, char **argv);
int leave_main(int argc, char **argv);
int nodes_main(int argc, char **argv);
int status_main(int argc, char **argv);
int version_main(int argc, char **argv);
int help_main(int argc, char **argv);

/* util.c */
/* The daemon's state dir: --state-dir, else $OMX_STATE_DIR, else /var/lib/omx. */
const char *omx_state_dir(void);
void omx_set_state_dir(const char *dir);
/* Calls the daemon; on failure prints a clear "omx: ..." line and returns OMX_EXIT_ERROR,
 * including when the daemon answers with an error (its message is printed). */
int omx_call(const struct control_request *req, uint32_t timeout_ms, struct control_reply *rep);
/* Prints the help text of a subcommand to stdout (true) or stderr (false). */
void omx_subcommand_help(const char *name, bool to_stdout);
/* True if argv[1] is --help or -h. */
bool omx_wants_help(int argc, char **argv);
/* Arguments of the read-only listing commands (nodes, status): --help, --json, nothing else.
 * Returns true if the command should go on (*ret_json set); false with *ret_exit_code set when
 * help was printed (0) or the arguments were wrong (usage printed, 2). */
bool omx_listing_args(const char *name, int argc, char **argv, bool *ret_json, int *ret_exit_code);
/* JSON string literal (quotes included) of s to stdout. */
void omx_json_str(const char *s);
