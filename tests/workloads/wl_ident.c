/* wl_ident.c - a process that relies on its own PID: remembers getpid() at start, and at each
 * SIGUSR1 (verify, keep running) or SIGHUP (verify, exit) checks that getpid/gettid still
 * return it and that signals sent to it by that PID arrive: raise() (glibc: tgkill with the
 * cached TID), kill, tgkill, sigqueue (with its value), pidfd_open + pidfd_send_signal; and
 * that getsid/getpgid/prlimit/sched_getaffinity on that PID describe itself. Each successful
 * check appends "ok VPID REALPID" to argv[2] (REALPID from /proc/self, which the kernel
 * resolves without asking the process); a failed one exits 1. */
#include <sched.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "wl.h"

static volatile sig_atomic_t hits, last_value, hup;
static pid_t vpid;

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	hits++;
	if (si->si_code == SI_QUEUE)
		last_value = si->si_value.sival_int;
}

static void on_hup(int sig)
{
	(void)sig;
	hup = 1;
	wl_verify_now = 1;
}

static int expect_hit(int before, const char *how)
{
	if (hits != before + 1) {
		fprintf(stderr, "ident: %s did not reach the handler\n", how);
		return 0;
	}
	return 1;
}

static int check(void)
{
	int ok = 1;
	pid_t p = getpid(), t = (pid_t)syscall(SYS_gettid);
	if (p != vpid || t != vpid) {
		fprintf(stderr, "ident: getpid %d gettid %d, expected %d\n", p, t, vpid);
		return 0;
	}
	int h = hits;
	ok &= raise(SIGUSR2) == 0 && expect_hit(h, "raise");
	h = hits;
	ok &= kill(vpid, SIGUSR2) == 0 && expect_hit(h, "kill");
	h = hits;
	ok &= syscall(SYS_tgkill, vpid, vpid, SIGUSR2) == 0 && expect_hit(h, "tgkill");
	h = hits;
	ok &= sigqueue(vpid, SIGUSR2, (union sigval){ .sival_int = 4242 }) == 0 &&
	      expect_hit(h, "sigqueue") && last_value == 4242;
	h = hits;
	int pfd = (int)syscall(SYS_pidfd_open, vpid, 0);
	ok &= pfd >= 0 && syscall(SYS_pidfd_send_signal, pfd, SIGUSR2, NULL, 0) == 0 &&
	      expect_hit(h, "pidfd_send_signal");
	if (pfd >= 0)
		close(pfd);
	ok &= kill(vpid, 0) == 0;
	ok &= getsid(vpid) == getsid(0) && getpgid(vpid) == getpgid(0);
	struct rlimit a, b;
	ok &= prlimit(vpid, RLIMIT_NOFILE, NULL, &a) == 0 && getrlimit(RLIMIT_NOFILE, &b) == 0 &&
	      a.rlim_cur == b.rlim_cur;
	cpu_set_t cs;
	ok &= sched_getaffinity(vpid, sizeof(cs), &cs) == 0 && CPU_COUNT(&cs) > 0;
	if (!ok)
		fprintf(stderr, "ident: a call on its own PID %d failed\n", vpid);
	return ok;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	vpid = getpid();
	wl_arm_verify();
	struct sigaction u = { .sa_sigaction = on_usr2, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct sigaction hp = { .sa_handler = on_hup };
	sigemptyset(&u.sa_mask);
	sigemptyset(&hp.sa_mask);
	if (sigaction(SIGUSR2, &u, NULL) || sigaction(SIGHUP, &hp, NULL))
		return 1;
	wl_ready(argc, argv);
	for (;;) {
		while (!wl_verify_now)
			pause();
		wl_verify_now = 0;
		if (!check())
			return wl_result(0, "ident");
		char self[64] = "";
		ssize_t k = readlink("/proc/self", self, sizeof(self) - 1);
		self[k > 0 ? k : 0] = 0;
		FILE *f = fopen(argv[2], "a");
		if (!f || fprintf(f, "ok %d %s\n", vpid, self) < 0 || fclose(f) != 0)
			return 1;
		if (hup)
			return wl_result(1, "ident");
	}
}
