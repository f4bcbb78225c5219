/* image_wire_proc.c - the process chunk of a migration image: struct mig_image (all but the
 * header and the pages) to ImgProcess and back. Part of the one place where images are packed
 * and unpacked (image_wire.c holds the stream, the header and the page chunks); decoded values
 * are range-checked here or by mig_image_validate.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/image_wire_int.h"
#include "migrate/vdso.h"

#define GP_FIELDS(X)                                                                               \
	X(r15) X(r14) X(r13) X(r12) X(rbp) X(rbx) X(r11) X(r10) X(r9) X(r8) X(rax) X(rcx) X(rdx)   \
	X(rsi) X(rdi) X(orig_rax) X(rip) X(cs) X(eflags) X(rsp) X(ss) X(fs_base) X(gs_base) X(ds) \
	X(es) X(fs) X(gs)

/* Everything the process chunk points to, allocated at once and freed at once. */
struct mig_proc_msg {
	Omx__ImgProcess p;
	Omx__ImgGpRegs regs;
	Omx__ImgMm mm;
	Omx__ImgRegion *regs_v, **regs_p;
	Omx__ImgSigaction sa_v[MIG_NSIG], *sa_p[MIG_NSIG];
	Omx__ImgItimer it_v[3], *it_p[3];
	Omx__ImgRlimit rl_v[MIG_NRLIMIT], *rl_p[MIG_NRLIMIT];
	Omx__ImgFd *fd_v, **fd_p;
	Omx__ImgPosixTimer *pt_v, **pt_p;
	ProtobufCBinaryData pi_v[MIG_MAX_PENDING_INFO];
	uint32_t pending[MIG_NSIG];
};

void mig_proc_msg_free(struct mig_proc_msg *m)
{
	if (!m)
		return;
	free(m->regs_v);
	free(m->regs_p);
	free(m->fd_v);
	free(m->fd_p);
	free(m->pt_v);
	free(m->pt_p);
	free(m);
}

static char *str_or_empty(const char *s)
{
	return s ? (char *)s : (char *)"";
}

static void fill_regions(struct mig_proc_msg *m, const struct mig_image *img)
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

static void fill_signals(struct mig_proc_msg *m, const struct mig_image *img)
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

static void fill_misc(struct mig_proc_msg *m, const struct mig_image *img)
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
	for (size_t i = 0; i < img->n_ptimers; i++) {
		const struct mig_ptimer *t = &img->ptimers[i];
		Omx__ImgPosixTimer *o = &m->pt_v[i];
		omx__img_posix_timer__init(o);
		o->id = t->id;
		o->clock = t->clock;
		o->notify = t->notify;
		o->signo = t->signo;
		o->sigval = t->sigval;
		o->interval_ns = t->interval_ns;
		o->value_ns = t->value_ns;
		m->pt_p[i] = o;
	}
	m->p.n_ptimers = img->n_ptimers;
	m->p.ptimers = m->pt_p;
	size_t npi = img->n_pending_info < MIG_MAX_PENDING_INFO ? img->n_pending_info
								: MIG_MAX_PENDING_INFO;
	for (size_t i = 0; i < npi; i++)
		m->pi_v[i] = (ProtobufCBinaryData){ sizeof(siginfo_t),
						    (uint8_t *)&img->pending_info[i] };
	m->p.n_pending_info = npi;
	m->p.pending_info = m->pi_v;
	m->p.vdso.data = img->vdso_text;
	m->p.vdso.len = img->vdso_len;
}

struct mig_proc_msg *mig_proc_msg_build(const struct mig_image *img)
{
	struct mig_proc_msg *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->regs_v = calloc(img->n_regions + 1, sizeof(*m->regs_v));
	m->regs_p = calloc(img->n_regions + 1, sizeof(*m->regs_p));
	m->fd_v = calloc(img->n_fds + 1, sizeof(*m->fd_v));
	m->fd_p = calloc(img->n_fds + 1, sizeof(*m->fd_p));
	m->pt_v = calloc(img->n_ptimers + 1, sizeof(*m->pt_v));
	m->pt_p = calloc(img->n_ptimers + 1, sizeof(*m->pt_p));
	if (!m->regs_v || !m->regs_p || !m->fd_v || !m->fd_p || !m->pt_v || !m->pt_p) {
		mig_proc_msg_free(m);
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

Omx__ImgProcess *mig_proc_msg_body(struct mig_proc_msg *m)
{
	return &m->p;
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

static int decode_ptimers(const Omx__ImgProcess *p, struct mig_image *img)
{
	if (p->n_ptimers > MIG_MAX_PTIMERS)
		return -EBADMSG;
	img->ptimers = calloc(p->n_ptimers + 1, sizeof(*img->ptimers));
	if (!img->ptimers)
		return -ENOMEM;
	img->n_ptimers = p->n_ptimers;
	for (size_t i = 0; i < p->n_ptimers; i++) {
		const Omx__ImgPosixTimer *o = p->ptimers[i];
		img->ptimers[i] = (struct mig_ptimer){ o->id,	   o->clock,	   o->notify,
						       o->signo,   o->sigval,	   o->interval_ns,
						       o->value_ns };
	}
	return 0;
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
	if (err == 0)
		err = decode_ptimers(p, img);
	if (err == 0 && p->vdso.len) {
		if (p->vdso.len > MIG_VDSO_MAX || p->vdso.len % MIG_PAGE)
			return -EBADMSG;
		img->vdso_text = malloc(p->vdso.len);
		if (!img->vdso_text)
			return -ENOMEM;
		memcpy(img->vdso_text, p->vdso.data, p->vdso.len);
		img->vdso_len = (uint32_t)p->vdso.len;
	}
	if (err == 0 && p->n_pending_info) {
		if (p->n_pending_info > MIG_MAX_PENDING_INFO)
			return -EBADMSG;
		img->pending_info = calloc(p->n_pending_info, sizeof(siginfo_t));
		if (!img->pending_info)
			return -ENOMEM;
		img->n_pending_info = p->n_pending_info;
		for (size_t i = 0; i < p->n_pending_info; i++) {
			if (p->pending_info[i].len != sizeof(siginfo_t))
				return -EBADMSG;
			memcpy(&img->pending_info[i], p->pending_info[i].data, sizeof(siginfo_t));
		}
	}
	return err;
}

int mig_proc_decode(const Omx__ImgProcess *p, struct mig_image *img)
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

