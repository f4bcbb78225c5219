/* omfs_wire.c - the one place where oMFS messages are packed and unpacked.
 *
 * The oneof case of omfs.Request is the op: case number = enum omfs_op + 9 (LOOKUP = 10 ...), kept
 * in step by the static assertions below. Each op uses one of a dozen small sub-messages; the
 * table op_kind[] says which, so the encoder and decoder are two switches over kinds instead of
 * thirty over ops. Decoding never trusts lengths: protobuf-c checks the framing, we check counts
 * (groups), sizes (I/O, xattrs) and the version.
 */
#include "omfs/omfs_wire.h"

#include <errno.h>
#include <sys/file.h>
#include <stdlib.h>
#include <string.h>

#include "omfs/omfs_wire_int.h"
#include "proto/omfs.pb-c.h"

_Static_assert(OMFS__REQUEST__OP_LOOKUP == OMFS_OP_LOOKUP + 9, "op numbering");
_Static_assert(OMFS__REQUEST__OP_FLOCK == OMFS_OP_FLOCK + 9, "op numbering");
_Static_assert(OMFS__REQUEST__OP_FALLOCATE == OMFS_OP_FALLOCATE + 9, "op numbering");
_Static_assert(OMFS__REQUEST__OP_COPY_FILE_RANGE == OMFS_OP_COPY_FILE_RANGE + 9, "op numbering");
_Static_assert(OMFS_OP_COPY_FILE_RANGE + 1 == OMFS_OP_COUNT_, "op numbering");

enum kind { K_PATH = 1, K_SETATTR, K_MK, K_SYMLINK, K_TWO, K_OPEN, K_READ, K_WRITE, K_FH,
	    K_READDIR, K_XATTR, K_ACCESS, K_LOCK, K_FALLOC, K_COPY };

static const struct {
	const char *name;
	enum kind kind;
} ops[OMFS_OP_COUNT_] = {
	[OMFS_OP_LOOKUP] = { "lookup", K_PATH },	   [OMFS_OP_GETATTR] = { "getattr", K_PATH },
	[OMFS_OP_SETATTR] = { "setattr", K_SETATTR },	   [OMFS_OP_READLINK] = { "readlink", K_PATH },
	[OMFS_OP_MKNOD] = { "mknod", K_MK },		   [OMFS_OP_MKDIR] = { "mkdir", K_MK },
	[OMFS_OP_UNLINK] = { "unlink", K_PATH },	   [OMFS_OP_RMDIR] = { "rmdir", K_PATH },
	[OMFS_OP_SYMLINK] = { "symlink", K_SYMLINK },	   [OMFS_OP_RENAME] = { "rename", K_TWO },
	[OMFS_OP_LINK] = { "link", K_TWO },		   [OMFS_OP_OPEN] = { "open", K_OPEN },
	[OMFS_OP_READ] = { "read", K_READ },		   [OMFS_OP_WRITE] = { "write", K_WRITE },
	[OMFS_OP_FLUSH] = { "flush", K_FH },		   [OMFS_OP_RELEASE] = { "release", K_FH },
	[OMFS_OP_FSYNC] = { "fsync", K_FH },		   [OMFS_OP_OPENDIR] = { "opendir", K_OPEN },
	[OMFS_OP_READDIR] = { "readdir", K_READDIR },	   [OMFS_OP_RELEASEDIR] = { "releasedir", K_FH },
	[OMFS_OP_STATFS] = { "statfs", K_PATH },	   [OMFS_OP_SETXATTR] = { "setxattr", K_XATTR },
	[OMFS_OP_GETXATTR] = { "getxattr", K_XATTR },	   [OMFS_OP_LISTXATTR] = { "listxattr", K_XATTR },
	[OMFS_OP_REMOVEXATTR] = { "removexattr", K_XATTR }, [OMFS_OP_ACCESS] = { "access", K_ACCESS },
	[OMFS_OP_CREATE] = { "create", K_OPEN },	   [OMFS_OP_GETLK] = { "getlk", K_LOCK },
	[OMFS_OP_SETLK] = { "setlk", K_LOCK },		   [OMFS_OP_FLOCK] = { "flock", K_LOCK },
	[OMFS_OP_FALLOCATE] = { "fallocate", K_FALLOC },
	[OMFS_OP_COPY_FILE_RANGE] = { "copy_file_range", K_COPY },
};

