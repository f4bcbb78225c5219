/* procmaps.h - /proc/PID/maps as an array, for capture (regions), refusals (what is mapped)
 * and restore (what to unmap in the stub). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct mig_map {
	uint64_t start, end;
	uint32_t prot; /* PROT_* */
	bool shared;
	uint64_t pgoff;
	unsigned dev_major, dev_minor;
	uint64_t ino;
	char path[256]; /* "" for anonymous; "[heap]", "[stack]", "[vdso]", ... as the kernel says */
};

/* Reads /proc/PID/maps. On success *ret_maps (caller owns, free()) and *ret_n are set.
 * Returns 0 or negative errno (-ENAMETOOLONG if a path does not fit). */
__attribute__((warn_unused_result)) int mig_maps_read(pid_t pid, struct mig_map **ret_maps,
						      size_t *ret_n);
