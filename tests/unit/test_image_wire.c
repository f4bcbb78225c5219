/* test_image_wire.c - migration image round trip (plain and compressed) and rejection of
 * damaged images. With "--write-seed FILE" (or "--write-seed-z FILE": compressed) it writes its
 * sample image there (the fuzz seed corpus). */
#include <errno.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "migrate/image.h"

struct membuf {
	uint8_t *data;
	size_t len, cap;
};

static int sink_mem(void *ctx, const void *buf, size_t len)
{
	struct membuf *m = ctx;
	if (m->len + len > m->cap) {
		m->cap = (m->len + len) * 2;
		m->data = realloc(m->data, m->cap);
		if (!m->data)
			return -ENOMEM;
	}
	memcpy(m->data + m->len, buf, len);
	m->len += len;
	return 0;
}

static struct mig_image *sample(void)
{
	struct mig_image *img = mig_image_new();
	assert_non_null(img);
	img->hdr.version = MIG_IMAGE_VERSION;
	img->hdr.xsave_features = 0x2e7;
	img->hdr.xsave_size = 64;
	img->hdr.pid = 1234;
	strcpy(img->hdr.comm, "sample");
	memset(img->hdr.vdso_fp, 0xab, CPU_FP_LEN);
	img->regs.rip = 0x401000;
	img->regs.rax = (uint64_t)-512;
	img->regs.fs_base = 0x7f0000001000;
	img->xsave_len = 64;
	img->xsave = calloc(1, 64);
	img->xsave[7] = 42;
	img->n_regions = 2;
	img->regions = calloc(2, sizeof(*img->regions));
	img->regions[0] = (struct mig_region){ .start = 0x400000, .end = 0x402000,
					       .prot = PROT_READ | PROT_EXEC,
					       .kind = MIG_REG_FILE, .path = strdup("/bin/true"),
					       .ino = 77 };
	img->regions[1] = (struct mig_region){ .start = 0x600000, .end = 0x604000,
					       .prot = PROT_READ | PROT_WRITE,
					       .kind = MIG_REG_HEAP };
	img->mm.brk = 0x603000;
	img->mm.auxv[0] = 6;
	img->mm.auxv[1] = 4096;
	img->mm.auxv_words = 4;
	img->sigactions[10] = (struct mig_sigaction){ true, 0x401234, 0x4000000, 0x405000, 3 };
	img->sigmask = 1u << 13;
	img->pending = 1u << 9;
	img->itimers[0].value_us = 12345;
	img->rlimits[7] = (struct mig_rlimit){ true, 1024, 4096 };
	img->cwd = strdup("/tmp");
	img->umask = 022;
	img->n_fds = 2;
	img->fds = calloc(2, sizeof(*img->fds));
	img->fds[0] = (struct mig_fd){ .fd = 1, .kind = MIG_FD_INHERIT };
	img->fds[1] = (struct mig_fd){ .fd = 3, .kind = MIG_FD_FILE, .path = strdup("/etc/hostname"),
				       .pos = 5 };
	img->ptimers = calloc(2, sizeof(*img->ptimers));
	img->ptimers[0] = (struct mig_ptimer){ 0, 1, SIGEV_SIGNAL, 12, 77, 5000000, 1000 };
	img->ptimers[1] = (struct mig_ptimer){ 3, -6, SIGEV_NONE, 0, 0, 0, 0 };
	img->n_ptimers = 2;
	img->pending_info = calloc(1, sizeof(siginfo_t));
	img->pending_info[0].si_signo = 10;
	img->pending_info[0].si_code = SI_TIMER;
	img->pending_info[0].si_value.sival_int = 77;
	img->n_pending_info = 1;
	return img;
}

static void encode_z(const struct mig_image *img, struct membuf *out, int compress)
{
	struct mig_writer w = { .sink = sink_mem, .ctx = out, .compress = compress };
	assert_int_equal(mig_write_begin(&w, img), 0);
	uint8_t pages[2 * 4096];
	for (size_t i = 0; i < sizeof(pages); i++)
		pages[i] = (uint8_t)(i * 7);
	assert_int_equal(mig_write_pages(&w, 0x600000, pages, sizeof(pages)), 0);
	assert_int_equal(mig_write_pages(&w, 0x603000, pages, 4096), 0);
	assert_int_equal(mig_write_end(&w), 0);
	assert_int_equal(w.total_bytes, out->len);
	mig_writer_release(&w);
}

