/* fuzz_omfs_wire.c - oMFS requests from a hostile peer, decoded and executed for real.
 *
 * Each input is decoded as a request and run by the server core against a scratch export
 * /tmp/omfs-fuzz-export (root squashed, as a peer would meet it). Handle numbers 1 and 2 in the
 * input stand for a file and a directory opened for this input, so handle ops get past the
 * table. Blocking lock waits are turned into non-blocking ones (one thread: a wait would be
 * forever). After every input: the thread's credentials must be root again, and a sibling
 * directory /tmp/omfs-fuzz-outside (mode 0777, so only the export boundary protects it) must be
 * unchanged, or we abort: an escape is a crash. The same bytes also go to the response decoder
 * (what a client meets from a hostile server).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include "omfs/omfs_server.h"
#include "omfs/omfs_wire.h"

#define EXPORT "/tmp/omfs-fuzz-export"
#define OUTSIDE "/tmp/omfs-fuzz-outside"

static struct omfs_server *srv;
static struct stat outside_st, canary_st;

static void cleanup(void)
{
	omfs_server_free(&srv);
	if (system("rm -rf " EXPORT " " OUTSIDE) != 0)
		fprintf(stderr, "fuzz_omfs_wire: cleanup failed\n");
}

static void must(int ok)
{
	if (!ok)
		abort();
}

static void put(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	must(fd >= 0);
	must(write(fd, content, strlen(content)) == (ssize_t)strlen(content));
	must(fchmod(fd, mode) == 0);
	must(close(fd) == 0);
}

static void init(void)
{
	must(system("rm -rf " EXPORT " " OUTSIDE) == 0);
	must(mkdir(EXPORT, 0755) == 0 && mkdir(EXPORT "/d", 0777) == 0);
	must(mkdir(EXPORT "/pub", 01777) == 0 && chmod(EXPORT "/pub", 01777) == 0);
	must(chmod(EXPORT "/d", 0777) == 0);
	put(EXPORT "/f", "0123456789abcdef", 0666);
	put(EXPORT "/d/g", "g", 0644);
	must(symlink("../../..", EXPORT "/up") == 0);
	must(symlink(OUTSIDE "/canary", EXPORT "/abs") == 0);
	must(mkdir(OUTSIDE, 0777) == 0 && chmod(OUTSIDE, 0777) == 0);
	put(OUTSIDE "/canary", "canary", 0666);
	must(stat(OUTSIDE, &outside_st) == 0 && stat(OUTSIDE "/canary", &canary_st) == 0);
	struct omfs_export ex = { .path = EXPORT };
	struct omfs_server_config cfg = { .exports = &ex, .nexports = 1 };
	must(omfs_server_new(&cfg, &srv) == 0);
	must(atexit(cleanup) == 0);
}

static uint64_t open_one(const char *path, enum omfs_op op)
{
	struct omfs_req r;
	struct omfs_resp resp;
	memset(&r, 0, sizeof(r));
	r.op = op;
	r.cred.uid = r.cred.gid = 1000;
	r.flags = O_RDWR;
	r.path = (struct omfs_buf){ (const uint8_t *)path, strlen(path) };
	omfs_server_exec(srv, 1, &r, &resp);
	uint64_t fh = resp.error ? 0 : resp.fh;
	omfs_resp_clear(&resp);
	return fh;
}

static void check_invariants(void)
{
	struct stat a, b;
	must((uid_t)setfsuid((uid_t)-1) == 0 && (gid_t)setfsgid((gid_t)-1) == 0);
	must(stat(OUTSIDE, &a) == 0 && stat(OUTSIDE "/canary", &b) == 0);
	must(a.st_mtim.tv_sec == outside_st.st_mtim.tv_sec &&
	     a.st_mtim.tv_nsec == outside_st.st_mtim.tv_nsec && a.st_nlink == outside_st.st_nlink);
	must(b.st_size == canary_st.st_size && b.st_mtim.tv_nsec == canary_st.st_mtim.tv_nsec &&
	     b.st_mode == canary_st.st_mode && b.st_uid == canary_st.st_uid &&
	     b.st_ctim.tv_nsec == canary_st.st_ctim.tv_nsec);
}

static void run_request(const uint8_t *data, size_t size)
{
	struct omfs_req req;
	memset(&req, 0, sizeof(req));
	int rc = omfs_wire_req_decode(data, size, &req);
	if (rc == 0) {
		uint64_t hf = open_one(EXPORT "/f", OMFS_OP_OPEN);
		uint64_t hd = open_one(EXPORT "/d", OMFS_OP_OPENDIR);
		if (req.fh == 1)
			req.fh = hf;
		else if (req.fh == 2)
			req.fh = hd;
		if (req.fh2 == 1)
			req.fh2 = hf;
		else if (req.fh2 == 2)
			req.fh2 = hd;
		req.wait = 0;
		req.flock_op |= LOCK_NB;
		/* the scratch export is on this machine's disk: fallocate and copies stay within
		 * 1 MiB (a copy of the file onto its own end would double it every run) */
		if (req.op == OMFS_OP_FALLOCATE || req.op == OMFS_OP_COPY_FILE_RANGE) {
			req.offset &= 0xfffff;
			req.offset2 &= 0xfffff;
			req.length &= 0xfffff;
		}
		struct omfs_resp resp, back;
		omfs_server_exec(srv, 1, &req, &resp);
		must(resp.error <= 0 && resp.id == req.id);
		uint8_t *buf;
		size_t len;
		must(omfs_wire_resp_encode(&resp, &buf, &len) == 0);
		must(omfs_wire_resp_decode(buf, len, &back) == 0);
		must(back.error == resp.error && back.nentries == resp.nentries &&
		     back.data_len == resp.data_len);
		free(buf);
		omfs_resp_clear(&back);
		omfs_resp_clear(&resp);
		omfs_server_session_close(srv, 1);
		must(omfs_server_handle_count(srv) == 0);
	}
	omfs_req_clear(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!srv)
		init();
	run_request(data, size);
	check_invariants();

	/* the full byte path too: every input gets a decodable reply */
	uint8_t *out;
	size_t outlen;
	struct omfs_resp resp;
	if (size < 4096) { /* the exec above already ran it; keep the slow path to small inputs */
		must(omfs_server_handle(srv, 2, data, size, &out, &outlen) == 0);
		must(omfs_wire_resp_decode(out, outlen, &resp) == 0);
		omfs_resp_clear(&resp);
		free(out);
		omfs_server_session_close(srv, 2);
		check_invariants();
	}

	if (omfs_wire_resp_decode(data, size, &resp) == 0)
		omfs_resp_clear(&resp);
	return 0;
}
