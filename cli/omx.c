/* omx.c - the omx command: a table of {name, fn, help} subcommands (one file each).
 *
 *   omx [--state-dir DIR] SUBCOMMAND [ARGS...]
 *
 * Exit codes: 0 ok, 1 error, 2 usage. Errors go to stderr prefixed "omx: ".
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/mfs_cmds.h"
#include "cli/migrate_cmds.h"
#include "cli/subcommands.h"

/* ---- omx ls|cat|cp|stat|rm|mkdir: oMFS requests through the local omxd ---------------------
 * The transport hands each encoded oMFS request to omxd on the control socket (CONTROL_OP_OMFS);
 * omxd serves it itself or forwards it over the mesh to the node, and returns the encoded reply.
 * Requests stay under CONTROL_OMFS_MAX, so reads and writes go in 64 KiB pieces. */

#define MFS_IO_SIZE	    (64 * 1024)
#define MFS_CALL_TIMEOUT_MS 60000 /* omxd answers first: its own timeout is 8 s */

struct ctl_transport {
	bool reported; /* the daemon-level failure was already explained on stderr */
};

static int ctl_request(void *ctx, uint32_t node, const uint8_t *req, size_t len,
		       uint8_t **ret_resp, size_t *ret_len)
{
	struct ctl_transport *t = ctx;
	if (len > CONTROL_OMFS_MAX)
		return -EMSGSIZE;
	struct control_request *cr = calloc(1, sizeof(*cr));
	struct control_reply *rep = calloc(1, sizeof(*rep));
	int r = -ENOMEM;
	if (!cr || !rep)
		goto out;
	struct omfs_cred cred;
	omfs_cred_self(&cred);
	cr->op = CONTROL_OP_OMFS;
	cr->node = node;
	cr->uid = cred.uid;
	cr->gid = cred.gid;
	cr->ngroups = cred.ngroups < CONTROL_GROUPS_MAX ? cred.ngroups : CONTROL_GROUPS_MAX;
	memcpy(cr->groups, cred.groups, cr->ngroups * sizeof(cr->groups[0]));
	memcpy(cr->omfs, req, len);
	cr->omfs_len = len;
	r = control_call(omx_state_dir(), cr, MFS_CALL_TIMEOUT_MS, rep);
	if (r < 0) {
		if (!t->reported)
			fprintf(stderr, "omx: cannot reach omxd at %s: %s\n", omx_state_dir(),
				strerror(-r));
		t->reported = true;
		r = -ENOTCONN;
		goto out;
	}
	if (rep->error < 0) {
		r = rep->error;
		goto out;
	}
	*ret_resp = malloc(rep->omfs_len ? rep->omfs_len : 1);
	if (!*ret_resp) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(*ret_resp, rep->omfs, rep->omfs_len);
	*ret_len = rep->omfs_len;
	r = 0;
out:
	free(cr);
	free(rep);
	return r;
}

static int mfs_run(int (*fn)(const struct mfs_env *, int, char **), int argc, char **argv)
{
	if (omx_wants_help(argc, argv)) {
		omx_subcommand_help(argv[0], true);
		return OMX_EXIT_OK;
	}
	struct control_reply *rep = calloc(1, sizeof(*rep));
	if (!rep) {
		fprintf(stderr, "omx: out of memory\n");
		return OMX_EXIT_ERROR;
	}
	struct control_request st = { .op = CONTROL_OP_STATUS };
	int rc = omx_call(&st, 5000, rep); /* this node's id: /mfs/here, /mfs/home */
	uint32_t self = rep->status.node_id;
	free(rep);
	if (rc != OMX_EXIT_OK)
		return rc;
	struct ctl_transport ct = { 0 };
	struct omfs_transport t = { .request = ctl_request, .ctx = &ct };
	struct omfs_client *client = NULL;
	if (omfs_client_new(&t, &client) < 0) {
		fprintf(stderr, "omx: out of memory\n");
		return OMX_EXIT_ERROR;
	}
	struct mfs_env env = {
		.client = client, .self = self, .out = stdout, .err = stderr, .io_size = MFS_IO_SIZE
	};
	omfs_cred_self(&env.cred);
	rc = fn(&env, argc, argv);
	fflush(stdout);
	omfs_client_free(&client);
	return rc;
}

