/* ckpt_bench.c - checkpoint + restore of a process with MIB MiB of resident memory, against the
 * raw cost of moving its pages measured in the same run.
 *
 * Usage: ckpt_bench OMX_PATH [MIB]   (root; default 1024 MiB)
 *
 * Baseline: read the hog's pages from /proc/PID/mem and write them into a fresh process's
 * untouched anonymous memory through /proc/PID/mem (what any user-space mover must at least
 * do). Measured: `omx checkpoint PID -o - --kill --stats | omx restore - --detach --stats`,
 * i.e. image streamed through a pipe, no temporary file. Prints both, their ratio (goal
 * <= 1.5), the freeze time (and the part of it spent choosing pages) and the image size
 * against RSS (goal <= RSS + 1 %); and, on the same process, the cost of choosing pages by
 * reading /proc/PID/pagemap against one PAGEMAP_SCAN walk.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (4u << 20)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A child holding mib MiB of non-zero memory at *ret_addr; blocks in pause(). */
static pid_t start_hog(size_t mib, int fill, uint64_t *ret_addr)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		size_t len = mib << 20;
		uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				  -1, 0);
		if (m == MAP_FAILED)
			_exit(1);
		if (fill)
			for (size_t i = 0; i < len; i += 8)
				*(uint64_t *)(m + i) = (i * 0x9e3779b97f4a7c15ull) | 1;
		uint64_t a = (uint64_t)(uintptr_t)m;
		if (write(p[1], &a, sizeof(a)) != sizeof(a))
			_exit(1);
		(void)syscall(SYS_close_range, 3, ~0u, 0);
		for (;;)
			pause();
	}
	(void)close(p[1]);
	if (pid < 0 || read(p[0], ret_addr, sizeof(*ret_addr)) != sizeof(*ret_addr)) {
		(void)close(p[0]);
		return -1;
	}
	(void)close(p[0]);
	return pid;
}

static int open_mem(pid_t pid, int flags)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	return open(path, flags | O_CLOEXEC);
}

static double baseline(size_t mib)
{
	uint64_t src_addr, dst_addr;
	pid_t src = start_hog(mib, 1, &src_addr), dst = start_hog(mib, 0, &dst_addr);
	if (src < 0 || dst < 0)
		return -1;
	int in = open_mem(src, O_RDONLY), out = open_mem(dst, O_RDWR);
	uint8_t *buf = malloc(CHUNK);
	double t0 = now_s(), r = -1;
	if (in >= 0 && out >= 0 && buf) {
		size_t len = mib << 20, done = 0;
		while (done < len) {
			if (pread(in, buf, CHUNK, (off_t)(src_addr + done)) != CHUNK ||
			    pwrite(out, buf, CHUNK, (off_t)(dst_addr + done)) != CHUNK)
				break;
			done += CHUNK;
		}
		if (done == len)
			r = now_s() - t0;
	}
	free(buf);
	if (in >= 0)
		(void)close(in);
	if (out >= 0)
		(void)close(out);
	kill(src, SIGKILL);
	kill(dst, SIGKILL);
	waitpid(src, NULL, 0);
	waitpid(dst, NULL, 0);
	return r;
}

/* PAGEMAP_SCAN (linux/fs.h >= 6.7, missing from bookworm's headers) */
struct scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define SCAN_IOCTL _IOWR('f', 16, struct scan_arg)

/* Choosing the pages of [addr, addr + mib MiB) of pid: /proc/PID/pagemap read 8 bytes a page
 * (the old way) against one PAGEMAP_SCAN walk for present or swapped pages. Seconds each. */