const char *omfs_op_name(enum omfs_op op)
{
	if (op <= OMFS_OP_NONE || op >= OMFS_OP_COUNT_)
		return "?";
	return ops[op].name;
}

static ProtobufCBinaryData bin(struct omfs_buf b)
{
	return (ProtobufCBinaryData){ .len = b.len, .data = (uint8_t *)b.p };
}

static struct omfs_buf unbin(ProtobufCBinaryData b)
{
	return (struct omfs_buf){ .p = b.data, .len = b.len };
}

/* All oneof members are pointers sharing one union slot. */
static void set_op_slot(Omfs__Request *m, void *sub)
{
	memcpy(&m->lookup, &sub, sizeof(sub));
}

static void *get_op_slot(const Omfs__Request *m)
{
	void *sub;
	memcpy(&sub, &m->lookup, sizeof(sub));
	return sub;
}

int omfs_wire_req_encode(const struct omfs_req *r, uint8_t **ret_buf, size_t *ret_len)
{
	if (r->op <= OMFS_OP_NONE || r->op >= OMFS_OP_COUNT_ || r->cred.ngroups > OMFS_MAX_GROUPS ||
	    r->nrelease > OMFS_MAX_RELEASE || r->nwrites > OMFS_MAX_CARRIED)
		return -EINVAL;
	size_t carried = 0;
	Omfs__WriteReq wr[OMFS_MAX_CARRIED], *wp[OMFS_MAX_CARRIED];
	for (uint32_t i = 0; i < r->nwrites; i++) {
		carried += r->writes[i].data.len;
		wr[i] = (Omfs__WriteReq)OMFS__WRITE_REQ__INIT;
		wr[i].fh = r->writes[i].fh;
		wr[i].offset = r->writes[i].offset;
		wr[i].data = bin(r->writes[i].data);
		wp[i] = &wr[i];
	}
	if (carried > OMFS_MAX_IO)
		return -EINVAL;
	Omfs__Request m = OMFS__REQUEST__INIT;
	Omfs__Cred cred = OMFS__CRED__INIT;
	union {
		Omfs__PathReq path;
		Omfs__SetattrReq setattr;
		Omfs__MkReq mk;
		Omfs__SymlinkReq symlink;
		Omfs__TwoPathReq two;
		Omfs__OpenReq open;
		Omfs__ReadReq read;
		Omfs__WriteReq write;
		Omfs__FhReq fh;
		Omfs__ReaddirReq readdir;
		Omfs__XattrReq xattr;
		Omfs__AccessReq access;
		Omfs__LockReq lock;
		Omfs__FallocateReq falloc;
		Omfs__CopyRangeReq copy;
	} s;
	m.version = r->version ? r->version : OMFS_PROTO_VERSION;
	m.id = r->id;
	cred.uid = r->cred.uid;
	cred.gid = r->cred.gid;
	cred.n_groups = r->cred.ngroups;
	cred.groups = (uint32_t *)r->cred.groups;
	m.cred = &cred;
	m.n_released = r->nrelease;
	m.released = (uint64_t *)r->release;
	m.notify_sender = r->notify_sender != 0;
	m.n_writes = r->nwrites;
	m.writes = r->nwrites ? wp : NULL;
	m.op_case = (Omfs__Request__OpCase)(r->op + 9);
	switch (ops[r->op].kind) {
	case K_PATH:
		s.path = (Omfs__PathReq)OMFS__PATH_REQ__INIT;
		s.path.path = bin(r->path);
		s.path.fh = r->fh;
		break;
	case K_SETATTR:
		s.setattr = (Omfs__SetattrReq)OMFS__SETATTR_REQ__INIT;
		s.setattr.path = bin(r->path);
		s.setattr.fh = r->fh;
		s.setattr.valid = r->valid;
		s.setattr.mode = r->mode;
		s.setattr.uid = r->uid;
		s.setattr.gid = r->gid;
		s.setattr.size = r->offset;
		s.setattr.atime_sec = r->atime_sec;
		s.setattr.atime_nsec = r->atime_nsec;
		s.setattr.mtime_sec = r->mtime_sec;
		s.setattr.mtime_nsec = r->mtime_nsec;
		break;
	case K_MK:
		s.mk = (Omfs__MkReq)OMFS__MK_REQ__INIT;
		s.mk.path = bin(r->path);
		s.mk.mode = r->mode;
		s.mk.umask = r->umask;
		s.mk.rdev = r->rdev;
		break;
	case K_SYMLINK:
		s.symlink = (Omfs__SymlinkReq)OMFS__SYMLINK_REQ__INIT;
		s.symlink.path = bin(r->path);
		s.symlink.target = bin(r->path2);
		break;
	case K_TWO:
		s.two = (Omfs__TwoPathReq)OMFS__TWO_PATH_REQ__INIT;
		s.two.from = bin(r->path);
		s.two.to = bin(r->path2);
		s.two.flags = r->flags;
		break;
	case K_OPEN:
		s.open = (Omfs__OpenReq)OMFS__OPEN_REQ__INIT;
		s.open.path = bin(r->path);
		s.open.flags = r->flags;
		s.open.mode = r->mode;
		s.open.umask = r->umask;
		break;
	case K_READ:
		s.read = (Omfs__ReadReq)OMFS__READ_REQ__INIT;
		s.read.fh = r->fh;
		s.read.offset = r->offset;
		s.read.size = r->size;
		break;
	case K_WRITE:
		if (r->data.len > OMFS_MAX_IO)
			return -EINVAL;
		s.write = (Omfs__WriteReq)OMFS__WRITE_REQ__INIT;
		s.write.fh = r->fh;
		s.write.offset = r->offset;
		s.write.data = bin(r->data);
		break;
	case K_FH:
		s.fh = (Omfs__FhReq)OMFS__FH_REQ__INIT;
		s.fh.fh = r->fh;
		s.fh.datasync = r->datasync != 0;
		s.fh.lock_owner = r->lock_owner;
		break;
	case K_READDIR:
		s.readdir = (Omfs__ReaddirReq)OMFS__READDIR_REQ__INIT;
		s.readdir.fh = r->fh;
		s.readdir.offset = r->offset;
		s.readdir.size = r->size;
		s.readdir.plus = r->plus != 0;
		break;
	case K_XATTR:
		s.xattr = (Omfs__XattrReq)OMFS__XATTR_REQ__INIT;
		s.xattr.path = bin(r->path);
		s.xattr.name = bin(r->path2);
		s.xattr.value = bin(r->data);
		s.xattr.flags = r->flags;
		s.xattr.size = r->size;
		break;
	case K_ACCESS:
		s.access = (Omfs__AccessReq)OMFS__ACCESS_REQ__INIT;
		s.access.path = bin(r->path);
		s.access.mask = r->mask;
		break;
	case K_LOCK:
		s.lock = (Omfs__LockReq)OMFS__LOCK_REQ__INIT;
		s.lock.fh = r->fh;
		s.lock.owner = r->lock_owner;
		s.lock.type = r->lock_type;
		s.lock.start = r->offset;
		s.lock.end = r->end;
		s.lock.pid = r->lock_pid;
		s.lock.wait = r->wait != 0;
		s.lock.flock_op = r->flock_op;
		break;
	case K_FALLOC:
		s.falloc = (Omfs__FallocateReq)OMFS__FALLOCATE_REQ__INIT;
		s.falloc.fh = r->fh;
		s.falloc.mode = r->mode;
		s.falloc.offset = r->offset;
		s.falloc.length = r->length;
		break;
	case K_COPY:
		s.copy = (Omfs__CopyRangeReq)OMFS__COPY_RANGE_REQ__INIT;
		s.copy.fh_in = r->fh;
		s.copy.off_in = r->offset;
		s.copy.fh_out = r->fh2;
		s.copy.off_out = r->offset2;
		s.copy.length = (uint64_t)r->length;
		s.copy.flags = r->flags;
		break;
	}
	set_op_slot(&m, &s);
	return omfs_wire_pack(&m.base, ret_buf, ret_len);
}

