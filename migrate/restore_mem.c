/* restore_mem.c - the stub's address space becomes the image's.
 *
 * The stub runs nothing of its own any more: every step is a call injected at the control page
 * (the one mapping that survives). Steps: unregister the stub's rseq (the kernel would write
 * into memory that is about to vanish), unmap every stub mapping but the control page, ask the
 * kernel for a vDSO at the image's address (ARCH_MAP_VDSO_64 takes the [vvar] start; the
 * fingerprint check already made sure the layout is the same), map each region (files again
 * from their path, after checking they are the files that were mapped), then write the pages
 * through /proc/PID/mem, which also writes read-only pages.
 */
#include "migrate/restore.h"

#include <asm/prctl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "migrate/procmaps.h"
#include "migrate/vdso.h"

#define RSEQ_FLAG_UNREGISTER 1

struct rseq_conf {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};

static int drop_stub_rseq(struct mig_tracee *t)
{
	struct rseq_conf rc = { 0 };
	long k = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, t->pid, sizeof(rc), &rc);
	if (k < 0)
		return -errno;
	if (!rc.rseq_abi_pointer)
		return 0;
	long r = mig_tracee_call(t, SYS_rseq, rc.rseq_abi_pointer, rc.rseq_abi_size,
				 RSEQ_FLAG_UNREGISTER, rc.signature, 0, 0);
	return r < 0 ? (int)r : 0;
}

static int unmap_stub(struct mig_tracee *t, uint64_t ctl)
{
	struct mig_map *m;
	size_t n;
	int r = mig_maps_read(t->pid, &m, &n);
	if (r < 0)
		return r;
	uint64_t ctl_end = ctl + MIG_CTL_PAGES * MIG_PAGE;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (strcmp(m[i].path, "[vsyscall]") == 0)
			continue;
		uint64_t s = m[i].start, e = m[i].end;
		if (s < ctl && e > ctl) /* the control page sits inside (cannot: it is its own vma) */
			e = ctl;
		if (s >= ctl && e <= ctl_end)
			continue;
		long k = mig_tracee_call(t, SYS_munmap, s, e - s, 0, 0, 0, 0);
		if (k < 0)
			r = (int)k;
	}
	free(m);
	return r;
}

static const struct mig_region *find_kind(const struct mig_image *img, enum mig_region_kind k)
{
	for (size_t i = 0; i < img->n_regions; i++)
		if (img->regions[i].kind == k)
			return &img->regions[i];
	return NULL;
}

static int move_vdso(struct mig_tracee *t, const struct mig_image *img, char *why, size_t whylen)
{
	const struct mig_region *vdso = find_kind(img, MIG_REG_VDSO);
	if (!vdso)
		return 0; /* the process had unmapped it: so be it */
	uint64_t base = vdso->start;
	for (size_t i = 0; i < img->n_regions; i++) {
		const struct mig_region *g = &img->regions[i];
		if ((g->kind == MIG_REG_VVAR || g->kind == MIG_REG_VVAR_VCLOCK) && g->start < base)
			base = g->start;
	}
	long k = mig_tracee_call(t, SYS_arch_prctl, ARCH_MAP_VDSO_64, base, 0, 0, 0, 0);
	if (k < 0) {
		snprintf(why, whylen, "mapping the vDSO at %#lx: %s", (unsigned long)base,
			 strerror((int)-k));
		return (int)k;
	}
	struct mig_map *m;
	size_t n;
	int r = mig_maps_read(t->pid, &m, &n);
	if (r < 0)
		return r;
	r = -ENOEXEC;
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].path, "[vdso]") == 0 && m[i].start == vdso->start &&
		    m[i].end == vdso->end)
			r = 0;
	free(m);
	if (r < 0)
		snprintf(why, whylen, "the vDSO layout of this kernel differs from the image's");
	return r;
}

struct file_cache {
	const char *path; /* borrowed from the image */
	int flags;
	long fd; /* in the tracee, -1 if none */
};