static void scan_compare(pid_t pid, uint64_t addr, size_t mib, double *ret_read, double *ret_scan)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	static uint64_t pm[512], vec[3 * 1024];
	*ret_read = *ret_scan = -1;
	if (fd < 0)
		return;
	uint64_t end = addr + ((uint64_t)mib << 20), present = 0;
	double t0 = now_s();
	for (uint64_t a = addr; a < end; a += sizeof(pm) / 8 * 4096)
		if (pread(fd, pm, sizeof(pm), (off_t)(a / 4096 * 8)) != sizeof(pm))
			break;
	*ret_read = now_s() - t0;
	t0 = now_s();
	for (uint64_t a = addr; a < end;) {
		struct scan_arg s = { .size = sizeof(s), .start = a, .end = end,
				      .vec = (uint64_t)(uintptr_t)vec, .vec_len = 1024,
				      .category_anyof_mask = 3 << 3, .return_mask = 0xf << 2 };
		long n = ioctl(fd, SCAN_IOCTL, &s);
		if (n < 0 || s.walk_end <= a)
			break;
		for (long i = 0; i < n; i++)
			present += vec[3 * i + 1] - vec[3 * i];
		a = s.walk_end;
	}
	if (present == (uint64_t)mib << 20)
		*ret_scan = now_s() - t0;
	(void)close(fd);
}

static unsigned long long stat_field(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: ckpt_bench OMX_PATH [MIB]\n");
		return 2;
	}
	size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 1024;
	double base = baseline(mib);
	if (base < 0) {
		fprintf(stderr, "baseline failed\n");
		return 1;
	}
	uint64_t addr;
	pid_t hog = start_hog(mib, 1, &addr);
	if (hog < 0)
		return 1;
	double scan_read, scan_ioctl;
	scan_compare(hog, addr, mib, &scan_read, &scan_ioctl);
	char cmd[4096], errf[] = "/tmp/ckpt_bench.XXXXXX", errg[] = "/tmp/ckpt_bench.XXXXXX";
	int efd = mkstemp(errf), gfd = mkstemp(errg);
	if (efd < 0 || gfd < 0)
		return 1;
	snprintf(cmd, sizeof(cmd),
		 "%s checkpoint %d -o - --kill --stats 2>%s | %s restore - --detach --stats 2>%s",
		 argv[1], hog, errf, argv[1], errg);
	double t0 = now_s();
	FILE *p = popen(cmd, "r");
	int restored = 0;
	if (!p || fscanf(p, "%d", &restored) != 1)
		restored = 0;
	int st = p ? pclose(p) : -1;
	double total = now_s() - t0;
	waitpid(hog, NULL, 0);
	char text[8192] = "";
	ssize_t n = pread(efd, text, sizeof(text) / 2 - 1, 0);
	size_t used = n > 0 ? (size_t)n : 0;
	n = pread(gfd, text + used, sizeof(text) - used - 1, 0);
	text[used + (n > 0 ? (size_t)n : 0)] = 0;
	(void)close(efd);
	(void)close(gfd);
	(void)unlink(errf);
	(void)unlink(errg);
	if (restored > 0)
		kill(restored, SIGKILL);
	if (st != 0 || restored <= 0) {
		fprintf(stderr, "checkpoint | restore failed:\n%s", text);
		return 1;
	}
	double freeze = (double)stat_field(text, "freeze_us=") * 1e-6;
	double rss = (double)stat_field(text, "rss_bytes=");
	double img = (double)stat_field(text, "image_bytes=");
	printf("pages moved raw (/proc/PID/mem read + write): %.3f s for %zu MiB (%.2f GB/s)\n",
	       base, mib, (double)(mib << 20) / base * 1e-9);
	printf("checkpoint | restore through a pipe:         %.3f s  = %.2fx baseline (goal <= 1.5)\n",
	       total, total / base);
	printf("freeze (stop -> killed after the last page):  %.3f s\n", freeze);
	printf("  of which choosing pages:                    %.4f s (PAGEMAP_SCAN, or pagemap "
	       "reads where missing)\n",
	       (double)stat_field(text, "scan_us=") * 1e-6);
	printf("choosing %zu MiB of pages alone: pagemap read %.4f s, PAGEMAP_SCAN %.4f s%s\n", mib,
	       scan_read, scan_ioctl, scan_ioctl < 0 ? " (unavailable)" : "");
	printf("restore alone:                                %.3f s\n",
	       (double)stat_field(text, "restore_us=") * 1e-6);
	printf("image %.1f MiB for RSS %.1f MiB = RSS %+.2f %% (goal <= +1 %%)\n", img / 1048576,
	       rss / 1048576, (img - rss) / rss * 100);
	return 0;
}
