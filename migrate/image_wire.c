/* image_wire.c - the one place where migration images are packed and unpacked.
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

#include "proto/image.pb-c.h"

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

#define GP_FIELDS(X)                                                                               \
	X(r15) X(r14) X(r13) X(r12) X(rbp) X(rbx) X(r11) X(r10) X(r9) X(r8) X(rax) X(rcx) X(rdx)   \
	X(rsi) X(rdi) X(orig_rax) X(rip) X(cs) X(eflags) X(rsp) X(ss) X(fs_base) X(gs_base) X(ds) \
	X(es) X(fs) X(gs)

/* Everything the process chunk points to, allocated at once and freed at once. */
struct proc_msg {
	Omx__ImgProcess p;
	Omx__ImgGpRegs regs;
	Omx__ImgMm mm;
	Omx__ImgRegion *regs_v, **regs_p;
	Omx__ImgSigaction sa_v[MIG_NSIG], *sa_p[MIG_NSIG];
	Omx__ImgItimer it_v[3], *it_p[3];
	Omx__ImgRlimit rl_v[MIG_NRLIMIT], *rl_p[MIG_NRLIMIT];
	Omx__ImgFd *fd_v, **fd_p;
	uint32_t pending[MIG_NSIG];
};

static void proc_msg_free(struct proc_msg *m)
{
	if (!m)
		return;
	free(m->regs_v);
	free(m->regs_p);
	free(m->fd_v);
	free(m->fd_p);
	free(m);
}

static char *str_or_empty(const char *s)
{
	return s ? (char *)s : (char *)"";
}

static void fill_regions(struct proc_msg *m, const struct mig_image *img)
{
	for (size_t i = 0; i < img->n_regions; i++) {
		const struct mig_region *r = &img->regions[i];
		Omx__ImgRegion *o = &m->regs_v[i];
		omx__img_region__init(o);
		o->start = r->start;
		o->end = r->end;
		o->prot = r->prot;
		o->kind = r->kind;
		o->shared = r->shared;
		o->pgoff = r->pgoff;
		o->path = str_or_empty(r->path);
		o->dev = r->dev;
		o->ino = r->ino;
		o->size = r->size;
		o->mtime_ns = r->mtime_ns;
		m->regs_p[i] = o;
	}
	m->p.n_regions = img->n_regions;
	m->p.regions = m->regs_p;
}

static void fill_signals(struct proc_msg *m, const struct mig_image *img)
{
	size_t n = 0;
	for (int s = 1; s <= MIG_NSIG; s++) {
		const struct mig_sigaction *sa = &img->sigactions[s];
		if (!sa->set)
			continue;
		omx__img_sigaction__init(&m->sa_v[n]);
		m->sa_v[n].sig = (uint32_t)s;
		m->sa_v[n].handler = sa->handler;
		m->sa_v[n].flags = sa->flags;
		m->sa_v[n].restorer = sa->restorer;
		m->sa_v[n].mask = sa->mask;
		m->sa_p[n] = &m->sa_v[n];
		n++;
	}
	m->p.n_sigactions = n;
	m->p.sigactions = m->sa_p;
	m->p.sigmask = img->sigmask;
	n = 0;
	for (int s = 1; s <= MIG_NSIG; s++)
		if (img->pending & (1ull << (s - 1)))
			m->pending[n++] = (uint32_t)s;
	m->p.n_pending = n;
	m->p.pending = m->pending;
	m->p.altstack_sp = img->altstack_sp;
	m->p.altstack_flags = img->altstack_flags;
	m->p.altstack_size = img->altstack_size;
	for (int i = 0; i < 3; i++) {
		omx__img_itimer__init(&m->it_v[i]);
		m->it_v[i].which = (uint32_t)i;
		m->it_v[i].interval_us = img->itimers[i].interval_us;
		m->it_v[i].value_us = img->itimers[i].value_us;
		m->it_p[i] = &m->it_v[i];
	}
	m->p.n_itimers = 3;
	m->p.itimers = m->it_p;
}