static void decode_kind(struct omfs_req *r, enum kind kind, const void *sub)
{
	switch (kind) {
	case K_PATH: {
		const Omfs__PathReq *p = sub;
		r->path = unbin(p->path);
		r->fh = p->fh;
		break;
	}
	case K_SETATTR: {
		const Omfs__SetattrReq *p = sub;
		r->path = unbin(p->path);
		r->fh = p->fh;
		r->valid = p->valid;
		r->mode = p->mode;
		r->uid = p->uid;
		r->gid = p->gid;
		r->offset = p->size;
		r->atime_sec = p->atime_sec;
		r->atime_nsec = p->atime_nsec;
		r->mtime_sec = p->mtime_sec;
		r->mtime_nsec = p->mtime_nsec;
		break;
	}
	case K_MK: {
		const Omfs__MkReq *p = sub;
		r->path = unbin(p->path);
		r->mode = p->mode;
		r->umask = p->umask;
		r->rdev = p->rdev;
		break;
	}
	case K_SYMLINK: {
		const Omfs__SymlinkReq *p = sub;
		r->path = unbin(p->path);
		r->path2 = unbin(p->target);
		break;
	}
	case K_TWO: {
		const Omfs__TwoPathReq *p = sub;
		r->path = unbin(p->from);
		r->path2 = unbin(p->to);
		r->flags = p->flags;
		break;
	}
	case K_OPEN: {
		const Omfs__OpenReq *p = sub;
		r->path = unbin(p->path);
		r->flags = p->flags;
		r->mode = p->mode;
		r->umask = p->umask;
		break;
	}
	case K_READ: {
		const Omfs__ReadReq *p = sub;
		r->fh = p->fh;
		r->offset = p->offset;
		r->size = p->size;
		break;
	}
	case K_WRITE: {
		const Omfs__WriteReq *p = sub;
		r->fh = p->fh;
		r->offset = p->offset;
		r->data = unbin(p->data);
		break;
	}
	case K_FH: {
		const Omfs__FhReq *p = sub;
		r->fh = p->fh;
		r->datasync = p->datasync;
		r->lock_owner = p->lock_owner;
		break;
	}
	case K_READDIR: {
		const Omfs__ReaddirReq *p = sub;
		r->fh = p->fh;
		r->offset = p->offset;
		r->size = p->size;
		r->plus = p->plus;
		break;
	}
	case K_XATTR: {
		const Omfs__XattrReq *p = sub;
		r->path = unbin(p->path);
		r->path2 = unbin(p->name);
		r->data = unbin(p->value);
		r->flags = p->flags;
		r->size = p->size;
		break;
	}
	case K_ACCESS: {
		const Omfs__AccessReq *p = sub;
		r->path = unbin(p->path);
		r->mask = p->mask;
		break;
	}
	case K_LOCK: {
		const Omfs__LockReq *p = sub;
		r->fh = p->fh;
		r->lock_owner = p->owner;
		r->lock_type = p->type;
		r->offset = p->start;
		r->end = p->end;
		r->lock_pid = p->pid;
		r->wait = p->wait;
		r->flock_op = p->flock_op;
		break;
	}
	case K_FALLOC: {
		const Omfs__FallocateReq *p = sub;
		r->fh = p->fh;
		r->mode = p->mode;
		r->offset = p->offset;
		r->length = p->length;
		break;
	}
	case K_COPY: {
		const Omfs__CopyRangeReq *p = sub;
		r->fh = p->fh_in;
		r->offset = p->off_in;
		r->fh2 = p->fh_out;
		r->offset2 = p->off_out;
		r->length = p->length > INT64_MAX ? INT64_MAX : (int64_t)p->length;
		r->flags = p->flags;
		break;
	}
	}
}

