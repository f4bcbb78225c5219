/* ckpt_speed.c - does a restored process compute as fast as the original? (goal >= 99 %)
 *
 * Usage: ckpt_speed OMX_PATH   (root)
 *
 * A child runs a fixed integer + floating-point kernel in chunks of equal work and times each
 * chunk itself (CLOCK_MONOTONIC through the vDSO, which is what the restore moves). After every
 * window of WINDOW chunks it appends the fastest chunk of the window (ns) to a log file (a
 * regular file: it moves with the process, appending). The fastest chunk is the measure: the
 * machine is shared, and anything else running only ever makes chunks slower.
 Processes compared take turns (one runs a window while the other is stopped, SAMPLES turns
 * each), so both see the same machine:
 *   the original vs a twin (same code, never moved): the control, should read ~100 %;
 *   the original vs its copy restored while the original still holds the PID: the copy runs
 *     under the identity filter (migrate/ident.h) - pure computation must not notice;
 *   the twin vs the copy restored after the original was killed (same PID, no filter).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_ITERS 1500000
#define WINDOW 50
#define SAMPLES 6
#define MAX_LINES 4096

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static __attribute__((noreturn)) void compute(const char *log)
{
	int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || (fd != 3 && (dup2(fd, 3) < 0 || close(fd) < 0)))
		_exit(1);
	(void)syscall(SYS_close_range, 4, ~0u, 0);
	uint64_t x = 88172645463325252ull;
	double f = 1.0;
	for (;;) {
		uint64_t best = UINT64_MAX;
		for (int c = 0; c < WINDOW; c++) {
			uint64_t t0 = now_ns();
			for (int i = 0; i < CHUNK_ITERS; i++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				f = f * 1.0000001 + (double)(x & 0xff) * 1e-9;
			}
			uint64_t d = now_ns() - t0;
			if (d < best)
				best = d;
		}
		char line[64];
		int n = snprintf(line, sizeof(line), "%llu %.6f\n", (unsigned long long)best,
				 fmod(f, 2.0)); /* printing f keeps the float work live */
		if (write(3, line, (size_t)n) != n)
			_exit(1);
	}
}

/* Reads the log: the best-chunk figures, in order. Returns their count. */
static size_t read_log(const char *log, uint64_t *v, size_t cap)
{
	FILE *f = fopen(log, "re");
	size_t n = 0;
	unsigned long long a;
	double b;
	while (f && n < cap && fscanf(f, "%llu %lf", &a, &b) == 2)
		v[n++] = a;
	if (f)
		fclose(f);
	return n;
}

/* Waits until the log has `want` lines; returns the last one's figure, 0 on timeout. */
static uint64_t line_at(const char *log, size_t want)
{
	static uint64_t v[MAX_LINES];
	size_t n = 0;
	for (int i = 0; i < 60000 && (n = read_log(log, v, MAX_LINES)) < want; i++)
		usleep(10000);
	return n >= want ? v[want - 1] : 0;
}

static size_t lines(const char *log)
{
	static uint64_t v[MAX_LINES];
	return read_log(log, v, MAX_LINES);
}

/* Runs a and b in turn, one at a time (the other stopped), SAMPLES windows each, so both see
 * the same machine; the first window of each turn is dropped (it spans the switch). Sets the
 * best chunk of each; returns 0, or -1 if one stopped reporting. Both are left stopped. */
static int race(pid_t a, const char *la, pid_t b, const char *lb, uint64_t *ret_a,
		uint64_t *ret_b)
{
	pid_t who[2] = { a, b };
	const char *log[2] = { la, lb };
	uint64_t best[2] = { UINT64_MAX, UINT64_MAX };
	(void)kill(a, SIGSTOP);
	(void)kill(b, SIGSTOP);
	for (int s = 0; s < SAMPLES; s++) {
		for (int k = 0; k < 2; k++) {
			size_t at = lines(log[k]);
			if (kill(who[k], SIGCONT) < 0)
				return -1;
			uint64_t v = line_at(log[k], at + 2);
			(void)kill(who[k], SIGSTOP);
			if (!v)
				return -1;
			if (v < best[k])
				best[k] = v;
		}
	}
	*ret_a = best[0];
	*ret_b = best[1];
	return 0;
}

