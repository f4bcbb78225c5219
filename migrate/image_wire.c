/* image_wire.c - the one place where migration images are packed and unpacked (with
 * image_wire_proc.c, which does the process chunk).
 *
 * Stream: magic, then [u32 little-endian length][ImgChunk] repeated: header, process, pages...,
 * end. Page chunks are packed straight into the sink through a ProtobufCBuffer (the page data is
 * handed to the sink as is, never copied into a staging buffer), so a checkpoint costs one read
 * of the pages and one write. The reader holds one chunk at a time; every page chunk carries a
 * checksum, and the end chunk counts the page chunks and bytes, so truncation and corruption are
 * caught. Everything decoded is validated (mig_image_validate) before a caller sees it.
 * With compression (writer's `compress` level), a page chunk carries its pages deflated by zlib
 * when that makes it smaller; the checksum is always of the pages themselves, and a reader
 * inflates into a buffer of exactly the announced size (never more than MIG_PAGES_MAX).
 */
#include "migrate/image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "migrate/image_wire_int.h"

enum { RS_MAGIC = 0, RS_HEADER, RS_PROCESS, RS_PAGES, RS_DONE };

uint64_t mig_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t h[4] = { 0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full, 0x165667b19e3779f9ull,
			  0x27d4eb2f165667c5ull };
	size_t i = 0;
	for (; i + 32 <= len; i += 32) {
		for (int l = 0; l < 4; l++) {
			uint64_t w;
			memcpy(&w, p + i + 8 * l, 8);
			h[l] = (h[l] ^ w) * 0x100000001b3ull;
			h[l] ^= h[l] >> 29;
		}
	}
	uint64_t r = len;
	for (; i < len; i++)
		r = (r ^ p[i]) * 0x100000001b3ull;
	for (int l = 0; l < 4; l++)
		r = (r ^ h[l]) * 0x9e3779b97f4a7c15ull ^ (r >> 31);
	return r;
}

/* ---------------------------------------------------------------- writing */