static int ls_main(int argc, char **argv)
{
	return mfs_run(mfs_ls_main, argc, argv);
}
static int cat_main(int argc, char **argv)
{
	return mfs_run(mfs_cat_main, argc, argv);
}
static int cp_main(int argc, char **argv)
{
	return mfs_run(mfs_cp_main, argc, argv);
}
static int stat_main(int argc, char **argv)
{
	return mfs_run(mfs_stat_main, argc, argv);
}
static int rm_main(int argc, char **argv)
{
	return mfs_run(mfs_rm_main, argc, argv);
}
static int mkdir_main(int argc, char **argv)
{
	return mfs_run(mfs_mkdir_main, argc, argv);
}

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
};

static const struct subcommand subcommands[] = {
	{ "keygen", keygen_main, "keygen [--seed ADDR:PORT]...",
	  "Print a new CLUSTER_KEY (a fresh 32-byte secret plus the given bootstrap endpoints) on\n"
	  "stdout, and nothing else. Anyone holding it can join the cluster: treat it as a password." },
	{ "join", join_main, "join [--timeout SECONDS] CLUSTER_KEY|-",
	  "Make the local omxd join the cluster of CLUSTER_KEY. Succeeds once another member answers\n"
	  "(or at once on a node that is itself a bootstrap endpoint); fails, changing nothing, on a\n"
	  "malformed key, a key of another cluster while already joined, or when no bootstrap node\n"
	  "answers within the timeout (default 10 s): a wrong key and unreachable seeds look alike.\n"
	  "'-' reads the key from stdin (keeps it out of the process list)." },
	{ "leave", leave_main, "leave",
	  "Leave the cluster gracefully (members see the node as 'left') and forget the stored\n"
	  "cluster key, so omxd stays idle after a restart." },
	{ "nodes", nodes_main, "nodes [--json]",
	  "List every node this node knows: id, name, address, state (alive, suspect, dead, left),\n"
	  "load, CPUs, speed, free memory, guests and the age of the information.\n"
	  "--json prints an array of objects: id, name, addr, state, load, cpus, speed (MHz),\n"
	  "mem_free and mem_total (bytes), guests, age_ms, self, cpu_quota and cpu_usage (CPUs),\n"
	  "accept_guests, kernel, incarnation, version, pubkey." },
	{ "status", status_main, "status [--json]",
	  "Show the local node: id, name, address, state (idle, joining, alive, leaving, ...),\n"
	  "cluster id, member counts, uptime and every counter (traffic, dropped inputs by reason,\n"
	  "handshake failures, control socket refusals)." },
	{ "checkpoint", checkpoint_main,
	  "checkpoint PID -o FILE [--leave-running|--kill] [--compress] [--stats]",
	  "Freeze process PID, write its image to FILE ('-': stdout), then let it run on (default)\n"
	  "or kill it. Refused processes (see cantmove) are left untouched. --compress deflates\n"
	  "the pages (zlib). --stats prints timings and sizes on stderr." },
	{ "restore", restore_main, "restore FILE [--detach] [--stats]",
	  "Bring the process of image FILE ('-': stdin) back to life here, as a child of this\n"
	  "command, with its original PID if free. Stays in the foreground and exits with the\n"
	  "process's status (128+N if killed by signal N); --detach prints the PID and returns." },
	{ "cantmove", cantmove_main, "cantmove PID",
	  "Print why process PID cannot be checkpointed, one reason a line (exit 1), or that it\n"
	  "can move (exit 0). Reads /proc only." },
	{ "ls", ls_main, "ls [-l] [-a] [-d] [-1] /mfs/NODE/PATH...",
	  "List a directory (or name a file) on node NODE without a FUSE mount, through the local\n"
	  "omxd and the mesh: one name per line, -l the long form of ls -l, -a dot files too, -d\n"
	  "the directory itself. NODE is a node id, 'here' or 'home'. Exit 2 when an operand cannot\n"
	  "be accessed, as ls." },
	{ "cat", cat_main, "cat PATH...",
	  "Write files to stdout; each PATH is /mfs/NODE/path or a local file." },
	{ "cp", cp_main, "cp [-rRpa] SOURCE DEST | cp [-rRpa] SOURCE... DIRECTORY",
	  "Copy files; any operand may be /mfs/NODE/path or local. -r/-R copies directories\n"
	  "recursively (links as links, fifos and devices as nodes), -p keeps mode, owner and\n"
	  "times, -a is -rp plus hard links. Without -p the mode is kept less the umask." },
	{ "stat", stat_main, "stat /mfs/NODE/PATH...",
	  "Print a file's status in the format of stat(1) (no birth time)." },
	{ "rm", rm_main, "rm [-frRd] /mfs/NODE/PATH...",
	  "Remove files; -r/-R directories and their contents, -d empty directories, -f ignores\n"
	  "missing ones. Refuses '.', '..' and a node's root." },
	{ "mkdir", mkdir_main, "mkdir [-p] [-m MODE] /mfs/NODE/PATH...",
	  "Create directories; -p parents too, no error if existing." },
	{ "version", version_main, "version", "Print the omx version." },
	{ "help", help_main, "help [SUBCOMMAND]", "Show the list of subcommands, or one's help." },
};

