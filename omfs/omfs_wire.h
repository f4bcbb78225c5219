/* omfs_wire.h - the oMFS request/response as C structs, and their (only) encoder/decoder.
 *
 * proto/omfs.proto is the contract on the wire; this header is what the rest of omfs sees. A
 * request is one flat struct: `op` says which fields mean something (the table in omfs.proto).
 * Strings and buffers in a decoded request are BORROWED from the decoder's message and live until
 * omfs_req_clear(); in a request being built they are borrowed from the caller. A response owns
 * its buffers (malloc) and omfs_resp_clear() frees them.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define OMFS_PROTO_VERSION 1
#define OMFS_MAX_GROUPS 64
#define OMFS_MAX_IO (1u << 20) /* largest read/write payload, 1 MiB */
#define OMFS_MAX_MSG (OMFS_MAX_IO + 65536)
#define OMFS_MAX_XATTR 65536
#define OMFS_MAX_RELEASE 64 /* handles one request may release on the side (Request.released) */
#define OMFS_MAX_CHANGES 256 /* changes in one Notify; more become `all` */
#define OMFS_MAX_CARRIED 16  /* writes one request may carry (Request.writes) */
#define OMFS_MAX_COPY (64u << 20) /* bytes one copy_file_range request copies at most */
/* How long a client may cache attributes and entries the server marked `watched` (the server
 * tells it of every change); everything else is cached for the client's default (1 s). */
#define OMFS_WATCHED_TTL_S 10

enum omfs_op {
	OMFS_OP_NONE = 0,
	OMFS_OP_LOOKUP,
	OMFS_OP_GETATTR,
	OMFS_OP_SETATTR,
	OMFS_OP_READLINK,
	OMFS_OP_MKNOD,
	OMFS_OP_MKDIR,
	OMFS_OP_UNLINK,
	OMFS_OP_RMDIR,
	OMFS_OP_SYMLINK,
	OMFS_OP_RENAME,
	OMFS_OP_LINK,
	OMFS_OP_OPEN,
	OMFS_OP_READ,
	OMFS_OP_WRITE,
	OMFS_OP_FLUSH,
	OMFS_OP_RELEASE,
	OMFS_OP_FSYNC,
	OMFS_OP_OPENDIR,
	OMFS_OP_READDIR,
	OMFS_OP_RELEASEDIR,
	OMFS_OP_STATFS,
	OMFS_OP_SETXATTR,
	OMFS_OP_GETXATTR,
	OMFS_OP_LISTXATTR,
	OMFS_OP_REMOVEXATTR,
	OMFS_OP_ACCESS,
	OMFS_OP_CREATE,
	OMFS_OP_GETLK,
	OMFS_OP_SETLK,
	OMFS_OP_FLOCK,
	OMFS_OP_FALLOCATE,
	OMFS_OP_COPY_FILE_RANGE,
	OMFS_OP_COUNT_
};

/* setattr `valid` bits */
#define OMFS_SET_MODE (1u << 0)
#define OMFS_SET_UID (1u << 1)
#define OMFS_SET_GID (1u << 2)
#define OMFS_SET_SIZE (1u << 3)
#define OMFS_SET_ATIME (1u << 4)
#define OMFS_SET_MTIME (1u << 5)
#define OMFS_SET_ATIME_NOW (1u << 6)
#define OMFS_SET_MTIME_NOW (1u << 7)

struct omfs_cred {
	uint32_t uid, gid;
	uint32_t ngroups;
	uint32_t groups[OMFS_MAX_GROUPS];
};

struct omfs_attr {
	uint64_t ino, dev, rdev;
	uint32_t mode, nlink, uid, gid, blksize;
	int64_t size, blocks;
	int64_t atime_sec, mtime_sec, ctime_sec;
	uint32_t atime_nsec, mtime_nsec, ctime_nsec;
	int no_xattrs; /* the server saw no extended attributes (0: not known) */
	int watched;   /* the server reports changes of this inode (cache for OMFS_WATCHED_TTL_S) */
};

/* A byte string that is not NUL-terminated on the wire (paths, names, data). */
struct omfs_buf {
	const uint8_t *p;
	size_t len;
};

