/* wl.h - shared bits of the migration workloads (zdtm-style: build state, get checkpointed and
 * restored, verify, exit 0 = state intact, 1 = damaged). Header-only: each wl_*.c is one
 * executable. argv[1] is a file written once the state is built ("ready"); the driver then
 * checkpoints, and later sends SIGUSR1 to ask for verification (workloads that end on their
 * own do not wait for it). */
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t wl_verify_now;

static void wl_on_usr1(int sig)
{
	(void)sig;
	wl_verify_now = 1;
}

static inline void wl_arm_verify(void)
{
	struct sigaction sa = { .sa_handler = wl_on_usr1 };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0) {
		perror("sigaction");
		exit(1);
	}
}

static inline void wl_ready(int argc, char **argv)
{
	if (argc < 2)
		return;
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f) != 0 || rename(tmp, argv[1]) < 0) {
		perror("ready file");
		exit(1);
	}
}

static inline int wl_result(int ok, const char *what)
{
	fprintf(stderr, "%s: %s\n", what, ok ? "PASS" : "FAIL");
	return ok ? 0 : 1;
}