int omfs_wire_req_decode(const uint8_t *buf, size_t len, struct omfs_req *ret_req)
{
	if (len > OMFS_MAX_MSG)
		return -EBADMSG;
	Omfs__Request *m = omfs__request__unpack(NULL, len, buf);
	if (!m)
		return -EBADMSG;
	struct omfs_req r;
	memset(&r, 0, sizeof(r));
	r.version = m->version;
	r.id = m->id;
	int op = (int)m->op_case - 9;
	const void *sub = get_op_slot(m);
	if (op <= OMFS_OP_NONE || op >= OMFS_OP_COUNT_ || !sub) {
		omfs__request__free_unpacked(m, NULL);
		return -EBADMSG;
	}
	size_t carried = 0;
	for (size_t i = 0; i < m->n_writes && m->n_writes <= OMFS_MAX_CARRIED; i++)
		carried += m->writes[i]->data.len;
	if (m->n_released > OMFS_MAX_RELEASE || m->n_writes > OMFS_MAX_CARRIED ||
	    carried > OMFS_MAX_IO) {
		omfs__request__free_unpacked(m, NULL);
		return -EBADMSG;
	}
	r.nwrites = (uint32_t)m->n_writes;
	for (size_t i = 0; i < m->n_writes; i++) {
		r.writes[i].fh = m->writes[i]->fh;
		r.writes[i].offset = m->writes[i]->offset;
		r.writes[i].data = unbin(m->writes[i]->data);
	}
	r.nrelease = (uint32_t)m->n_released;
	r.notify_sender = m->notify_sender;
	for (size_t i = 0; i < m->n_released; i++)
		r.release[i] = m->released[i];
	if (m->cred) {
		if (m->cred->n_groups > OMFS_MAX_GROUPS) {
			omfs__request__free_unpacked(m, NULL);
			return -EBADMSG;
		}
		r.cred.uid = m->cred->uid;
		r.cred.gid = m->cred->gid;
		r.cred.ngroups = (uint32_t)m->cred->n_groups;
		for (size_t i = 0; i < m->cred->n_groups; i++)
			r.cred.groups[i] = m->cred->groups[i];
	} else {
		/* no credentials: the nobody user, never root */
		r.cred.uid = r.cred.gid = 65534;
	}
	r.op = (enum omfs_op)op;
	decode_kind(&r, ops[op].kind, sub);
	r.priv_ = m;
	*ret_req = r;
	if (r.version != OMFS_PROTO_VERSION)
		return -EPROTO; /* *ret_req is set (for the id); the caller still clears it */
	return 0;
}

