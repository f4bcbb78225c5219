/* wl_heap.c - 256 MiB (argv[2] MiB) of patterned heap, a few pages left zero, verified after
 * restore: every byte must be what the pattern says. */
#include <stdint.h>

#include "wl.h"

static uint64_t pat(uint64_t i)
{
	uint64_t x = i * 0x9e3779b97f4a7c15ull;
	return x ^ (x >> 31);
}

int main(int argc, char **argv)
{
	wl_arm_verify();
	size_t mib = argc > 2 ? (size_t)atoi(argv[2]) : 256;
	size_t n = mib << 17; /* 8-byte words */
	uint64_t *h;
	if (posix_memalign((void **)&h, 4096, n * 8))
		return 1;
	for (size_t i = 0; i < n; i++)
		h[i] = (i / 512) % 7 == 3 ? 0 : pat(i); /* every 7th page stays zero */
	wl_ready(argc, argv);
	while (!wl_verify_now)
		pause();
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += h[i] != ((i / 512) % 7 == 3 ? 0 : pat(i));
	fprintf(stderr, "bad words: %zu\n", bad);
	return wl_result(bad == 0, "heap");
}
