/* restore.c - `omx restore FILE [--detach] [--stats]`.
 *
 * Rebuilds the process of FILE ("-": stdin) as a child of this command, with this command's
 * standard streams for those that were not regular files. Without --detach, omx restore stays
 * in the foreground as its parent: SIGTERM, SIGHUP, SIGUSR1/2 are passed on, SIGINT/SIGQUIT
 * are left to the terminal (which sends them to both), and the exit status is the process's
 * (128 + signal number if it was killed). With --detach it prints the PID and returns at once.
 * If the image's PID was taken, a small detached supervisor (`omx-ident`, migrate/ident.h)
 * answers the process's identity calls for as long as it lives. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/migrate_cmds.h"
#include "cli/subcommands.h"
#include "migrate/ident.h"
#include "migrate/restore.h"

static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
	if (child_pid > 0)
		(void)kill((pid_t)child_pid, sig);
}

static int wait_child(pid_t pid)
{
	child_pid = pid;
	struct sigaction fw = { .sa_handler = forward, .sa_flags = SA_RESTART };
	sigemptyset(&fw.sa_mask);
	const int fwd[] = { SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 };
	for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
		(void)sigaction(fwd[i], &fw, NULL);
	(void)signal(SIGINT, SIG_IGN);
	(void)signal(SIGQUIT, SIG_IGN);
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "omx: waiting for %d: %s\n", pid, strerror(errno));
			return OMX_EXIT_ERROR;
		}
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

int restore_main(int argc, char **argv)
{
	if (omx_wants_help(argc, argv)) {
		omx_subcommand_help("restore", true);
		return OMX_EXIT_OK;
	}
	const char *in = NULL;
	int detach = 0, stats = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--detach") == 0)
			detach = 1;
		else if (strcmp(argv[i], "--stats") == 0)
			stats = 1;
		else if (!in)
			in = argv[i];
		else
			in = NULL, i = argc;
	}
	if (!in) {
		omx_subcommand_help("restore", false);
		return OMX_EXIT_USAGE;
	}
	int fd = STDIN_FILENO;
	if (strcmp(in, "-") != 0) {
		fd = open(in, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "omx: %s: %s\n", in, strerror(errno));
			return OMX_EXIT_ERROR;
		}
	}
	struct mig_reader rd = { .source = mig_source_fd, .ctx = &fd };
	struct mig_restore_stats st;
	char why[1024] = "";
	pid_t pid;
	int ident = -1;
	int r = mig_restore(&rd, &pid, &ident, &st, why, sizeof(why));
	mig_reader_release(&rd);
	if (fd != STDIN_FILENO)
		(void)close(fd);
	if (r < 0) {
		fprintf(stderr, "omx: cannot restore %s: %s\n", in, why[0] ? why : strerror(-r));
		return OMX_EXIT_ERROR;
	}
	if (stats)
		fprintf(stderr, "restore_us=%llu pages_us=%llu page_bytes=%llu same_pid=%d pid=%d\n",
			(unsigned long long)st.total_us, (unsigned long long)st.pages_us,
			(unsigned long long)st.page_bytes, st.same_pid, pid);
	if (st.vdso_syscalls)
		fprintf(stderr, "omx: the image comes from another kernel build: its vDSO calls "
				"(clock_gettime, ...) now make system calls\n");
	if (ident >= 0) {
		/* a supervisor of its own, so the process keeps its identity after we exit */
		r = mig_ident_spawn(ident, pid, st.orig_pid);
		if (r < 0) {
			fprintf(stderr, "omx: cannot supervise %d's identity: %s\n", pid, strerror(-r));
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, NULL, 0);
			return OMX_EXIT_ERROR;
		}
		fprintf(stderr, "omx: PID %d was taken: restored as %d, which still sees itself as %d\n",
			st.orig_pid, pid, st.orig_pid);
	}
	if (detach) {
		printf("%d\n", pid);
		return OMX_EXIT_OK;
	}
	return wait_child(pid);
}
