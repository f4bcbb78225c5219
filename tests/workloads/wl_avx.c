/* wl_avx.c - floating-point and AVX state live in registers when the process is frozen: an
 * assembly loop keeps sixteen ymm registers of running sums (integer and double) that never
 * touch memory. Each round of 2^24 steps, the registers are compared with what the round
 * count implies; a lost or damaged register shows up as a wrong sum. */
#include <immintrin.h>
#include <stdint.h>

#include "wl.h"

#define STEPS (1u << 24)

int main(int argc, char **argv)
{
	wl_arm_verify();
	wl_ready(argc, argv);
	uint64_t rounds = 0;
	static const double one = 1.0;
	int ok = 1;
	while (ok && !wl_verify_now) {
		uint64_t out[8][4];
		double dout[8][4];
		__asm__ volatile(
			"vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
			"vpxor %%ymm1, %%ymm1, %%ymm1\n\t"
			"vpxor %%ymm2, %%ymm2, %%ymm2\n\t"
			"vpxor %%ymm3, %%ymm3, %%ymm3\n\t"
			"vxorpd %%ymm4, %%ymm4, %%ymm4\n\t"
			"vxorpd %%ymm5, %%ymm5, %%ymm5\n\t"
			"vxorpd %%ymm6, %%ymm6, %%ymm6\n\t"
			"vxorpd %%ymm7, %%ymm7, %%ymm7\n\t"
			"vpcmpeqq %%ymm15, %%ymm15, %%ymm15\n\t" /* all ones = -1 */
			"vpxor %%ymm14, %%ymm14, %%ymm14\n\t"
			"vpsubq %%ymm15, %%ymm14, %%ymm14\n\t" /* 1 */
			"vpaddq %%ymm14, %%ymm14, %%ymm13\n\t" /* 2 */
			"vpaddq %%ymm13, %%ymm14, %%ymm12\n\t" /* 3 */
			"vbroadcastsd (%[one]), %%ymm11\n\t"
			"vaddpd %%ymm11, %%ymm11, %%ymm10\n\t"
			"vmulpd %%ymm10, %%ymm10, %%ymm9\n\t" /* 4.0 */
			"vaddpd %%ymm9, %%ymm11, %%ymm8\n\t" /* 5.0 */
			"mov %[n], %%ecx\n"
			"1:\n\t"
			"vpaddq %%ymm14, %%ymm0, %%ymm0\n\t"
			"vpaddq %%ymm13, %%ymm1, %%ymm1\n\t"
			"vpaddq %%ymm12, %%ymm2, %%ymm2\n\t"
			"vpsubq %%ymm14, %%ymm3, %%ymm3\n\t"
			"vaddpd %%ymm11, %%ymm4, %%ymm4\n\t"
			"vaddpd %%ymm10, %%ymm5, %%ymm5\n\t"
			"vaddpd %%ymm9, %%ymm6, %%ymm6\n\t"
			"vaddpd %%ymm8, %%ymm7, %%ymm7\n\t"
			"dec %%ecx\n\t"
			"jnz 1b\n\t"
			"vmovdqu %%ymm0, 0(%[o])\n\t"
			"vmovdqu %%ymm1, 32(%[o])\n\t"
			"vmovdqu %%ymm2, 64(%[o])\n\t"
			"vmovdqu %%ymm3, 96(%[o])\n\t"
			"vmovupd %%ymm4, 0(%[d])\n\t"
			"vmovupd %%ymm5, 32(%[d])\n\t"
			"vmovupd %%ymm6, 64(%[d])\n\t"
			"vmovupd %%ymm7, 96(%[d])\n\t"
			"vmovdqu %%ymm15, 128(%[o])\n\t"
			"vmovupd %%ymm8, 128(%[d])\n\t"
			:
			: [n] "r"(STEPS), [o] "r"(out), [d] "r"(dout), [one] "r"(&one)
			: "rcx", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
			  "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
			  "xmm15");
		for (int l = 0; l < 4; l++) {
			ok &= out[0][l] == STEPS && out[1][l] == 2ull * STEPS &&
			      out[2][l] == 3ull * STEPS && out[3][l] == (uint64_t)-(int64_t)STEPS;
			ok &= out[4][l] == ~0ull;
			ok &= dout[0][l] == STEPS && dout[1][l] == 2.0 * STEPS &&
			      dout[2][l] == 4.0 * STEPS && dout[3][l] == 5.0 * STEPS &&
			      dout[4][l] == 5.0;
		}
		rounds++;
	}
	fprintf(stderr, "rounds=%llu\n", (unsigned long long)rounds);
	return wl_result(ok, "avx");
}
