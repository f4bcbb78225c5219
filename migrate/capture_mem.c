/* capture_mem.c - memory regions and the pages worth copying.
 *
 * Regions come from /proc/PID/maps. Pages are chosen with the PAGEMAP_SCAN ioctl on
 * /proc/PID/pagemap (Linux >= 6.7: one call returns runs of pages with the same categories,
 * present/swapped/file/zero-pfn, skipping what is neither present nor swapped), or where it is
 * missing by reading /proc/PID/pagemap, 8 bytes a page (bits: 63 present, 62 swapped, 61 file
 * page or shared anonymous):
 *  - private anonymous, heap, stack: present or swapped pages, minus those that read as zero
 *    (the restored region starts zero-filled);
 *  - private file-backed: pages that became anonymous (written to: present and not "file", or
 *    swapped); the rest is mapped again from the same file;
 *  - shared file-backed: nothing (the file is the memory);
 *  - [vvar], [vvar_vclock], [vdso]: nothing (the kernel provides them).
 * Contents are read from /proc/PID/mem, which also reads read-only and PROT_NONE pages.
 */
#include "migrate/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "migrate/procmaps.h"

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define PM_FILE (1ull << 61)
#define BATCH_PAGES (MIG_PAGES_MAX / MIG_PAGE)

/* PAGEMAP_SCAN (linux/fs.h since 6.7; Debian bookworm's headers predate it) */
struct mig_page_region {
	uint64_t start, end, categories;
};
struct mig_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define MIG_PAGEMAP_SCAN _IOWR('f', 16, struct mig_pm_scan_arg)
#define PAGE_IS_FILE (1ull << 2)
#define PAGE_IS_PRESENT (1ull << 3)
#define PAGE_IS_SWAPPED (1ull << 4)
#define PAGE_IS_PFNZERO (1ull << 5)
#define SCAN_VEC 1024

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int region_from_map(const struct mig_map *m, struct mig_region *r, char *why,
			   size_t whylen)
{
	memset(r, 0, sizeof(*r));
	r->start = m->start;
	r->end = m->end;
	r->prot = m->prot;
	r->shared = m->shared;
	if (strcmp(m->path, "[heap]") == 0)
		r->kind = MIG_REG_HEAP;
	else if (strcmp(m->path, "[stack]") == 0)
		r->kind = MIG_REG_STACK;
	else if (strcmp(m->path, "[vvar]") == 0)
		r->kind = MIG_REG_VVAR;
	else if (strcmp(m->path, "[vvar_vclock]") == 0)
		r->kind = MIG_REG_VVAR_VCLOCK;
	else if (strcmp(m->path, "[vdso]") == 0)
		r->kind = MIG_REG_VDSO;
	else if (m->path[0] == '/')
		r->kind = MIG_REG_FILE;
	else
		r->kind = MIG_REG_ANON; /* "" or "[anon:name]" */
	if (r->kind != MIG_REG_FILE) {
		if (r->shared) {
			snprintf(why, whylen, "shared anonymous memory at %#lx",
				 (unsigned long)m->start);
			return -EBUSY;
		}
		return 0;
	}
	struct stat st;
	if (stat(m->path, &st) < 0 || st.st_ino != m->ino) {
		snprintf(why, whylen, "mapped file %s was replaced or removed", m->path);
		return -ESTALE;
	}
	r->path = strdup(m->path);
	if (!r->path)
		return -ENOMEM;
	r->pgoff = m->pgoff;
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	r->size = (uint64_t)st.st_size;
	r->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return 0;
}

