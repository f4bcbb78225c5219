/* test_migrate_ident.c - the identity filter (migrate/ident.h), run by a small classic-BPF
 * interpreter on sample system calls: only identity calls and calls aimed at the virtual PID
 * reach the supervisor; everything else, other architectures and x32 numbers pass. */
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>

#include <cmocka.h>

#include "migrate/ident.h"

#define VPID 4321

static uint32_t run(const struct sock_filter *p, size_t n, const struct seccomp_data *d)
{
	uint32_t a = 0;
	for (size_t pc = 0; pc < n; pc++) {
		const struct sock_filter *f = &p[pc];
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			assert_true(f->k + 4 <= sizeof(*d));
			memcpy(&a, (const uint8_t *)d + f->k, 4);
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += a == f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += a >= f->k ? f->jt : f->jf;
			break;
		case BPF_RET | BPF_K:
			return f->k;
		default:
			fail_msg("unexpected instruction %#x", f->code);
		}
	}
	fail_msg("fell off the end");
	return 0;
}

static uint32_t verdict(int nr, uint32_t arch, uint64_t a0, uint64_t a1)
{
	struct sock_filter p[MIG_IDENT_MAX_INSNS];
	size_t n = mig_ident_filter(VPID, p);
	assert_true(n <= MIG_IDENT_MAX_INSNS);
	struct seccomp_data d = { .nr = nr, .arch = arch, .args = { a0, a1 } };
	return run(p, n, &d);
}

static void test_traps_identity_only(void **state)
{
	(void)state;
	const uint32_t N = SECCOMP_RET_USER_NOTIF, A = SECCOMP_RET_ALLOW, X = AUDIT_ARCH_X86_64;
	assert_int_equal(verdict(SYS_getpid, X, 0, 0), N);
	assert_int_equal(verdict(SYS_gettid, X, 0, 0), N);
	assert_int_equal(verdict(SYS_kill, X, VPID, 10), N);
	assert_int_equal(verdict(SYS_kill, X, VPID + 1, 10), A);
	assert_int_equal(verdict(SYS_kill, X, 0xffffffff00000000ull | VPID, 10), N); /* int */
	assert_int_equal(verdict(SYS_tgkill, X, 7, VPID), N);
	assert_int_equal(verdict(SYS_tgkill, X, VPID, 7), N);
	assert_int_equal(verdict(SYS_tgkill, X, 7, 8), A);
	assert_int_equal(verdict(SYS_pidfd_open, X, VPID, 0), N);
	assert_int_equal(verdict(SYS_prlimit64, X, 0, 7), A);
	assert_int_equal(verdict(SYS_read, X, VPID, 0), A);
	assert_int_equal(verdict(SYS_getppid, X, 0, 0), A);
	assert_int_equal(verdict(SYS_getpid, AUDIT_ARCH_I386, 0, 0), A);
	assert_int_equal(verdict(0x40000000 | SYS_getpid, X, 0, 0), A);
}

static void test_vpid_position(void **state)
{
	(void)state;
	struct sock_filter a[MIG_IDENT_MAX_INSNS], b[MIG_IDENT_MAX_INSNS];
	size_t n = mig_ident_filter(VPID, a), m = mig_ident_filter(VPID + 1, b);
	assert_int_equal(n, m);
	assert_int_equal(a[MIG_IDENT_VPID_INSN].k, VPID);
	/* only the PID immediates differ */
	for (size_t i = 0; i < n; i++)
		if (memcmp(&a[i], &b[i], sizeof(a[i])) != 0)
			assert_int_equal(a[i].k, VPID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_traps_identity_only),
		cmocka_unit_test(test_vpid_position),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