struct omfs_req {
	uint32_t version;
	uint64_t id;
	enum omfs_op op;
	struct omfs_cred cred;
	struct omfs_buf path;  /* most ops; symlink: the new link's path; link/rename: from */
	struct omfs_buf path2; /* rename/link: to; symlink: target; xattr: name */
	struct omfs_buf data;  /* write: data; setxattr: value */
	uint64_t fh;
	int64_t offset;	 /* read/write/readdir; lock start */
	int64_t end;	 /* lock end (inclusive) */
	int64_t length;	 /* fallocate, copy_file_range */
	uint64_t fh2;	 /* copy_file_range: the file written (fh: the file read) */
	int64_t offset2; /* copy_file_range: where in fh2 (offset: where in fh) */
	uint32_t size;	 /* read/readdir/xattr size */
	uint32_t flags;	 /* open flags, rename flags, xattr flags */
	uint32_t mode, umask, valid, mask; /* mode: also fallocate's */
	uint32_t uid, gid; /* setattr */
	uint64_t rdev;
	int64_t atime_sec, mtime_sec;
	uint32_t atime_nsec, mtime_nsec;
	uint64_t lock_owner;
	uint32_t lock_type, lock_pid, flock_op;
	int plus, datasync, wait;
	uint32_t nrelease; /* handles to drop before the operation (deferred releases) */
	uint64_t release[OMFS_MAX_RELEASE];
	int notify_sender; /* tell the sending node of this request's changes too (Request field 5) */
	uint32_t nwrites; /* writes to do first (Request.writes), data in all <= OMFS_MAX_IO */
	struct omfs_carried {
		uint64_t fh;
		int64_t offset;
		struct omfs_buf data;
	} writes[OMFS_MAX_CARRIED];
	void *priv_; /* decoder's message; freed by omfs_req_clear */
};

struct omfs_dirent {
	char *name; /* owned, NUL-terminated */
	uint64_t ino;
	uint32_t type;
	int64_t off;
	int has_attr;
	struct omfs_attr attr;
};

struct omfs_statfs {
	uint64_t bsize, frsize, blocks, bfree, bavail, files, ffree, favail, namemax, flag;
};

/* open_flags hints in responses */
#define OMFS_OPEN_DIRECT_IO (1u << 0)

struct omfs_resp {
	uint32_t version;
	uint64_t id;
	int32_t error;
	int has_attr;
	struct omfs_attr attr;
	uint64_t fh;
	uint8_t *data; /* owned */
	size_t data_len;
	uint64_t size;
	struct omfs_dirent *entries; /* owned, with their names */
	size_t nentries;
	int eof;
	int has_statfs;
	struct omfs_statfs statfs;
	int has_lock;
	uint32_t lock_type, lock_pid;
	int64_t lock_start, lock_end;
	uint32_t open_flags;
	uint32_t nwrite_errors; /* one per carried write (Request.writes): 0 or a negative errno */
	int32_t write_errors[OMFS_MAX_CARRIED];
};

/* Fills *a from a stat(2) result (every stat field; no_xattrs is left as it is). Used by the
 * server for its replies and by omx cp for local files. */
void omfs_attr_from_stat(const struct stat *st, struct omfs_attr *a);

/* Returns a static name for an op ("lookup"), or "?" */
const char *omfs_op_name(enum omfs_op op);

/* Encodes a request. On success *ret_buf is malloc'ed and the caller owns it.
 * Returns 0, -EINVAL (op unknown or fields out of range) or -ENOMEM. */
__attribute__((warn_unused_result)) int omfs_wire_req_encode(const struct omfs_req *req,
							     uint8_t **ret_buf, size_t *ret_len);

/* Decodes a request. Strings in *ret_req borrow from a message owned by *ret_req: call
 * omfs_req_clear() when done. Returns 0, -EBADMSG (malformed, no op, too many groups),
 * -EPROTO (unsupported version; ret_req->id is still set when this happens) or -ENOMEM. */
__attribute__((warn_unused_result)) int omfs_wire_req_decode(const uint8_t *buf, size_t len,
							     struct omfs_req *ret_req);

/* Frees what a decoded request borrows from; a no-op on a built request. */
void omfs_req_clear(struct omfs_req *req);

/* Encodes a response (caller owns *ret_buf). Returns 0 or -ENOMEM. */
__attribute__((warn_unused_result)) int omfs_wire_resp_encode(const struct omfs_resp *resp,
							      uint8_t **ret_buf, size_t *ret_len);

