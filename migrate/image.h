/* image.h - a frozen process as C structs, and the streamed image format that carries it.
 *
 * struct mig_image is everything but the page contents: header (format version, CPU features,
 * vDSO fingerprint), registers, memory regions and kernel-side state. Page contents are not held
 * in memory: capture streams them from /proc/PID/mem into the writer, restore streams them from
 * the reader into the new process. The wire form (proto/image.proto) is produced and parsed only
 * in image_wire.c: magic, then length-prefixed chunks header / process / pages... / end.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <sys/user.h>

#include "common/cpu.h"

#define MIG_IMAGE_VERSION 1
#define MIG_IMAGE_MAGIC "OMXIMG\0\1"
#define MIG_IMAGE_MAGIC_LEN 8
/* Largest chunk a reader accepts (page chunks carry at most MIG_PAGES_MAX bytes of pages). */
#define MIG_CHUNK_MAX (16u << 20)
#define MIG_PAGES_MAX (4u << 20)
#define MIG_MAX_REGIONS 65536
#define MIG_MAX_FDS 4096
#define MIG_NSIG 64
#define MIG_PAGE 4096ul

enum mig_region_kind {
	MIG_REG_ANON = 0,  /* private anonymous */
	MIG_REG_FILE,      /* file-backed (private or shared) */
	MIG_REG_HEAP,      /* [heap] */
	MIG_REG_STACK,     /* [stack]: restored with MAP_GROWSDOWN */
	MIG_REG_VVAR,      /* [vvar], [vvar_vclock], [vdso]: provided by the kernel, moved */
	MIG_REG_VVAR_VCLOCK,
	MIG_REG_VDSO,
	MIG_REG_KIND_MAX,
};

enum mig_fd_kind {
	MIG_FD_FILE = 0, /* regular file: reopened by path at its offset */
	MIG_FD_INHERIT,  /* standard stream: the restoring command's own is used */
	MIG_FD_KIND_MAX,
};

struct mig_header {
	uint32_t version;
	uint64_t xsave_features;
	uint32_t xsave_size;
	uint8_t vdso_fp[CPU_FP_LEN];
	int32_t pid;
	char comm[32];
	uint64_t created_ms;
};

struct mig_region {
	uint64_t start, end;
	uint32_t prot;
	enum mig_region_kind kind;
	bool shared;
	uint64_t pgoff;
	char *path; /* owned; NULL unless MIG_REG_FILE */
	uint64_t dev, ino, size;
	int64_t mtime_ns;
};

struct mig_mm {
	uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint64_t auxv[128]; /* (type, value) pairs, AT_NULL included */
	uint32_t auxv_words;
	char *exe; /* owned, may be NULL */
};

struct mig_sigaction {
	bool set; /* captured (SIGKILL and SIGSTOP never are) */
	uint64_t handler, flags, restorer, mask;
};

struct mig_itimer {
	int64_t interval_us, value_us;
};

struct mig_rlimit {
	bool set;
	uint64_t cur, max;
};

struct mig_fd {
	int fd;
	enum mig_fd_kind kind;
	char *path; /* owned; NULL for MIG_FD_INHERIT */
	uint32_t flags;
	uint64_t pos;
	bool is_dup; /* same open file description as fd dup_of (listed before this one) */
	int dup_of;
};

#define MIG_NRLIMIT 16
#define MIG_MAX_PTIMERS 4096
#define MIG_MAX_PENDING_INFO 64

/* A POSIX timer (timer_create), from /proc/PID/timers and timer_gettime. */
struct mig_ptimer {
	int32_t id;     /* the timer_t the process holds */
	int32_t clock;  /* CLOCK_* (only clocks mig_ptimer_clock_ok accepts) */
	int32_t notify; /* SIGEV_SIGNAL, SIGEV_NONE or SIGEV_THREAD_ID (to the process itself) */
	int32_t signo;
	uint64_t sigval; /* sigev_value */
	int64_t interval_ns, value_ns; /* value 0: disarmed */
};

/* Is clock a clock whose timers can be restored (realtime, monotonic, boottime, tai, the
 * process's and thread's own CPU time, also in the kernel's negative encoding for "self")? */
bool mig_ptimer_clock_ok(int32_t clock);

