/* test_migrate_vdso.c - the vDSO redirection (migrate/vdso.h) on a copy of this process's own
 * vDSO: the rewritten clock_gettime/gettimeofday/time/getcpu, called in the copy, make the
 * system calls and agree with the real ones; damaged vDSO images are refused, never overrun. */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>

#include <cmocka.h>

#include "migrate/vdso.h"

/* The live vDSO's extent, from its program headers. */
static size_t vdso_len(const uint8_t *base)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)(const void *)base;
	size_t end = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph =
			(const Elf64_Phdr *)(const void *)(base + eh->e_phoff + i * sizeof(*ph));
		if (ph->p_type == PT_LOAD && ph->p_offset + ph->p_filesz > end)
			end = ph->p_offset + ph->p_filesz;
	}
	return (end + 4095) & ~(size_t)4095;
}

/* Address of symbol name in a vDSO image at base (linked at 0). */
static void *sym(uint8_t *base, const char *name)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)(const void *)base;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(const void *)(base + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		const Elf64_Sym *s = (const Elf64_Sym *)(const void *)(base + sh[i].sh_offset);
		const char *str = (const char *)base + sh[sh[i].sh_link].sh_offset;
		for (size_t k = 0; k < sh[i].sh_size / sizeof(*s); k++)
			if (strcmp(str + s[k].st_name, name) == 0)
				return base + s[k].st_value;
	}
	return NULL;
}

static void test_redirected_calls(void **state)
{
	(void)state;
	const uint8_t *live = (const uint8_t *)getauxval(AT_SYSINFO_EHDR);
	if (!live)
		skip();
	size_t len = vdso_len(live);
	assert_true(len > 0 && len <= MIG_VDSO_MAX);
	uint8_t *copy = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(copy != MAP_FAILED);
	memcpy(copy, live, len);
	assert_true(mig_vdso_redirect(copy, len) >= 4);
	assert_int_equal(mprotect(copy, len, PROT_READ | PROT_EXEC), 0);
	int (*cg)(clockid_t, struct timespec *) = sym(copy, "__vdso_clock_gettime");
	int (*gtod)(struct timeval *, void *) = sym(copy, "__vdso_gettimeofday");
	time_t (*tm)(time_t *) = sym(copy, "__vdso_time");
	long (*gc)(unsigned *, unsigned *, void *) = sym(copy, "__vdso_getcpu");
	assert_non_null(cg);
	assert_non_null(gtod);
	struct timespec a, b;
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &a), 0);
	assert_int_equal(cg(CLOCK_MONOTONIC, &b), 0);
	assert_true(b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec));
	assert_true(b.tv_sec - a.tv_sec < 5);
	assert_int_equal(cg(12345, &b), -EINVAL); /* the raw system call's result */
	struct timeval tv;
	assert_int_equal(gtod(&tv, NULL), 0);
	assert_true(tv.tv_sec - time(NULL) < 5 && time(NULL) - tv.tv_sec < 5);
	if (tm)
		assert_true(tm(NULL) - time(NULL) < 5);
	if (gc) {
		unsigned cpu = ~0u;
		assert_int_equal(gc(&cpu, NULL, NULL), 0);
		assert_true(cpu < 4096);
	}
	munmap(copy, len);
}

static void test_damaged(void **state)
{
	(void)state;
	const uint8_t *live = (const uint8_t *)getauxval(AT_SYSINFO_EHDR);
	if (!live)
		skip();
	size_t len = vdso_len(live);
	static uint8_t copy[MIG_VDSO_MAX];
	assert_int_equal(mig_vdso_redirect(copy, 10), -EBADMSG);
	memset(copy, 0, sizeof(copy));
	assert_int_equal(mig_vdso_redirect(copy, len), -EBADMSG);
	/* any truncation, and shifted tables, are refused or stay inside the buffer */
	for (size_t cut = 64; cut < len; cut += 256) {
		memcpy(copy, live, cut);
		int k = mig_vdso_redirect(copy, cut);
		assert_true(k == -EBADMSG || k > 0);
	}
	memcpy(copy, live, len);
	((Elf64_Ehdr *)(void *)copy)->e_shoff = len - 8;
	assert_int_equal(mig_vdso_redirect(copy, len), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redirected_calls),
		cmocka_unit_test(test_damaged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
