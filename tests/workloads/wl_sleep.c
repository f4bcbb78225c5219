/* wl_sleep.c - sleeps in nanosleep (argv[2] ms, default 3000), frozen and moved meanwhile.
 * The sleep must finish normally (no EINTR leaking out), not earlier than requested on the
 * monotonic clock, and not absurdly later (the remaining time is honoured, not restarted). */
#include <errno.h>
#include <time.h>

#include "wl.h"

int main(int argc, char **argv)
{
	long ms = argc > 2 ? atol(argv[2]) : 3000;
	struct timespec req = { ms / 1000, (ms % 1000) * 1000000 }, rem = { 0, 0 }, t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	wl_ready(argc, argv);
	int r = nanosleep(&req, &rem);
	int e = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long took = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	fprintf(stderr, "nanosleep=%d errno=%d took=%ld ms (asked %ld)\n", r, r ? e : 0, took, ms);
	return wl_result(r == 0 && took >= ms && took < ms + 5000, "sleep");
}