#define N_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: omx [--state-dir DIR] SUBCOMMAND [ARGS...]\n\nSubcommands:\n");
	for (size_t i = 0; i < N_SUBCOMMANDS; i++)
		fprintf(f, "  omx %s\n", subcommands[i].usage);
	fprintf(f, "\nThe daemon is found through --state-dir, else $OMX_STATE_DIR, else /var/lib/omx.\n"
		   "'omx help SUBCOMMAND' or 'omx SUBCOMMAND --help' for details.\n");
}

void omx_subcommand_help(const char *name, bool to_stdout)
{
	FILE *f = to_stdout ? stdout : stderr;
	for (size_t i = 0; i < N_SUBCOMMANDS; i++)
		if (strcmp(subcommands[i].name, name) == 0) {
			fprintf(f, "usage: omx %s\n\n%s\n", subcommands[i].usage, subcommands[i].help);
			return;
		}
	usage(f);
}

int help_main(int argc, char **argv)
{
	if (argc > 2) {
		omx_subcommand_help("help", false);
		return OMX_EXIT_USAGE;
	}
	if (argc == 2 && !omx_wants_help(argc, argv)) {
		for (size_t i = 0; i < N_SUBCOMMANDS; i++)
			if (strcmp(subcommands[i].name, argv[1]) == 0) {
				omx_subcommand_help(argv[1], true);
				return OMX_EXIT_OK;
			}
		fprintf(stderr, "omx: unknown subcommand '%s'\n", argv[1]);
		return OMX_EXIT_USAGE;
	}
	usage(stdout);
	return OMX_EXIT_OK;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0) { /* before any sodium_malloc() of key material */
		fprintf(stderr, "omx: libsodium failed to initialize\n");
		return OMX_EXIT_ERROR;
	}
	int i = 1;
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--state-dir") == 0 && i + 1 < argc) {
			omx_set_state_dir(argv[i + 1]);
			i += 2;
		} else if (strncmp(argv[i], "--state-dir=", 12) == 0) {
			omx_set_state_dir(argv[i] + 12);
			i++;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return OMX_EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			return version_main(1, argv);
		} else {
			fprintf(stderr, "omx: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return OMX_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return OMX_EXIT_USAGE;
	}
	for (size_t k = 0; k < N_SUBCOMMANDS; k++)
		if (strcmp(subcommands[k].name, argv[i]) == 0)
			return subcommands[k].fn(argc - i, argv + i);
	fprintf(stderr, "omx: unknown subcommand '%s'\n", argv[i]);
	usage(stderr);
	return OMX_EXIT_USAGE;
}