int mig_sink_fd(void *ctx, const void *buf, size_t len)
{
	int fd = *(int *)ctx;
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ProtobufCBuffer that batches small appends and passes large ones (page data) through. */
struct sink_buf {
	ProtobufCBuffer base;
	struct mig_writer *w;
	uint8_t small[512];
	size_t n;
	int err;
};

static void sink_flush(struct sink_buf *b)
{
	if (b->n && !b->err)
		b->err = b->w->sink(b->w->ctx, b->small, b->n);
	b->n = 0;
}

static void sink_append(ProtobufCBuffer *base, size_t len, const uint8_t *data)
{
	struct sink_buf *b = (struct sink_buf *)base;
	if (b->err)
		return;
	if (b->n + len <= sizeof(b->small)) {
		memcpy(b->small + b->n, data, len);
		b->n += len;
		return;
	}
	sink_flush(b);
	if (len <= sizeof(b->small)) {
		memcpy(b->small, data, len);
		b->n = len;
	} else if (!b->err) {
		b->err = b->w->sink(b->w->ctx, data, len);
	}
}

static int write_chunk(struct mig_writer *w, const Omx__ImgChunk *c)
{
	size_t sz = omx__img_chunk__get_packed_size(c);
	if (sz > MIG_CHUNK_MAX)
		return -E2BIG;
	uint8_t len[4] = { (uint8_t)sz, (uint8_t)(sz >> 8), (uint8_t)(sz >> 16),
			   (uint8_t)(sz >> 24) };
	struct sink_buf b = { .base = { .append = sink_append }, .w = w };
	sink_append(&b.base, sizeof(len), len);
	size_t packed = omx__img_chunk__pack_to_buffer(c, &b.base);
	sink_flush(&b);
	if (b.err)
		return b.err;
	if (packed != sz)
		return -EIO;
	w->total_bytes += sz + sizeof(len);
	return 0;
}

int mig_write_begin(struct mig_writer *w, const struct mig_image *img)
{
	int r = w->sink(w->ctx, MIG_IMAGE_MAGIC, MIG_IMAGE_MAGIC_LEN);
	if (r < 0)
		return r;
	w->total_bytes += MIG_IMAGE_MAGIC_LEN;

	Omx__ImgHeader h = OMX__IMG_HEADER__INIT;
	h.version = img->hdr.version;
	h.xsave_features = img->hdr.xsave_features;
	h.xsave_size = img->hdr.xsave_size;
	h.vdso_fp.data = (uint8_t *)img->hdr.vdso_fp;
	h.vdso_fp.len = CPU_FP_LEN;
	h.pid = img->hdr.pid;
	h.comm = (char *)img->hdr.comm;
	h.created_ms = img->hdr.created_ms;
	Omx__ImgChunk c = OMX__IMG_CHUNK__INIT;
	c.body_case = OMX__IMG_CHUNK__BODY_HEADER;
	c.header = &h;
	r = write_chunk(w, &c);
	if (r < 0)
		return r;

	struct mig_proc_msg *m = mig_proc_msg_build(img);
	if (!m)
		return -ENOMEM;
	c.body_case = OMX__IMG_CHUNK__BODY_PROCESS;
	c.process = mig_proc_msg_body(m);
	r = write_chunk(w, &c);
	mig_proc_msg_free(m);
	return r;
}

int mig_write_pages(struct mig_writer *w, uint64_t addr, const void *data, size_t len)
{
	if (len == 0 || len > MIG_PAGES_MAX || len % MIG_PAGE || addr % MIG_PAGE)
		return -EINVAL;
	Omx__ImgPages p = OMX__IMG_PAGES__INIT;
	p.addr = addr;
	p.data.data = (uint8_t *)data;
	p.data.len = len;
	p.checksum = mig_checksum(data, len);
	if (w->compress) {
		uLongf zlen = compressBound(MIG_PAGES_MAX);
		if (!w->zbuf && !(w->zbuf = malloc(zlen)))
			return -ENOMEM;
		if (compress2(w->zbuf, &zlen, data, len, w->compress) != Z_OK)
			return -EIO;
		if (zlen < len) {
			p.encoding = 1;
			p.raw_len = (uint32_t)len;
			p.data.data = w->zbuf;
			p.data.len = zlen;
		}
	}
	Omx__ImgChunk c = OMX__IMG_CHUNK__INIT;
	c.body_case = OMX__IMG_CHUNK__BODY_PAGES;
	c.pages = &p;
	int r = write_chunk(w, &c);
	if (r < 0)
		return r;
	w->chunks++;
	w->page_bytes += len;
	return 0;
}

int mig_write_end(struct mig_writer *w)
{
	Omx__ImgEnd e = OMX__IMG_END__INIT;
	e.chunks = w->chunks;
	e.page_bytes = w->page_bytes;
	Omx__ImgChunk c = OMX__IMG_CHUNK__INIT;
	c.body_case = OMX__IMG_CHUNK__BODY_END;
	c.end = &e;
	return write_chunk(w, &c);
}

void mig_writer_release(struct mig_writer *w)
{
	free(w->zbuf);
	w->zbuf = NULL;
}

/* ---------------------------------------------------------------- reading */

long mig_source_fd(void *ctx, void *buf, size_t len)
{
	int fd = *(int *)ctx;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (uint8_t *)buf + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (long)got;
}

long mig_source_mem(void *ctx, void *buf, size_t len)
{
	struct mig_memsrc *m = ctx;
	size_t n = m->len - m->off < len ? m->len - m->off : len;
	if (n == 0)
		return 0; /* m->data may be NULL for an empty source */
	memcpy(buf, m->data + m->off, n);
	m->off += n;
	return (long)n;
}

static int read_exact(struct mig_reader *r, void *buf, size_t len)
{
	long n = r->source(r->ctx, buf, len);
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EBADMSG;
}

/* Reads and unpacks the next chunk; *ret_c must be freed with omx__img_chunk__free_unpacked. */
static int read_chunk(struct mig_reader *r, Omx__ImgChunk **ret_c)
{
	uint8_t l[4];
	int e = read_exact(r, l, sizeof(l));
	if (e < 0)
		return e;
	uint32_t len = (uint32_t)l[0] | (uint32_t)l[1] << 8 | (uint32_t)l[2] << 16 |
		       (uint32_t)l[3] << 24;
	if (len > MIG_CHUNK_MAX)
		return -EBADMSG;
	if (r->cap < len) {
		uint8_t *nb = realloc(r->buf, len);
		if (!nb)
			return -ENOMEM;
		r->buf = nb;
		r->cap = len;
	}
	e = read_exact(r, r->buf, len);
	if (e < 0)
		return e;
	Omx__ImgChunk *c = omx__img_chunk__unpack(NULL, len, r->buf);
	if (!c)
		return -EBADMSG;
	*ret_c = c;
	return 0;
}

static int decode_header(const Omx__ImgHeader *h, struct mig_header *out)
{
	if (h->version != MIG_IMAGE_VERSION)
		return -EPROTONOSUPPORT;
	if (h->vdso_fp.len != CPU_FP_LEN || strlen(h->comm) >= sizeof(out->comm))
		return -EBADMSG;
	out->version = h->version;
	out->xsave_features = h->xsave_features;
	out->xsave_size = h->xsave_size;
	memcpy(out->vdso_fp, h->vdso_fp.data, CPU_FP_LEN);
	out->pid = h->pid;
	strcpy(out->comm, h->comm);
	out->created_ms = h->created_ms;
	return 0;
}

static int expect_chunk(struct mig_reader *r, Omx__ImgChunk__BodyCase want, Omx__ImgChunk **ret)
{
	Omx__ImgChunk *c = NULL;
	int e = read_chunk(r, &c);
	if (e < 0)
		return e;
	if (c->body_case != want) {
		omx__img_chunk__free_unpacked(c, NULL);
		return -EBADMSG;
	}
	*ret = c;
	return 0;
}

int mig_read_begin(struct mig_reader *r, struct mig_image **ret_img)
{
	if (r->state != RS_MAGIC)
		return -EINVAL;
	uint8_t magic[MIG_IMAGE_MAGIC_LEN];
	int e = read_exact(r, magic, sizeof(magic));
	if (e < 0)
		return e;
	if (memcmp(magic, MIG_IMAGE_MAGIC, sizeof(magic)) != 0)
		return -EBADMSG;
	struct mig_image *img = mig_image_new();
	if (!img)
		return -ENOMEM;
	Omx__ImgChunk *c = NULL;
	e = expect_chunk(r, OMX__IMG_CHUNK__BODY_HEADER, &c);
	if (e == 0) {
		e = decode_header(c->header, &img->hdr);
		omx__img_chunk__free_unpacked(c, NULL);
	}
	if (e == 0)
		e = expect_chunk(r, OMX__IMG_CHUNK__BODY_PROCESS, &c);
	if (e == 0) {
		e = mig_proc_decode(c->process, img);
		omx__img_chunk__free_unpacked(c, NULL);
	}
	if (e == 0)
		e = mig_image_validate(img);
	if (e < 0) {
		mig_image_free(&img);
		return e;
	}
	r->state = RS_PAGES;
	*ret_img = img;
	return 0;
}

/* The pages of a page chunk: its data, or (encoding 1) that data inflated into r->zbuf, which
 * must come out at exactly raw_len bytes. */
static int page_data(struct mig_reader *r, const Omx__ImgPages *p, const uint8_t **ret_data,
		     size_t *ret_len)
{
	if (p->encoding == 0) {
		*ret_data = p->data.data;
		*ret_len = p->data.len;
		return 0;
	}
	if (p->encoding != 1 || p->raw_len == 0 || p->raw_len > MIG_PAGES_MAX)
		return -EBADMSG;
	if (!r->zbuf && !(r->zbuf = malloc(MIG_PAGES_MAX)))
		return -ENOMEM;
	uLongf out = p->raw_len;
	if (uncompress(r->zbuf, &out, p->data.data, p->data.len) != Z_OK || out != p->raw_len)
		return -EBADMSG;
	*ret_data = r->zbuf;
	*ret_len = out;
	return 0;
}

int mig_read_pages(struct mig_reader *r, uint64_t *ret_addr, const uint8_t **ret_data,
		   size_t *ret_len)
{
	if (r->state == RS_DONE)
		return 0;
	if (r->state != RS_PAGES)
		return -EINVAL;
	Omx__ImgChunk *c = NULL;
	int e = read_chunk(r, &c);
	if (e < 0)
		return e;
	if (c->body_case == OMX__IMG_CHUNK__BODY_END) {
		e = (c->end->chunks == r->chunks && c->end->page_bytes == r->page_bytes) ? 0
											 : -EBADMSG;
		omx__img_chunk__free_unpacked(c, NULL);
		if (e == 0)
			r->state = RS_DONE;
		return e;
	}
	const uint8_t *data;
	size_t len;
	e = c->body_case == OMX__IMG_CHUNK__BODY_PAGES ? page_data(r, c->pages, &data, &len)
						       : -EBADMSG;
	const Omx__ImgPages *p = c->pages;
	if (e == 0 && (len == 0 || len > MIG_PAGES_MAX || len % MIG_PAGE || p->addr % MIG_PAGE ||
		       p->addr + len < p->addr || mig_checksum(data, len) != p->checksum))
		e = -EBADMSG;
	if (e < 0) {
		omx__img_chunk__free_unpacked(c, NULL);
		return e;
	}
	/* Raw data lives inside c; move it into the reader's buffer (which c no longer needs) so
	 * the caller's pointer stays valid after c is freed. Inflated data is in r->zbuf. */
	uint64_t addr = p->addr;
	if (data != r->zbuf) {
		memmove(r->buf, data, len);
		data = r->buf;
	}
	omx__img_chunk__free_unpacked(c, NULL);
	r->chunks++;
	r->page_bytes += len;
	*ret_addr = addr;
	*ret_data = data;
	*ret_len = len;
	return 1;
}

void mig_reader_release(struct mig_reader *r)
{
	free(r->buf);
	free(r->zbuf);
	r->buf = NULL;
	r->zbuf = NULL;
	r->cap = 0;
}
