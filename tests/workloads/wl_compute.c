/* wl_compute.c - a pure compute loop with a running checksum (integer and floating point).
 * On SIGUSR1 the loop stops and recomputes the checksum from scratch for the same number of
 * steps: registers, stack and memory must have come through the checkpoint intact. */
#include <stdint.h>

#include "wl.h"

static inline void step(uint64_t *x, double *d, uint64_t i)
{
	*x = (*x ^ (*x >> 29)) * 0xbf58476d1ce4e5b9ull + i;
	*d = *d * 0.999999 + (double)(*x & 0xffff) * 1e-3;
}

int main(int argc, char **argv)
{
	wl_arm_verify();
	pid_t me = getpid();
	uint64_t x = 1, i = 0;
	double d = 0;
	wl_ready(argc, argv);
	while (!wl_verify_now)
		step(&x, &d, i++);
	uint64_t y = 1;
	double e = 0;
	for (uint64_t k = 0; k < i; k++)
		step(&y, &e, k);
	fprintf(stderr, "steps=%llu\n", (unsigned long long)i);
	return wl_result(x == y && d == e && getpid() == me, "compute");
}