/* `omx checkpoint PID -o - MODE | omx restore - --detach`; returns the restored PID. */
static pid_t move(const char *omx, pid_t pid, const char *mode)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "%s checkpoint %d -o - %s | %s restore - --detach 2>/dev/null",
		 omx, pid, mode, omx);
	FILE *p = popen(cmd, "r");
	int r = 0;
	if (!p || fscanf(p, "%d", &r) != 1)
		r = 0;
	if (p && pclose(p) != 0)
		r = 0;
	return r;
}

static int seccomp_mode(pid_t pid)
{
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "re");
	int mode = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	if (f)
		fclose(f);
	return mode;
}

static pid_t start_compute(const char *log)
{
	pid_t p = fork();
	if (p == 0)
		compute(log);
	return p;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: ckpt_speed OMX_PATH\n");
		return 2;
	}
	char lo[] = "/tmp/ckpt_speed.XXXXXX", lt[] = "/tmp/ckpt_speed.XXXXXX";
	int fo = mkstemp(lo), ft = mkstemp(lt);
	if (fo < 0 || ft < 0 || close(fo) < 0 || close(ft) < 0)
		return 1;
	/* twin: the same program, never moved, the yardstick for the same-PID restore */
	pid_t orig = start_compute(lo), twin = start_compute(lt), tr = 0, same = 0;
	uint64_t o1, t1, o2, r2, t3, s3;
	int rc = 1, filtered = 0;
	if (orig < 0 || twin < 0 || !line_at(lo, 1) || !line_at(lt, 1) ||
	    race(orig, lo, twin, lt, &o1, &t1) < 0)
		goto out;
	(void)kill(orig, SIGCONT);
	tr = move(argv[1], orig, "--leave-running");
	if (tr <= 0) {
		fprintf(stderr, "checkpoint | restore (PID taken) failed\n");
		goto out;
	}
	filtered = seccomp_mode(tr) == 2;
	if (race(orig, lo, tr, lo, &o2, &r2) < 0) /* one log: only one of them runs at a time */
		goto out;
	(void)kill(tr, SIGKILL);
	(void)kill(orig, SIGCONT);
	same = move(argv[1], orig, "--kill");
	(void)waitpid(orig, NULL, 0);
	orig = 0;
	if (same <= 0) {
		fprintf(stderr, "checkpoint | restore failed\n");
		goto out;
	}
	if (race(twin, lt, same, lo, &t3, &s3) < 0)
		goto out;
	printf("best chunk of %d iterations (%d windows of %d chunks, processes taking turns):\n",
	       CHUNK_ITERS, SAMPLES, WINDOW);
	printf("  control: original vs its never-moved twin: %.3f vs %.3f ms = %.2f %%\n",
	       (double)o1 * 1e-6, (double)t1 * 1e-6, 100.0 * (double)t1 / (double)o1);
	printf("  restored, PID taken (identity filter %s) vs original: %.3f vs %.3f ms = %.2f %% "
	       "of original speed\n",
	       filtered ? "on" : "OFF", (double)r2 * 1e-6, (double)o2 * 1e-6,
	       100.0 * (double)o2 / (double)r2);
	printf("  restored, same PID vs the twin: %.3f vs %.3f ms = %.2f %% of original speed "
	       "(goal >= 99 %%)\n",
	       (double)s3 * 1e-6, (double)t3 * 1e-6, 100.0 * (double)t3 / (double)s3);
	rc = 0;
out:
	for (int i = 0; i < 4; i++) {
		pid_t p = (pid_t[]){ orig, twin, tr, same }[i];
		if (p > 0)
			(void)kill(p, SIGKILL);
	}
	if (orig > 0)
		(void)waitpid(orig, NULL, 0);
	if (twin > 0)
		(void)waitpid(twin, NULL, 0);
	(void)unlink(lo);
	(void)unlink(lt);
	return rc;
}