static void encode(const struct mig_image *img, struct membuf *out)
{
	encode_z(img, out, 0);
}

static int decode_all(const uint8_t *data, size_t len, struct mig_image **ret, int *npages)
{
	struct mig_memsrc src = { .data = data, .len = len };
	struct mig_reader r = { .source = mig_source_mem, .ctx = &src };
	int e = mig_read_begin(&r, ret);
	*npages = 0;
	while (e == 0) {
		uint64_t a;
		const uint8_t *d;
		size_t l;
		int k = mig_read_pages(&r, &a, &d, &l);
		if (k <= 0) {
			e = k;
			break;
		}
		*npages += (int)(l / 4096);
	}
	if (e < 0)
		mig_image_free(ret);
	mig_reader_release(&r);
	return e;
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct mig_image *img = sample(), *back = NULL;
	struct membuf m = { 0 };
	encode(img, &m);
	int npages;
	assert_int_equal(decode_all(m.data, m.len, &back, &npages), 0);
	assert_int_equal(npages, 3);
	assert_int_equal(back->hdr.pid, 1234);
	assert_string_equal(back->hdr.comm, "sample");
	assert_memory_equal(back->hdr.vdso_fp, img->hdr.vdso_fp, CPU_FP_LEN);
	assert_int_equal(back->regs.rax, (uint64_t)-512);
	assert_int_equal(back->regs.fs_base, 0x7f0000001000);
	assert_int_equal(back->xsave[7], 42);
	assert_int_equal(back->n_regions, 2);
	assert_string_equal(back->regions[0].path, "/bin/true");
	assert_int_equal(back->regions[1].kind, MIG_REG_HEAP);
	assert_null(back->regions[1].path);
	assert_int_equal(back->mm.brk, 0x603000);
	assert_int_equal(back->mm.auxv_words, 4);
	assert_true(back->sigactions[10].set);
	assert_int_equal(back->sigactions[10].handler, 0x401234);
	assert_false(back->sigactions[11].set);
	assert_int_equal(back->pending, 1u << 9);
	assert_int_equal(back->itimers[0].value_us, 12345);
	assert_true(back->rlimits[7].set);
	assert_int_equal(back->rlimits[7].max, 4096);
	assert_string_equal(back->cwd, "/tmp");
	assert_int_equal(back->umask, 022);
	assert_int_equal(back->n_fds, 2);
	assert_null(back->fds[0].path);
	assert_int_equal(back->fds[1].pos, 5);
	assert_int_equal(back->n_ptimers, 2);
	assert_int_equal(back->ptimers[0].sigval, 77);
	assert_int_equal(back->ptimers[1].clock, -6);
	assert_int_equal(back->n_pending_info, 1);
	assert_int_equal(back->pending_info[0].si_value.sival_int, 77);
	mig_image_free(&back);
	mig_image_free(&img);
	assert_null(img);
	free(m.data);
}

static void test_truncated_and_corrupt(void **state)
{
	(void)state;
	struct mig_image *img = sample(), *back = NULL;
	struct membuf m = { 0 };
	encode(img, &m);
	int npages;
	/* every proper prefix is refused */
	for (size_t n = 0; n < m.len; n += 97)
		assert_int_not_equal(decode_all(m.data, n, &back, &npages), 0);
	assert_int_not_equal(decode_all(m.data, m.len - 1, &back, &npages), 0);
	/* a flipped bit in page data fails the checksum */
	uint8_t *copy = malloc(m.len);
	memcpy(copy, m.data, m.len);
	copy[m.len - 5000] ^= 0x10;
	assert_int_equal(decode_all(copy, m.len, &back, &npages), -EBADMSG);
	/* wrong magic */
	memcpy(copy, m.data, m.len);
	copy[0] = 'X';
	assert_int_equal(decode_all(copy, m.len, &back, &npages), -EBADMSG);
	free(copy);
	free(m.data);
	mig_image_free(&img);
}

