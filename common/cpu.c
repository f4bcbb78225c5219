/* cpu.c - see cpu.h. */
#include "common/cpu.h"

#include <cpuid.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

static int have_osxsave(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	return (c & bit_OSXSAVE) != 0;
}

uint64_t cpu_xsave_features(void)
{
	if (!have_osxsave())
		return 0;
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

uint32_t cpu_xsave_size(void)
{
	if (!have_osxsave())
		return 0;
	unsigned a, b, c, d;
	__cpuid_count(0xd, 0, a, b, c, d);
	(void)a;
	(void)c;
	(void)d;
	return b;
}

/* The [vdso] range from /proc/self/maps (the ELF header alone does not give the mapping size). */
static int vdso_range(uintptr_t *ret_start, uintptr_t *ret_end)
{
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return -errno;
	char line[512];
	int r = -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "[vdso]"))
			continue;
		uintptr_t s, e;
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &s, &e) == 2) {
			*ret_start = s;
			*ret_end = e;
			r = 0;
		}
		break;
	}
	fclose(f);
	return r;
}

int cpu_vdso_fingerprint(uint8_t ret_fp[CPU_FP_LEN])
{
	uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR), s, e;
	if (!base)
		return -ENOENT;
	int r = vdso_range(&s, &e);
	if (r < 0)
		return r;
	if (base != s)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	uint8_t fp[CPU_FP_LEN];
	if (crypto_generichash(fp, sizeof(fp), (const unsigned char *)s, e - s, NULL, 0) != 0)
		return -EIO;
	memcpy(ret_fp, fp, sizeof(fp));
	return 0;
}

uint32_t cpu_speed_mhz(void)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return 0;
	char line[256];
	double mhz = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "cpu MHz", 7) == 0) {
			const char *colon = strchr(line, ':');
			if (colon)
				(void)sscanf(colon + 1, "%lf", &mhz);
			break;
		}
	}
	fclose(f);
	return (uint32_t)mhz;
}
