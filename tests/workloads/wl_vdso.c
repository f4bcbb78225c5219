/* wl_vdso.c - time through the vDSO (clock_gettime, gettimeofday, time, sched_getcpu) keeps
 * working and agrees with the system calls, whether the restored process got the live vDSO
 * moved under it or its old one redirected to system calls (another kernel build). */
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "wl.h"

static int64_t ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static int sane(int64_t *ret_mono)
{
	struct timespec a, b, r;
	if (clock_gettime(CLOCK_MONOTONIC, &a) || syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &b) ||
	    clock_gettime(CLOCK_REALTIME, &r))
		return 0;
	struct timeval tv;
	if (gettimeofday(&tv, NULL))
		return 0;
	time_t t = time(NULL);
	int ok = ns(&b) >= ns(&a) && ns(&b) - ns(&a) < 2000000000ll;
	ok &= tv.tv_sec - r.tv_sec < 2 && r.tv_sec - tv.tv_sec < 2 && t - r.tv_sec < 2 &&
	      r.tv_sec - t < 2;
	ok &= sched_getcpu() >= 0;
	*ret_mono = ns(&a);
	return ok;
}

int main(int argc, char **argv)
{
	wl_arm_verify();
	int64_t before, after;
	if (!sane(&before))
		return 1;
	wl_ready(argc, argv);
	while (!wl_verify_now) {
		struct timespec d = { 0, 1000000 };
		int64_t m;
		if (!sane(&m) || m < before)
			return wl_result(0, "vdso (while waiting)");
		before = m;
		nanosleep(&d, NULL);
	}
	int ok = sane(&after) && after >= before;
	return wl_result(ok, "vdso");
}
