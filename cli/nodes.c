/* nodes.c - `omx nodes [--json]`: every node this node knows, like mosmon.
 * JSON: an array of objects (keys documented in omx(1)); mem_free/mem_total in bytes, load,
 * cpu_quota and cpu_usage in CPUs (floats), speed in MHz, age_ms in milliseconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/subcommands.h"
#include "crypto/identity.h"
#include "gossip/gossip.h"

static const char *state_word(uint32_t s)
{
	return s <= GOSSIP_LEFT ? gossip_state_name((enum gossip_state)s) : "unknown";
}

static void human_bytes(uint64_t b, char *buf, size_t cap)
{
	const char *units = "BKMGTP";
	double v = (double)b;
	int u = 0;
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, cap, u ? "%.1f%c" : "%.0f%c", v, units[u]);
}

static void human_age(uint64_t ms, char *buf, size_t cap)
{
	if (ms < 60000)
		snprintf(buf, cap, "%.1fs", (double)ms / 1000.0);
	else if (ms < 3600000)
		snprintf(buf, cap, "%llum", (unsigned long long)(ms / 60000));
	else
		snprintf(buf, cap, "%lluh", (unsigned long long)(ms / 3600000));
}

static void print_row(const struct control_node *n)
{
	char mem[16], age[16], name[24];
	human_bytes(n->mem_free_kb * 1024, mem, sizeof(mem));
	human_age(n->age_ms, age, sizeof(age));
	snprintf(name, sizeof(name), "%s%s", n->name, n->is_self ? "*" : "");
	printf("%5u %-16s %-21s %-7s %6.2f %4u %6u %8s %6u %6s\n", n->id, name, n->addr,
	       state_word(n->state), n->load_milli / 1000.0, n->cpus, n->speed_mhz, mem, n->guests,
	       age);
}

static void print_json(const struct control_node *n, bool first)
{
	char pk[2 * 32 + 1];
	omxsec_hex(n->pubkey, sizeof(n->pubkey), pk);
	printf("%s\n  {\"id\": %u, \"name\": ", first ? "" : ",", n->id);
	omx_json_str(n->name);
	printf(", \"addr\": ");
	omx_json_str(n->addr);
	printf(", \"state\": \"%s\", \"load\": %.3f, \"cpus\": %u, \"speed\": %u, "
	       "\"mem_free\": %llu, \"mem_total\": %llu, \"guests\": %u, \"age_ms\": %llu, "
	       "\"self\": %s, \"cpu_quota\": %.3f, \"cpu_usage\": %.3f, \"accept_guests\": %s, "
	       "\"kernel\": ",
	       state_word(n->state), n->load_milli / 1000.0, n->cpus, n->speed_mhz,
	       (unsigned long long)n->mem_free_kb * 1024ull,
	       (unsigned long long)n->mem_total_kb * 1024ull, n->guests,
	       (unsigned long long)n->age_ms, n->is_self ? "true" : "false",
	       n->cpu_quota_milli / 1000.0, n->cpu_usage_milli / 1000.0,
	       n->accept_guests ? "true" : "false");
	omx_json_str(n->kernel);
	printf(", \"incarnation\": %llu, \"version\": %llu, \"pubkey\": \"%s\"}",
	       (unsigned long long)n->incarnation, (unsigned long long)n->version, pk);
}

int nodes_main(int argc, char **argv)
{
	bool json = false;
	int exit_code;
	if (!omx_listing_args("nodes", argc, argv, &json, &exit_code))
		return exit_code;
	struct control_reply *rep = calloc(1, sizeof(*rep));
	if (!rep) {
		fprintf(stderr, "omx: out of memory\n");
		return OMX_EXIT_ERROR;
	}
	/* Page through the daemon's member list; print only once everything has arrived, so an
	 * error never leaves half a JSON document on stdout. */
	struct control_node *all = NULL;
	size_t n = 0;
	int rc = OMX_EXIT_OK;
	for (;;) {
		struct control_request req = { .op = CONTROL_OP_NODES, .offset = (uint32_t)n };
		rc = omx_call(&req, 5000, rep);
		if (rc != OMX_EXIT_OK)
			break;
		if (rep->n_nodes) {
			struct control_node *na = realloc(all, (n + rep->n_nodes) * sizeof(*na));
			if (!na) {
				fprintf(stderr, "omx: out of memory\n");
				rc = OMX_EXIT_ERROR;
				break;
			}
			all = na;
			memcpy(all + n, rep->nodes, rep->n_nodes * sizeof(*all));
			n += rep->n_nodes;
		}
		if (rep->n_nodes == 0 || n >= rep->total)
			break;
	}
	if (rc == OMX_EXIT_OK) {
		if (json) {
			printf("[");
			for (size_t i = 0; i < n; i++)
				print_json(&all[i], i == 0);
			printf("%s]\n", n ? "\n" : "");
		} else {
			printf("%5s %-16s %-21s %-7s %6s %4s %6s %8s %6s %6s\n", "ID", "NAME", "ADDR",
			       "STATE", "LOAD", "CPUS", "SPEED", "MEMFREE", "GUESTS", "AGE");
			for (size_t i = 0; i < n; i++)
				print_row(&all[i]);
		}
		if (fflush(stdout) != 0)
			rc = OMX_EXIT_ERROR;
	}
	free(all);
	free(rep);
	return rc;
}