static void test_version_and_validation(void **state)
{
	(void)state;
	struct mig_image *img = sample(), *back = NULL;
	struct membuf m = { 0 };
	int npages;
	img->hdr.version = MIG_IMAGE_VERSION + 1;
	encode(img, &m);
	assert_int_equal(decode_all(m.data, m.len, &back, &npages), -EPROTONOSUPPORT);
	free(m.data);
	/* timers out of order, pending info for a signal not pending */
	img->hdr.version = MIG_IMAGE_VERSION;
	img->ptimers[1].id = 0;
	memset(&m, 0, sizeof(m));
	encode(img, &m);
	assert_int_equal(decode_all(m.data, m.len, &back, &npages), -EBADMSG);
	free(m.data);
	img->ptimers[1].id = 3;
	img->pending_info[0].si_signo = 11;
	memset(&m, 0, sizeof(m));
	encode(img, &m);
	assert_int_equal(decode_all(m.data, m.len, &back, &npages), -EBADMSG);
	free(m.data);
	img->pending_info[0].si_signo = 10;
	/* overlapping regions are refused */
	img->hdr.version = MIG_IMAGE_VERSION;
	img->regions[1].start = 0x401000;
	memset(&m, 0, sizeof(m));
	encode(img, &m);
	assert_int_equal(decode_all(m.data, m.len, &back, &npages), -EBADMSG);
	free(m.data);
	mig_image_free(&img);
}

static void test_compressed(void **state)
{
	(void)state;
	struct mig_image *img = sample(), *back = NULL;
	struct membuf raw = { 0 }, z = { 0 };
	encode(img, &raw);
	encode_z(img, &z, 1);
	assert_true(z.len < raw.len - 4096); /* the sample pages are periodic */
	int npages;
	assert_int_equal(decode_all(z.data, z.len, &back, &npages), 0);
	assert_int_equal(npages, 3);
	mig_image_free(&back);
	/* same pages out as in */
	struct mig_memsrc src = { .data = z.data, .len = z.len };
	struct mig_reader r = { .source = mig_source_mem, .ctx = &src };
	assert_int_equal(mig_read_begin(&r, &back), 0);
	uint64_t a;
	const uint8_t *d;
	size_t l;
	assert_int_equal(mig_read_pages(&r, &a, &d, &l), 1);
	assert_int_equal(a, 0x600000);
	assert_int_equal(l, 2 * 4096);
	for (size_t i = 0; i < l; i++)
		assert_int_equal(d[i], (uint8_t)(i * 7));
	mig_reader_release(&r);
	mig_image_free(&back);
	/* any flipped byte after the process chunk is refused */
	uint8_t *copy = malloc(z.len);
	for (size_t off = z.len - 1; off > z.len - 120; off -= 7) {
		memcpy(copy, z.data, z.len);
		copy[off] ^= 0x5a;
		assert_int_not_equal(decode_all(copy, z.len, &back, &npages), 0);
	}
	free(copy);
	free(raw.data);
	free(z.data);
	mig_image_free(&img);
}

static void test_checksum(void **state)
{
	(void)state;
	uint8_t a[100] = { 0 };
	uint64_t h0 = mig_checksum(a, sizeof(a));
	a[99] = 1;
	assert_int_not_equal(h0, mig_checksum(a, sizeof(a)));
	assert_int_not_equal(mig_checksum(a, 64), mig_checksum(a, 65));
}

int main(int argc, char **argv)
{
	if (argc == 3 && (strcmp(argv[1], "--write-seed") == 0 ||
			  strcmp(argv[1], "--write-seed-z") == 0)) {
		struct mig_image *img = sample();
		struct membuf m = { 0 };
		encode_z(img, &m, argv[1][12] == '-' ? 1 : 0);
		FILE *f = fopen(argv[2], "wb");
		if (!f || fwrite(m.data, 1, m.len, f) != m.len || fclose(f) != 0)
			return 1;
		mig_image_free(&img);
		free(m.data);
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_truncated_and_corrupt),
		cmocka_unit_test(test_version_and_validation),
		cmocka_unit_test(test_compressed),
		cmocka_unit_test(test_checksum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