struct mig_image {
	struct mig_header hdr;
	struct user_regs_struct regs;
	uint8_t *xsave; /* owned, xsave_len bytes */
	uint32_t xsave_len;
	struct mig_region *regions; /* owned array */
	size_t n_regions;
	struct mig_mm mm;
	struct mig_sigaction sigactions[MIG_NSIG + 1]; /* indexed by signal number */
	uint64_t sigmask;
	uint64_t pending; /* bit (sig - 1) set: pending at freeze */
	uint64_t altstack_sp, altstack_size;
	uint32_t altstack_flags;
	struct mig_itimer itimers[3]; /* ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF */
	uint64_t rseq_ptr;
	uint32_t rseq_len, rseq_sig;
	uint64_t robust_head, robust_len, clear_child_tid;
	struct mig_rlimit rlimits[MIG_NRLIMIT];
	char *cwd; /* owned */
	uint32_t umask;
	uint32_t personality;
	struct mig_fd *fds; /* owned array */
	size_t n_fds;
	uint32_t ids[8]; /* ruid euid suid fsuid rgid egid sgid fsgid */
	struct mig_ptimer *ptimers; /* owned array, ascending ids */
	size_t n_ptimers;
	siginfo_t *pending_info; /* owned array: siginfo of pending signals, where known */
	size_t n_pending_info;
	uint8_t *vdso_text; /* owned: the [vdso] pages at capture (vdso.h), vdso_len bytes */
	uint32_t vdso_len;
};

/* Returns a zeroed image, or NULL (out of memory). Caller owns it: mig_image_free(). */
struct mig_image *mig_image_new(void);
/* Frees the image and everything it owns; NULL is a no-op. Sets *img to NULL. */
void mig_image_free(struct mig_image **img);

/* Fast 64-bit checksum of page data (not cryptographic: catches corruption, not forgery). */
uint64_t mig_checksum(const void *data, size_t len);

/* ---- writing (image_wire.c) ---- */

/* Sink for image bytes: returns 0 or negative errno; must take all len bytes. */
typedef int (*mig_sink_fn)(void *ctx, const void *buf, size_t len);

struct mig_writer {
	mig_sink_fn sink;
	void *ctx;
	int compress;                /* zlib level (1-9) for page chunks; 0: raw pages */
	uint64_t chunks, page_bytes; /* page chunks and (uncompressed) bytes written so far */
	uint64_t total_bytes;        /* everything written, magic included */
	uint8_t *zbuf;               /* owned: compression buffer (mig_writer_release) */
};

/* Releases the writer's buffer (not the sink). */
void mig_writer_release(struct mig_writer *w);

/* A sink writing to a file descriptor (ctx is a pointer to the int fd). */
int mig_sink_fd(void *ctx, const void *buf, size_t len);

/* Writes the magic, the header chunk and the process chunk. Returns 0 or negative errno. */
__attribute__((warn_unused_result)) int mig_write_begin(struct mig_writer *w,
							const struct mig_image *img);
/* One page chunk: len a multiple of MIG_PAGE, at most MIG_PAGES_MAX. With w->compress, stored
 * deflated unless that does not make it smaller. 0 or negative errno. */
__attribute__((warn_unused_result)) int mig_write_pages(struct mig_writer *w, uint64_t addr,
							const void *data, size_t len);
/* The end chunk. 0 or negative errno. */
__attribute__((warn_unused_result)) int mig_write_end(struct mig_writer *w);

/* ---- reading (image_wire.c) ---- */

/* Source of image bytes: returns bytes read (0 at end of input) or negative errno. */
typedef long (*mig_source_fn)(void *ctx, void *buf, size_t len);

struct mig_reader {
	mig_source_fn source;
	void *ctx;
	uint8_t *buf; /* owned: the current chunk */
	size_t cap;
	uint8_t *zbuf; /* owned: the pages of a compressed chunk, inflated */
	uint64_t chunks, page_bytes;
	int state; /* internal: which chunk comes next */
};

/* A source reading from a file descriptor (ctx is a pointer to the int fd). */
long mig_source_fd(void *ctx, void *buf, size_t len);

struct mig_memsrc {
	const uint8_t *data;
	size_t len, off;
};
/* A source reading from memory (ctx is a struct mig_memsrc). */
long mig_source_mem(void *ctx, void *buf, size_t len);

/* Reads the magic, header and process chunks. On success *ret_img is a new image the caller
 * owns. -EBADMSG on malformed or truncated input, -EPROTONOSUPPORT on a version mismatch. */
__attribute__((warn_unused_result)) int mig_read_begin(struct mig_reader *r,
						       struct mig_image **ret_img);
/* Next page chunk: returns 1 with ret_addr, ret_data and ret_len set (data owned by the reader,
 * valid until the next call), 0 after a valid end chunk, or negative errno (-EBADMSG for
 * corruption, truncation or a checksum mismatch). */
__attribute__((warn_unused_result)) int mig_read_pages(struct mig_reader *r, uint64_t *ret_addr,
						       const uint8_t **ret_data, size_t *ret_len);
/* Releases the reader's buffer (not the source). */
void mig_reader_release(struct mig_reader *r);

/* Sanity of a decoded image (ranges ordered, aligned, no overlap, sizes bounded, fds sane).
 * Returns 0 or -EBADMSG. mig_read_begin() calls it. */
__attribute__((warn_unused_result)) int mig_image_validate(const struct mig_image *img);
