/* wl_file.c - reads argv[2] (made by the driver: byte i is (i * 131 + 7) & 0xff) slowly in
 * 4 KiB steps from an fd that is not 0-2 and from a dup'ed one; after the restore the reads
 * must continue at the right offset until EOF with every byte as expected. */
#include <stdint.h>
#include <time.h>

#include "wl.h"

int main(int argc, char **argv)
{
	if (argc < 3)
		return 1;
	int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	int fd2 = dup2(fd, 17);
	if (fd2 != 17)
		return 1;
	uint64_t off = 0, bad = 0;
	uint8_t buf[4096];
	wl_ready(argc, argv);
	for (;;) {
		ssize_t n = read(off / 4096 % 2 ? fd : fd2, buf, sizeof(buf));
		if (n < 0)
			return wl_result(0, "file read");
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			bad += buf[i] != (uint8_t)((off + (uint64_t)i) * 131 + 7);
		off += (uint64_t)n;
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "read %llu bytes, %llu bad\n", (unsigned long long)off,
		(unsigned long long)bad);
	long want = argc > 3 ? atol(argv[3]) : 0;
	return wl_result(bad == 0 && (long)off == want, "file");
}
