/* checkpoint.c - `omx checkpoint PID -o FILE [--leave-running|--kill] [--compress] [--stats]`.
 *
 * Freezes PID, writes its image and lets it run on (default) or kills it. The image is written
 * to FILE.part and renamed over FILE only once complete, so FILE is never a partial image;
 * "-o -" streams it to stdout. --compress deflates page chunks (zlib level 1: fast; zero pages
 * are skipped anyway). Refused processes are left untouched, with the reasons printed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/migrate_cmds.h"
#include "cli/subcommands.h"
#include "migrate/capture.h"

static void print_stats(const struct mig_capture_stats *s)
{
	fprintf(stderr,
		"freeze_us=%llu state_us=%llu pages_us=%llu scan_us=%llu rss_bytes=%llu page_bytes=%llu "
		"image_bytes=%llu zero_pages=%llu file_pages=%llu\n",
		(unsigned long long)s->freeze_us, (unsigned long long)s->state_us,
		(unsigned long long)s->pages_us, (unsigned long long)s->scan_us,
		(unsigned long long)s->rss_bytes,
		(unsigned long long)s->page_bytes, (unsigned long long)s->image_bytes,
		(unsigned long long)s->zero_pages, (unsigned long long)s->file_pages);
}

int checkpoint_main(int argc, char **argv)
{
	if (omx_wants_help(argc, argv)) {
		omx_subcommand_help("checkpoint", true);
		return OMX_EXIT_OK;
	}
	const char *out = NULL;
	long pid = 0;
	int stats = 0, compress = 0;
	enum mig_after after = MIG_AFTER_LEAVE;
	for (int i = 1; i < argc; i++) {
		char *end;
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(argv[i], "--leave-running") == 0)
			after = MIG_AFTER_LEAVE;
		else if (strcmp(argv[i], "--kill") == 0)
			after = MIG_AFTER_KILL;
		else if (strcmp(argv[i], "--stats") == 0)
			stats = 1;
		else if (strcmp(argv[i], "--compress") == 0)
			compress = 1;
		else if (!pid && (pid = strtol(argv[i], &end, 10)) > 0 && !*end)
			continue;
		else
			pid = -1;
	}
	if (!out || pid <= 0) {
		omx_subcommand_help("checkpoint", false);
		return OMX_EXIT_USAGE;
	}
	char part[4096];
	int fd = STDOUT_FILENO;
	if (strcmp(out, "-") != 0) {
		if (snprintf(part, sizeof(part), "%s.part", out) >= (int)sizeof(part)) {
			fprintf(stderr, "omx: %s: name too long\n", out);
			return OMX_EXIT_ERROR;
		}
		fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0) {
			fprintf(stderr, "omx: %s: %s\n", part, strerror(errno));
			return OMX_EXIT_ERROR;
		}
	}
	struct mig_writer w = { .sink = mig_sink_fd, .ctx = &fd, .compress = compress };
	struct mig_capture_stats st;
	char why[1024] = "";
	int r = mig_capture((pid_t)pid, after, &w, &st, why, sizeof(why));
	mig_writer_release(&w);
	if (fd != STDOUT_FILENO) {
		if (r == 0 && fsync(fd) < 0)
			r = -errno;
		if (close(fd) < 0 && r == 0)
			r = -errno;
		if (r == 0 && rename(part, out) < 0)
			r = -errno;
		if (r < 0)
			(void)unlink(part);
	}
	if (r == -EBUSY) {
		fprintf(stderr, "omx: process %ld cannot be checkpointed: %s\n", pid, why);
		return OMX_EXIT_ERROR;
	}
	if (r < 0) {
		fprintf(stderr, "omx: checkpoint of %ld failed: %s\n", pid, why[0] ? why : strerror(-r));
		return OMX_EXIT_ERROR;
	}
	if (stats)
		print_stats(&st);
	return OMX_EXIT_OK;
}