static int put_string(struct mig_tracee *t, uint64_t ctl, const char *s)
{
	size_t len = strlen(s) + 1;
	if (len > MIG_CTL_PAGES * MIG_PAGE - MIG_SCRATCH_OFF)
		return -ENAMETOOLONG;
	return mig_tracee_write(t, ctl + MIG_SCRATCH_OFF, s, len);
}

static int close_cached(struct mig_tracee *t, struct file_cache *c)
{
	long k = 0;
	if (c->fd >= 0)
		k = mig_tracee_call(t, SYS_close, (uint64_t)c->fd, 0, 0, 0, 0, 0);
	c->fd = -1;
	c->path = NULL;
	return k < 0 ? (int)k : 0;
}

static int check_file(const struct mig_region *reg, char *why, size_t whylen)
{
	struct stat st;
	if (stat(reg->path, &st) < 0 || st.st_ino != reg->ino || st.st_dev != reg->dev ||
	    (uint64_t)st.st_size != reg->size ||
	    (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec != reg->mtime_ns) {
		snprintf(why, whylen, "%s is not the file that was mapped at the checkpoint",
			 reg->path);
		return -ESTALE;
	}
	return 0;
}

static int region_fd(struct mig_tracee *t, uint64_t ctl, const struct mig_region *reg,
		     struct file_cache *c, char *why, size_t whylen)
{
	int flags = (reg->shared && (reg->prot & PROT_WRITE)) ? O_RDWR : O_RDONLY;
	if (c->fd >= 0 && c->flags == flags && strcmp(c->path, reg->path) == 0)
		return 0;
	int r = close_cached(t, c);
	if (r == 0)
		r = check_file(reg, why, whylen);
	if (r == 0)
		r = put_string(t, ctl, reg->path);
	if (r < 0)
		return r;
	long fd = mig_tracee_call(t, SYS_openat, (uint64_t)AT_FDCWD, ctl + MIG_SCRATCH_OFF,
				  (uint64_t)(flags | O_CLOEXEC), 0, 0, 0);
	if (fd < 0) {
		snprintf(why, whylen, "opening %s: %s", reg->path, strerror((int)-fd));
		return (int)fd;
	}
	*c = (struct file_cache){ reg->path, flags, fd };
	return 0;
}

static int map_region(struct mig_tracee *t, uint64_t ctl, const struct mig_region *reg,
		      struct file_cache *c, char *why, size_t whylen)
{
	uint64_t flags = MAP_FIXED | (reg->shared ? MAP_SHARED : MAP_PRIVATE);
	long fd = -1;
	uint64_t off = 0;
	if (reg->kind == MIG_REG_FILE) {
		int r = region_fd(t, ctl, reg, c, why, whylen);
		if (r < 0)
			return r;
		fd = c->fd;
		off = reg->pgoff;
	} else {
		flags |= MAP_ANONYMOUS;
		if (reg->kind == MIG_REG_STACK)
			flags |= MAP_GROWSDOWN;
	}
	long a = mig_tracee_call(t, SYS_mmap, reg->start, reg->end - reg->start, reg->prot, flags,
				 (uint64_t)fd, off);
	if (a != (long)reg->start) {
		snprintf(why, whylen, "mapping %#lx-%#lx: %s", (unsigned long)reg->start,
			 (unsigned long)reg->end, a < 0 ? strerror((int)-a) : "wrong address");
		return a < 0 ? (int)a : -EFAULT;
	}
	return 0;
}

/* Another kernel build: the image's own vDSO pages, redirected to system calls (vdso.h), go
 * back at their address; its data pages become empty read-only memory. */
static int redirect_vdso(struct mig_tracee *t, const struct mig_image *img, char *why,
			 size_t whylen)
{
	uint8_t *text = malloc(img->vdso_len);
	if (!text)
		return -ENOMEM;
	memcpy(text, img->vdso_text, img->vdso_len);
	int r = mig_vdso_redirect(text, img->vdso_len);
	if (r < 0)
		snprintf(why, whylen, "the image's vDSO cannot be redirected to system calls");
	for (size_t i = 0; i < img->n_regions && r >= 0; i++) {
		const struct mig_region *g = &img->regions[i];
		if (g->kind != MIG_REG_VVAR && g->kind != MIG_REG_VVAR_VCLOCK &&
		    g->kind != MIG_REG_VDSO)
			continue;
		int vdso = g->kind == MIG_REG_VDSO;
		long a = mig_tracee_call(t, SYS_mmap, g->start, g->end - g->start,
					 PROT_READ | (vdso ? PROT_EXEC : 0),
					 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, (uint64_t)-1, 0);
		if (a != (long)g->start) {
			snprintf(why, whylen, "mapping the old vDSO at %#lx: %s",
				 (unsigned long)g->start, a < 0 ? strerror((int)-a) : "moved");
			r = a < 0 ? (int)a : -EFAULT;
		} else if (vdso) {
			r = mig_tracee_write(t, g->start, text, img->vdso_len);
		}
	}
	free(text);
	return r < 0 ? r : 0;
}

int mig_restore_space(struct mig_tracee *t, uint64_t ctl, const struct mig_image *img,
		      int vdso_syscalls, char *why, size_t whylen)
{
	int r = drop_stub_rseq(t);
	if (r == 0)
		r = unmap_stub(t, ctl);
	if (r < 0) {
		snprintf(why, whylen, "clearing the stub: %s", strerror(-r));
		return r;
	}
	r = vdso_syscalls ? redirect_vdso(t, img, why, whylen) : move_vdso(t, img, why, whylen);
	struct file_cache c = { .fd = -1 };
	for (size_t i = 0; i < img->n_regions && r == 0; i++) {
		const struct mig_region *reg = &img->regions[i];
		if (reg->kind == MIG_REG_VVAR || reg->kind == MIG_REG_VVAR_VCLOCK ||
		    reg->kind == MIG_REG_VDSO)
			continue;
		r = map_region(t, ctl, reg, &c, why, whylen);
	}
	int e = close_cached(t, &c);
	return r < 0 ? r : e;
}

/* The region holding [addr, addr + len) entirely, if pages may be written there. */
static int page_target_ok(const struct mig_image *img, uint64_t addr, uint64_t len)
{
	size_t lo = 0, hi = img->n_regions;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (img->regions[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == img->n_regions)
		return 0;
	const struct mig_region *g = &img->regions[lo];
	if (addr < g->start || addr + len > g->end || g->shared)
		return 0;
	return g->kind != MIG_REG_VVAR && g->kind != MIG_REG_VVAR_VCLOCK && g->kind != MIG_REG_VDSO;
}

int mig_restore_pages(struct mig_tracee *t, const struct mig_image *img, struct mig_reader *r,
		      uint64_t *ret_bytes, char *why, size_t whylen)
{
	uint64_t total = 0;
	for (;;) {
		uint64_t addr;
		const uint8_t *data;
		size_t len;
		int k = mig_read_pages(r, &addr, &data, &len);
		if (k == 0)
			break;
		if (k < 0) {
			snprintf(why, whylen, "reading pages: %s",
				 k == -EBADMSG ? "image damaged or truncated" : strerror(-k));
			return k;
		}
		if (!page_target_ok(img, addr, len)) {
			snprintf(why, whylen, "image has pages outside its regions (%#lx)",
				 (unsigned long)addr);
			return -EBADMSG;
		}
		k = mig_tracee_write(t, addr, data, len);
		if (k < 0) {
			snprintf(why, whylen, "writing pages at %#lx: %s", (unsigned long)addr,
				 strerror(-k));
			return k;
		}
		total += len;
	}
	*ret_bytes = total;
	return 0;
}