static void fill_misc(struct proc_msg *m, const struct mig_image *img)
{
	omx__img_mm__init(&m->mm);
	const struct mig_mm *mm = &img->mm;
	m->mm.start_code = mm->start_code;
	m->mm.end_code = mm->end_code;
	m->mm.start_data = mm->start_data;
	m->mm.end_data = mm->end_data;
	m->mm.start_brk = mm->start_brk;
	m->mm.brk = mm->brk;
	m->mm.start_stack = mm->start_stack;
	m->mm.arg_start = mm->arg_start;
	m->mm.arg_end = mm->arg_end;
	m->mm.env_start = mm->env_start;
	m->mm.env_end = mm->env_end;
	m->mm.n_auxv = mm->auxv_words;
	m->mm.auxv = (uint64_t *)mm->auxv;
	m->mm.exe = str_or_empty(mm->exe);
	m->p.mm = &m->mm;

	size_t n = 0;
	for (int i = 0; i < MIG_NRLIMIT; i++) {
		if (!img->rlimits[i].set)
			continue;
		omx__img_rlimit__init(&m->rl_v[n]);
		m->rl_v[n].resource = (uint32_t)i;
		m->rl_v[n].cur = img->rlimits[i].cur;
		m->rl_v[n].max = img->rlimits[i].max;
		m->rl_p[n] = &m->rl_v[n];
		n++;
	}
	m->p.n_rlimits = n;
	m->p.rlimits = m->rl_p;
	for (size_t i = 0; i < img->n_fds; i++) {
		Omx__ImgFd *o = &m->fd_v[i];
		omx__img_fd__init(o);
		o->fd = img->fds[i].fd;
		o->kind = img->fds[i].kind;
		o->path = str_or_empty(img->fds[i].path);
		o->flags = img->fds[i].flags;
		o->pos = img->fds[i].pos;
		o->is_dup = img->fds[i].is_dup;
		o->dup_of = img->fds[i].dup_of;
		m->fd_p[i] = o;
	}
	m->p.n_fds = img->n_fds;
	m->p.fds = m->fd_p;
	m->p.rseq_ptr = img->rseq_ptr;
	m->p.rseq_len = img->rseq_len;
	m->p.rseq_sig = img->rseq_sig;
	m->p.robust_head = img->robust_head;
	m->p.robust_len = img->robust_len;
	m->p.clear_child_tid = img->clear_child_tid;
	m->p.cwd = str_or_empty(img->cwd);
	m->p.umask = img->umask;
	m->p.personality = img->personality;
	m->p.n_ids = 8;
	m->p.ids = (uint32_t *)img->ids;
}

static struct proc_msg *proc_msg_build(const struct mig_image *img)
{
	struct proc_msg *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->regs_v = calloc(img->n_regions + 1, sizeof(*m->regs_v));
	m->regs_p = calloc(img->n_regions + 1, sizeof(*m->regs_p));
	m->fd_v = calloc(img->n_fds + 1, sizeof(*m->fd_v));
	m->fd_p = calloc(img->n_fds + 1, sizeof(*m->fd_p));
	if (!m->regs_v || !m->regs_p || !m->fd_v || !m->fd_p) {
		proc_msg_free(m);
		return NULL;
	}
	omx__img_process__init(&m->p);
	omx__img_gp_regs__init(&m->regs);
#define X(f) m->regs.f = img->regs.f;
	GP_FIELDS(X)
#undef X
	m->p.regs = &m->regs;
	m->p.xsave.data = img->xsave;
	m->p.xsave.len = img->xsave_len;
	fill_regions(m, img);
	fill_signals(m, img);
	fill_misc(m, img);
	return m;
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