void omfs_req_clear(struct omfs_req *req)
{
	if (req->priv_)
		omfs__request__free_unpacked(req->priv_, NULL);
	req->priv_ = NULL;
}

static void attr_to_msg(const struct omfs_attr *a, Omfs__Attr *m)
{
	*m = (Omfs__Attr)OMFS__ATTR__INIT;
	m->ino = a->ino;
	m->dev = a->dev;
	m->mode = a->mode;
	m->nlink = a->nlink;
	m->uid = a->uid;
	m->gid = a->gid;
	m->rdev = a->rdev;
	m->size = a->size;
	m->blocks = a->blocks;
	m->blksize = a->blksize;
	m->atime_sec = a->atime_sec;
	m->atime_nsec = a->atime_nsec;
	m->mtime_sec = a->mtime_sec;
	m->mtime_nsec = a->mtime_nsec;
	m->ctime_sec = a->ctime_sec;
	m->ctime_nsec = a->ctime_nsec;
	m->no_xattrs = a->no_xattrs != 0;
	m->watched = a->watched != 0;
}

static void attr_from_msg(const Omfs__Attr *m, struct omfs_attr *a)
{
	a->ino = m->ino;
	a->dev = m->dev;
	a->mode = m->mode;
	a->nlink = m->nlink;
	a->uid = m->uid;
	a->gid = m->gid;
	a->rdev = m->rdev;
	a->size = m->size;
	a->blocks = m->blocks;
	a->blksize = m->blksize;
	a->atime_sec = m->atime_sec;
	a->atime_nsec = m->atime_nsec;
	a->mtime_sec = m->mtime_sec;
	a->mtime_nsec = m->mtime_nsec;
	a->ctime_sec = m->ctime_sec;
	a->ctime_nsec = m->ctime_nsec;
	a->no_xattrs = m->no_xattrs;
	a->watched = m->watched;
}

