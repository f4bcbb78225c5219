/* cpu.h - facts about this machine's CPU and kernel build that decide where a process image can
 * run: the xsave feature mask and area size (same-CPU-family rule) and a fingerprint of the live
 * vDSO (same kernel build, so the live vDSO can be moved to an image's address). Gossiped by
 * omxd (struct gossip_info) and recorded in every migration image. Pure reads, no side effects. */
#pragma once
#include <stdint.h>

#define CPU_FP_LEN 16

/* XCR0: the xsave features the OS enabled (x87, SSE, AVX, ..., PKRU). 0 without xsave. */
uint64_t cpu_xsave_features(void);
/* Bytes needed by XSAVE for the enabled features (CPUID 0xD.0 EBX). 0 without xsave. */
uint32_t cpu_xsave_size(void);
/* BLAKE2b-128 of this process's [vdso] mapping. Returns 0 or negative errno. */
int cpu_vdso_fingerprint(uint8_t ret_fp[CPU_FP_LEN]);
/* Nominal MHz from /proc/cpuinfo ("cpu MHz" of the first CPU), 0 if unknown. */
uint32_t cpu_speed_mhz(void);