int mig_capture_regions(pid_t pid, struct mig_image *img, char *why, size_t whylen)
{
	struct mig_map *m;
	size_t n;
	int r = mig_maps_read(pid, &m, &n);
	if (r < 0) {
		snprintf(why, whylen, "reading /proc/%d/maps: %s", pid, strerror(-r));
		return r;
	}
	img->regions = calloc(n + 1, sizeof(*img->regions));
	if (!img->regions) {
		free(m);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		if (strcmp(m[i].path, "[vsyscall]") == 0)
			continue; /* fixed, in every process */
		r = region_from_map(&m[i], &img->regions[img->n_regions], why, whylen);
		if (r == 0)
			img->n_regions++;
	}
	free(m);
	if (r == 0 && img->n_regions > MIG_MAX_REGIONS) {
		snprintf(why, whylen, "too many memory regions (%zu)", img->n_regions);
		r = -E2BIG;
	}
	return r;
}

static int page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;
	uint64_t acc = 0;
	for (size_t i = 0; i < MIG_PAGE / 8; i += 8) {
		acc |= w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] |
		       w[i + 7];
		if (acc)
			return 0;
	}
	return 1;
}

struct dumper {
	struct mig_tracee *t;
	struct mig_writer *w;
	struct mig_capture_stats *stats;
	int pagemap;
	int scan; /* 1: PAGEMAP_SCAN works; 0: not known yet; -1: read pagemap instead */
	uint8_t *buf; /* BATCH_PAGES pages */
	uint64_t pm[BATCH_PAGES];
	struct mig_page_region vec[SCAN_VEC];
};

/* Copies pages [addr, addr + npages) (all wanted), skipping zero pages if anon. */
static int dump_run(struct dumper *d, uint64_t addr, size_t npages, int anon)
{
	int r = mig_tracee_read(d->t, addr, d->buf, npages * MIG_PAGE);
	if (r < 0)
		return r;
	size_t i = 0;
	while (i < npages) {
		if (anon && page_is_zero(d->buf + i * MIG_PAGE)) {
			d->stats->zero_pages++;
			i++;
			continue;
		}
		size_t j = i + 1;
		while (j < npages && !(anon && page_is_zero(d->buf + j * MIG_PAGE)))
			j++;
		r = mig_write_pages(d->w, addr + i * MIG_PAGE, d->buf + i * MIG_PAGE,
				    (j - i) * MIG_PAGE);
		if (r < 0)
			return r;
		i = j;
	}
	return 0;
}

static int want_page(uint64_t pm, const struct mig_region *reg, struct mig_capture_stats *st)
{
	if (pm & PM_PRESENT)
		st->rss_bytes += MIG_PAGE;
	if (reg->kind != MIG_REG_FILE)
		return (pm & (PM_PRESENT | PM_SWAPPED)) != 0;
	if ((pm & PM_SWAPPED) || ((pm & PM_PRESENT) && !(pm & PM_FILE)))
		return 1;
	if (pm & PM_PRESENT)
		st->file_pages++;
	return 0;
}