int omfs_wire_resp_encode(const struct omfs_resp *r, uint8_t **ret_buf, size_t *ret_len)
{
	Omfs__Response m = OMFS__RESPONSE__INIT;
	Omfs__Attr attr;
	Omfs__Statfs st = OMFS__STATFS__INIT;
	Omfs__Lock lk = OMFS__LOCK__INIT;
	Omfs__Entry *ents = NULL, **entp = NULL;
	Omfs__Attr *eattrs = NULL;
	int rc = -ENOMEM;

	m.version = r->version ? r->version : OMFS_PROTO_VERSION;
	m.id = r->id;
	m.error = r->error;
	if (r->has_attr) {
		attr_to_msg(&r->attr, &attr);
		m.attr = &attr;
	}
	m.fh = r->fh;
	m.data = (ProtobufCBinaryData){ .len = r->data_len, .data = r->data };
	m.size = r->size;
	m.eof = r->eof != 0;
	m.open_flags = r->open_flags;
	m.n_write_errors = r->nwrite_errors <= OMFS_MAX_CARRIED ? r->nwrite_errors : 0;
	m.write_errors = (int32_t *)r->write_errors;
	if (r->has_statfs) {
		st.bsize = r->statfs.bsize;
		st.frsize = r->statfs.frsize;
		st.blocks = r->statfs.blocks;
		st.bfree = r->statfs.bfree;
		st.bavail = r->statfs.bavail;
		st.files = r->statfs.files;
		st.ffree = r->statfs.ffree;
		st.favail = r->statfs.favail;
		st.namemax = r->statfs.namemax;
		st.flag = r->statfs.flag;
		m.statfs = &st;
	}
	if (r->has_lock) {
		lk.type = r->lock_type;
		lk.start = r->lock_start;
		lk.end = r->lock_end;
		lk.pid = r->lock_pid;
		m.lock = &lk;
	}
	if (r->nentries) {
		ents = calloc(r->nentries, sizeof(*ents));
		entp = calloc(r->nentries, sizeof(*entp));
		eattrs = calloc(r->nentries, sizeof(*eattrs));
		if (!ents || !entp || !eattrs)
			goto out;
		for (size_t i = 0; i < r->nentries; i++) {
			const struct omfs_dirent *d = &r->entries[i];
			ents[i] = (Omfs__Entry)OMFS__ENTRY__INIT;
			ents[i].name = (ProtobufCBinaryData){ .len = strlen(d->name),
							      .data = (uint8_t *)d->name };
			ents[i].ino = d->ino;
			ents[i].type = d->type;
			ents[i].off = d->off;
			if (d->has_attr) {
				attr_to_msg(&d->attr, &eattrs[i]);
				ents[i].attr = &eattrs[i];
			}
			entp[i] = &ents[i];
		}
		m.n_entries = r->nentries;
		m.entries = entp;
	}
	rc = omfs_wire_pack(&m.base, ret_buf, ret_len);
out:
	free(ents);
	free(entp);
	free(eattrs);
	return rc;
}

static int resp_entries_from_msg(const Omfs__Response *m, struct omfs_resp *r)
{
	if (!m->n_entries)
		return 0;
	r->entries = calloc(m->n_entries, sizeof(*r->entries));
	if (!r->entries)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_entries; i++) {
		const Omfs__Entry *e = m->entries[i];
		struct omfs_dirent *d = &r->entries[i];
		if (e->name.len == 0 || e->name.len > 255 || memchr(e->name.data, 0, e->name.len))
			return -EBADMSG;
		d->name = strndup((const char *)e->name.data, e->name.len);
		if (!d->name)
			return -ENOMEM;
		r->nentries = i + 1;
		d->ino = e->ino;
		d->type = e->type;
		d->off = e->off;
		if (e->attr) {
			d->has_attr = 1;
			attr_from_msg(e->attr, &d->attr);
		}
	}
	return 0;
}

int omfs_wire_resp_decode(const uint8_t *buf, size_t len, struct omfs_resp *ret_resp)
{
	if (len > OMFS_MAX_MSG)
		return -EBADMSG;
	Omfs__Response *m = omfs__response__unpack(NULL, len, buf);
	if (!m)
		return -EBADMSG;
	struct omfs_resp r;
	memset(&r, 0, sizeof(r));
	int rc = -EBADMSG;
	if (m->error > 0 || m->error < -4095 || m->n_write_errors > OMFS_MAX_CARRIED)
		goto fail;
	for (size_t i = 0; i < m->n_write_errors; i++)
		if (m->write_errors[i] > 0 || m->write_errors[i] < -4095)
			goto fail;
	r.version = m->version;
	r.id = m->id;
	r.error = m->error;
	if (m->attr) {
		r.has_attr = 1;
		attr_from_msg(m->attr, &r.attr);
	}
	r.fh = m->fh;
	r.size = m->size;
	r.eof = m->eof;
	r.open_flags = m->open_flags;
	r.nwrite_errors = (uint32_t)m->n_write_errors;
	for (size_t i = 0; i < m->n_write_errors; i++)
		r.write_errors[i] = m->write_errors[i];
	if (m->data.len) {
		rc = -ENOMEM;
		r.data = malloc(m->data.len);
		if (!r.data)
			goto fail;
		memcpy(r.data, m->data.data, m->data.len);
		r.data_len = m->data.len;
	}
	if (m->statfs) {
		const Omfs__Statfs *s = m->statfs;
		r.has_statfs = 1;
		r.statfs = (struct omfs_statfs){ s->bsize, s->frsize, s->blocks, s->bfree, s->bavail,
						 s->files, s->ffree, s->favail, s->namemax, s->flag };
	}
	if (m->lock) {
		r.has_lock = 1;
		r.lock_type = m->lock->type;
		r.lock_start = m->lock->start;
		r.lock_end = m->lock->end;
		r.lock_pid = m->lock->pid;
	}
	rc = resp_entries_from_msg(m, &r);
	if (rc < 0)
		goto fail;
	omfs__response__free_unpacked(m, NULL);
	*ret_resp = r;
	return 0;
fail:
	omfs__response__free_unpacked(m, NULL);
	omfs_resp_clear(&r);
	return rc;
}

