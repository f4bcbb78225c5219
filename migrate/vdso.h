/* vdso.h - a process checkpointed under another kernel build keeps calling its old vDSO.
 *
 * glibc resolves the vDSO's functions once at start-up and keeps the pointers, so a restored
 * process jumps to the old entry points however the live vDSO looks. When the image's vDSO
 * fingerprint differs from ours, the live vDSO cannot stand in for the old one; instead the
 * old vDSO's own pages (carried in the image) are mapped back at their address with every
 * exported function's entry replaced by `mov eax, NR; syscall; ret` (the real system call,
 * which takes the same arguments), and its data pages ([vvar], [vvar_vclock]) become empty
 * read-only pages. Slower time calls (a system call each), same results.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Largest [vdso] an image carries. */
#define MIG_VDSO_MAX (64u << 10)

/* Rewrites the vDSO image text[0..len) in place so that its exported functions (clock_gettime,
 * gettimeofday, time, getcpu, clock_getres, getrandom, with or without the __vdso_ prefix) make
 * the system call of the same name; any other exported function returns -ENOSYS. Returns the
 * number of entry points rewritten (> 0), or -EBADMSG if text is not a 64-bit vDSO it can read
 * (bounds are checked: text may come from a damaged image). */
__attribute__((warn_unused_result)) int mig_vdso_redirect(uint8_t *text, size_t len);
