/* keygen.c - `omx keygen [--seed ADDR:PORT]...`: print a new CLUSTER_KEY, and only it. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli/subcommands.h"
#include "crypto/clusterkey.h"

int keygen_main(int argc, char **argv)
{
	if (omx_wants_help(argc, argv)) {
		omx_subcommand_help("keygen", true);
		return OMX_EXIT_OK;
	}
	struct omxsec_clusterkey *k = NULL;
	if (omxsec_clusterkey_generate(&k) < 0) {
		fprintf(stderr, "omx: cannot generate a key (libsodium)\n");
		return OMX_EXIT_ERROR;
	}
	int rc = OMX_EXIT_OK;
	for (int i = 1; i < argc && rc == OMX_EXIT_OK; i++) {
		const char *seed = NULL;
		if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			seed = argv[++i];
		else if (strncmp(argv[i], "--seed=", 7) == 0)
			seed = argv[i] + 7;
		if (!seed) {
			fprintf(stderr, "omx: keygen: unexpected argument '%s'\n", argv[i]);
			omx_subcommand_help("keygen", false);
			rc = OMX_EXIT_USAGE;
			break;
		}
		int r = omxsec_clusterkey_add_seed(k, seed);
		if (r < 0) {
			fprintf(stderr, "omx: keygen: %s\n",
				r == -E2BIG ? "too many --seed endpoints"
					    : "bad --seed endpoint (want ADDR:PORT)");
			rc = OMX_EXIT_USAGE;
		}
	}
	char *buf = sodium_malloc(OMXSEC_CLUSTERKEY_STR_MAX);
	if (rc == OMX_EXIT_OK && !buf)
		rc = OMX_EXIT_ERROR;
	if (rc == OMX_EXIT_OK) {
		if (omxsec_clusterkey_format(k, buf, OMXSEC_CLUSTERKEY_STR_MAX) < 0) {
			fprintf(stderr, "omx: keygen: key too long\n");
			rc = OMX_EXIT_ERROR;
		} else if (printf("%s\n", buf) < 0 || fflush(stdout) != 0) {
			fprintf(stderr, "omx: keygen: cannot write the key\n");
			rc = OMX_EXIT_ERROR;
		}
	}
	if (buf)
		sodium_free(buf);
	omxsec_clusterkey_free(&k);
	return rc;
}
