/* wl_ptimers.c - POSIX timers survive: a 5 ms periodic CLOCK_MONOTONIC timer signalling
 * SIGUSR2 with a value, a 1000 s CLOCK_REALTIME SIGEV_NONE timer, a gap in the ids (a deleted
 * timer), a 4 s one-shot SIGEV_THREAD_ID timer to ourselves with SIGRTMIN, and a disarmed
 * process-CPU-time timer. After restore: same ids, the periodic one ticks with its value, the
 * long one kept its remaining time, the one-shot fires once, the gap is still a gap. */
#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

#include "wl.h"

static volatile sig_atomic_t ticks, bad_value, rt_fired, rt_value;

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	ticks++;
	if (si->si_value.sival_int != 77)
		bad_value = 1;
}

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	rt_fired++;
	rt_value = si->si_value.sival_int;
}

static int mk(clockid_t c, int notify, int sig, int val, timer_t *t)
{
	struct sigevent se = { .sigev_notify = notify, .sigev_signo = sig };
	se.sigev_value.sival_int = val;
	if (notify == SIGEV_THREAD_ID)
		se._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	return timer_create(c, &se, t);
}

static int arm(timer_t t, long long value_ns, long long interval_ns)
{
	struct itimerspec its = { { interval_ns / 1000000000, interval_ns % 1000000000 },
				  { value_ns / 1000000000, value_ns % 1000000000 } };
	return timer_settime(t, 0, &its, NULL);
}

int main(int argc, char **argv)
{
	wl_arm_verify();
	struct sigaction u = { .sa_sigaction = on_usr2, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct sigaction r = { .sa_sigaction = on_rt, .sa_flags = SA_SIGINFO | SA_RESTART };
	sigemptyset(&u.sa_mask);
	sigemptyset(&r.sa_mask);
	timer_t tick, lng, gap, rt, cpu;
	if (sigaction(SIGUSR2, &u, NULL) || sigaction(SIGRTMIN, &r, NULL) ||
	    mk(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR2, 77, &tick) ||
	    mk(CLOCK_REALTIME, SIGEV_NONE, 0, 0, &lng) ||
	    mk(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, &gap) ||
	    mk(CLOCK_MONOTONIC, SIGEV_THREAD_ID, SIGRTMIN, 99, &rt) ||
	    mk(CLOCK_PROCESS_CPUTIME_ID, SIGEV_SIGNAL, SIGUSR2, 77, &cpu) || timer_delete(gap) ||
	    arm(tick, 5000000, 5000000) || arm(lng, 1000000000000ll, 0) ||
	    arm(rt, 4000000000ll, 0)) {
		perror("timers");
		return 1;
	}
	wl_ready(argc, argv);
	while (!wl_verify_now)
		pause();
	int ok = 1;
	int t0 = ticks;
	struct timespec ts = { 0, 100000000 };
	while (nanosleep(&ts, &ts) < 0)
		;
	if (ticks - t0 < 5 || bad_value) {
		fprintf(stderr, "periodic timer: %d ticks in 100 ms, bad value %d\n", ticks - t0,
			bad_value);
		ok = 0;
	}
	struct itimerspec g;
	if (timer_gettime(lng, &g) || g.it_value.tv_sec < 900 || g.it_value.tv_sec > 1000 ||
	    g.it_interval.tv_sec) {
		fprintf(stderr, "long timer lost its remaining time\n");
		ok = 0;
	}
	errno = 0;
	if (timer_gettime(gap, &g) == 0 || errno != EINVAL) {
		fprintf(stderr, "the deleted timer's id is in use\n");
		ok = 0;
	}
	if (timer_gettime(cpu, &g) || g.it_value.tv_sec || g.it_value.tv_nsec) {
		fprintf(stderr, "CPU-time timer missing or armed\n");
		ok = 0;
	}
	for (int i = 0; i < 200 && !rt_fired; i++) {
		ts = (struct timespec){ 0, 50000000 };
		while (nanosleep(&ts, &ts) < 0)
			;
	}
	if (rt_fired != 1 || rt_value != 99) {
		fprintf(stderr, "one-shot thread timer fired %d times, value %d\n", rt_fired,
			rt_value);
		ok = 0;
	}
	return wl_result(ok, "ptimers");
}
