/* clock.h - absolute deadlines for the pthread timed waits (cond_timedwait, timedjoin). */
#pragma once
#include <stdint.h>
#include <time.h>

/* *ts = now on `clk` + ms (ms >= 0), normalized. */
static inline void omx_deadline_in(clockid_t clk, int64_t ms, struct timespec *ts)
{
	(void)clock_gettime(clk, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}
