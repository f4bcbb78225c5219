/* util.c - what the omx subcommands share: finding the daemon, calling it with clear errors,
 * JSON strings. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/subcommands.h"

static const char *state_dir_opt; /* --state-dir: a parsed command-line option */

void omx_set_state_dir(const char *dir)
{
	state_dir_opt = dir;
}

const char *omx_state_dir(void)
{
	if (state_dir_opt)
		return state_dir_opt;
	const char *e = getenv("OMX_STATE_DIR");
	return e && e[0] ? e : "/var/lib/omx";
}

bool omx_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

bool omx_listing_args(const char *name, int argc, char **argv, bool *ret_json, int *ret_exit_code)
{
	if (omx_wants_help(argc, argv)) {
		omx_subcommand_help(name, true);
		*ret_exit_code = OMX_EXIT_OK;
		return false;
	}
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0) {
			fprintf(stderr, "omx: %s: unexpected argument '%s'\n", name, argv[i]);
			omx_subcommand_help(name, false);
			*ret_exit_code = OMX_EXIT_USAGE;
			return false;
		}
		json = true;
	}
	*ret_json = json;
	return true;
}

int omx_call(const struct control_request *req, uint32_t timeout_ms, struct control_reply *rep)
{
	const char *dir = omx_state_dir();
	int r = control_call(dir, req, timeout_ms, rep);
	switch (r) {
	case 0:
		break;
	case -ENOENT:
	case -ECONNREFUSED:
		fprintf(stderr, "omx: no omxd at %s/%s (%s): is omxd running with --state-dir %s?\n",
			dir, CONTROL_SOCKET_NAME, strerror(-r), dir);
		return OMX_EXIT_ERROR;
	case -EACCES:
	case -EPERM:
	case -ECONNRESET:
		fprintf(stderr,
			"omx: omxd at %s refused the connection (%s): only root and omxd's own user "
			"may use it\n",
			dir, strerror(-r));
		return OMX_EXIT_ERROR;
	case -ETIMEDOUT:
		fprintf(stderr, "omx: omxd at %s did not answer in time\n", dir);
		return OMX_EXIT_ERROR;
	default:
		fprintf(stderr, "omx: talking to omxd at %s: %s\n", dir, strerror(-r));
		return OMX_EXIT_ERROR;
	}
	if (rep->error < 0) {
		fprintf(stderr, "omx: %s\n", rep->message[0] ? rep->message : strerror(-rep->error));
		return OMX_EXIT_ERROR;
	}
	return OMX_EXIT_OK;
}

void omx_json_str(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}
