/* join.c - `omx join [--timeout SECONDS] CLUSTER_KEY|-`. The key is checked here first, so a
 * malformed one fails with a precise message before the daemon is involved; the daemon checks
 * it again (it trusts no client) and decides the rest (see cli/omxd/cluster.c). "-" reads the
 * key from stdin, keeping it out of the process list. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/subcommands.h"
#include "crypto/clusterkey.h"

static int join_with(const char *key, uint32_t timeout_ms);

int join_main(int argc, char **argv)
{
	if (omx_wants_help(argc, argv)) {
		omx_subcommand_help("join", true);
		return OMX_EXIT_OK;
	}
	const char *key = NULL;
	unsigned long timeout_s = 10;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			char *end;
			timeout_s = strtoul(argv[++i], &end, 10);
			if (*end || timeout_s == 0 || timeout_s > 120) {
				fprintf(stderr, "omx: join: --timeout wants 1..120 seconds\n");
				return OMX_EXIT_USAGE;
			}
		} else if (!key && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0)) {
			key = argv[i];
		} else {
			fprintf(stderr, "omx: join: unexpected argument '%.40s'\n", argv[i]);
			omx_subcommand_help("join", false);
			return OMX_EXIT_USAGE;
		}
	}
	if (!key) {
		fprintf(stderr, "omx: join: a CLUSTER_KEY is required (see 'omx keygen')\n");
		omx_subcommand_help("join", false);
		return OMX_EXIT_USAGE;
	}
	char *line = NULL;
	if (strcmp(key, "-") == 0) {
		line = sodium_malloc(CONTROL_KEY_MAX);
		if (!line || !fgets(line, CONTROL_KEY_MAX, stdin)) {
			fprintf(stderr, "omx: join: no cluster key on stdin\n");
			if (line)
				sodium_free(line);
			return OMX_EXIT_ERROR;
		}
		line[strcspn(line, "\r\n")] = '\0';
		key = line;
	}
	int rc = join_with(key, (uint32_t)(timeout_s * 1000));
	if (line)
		sodium_free(line);
	return rc;
}

static int join_with(const char *key, uint32_t timeout_ms)
{
	struct omxsec_clusterkey *k = NULL;
	int r = omxsec_clusterkey_parse(key, &k);
	if (r < 0) {
		fprintf(stderr, "omx: invalid cluster key: %s\n", omxsec_clusterkey_strerror(r));
		return OMX_EXIT_ERROR;
	}
	omxsec_clusterkey_free(&k);
	if (strlen(key) >= CONTROL_KEY_MAX) {
		fprintf(stderr, "omx: invalid cluster key: too long\n");
		return OMX_EXIT_ERROR;
	}

	struct control_request *req = sodium_malloc(sizeof(*req));
	struct control_reply *rep = calloc(1, sizeof(*rep));
	int rc = OMX_EXIT_ERROR;
	if (!req || !rep) {
		fprintf(stderr, "omx: out of memory\n");
		goto out;
	}
	memset(req, 0, sizeof(*req));
	req->op = CONTROL_OP_JOIN;
	strcpy(req->cluster_key, key);
	req->timeout_ms = timeout_ms;
	rc = omx_call(req, req->timeout_ms + 5000, rep);
	if (rc == OMX_EXIT_OK)
		printf("%s\n", rep->message);
out:
	if (req)
		sodium_free(req);
	free(rep);
	return rc;
}