	struct proc_msg *m = proc_msg_build(img);
	if (!m)
		return -ENOMEM;
	c.body_case = OMX__IMG_CHUNK__BODY_PROCESS;
	c.process = &m->p;
	r = write_chunk(w, &c);
	proc_msg_free(m);
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

static char *dup_nonempty(const char *s, int *err)
{
	if (!s || !*s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*err = -ENOMEM;
	return d;
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

static int decode_regions(const Omx__ImgProcess *p, struct mig_image *img)
{
	int err = 0;
	if (p->n_regions > MIG_MAX_REGIONS)
		return -EBADMSG;
	img->regions = calloc(p->n_regions + 1, sizeof(*img->regions));
	if (!img->regions)
		return -ENOMEM;
	img->n_regions = p->n_regions;
	for (size_t i = 0; i < p->n_regions; i++) {
		const Omx__ImgRegion *o = p->regions[i];
		struct mig_region *r = &img->regions[i];
		if (o->kind >= MIG_REG_KIND_MAX)
			return -EBADMSG;
		r->start = o->start;
		r->end = o->end;
		r->prot = o->prot;
		r->kind = (enum mig_region_kind)o->kind;
		r->shared = o->shared;
		r->pgoff = o->pgoff;
		r->path = dup_nonempty(o->path, &err);
		r->dev = o->dev;
		r->ino = o->ino;
		r->size = o->size;
		r->mtime_ns = o->mtime_ns;
	}
	return err;
}

static int decode_signals(const Omx__ImgProcess *p, struct mig_image *img)
{
	for (size_t i = 0; i < p->n_sigactions; i++) {
		const Omx__ImgSigaction *o = p->sigactions[i];
		if (o->sig < 1 || o->sig > MIG_NSIG)
			return -EBADMSG;
		struct mig_sigaction *sa = &img->sigactions[o->sig];
		sa->set = true;
		sa->handler = o->handler;
		sa->flags = o->flags;
		sa->restorer = o->restorer;
		sa->mask = o->mask;
	}
	img->sigmask = p->sigmask;
	for (size_t i = 0; i < p->n_pending; i++) {
		if (p->pending[i] < 1 || p->pending[i] > MIG_NSIG)
			return -EBADMSG;
		img->pending |= 1ull << (p->pending[i] - 1);
	}
	img->altstack_sp = p->altstack_sp;
	img->altstack_flags = p->altstack_flags;
	img->altstack_size = p->altstack_size;
	for (size_t i = 0; i < p->n_itimers; i++) {
		const Omx__ImgItimer *o = p->itimers[i];
		if (o->which > 2)
			return -EBADMSG;
		img->itimers[o->which].interval_us = o->interval_us;
		img->itimers[o->which].value_us = o->value_us;
	}
	return 0;
}

static int decode_mm(const Omx__ImgMm *o, struct mig_mm *mm)
{
	int err = 0;
	if (!o)
		return -EBADMSG;
	mm->start_code = o->start_code;
	mm->end_code = o->end_code;
	mm->start_data = o->start_data;
	mm->end_data = o->end_data;
	mm->start_brk = o->start_brk;
	mm->brk = o->brk;
	mm->start_stack = o->start_stack;
	mm->arg_start = o->arg_start;
	mm->arg_end = o->arg_end;
	mm->env_start = o->env_start;
	mm->env_end = o->env_end;
	if (o->n_auxv > sizeof(mm->auxv) / sizeof(mm->auxv[0]) || o->n_auxv % 2)
		return -EBADMSG;
	memcpy(mm->auxv, o->auxv, o->n_auxv * sizeof(uint64_t));
	mm->auxv_words = (uint32_t)o->n_auxv;
	mm->exe = dup_nonempty(o->exe, &err);
	return err;
}

static int decode_misc(const Omx__ImgProcess *p, struct mig_image *img)
{
	int err = 0;
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const Omx__ImgRlimit *o = p->rlimits[i];
		if (o->resource >= MIG_NRLIMIT)
			return -EBADMSG;
		img->rlimits[o->resource] = (struct mig_rlimit){ true, o->cur, o->max };
	}
	if (p->n_fds > MIG_MAX_FDS)
		return -EBADMSG;
	img->fds = calloc(p->n_fds + 1, sizeof(*img->fds));
	if (!img->fds)
		return -ENOMEM;
	img->n_fds = p->n_fds;
	for (size_t i = 0; i < p->n_fds; i++) {
		const Omx__ImgFd *o = p->fds[i];
		if (o->kind >= MIG_FD_KIND_MAX)
			return -EBADMSG;
		img->fds[i].fd = o->fd;
		img->fds[i].kind = (enum mig_fd_kind)o->kind;
		img->fds[i].path = dup_nonempty(o->path, &err);
		img->fds[i].flags = o->flags;
		img->fds[i].pos = o->pos;
		img->fds[i].is_dup = o->is_dup;
		img->fds[i].dup_of = o->dup_of;
	}
	img->rseq_ptr = p->rseq_ptr;
	img->rseq_len = p->rseq_len;
	img->rseq_sig = p->rseq_sig;
	img->robust_head = p->robust_head;
	img->robust_len = p->robust_len;
	img->clear_child_tid = p->clear_child_tid;
	img->cwd = dup_nonempty(p->cwd, &err);
	img->umask = p->umask;
	img->personality = p->personality;
	if (p->n_ids != 8)
		return -EBADMSG;
	memcpy(img->ids, p->ids, sizeof(img->ids));
	return err;
}

static int decode_process(const Omx__ImgProcess *p, struct mig_image *img)
{
	if (!p->regs)
		return -EBADMSG;
#define X(f) img->regs.f = p->regs->f;
	GP_FIELDS(X)
#undef X
	if (p->xsave.len != img->hdr.xsave_size || p->xsave.len > (1u << 20))
		return -EBADMSG;
	if (p->xsave.len) {
		img->xsave = malloc(p->xsave.len);
		if (!img->xsave)
			return -ENOMEM;
		memcpy(img->xsave, p->xsave.data, p->xsave.len);
	}
	img->xsave_len = (uint32_t)p->xsave.len;
	int r = decode_regions(p, img);
	if (r == 0)
		r = decode_mm(p->mm, &img->mm);
	if (r == 0)
		r = decode_signals(p, img);
	if (r == 0)
		r = decode_misc(p, img);
	return r;
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
		e = decode_process(c->process, img);
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
