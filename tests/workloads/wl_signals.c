/* wl_signals.c - signal handlers, an interval timer, an alternate stack, a blocked and pending
 * signal. After restore: the timer still ticks, the handlers, their masks and flags are the
 * same, raise() reaches us (glibc's cached TID must still be ours), the handler runs on the
 * alternate stack, SIGWINCH is still blocked and still pending. */
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#include "wl.h"

static volatile sig_atomic_t ticks, usr2_on_alt;
static char altstack[64 * 1024];

static void on_alrm(int sig)
{
	(void)sig;
	ticks++;
}

static void on_usr2(int sig)
{
	(void)sig;
	char here;
	usr2_on_alt = &here >= altstack && &here < altstack + sizeof(altstack);
}

int main(int argc, char **argv)
{
	wl_arm_verify();
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction a = { .sa_handler = on_alrm, .sa_flags = SA_RESTART };
	struct sigaction u = { .sa_handler = on_usr2, .sa_flags = SA_ONSTACK | SA_NODEFER };
	sigemptyset(&a.sa_mask);
	sigemptyset(&u.sa_mask);
	sigaddset(&u.sa_mask, SIGHUP);
	sigset_t blk;
	sigemptyset(&blk);
	sigaddset(&blk, SIGWINCH);
	struct itimerval it = { { 0, 5000 }, { 0, 5000 } };
	if (sigaltstack(&ss, NULL) || sigaction(SIGALRM, &a, NULL) || sigaction(SIGUSR2, &u, NULL) ||
	    sigprocmask(SIG_BLOCK, &blk, NULL) || raise(SIGWINCH) || setitimer(ITIMER_REAL, &it, NULL))
		return 1;
	wl_ready(argc, argv);
	while (!wl_verify_now)
		pause();
	int t0 = ticks;
	struct timespec ts = { 0, 100000000 };
	while (nanosleep(&ts, &ts) < 0)
		;
	int ok = 1;
	if (ticks - t0 < 5) {
		fprintf(stderr, "timer: %d ticks in 100 ms\n", ticks - t0);
		ok = 0;
	}
	struct sigaction q;
	if (sigaction(SIGUSR2, NULL, &q) || q.sa_handler != on_usr2 ||
	    !(q.sa_flags & SA_ONSTACK) || !(q.sa_flags & SA_NODEFER) ||
	    !sigismember(&q.sa_mask, SIGHUP) || sigismember(&q.sa_mask, SIGINT)) {
		fprintf(stderr, "SIGUSR2 action changed\n");
		ok = 0;
	}
	if (raise(SIGUSR2) || !usr2_on_alt) {
		fprintf(stderr, "raise(SIGUSR2) did not run on the alternate stack\n");
		ok = 0;
	}
	sigset_t cur, pend;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	sigpending(&pend);
	if (!sigismember(&cur, SIGWINCH) || !sigismember(&pend, SIGWINCH)) {
		fprintf(stderr, "SIGWINCH no longer blocked and pending\n");
		ok = 0;
	}
	struct itimerval g;
	if (getitimer(ITIMER_REAL, &g) || g.it_interval.tv_usec != 5000) {
		fprintf(stderr, "itimer interval lost\n");
		ok = 0;
	}
	stack_t s2;
	if (sigaltstack(NULL, &s2) || s2.ss_sp != altstack || s2.ss_size != sizeof(altstack)) {
		fprintf(stderr, "sigaltstack lost\n");
		ok = 0;
	}
	return wl_result(ok, "signals");
}