/* One run of pages that PAGEMAP_SCAN reported with the same categories. */
static int scan_run(struct dumper *d, const struct mig_region *reg,
		    const struct mig_page_region *pr)
{
	uint64_t c = pr->categories, npages = (pr->end - pr->start) / MIG_PAGE;
	int anon = reg->kind != MIG_REG_FILE, want;
	if (c & PAGE_IS_PRESENT)
		d->stats->rss_bytes += npages * MIG_PAGE;
	if (anon) {
		want = !(c & PAGE_IS_PFNZERO); /* the shared zero page: reads as zero */
		if (!want)
			d->stats->zero_pages += npages;
	} else {
		want = (c & PAGE_IS_SWAPPED) || ((c & PAGE_IS_PRESENT) && !(c & PAGE_IS_FILE));
		if (!want && (c & PAGE_IS_PRESENT))
			d->stats->file_pages += npages;
	}
	for (uint64_t a = pr->start; want && a < pr->end; a += BATCH_PAGES * MIG_PAGE) {
		uint64_t n = (pr->end - a) / MIG_PAGE;
		int r = dump_run(d, a, n > BATCH_PAGES ? BATCH_PAGES : n, anon);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Returns 0, -ENOTTY if the kernel has no PAGEMAP_SCAN (nothing done then), or an error. */
static int dump_region_scan(struct dumper *d, const struct mig_region *reg)
{
	uint64_t start = reg->start;
	while (start < reg->end) {
		struct mig_pm_scan_arg a = {
			.size = sizeof(a),
			.start = start,
			.end = reg->end,
			.vec = (uint64_t)(uintptr_t)d->vec,
			.vec_len = SCAN_VEC,
			.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
			.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_FILE |
				       PAGE_IS_PFNZERO,
		};
		uint64_t t0 = now_us();
		long n = ioctl(d->pagemap, MIG_PAGEMAP_SCAN, &a);
		d->stats->scan_us += now_us() - t0;
		if (n < 0) {
			if (d->scan == 0 && (errno == ENOTTY || errno == EINVAL))
				return -ENOTTY;
			return -errno;
		}
		d->scan = 1;
		for (long i = 0; i < n; i++) {
			int r = scan_run(d, reg, &d->vec[i]);
			if (r < 0)
				return r;
		}
		if (a.walk_end <= start || a.walk_end > reg->end)
			return -EIO;
		start = a.walk_end;
	}
	return 0;
}

static int dump_region_pagemap(struct dumper *d, const struct mig_region *reg)
{
	int anon = reg->kind != MIG_REG_FILE;
	for (uint64_t a = reg->start; a < reg->end; a += BATCH_PAGES * MIG_PAGE) {
		size_t n = (reg->end - a) / MIG_PAGE;
		if (n > BATCH_PAGES)
			n = BATCH_PAGES;
		uint64_t t0 = now_us();
		ssize_t k = pread(d->pagemap, d->pm, n * 8, (off_t)(a / MIG_PAGE * 8));
		d->stats->scan_us += now_us() - t0;
		if (k != (ssize_t)(n * 8))
			return k < 0 ? -errno : -EIO;
		size_t i = 0;
		while (i < n) {
			if (!want_page(d->pm[i], reg, d->stats)) {
				i++;
				continue;
			}
			size_t j = i + 1;
			while (j < n && want_page(d->pm[j], reg, d->stats))
				j++;
			int r = dump_run(d, a + i * MIG_PAGE, j - i, anon);
			if (r < 0)
				return r;
			/* want_page(j) counted j's rss and file page already; resume after it */
			i = j + 1;
		}
	}
	return 0;
}

static int dump_region(struct dumper *d, const struct mig_region *reg)
{
	if (d->scan >= 0) {
		int r = dump_region_scan(d, reg);
		if (r != -ENOTTY)
			return r;
		d->scan = -1;
	}
	return dump_region_pagemap(d, reg);
}

int mig_capture_pages(struct mig_tracee *t, const struct mig_image *img, struct mig_writer *w,
		      struct mig_capture_stats *stats)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", t->pid);
	struct dumper *d = calloc(1, sizeof(*d)); /* ~32 KiB of pagemap and scan buffers */
	if (!d)
		return -ENOMEM;
	*d = (struct dumper){ .t = t, .w = w, .stats = stats };
	d->pagemap = open(path, O_RDONLY | O_CLOEXEC);
	int r = d->pagemap < 0 ? -errno : 0;
	d->buf = r == 0 ? malloc(MIG_PAGES_MAX) : NULL;
	if (r == 0 && !d->buf)
		r = -ENOMEM;
	for (size_t i = 0; i < img->n_regions && r == 0; i++) {
		const struct mig_region *reg = &img->regions[i];
		if (reg->kind == MIG_REG_VVAR || reg->kind == MIG_REG_VVAR_VCLOCK ||
		    reg->kind == MIG_REG_VDSO || reg->shared)
			continue;
		r = dump_region(d, reg);
	}
	free(d->buf);
	if (d->pagemap >= 0)
		(void)close(d->pagemap);
	free(d);
	return r;
}