/* Decodes a response into *ret_resp (which then owns copies of everything; omfs_resp_clear).
 * Returns 0, -EBADMSG or -ENOMEM. */
__attribute__((warn_unused_result)) int omfs_wire_resp_decode(const uint8_t *buf, size_t len,
							      struct omfs_resp *ret_resp);

/* Frees what a response owns and zeroes it. */
void omfs_resp_clear(struct omfs_resp *resp);

/* The mesh envelope (proto MeshFrame): one oMFS datagram between two omxd's. */
enum omfs_frame_kind {
	OMFS_FRAME_REQUEST = 1,
	OMFS_FRAME_REPLY = 2,
	OMFS_FRAME_REFUSED = 3, /* error holds a negative errno; no payload */
	OMFS_FRAME_NOTIFY = 4,	/* server -> client: an encoded Notify; xid 0 */
};

struct omfs_frame {
	enum omfs_frame_kind kind;
	uint64_t xid;
	int32_t error;
	struct omfs_buf payload; /* decoded: borrowed from priv_ until omfs_frame_clear */
	void *priv_;
};

/* Encodes a frame (caller owns *ret_buf). Returns 0, -EINVAL (bad kind, positive error,
 * payload larger than OMFS_MAX_MSG) or -ENOMEM. */
__attribute__((warn_unused_result)) int omfs_wire_frame_encode(const struct omfs_frame *f,
							       uint8_t **ret_buf,
							       size_t *ret_len);
/* Decodes a frame; the payload borrows from *ret (omfs_frame_clear). Returns 0, -EBADMSG
 * (malformed, unknown kind, positive error), -EPROTO (another version), -EMSGSIZE (payload
 * larger than OMFS_MAX_MSG: ret->kind and ret->xid are still set, nothing to clear) or -ENOMEM. */
__attribute__((warn_unused_result)) int omfs_wire_frame_decode(const uint8_t *buf, size_t len,
							       struct omfs_frame *ret);
void omfs_frame_clear(struct omfs_frame *f);

/* What a server saw change (proto Notify): paths it served a change of, or that its file-system
 * watch reported. `what` bits: */
#define OMFS_CHG_NAME 1u /* the name was created, removed or replaced (its directory changed) */
#define OMFS_CHG_ATTR 2u /* attributes of what the path names */
#define OMFS_CHG_DATA 4u /* contents (and so size and times) */
#define OMFS_CHG_ALL_ (OMFS_CHG_NAME | OMFS_CHG_ATTR | OMFS_CHG_DATA)

struct omfs_change {
	char *path; /* owned, NUL-terminated, server-absolute */
	uint32_t what;
};

struct omfs_notify {
	int all; /* forget everything cached of that node (then n == 0) */
	size_t n, cap;
	struct omfs_change *c; /* owned */
};

/* Adds a change (a path seen again gets the bits ORed in). Never fails: past OMFS_MAX_CHANGES
 * paths, on a path that is empty, over PATH_MAX or contains a NUL, or out of memory, the list
 * becomes `all` (what the receiver must then assume anyway). */
void omfs_notify_add(struct omfs_notify *nt, const char *path, size_t len, uint32_t what);
void omfs_notify_clear(struct omfs_notify *nt);
/* Encodes (caller owns *ret_buf): 0 or -ENOMEM. */
__attribute__((warn_unused_result)) int omfs_wire_notify_encode(const struct omfs_notify *nt,
								uint8_t **ret_buf,
								size_t *ret_len);
/* Decodes into *ret (which owns copies; omfs_notify_clear). Returns 0, -EBADMSG (malformed,
 * more than OMFS_MAX_CHANGES, a path empty, relative, over PATH_MAX or with a NUL, no or unknown
 * `what` bits) or -ENOMEM. */
__attribute__((warn_unused_result)) int omfs_wire_notify_decode(const uint8_t *buf, size_t len,
								struct omfs_notify *ret);

/* 1 if the encoded request may wait on the server without bound (SETLK with wait, FLOCK
 * without LOCK_NB), else 0 (also for anything that does not decode). */
int omfs_wire_req_may_block(const uint8_t *buf, size_t len);