void omfs_resp_clear(struct omfs_resp *r)
{
	free(r->data);
	for (size_t i = 0; i < r->nentries; i++)
		free(r->entries[i].name);
	free(r->entries);
	memset(r, 0, sizeof(*r));
}

int omfs_wire_pack(const ProtobufCMessage *m, uint8_t **ret_buf, size_t *ret_len)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	(void)protobuf_c_message_pack(m, buf);
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/* ---- the mesh envelope ---- */

int omfs_wire_frame_encode(const struct omfs_frame *f, uint8_t **ret_buf, size_t *ret_len)
{
	if (f->kind < OMFS_FRAME_REQUEST || f->kind > OMFS_FRAME_NOTIFY || f->error > 0 ||
	    f->payload.len > OMFS_MAX_MSG)
		return -EINVAL;
	Omfs__MeshFrame m = OMFS__MESH_FRAME__INIT;
	m.version = OMFS_PROTO_VERSION;
	m.kind = (uint32_t)f->kind;
	m.xid = f->xid;
	m.error = f->error;
	m.payload = bin(f->payload);
	return omfs_wire_pack(&m.base, ret_buf, ret_len);
}

int omfs_wire_frame_decode(const uint8_t *buf, size_t len, struct omfs_frame *ret)
{
	Omfs__MeshFrame *m = omfs__mesh_frame__unpack(NULL, len, buf);
	if (!m)
		return -EBADMSG;
	int r = 0;
	if (m->version != OMFS_PROTO_VERSION)
		r = -EPROTO;
	else if (m->kind < OMFS_FRAME_REQUEST || m->kind > OMFS_FRAME_NOTIFY || m->error > 0)
		r = -EBADMSG;
	else if (m->payload.len > OMFS_MAX_MSG)
		r = -EMSGSIZE;
	if (r < 0 && r != -EMSGSIZE) {
		omfs__mesh_frame__free_unpacked(m, NULL);
		return r;
	}
	memset(ret, 0, sizeof(*ret));
	ret->kind = (enum omfs_frame_kind)m->kind;
	ret->xid = m->xid;
	if (r < 0) { /* kind and xid are known: the receiver can still refuse with a reply */
		omfs__mesh_frame__free_unpacked(m, NULL);
		return r;
	}
	ret->error = m->error;
	ret->payload = unbin(m->payload);
	ret->priv_ = m;
	return 0;
}

void omfs_frame_clear(struct omfs_frame *f)
{
	if (f->priv_)
		omfs__mesh_frame__free_unpacked(f->priv_, NULL);
	memset(f, 0, sizeof(*f));
}

int omfs_wire_req_may_block(const uint8_t *buf, size_t len)
{
	if (len > 4096) /* lock requests are small: never decode a large write for this */
		return 0;
	struct omfs_req r;
	memset(&r, 0, sizeof(r));
	if (omfs_wire_req_decode(buf, len, &r) < 0) {
		omfs_req_clear(&r);
		return 0;
	}
	int b = (r.op == OMFS_OP_SETLK && r.wait) ||
		(r.op == OMFS_OP_FLOCK && !(r.flock_op & LOCK_NB) && (r.flock_op & ~LOCK_NB) != LOCK_UN);
	omfs_req_clear(&r);
	return b;
}

void omfs_attr_from_stat(const struct stat *st, struct omfs_attr *a)
{
	a->ino = st->st_ino;
	a->dev = st->st_dev;
	a->rdev = st->st_rdev;
	a->mode = st->st_mode;
	a->nlink = (uint32_t)st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->blksize = (uint32_t)st->st_blksize;
	a->size = st->st_size;
	a->blocks = st->st_blocks;
	a->atime_sec = st->st_atim.tv_sec;
	a->atime_nsec = (uint32_t)st->st_atim.tv_nsec;
	a->mtime_sec = st->st_mtim.tv_sec;
	a->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctime_sec = st->st_ctim.tv_sec;
	a->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
}
