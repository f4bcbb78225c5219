/* status.c - `omx status [--json]`: the local node and all its counters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/subcommands.h"
#include "crypto/identity.h"

static void print_json(const struct control_status *s)
{
	char pk[2 * 32 + 1];
	omxsec_hex(s->pubkey, sizeof(s->pubkey), pk);
	printf("{\"id\": %u, \"name\": ", s->node_id);
	omx_json_str(s->name);
	printf(", \"addr\": ");
	omx_json_str(s->addr);
	printf(", \"state\": ");
	omx_json_str(s->state);
	printf(", \"cluster_id\": ");
	omx_json_str(s->cluster_id);
	printf(", \"members\": %u, \"alive\": %u, \"uptime_ms\": %llu, \"pubkey\": \"%s\", "
	       "\"counters\": {",
	       s->members, s->alive, (unsigned long long)s->uptime_ms, pk);
	for (size_t i = 0; i < s->n_counters; i++) {
		printf("%s", i ? ", " : "");
		omx_json_str(s->counters[i].name);
		printf(": %llu", (unsigned long long)s->counters[i].value);
	}
	printf("}}\n");
}

static void print_text(const struct control_status *s)
{
	char pk[2 * 32 + 1];
	omxsec_hex(s->pubkey, sizeof(s->pubkey), pk);
	printf("node      %u (%s)\n", s->node_id, s->name);
	printf("address   %s\n", s->addr);
	printf("state     %s\n", s->state);
	printf("cluster   %s\n", s->cluster_id[0] ? s->cluster_id : "-");
	printf("members   %u known, %u alive or suspect (self included)\n", s->members, s->alive);
	printf("uptime    %.1f s\n", (double)s->uptime_ms / 1000.0);
	printf("identity  %s\n", pk);
	if (s->n_counters)
		printf("counters\n");
	for (size_t i = 0; i < s->n_counters; i++)
		printf("  %-28s %llu\n", s->counters[i].name,
		       (unsigned long long)s->counters[i].value);
}

int status_main(int argc, char **argv)
{
	bool json = false;
	int exit_code;
	if (!omx_listing_args("status", argc, argv, &json, &exit_code))
		return exit_code;
	struct control_reply *rep = calloc(1, sizeof(*rep));
	if (!rep) {
		fprintf(stderr, "omx: out of memory\n");
		return OMX_EXIT_ERROR;
	}
	struct control_request req = { .op = CONTROL_OP_STATUS };
	int rc = omx_call(&req, 5000, rep);
	if (rc == OMX_EXIT_OK && !rep->has_status) {
		fprintf(stderr, "omx: omxd sent no status\n");
		rc = OMX_EXIT_ERROR;
	}
	if (rc == OMX_EXIT_OK) {
		if (json)
			print_json(&rep->status);
		else
			print_text(&rep->status);
	}
	free(rep);
	return rc;
}
