/* test_omfs_wire.c - oMFS request/response encoding, and the client over the loopback transport.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "omfs/omfs_client.h"
#include "omfs/omfs_server.h"
#include "omfs/omfs_wire.h"
#include "proto/omfs.pb-c.h"

static struct omfs_buf B(const char *s)
{
	return (struct omfs_buf){ (const uint8_t *)s, strlen(s) };
}

static void test_req_roundtrip_all_ops(void **state)
{
	(void)state;
	for (int o = OMFS_OP_NONE + 1; o < OMFS_OP_COUNT_; o++) {
		struct omfs_req r, d;
		memset(&r, 0, sizeof(r));
		r.op = (enum omfs_op)o;
		r.id = 1000 + (uint64_t)o;
		r.cred = (struct omfs_cred){ .uid = 5, .gid = 6, .ngroups = 2, .groups = { 7, 8 } };
		r.path = B("/a/b");
		r.path2 = B("/c");
		r.data = B("data");
		r.fh = 99;
		r.offset = 4096;
		r.end = 8191;
		r.size = 512;
		r.flags = 3;
		r.mode = 0644;
		r.length = 12345;
		r.fh2 = 77;
		r.offset2 = 555;
		r.nrelease = 2;
		r.release[0] = 11;
		r.release[1] = UINT64_MAX;
		r.notify_sender = o & 1;
		r.nwrites = 2;
		r.writes[0] = (struct omfs_carried){ 7, 100, B("carried") };
		r.writes[1] = (struct omfs_carried){ 8, 0, B("") };
		uint8_t *buf;
		size_t len;
		assert_int_equal(omfs_wire_req_encode(&r, &buf, &len), 0);
		assert_int_equal(omfs_wire_req_decode(buf, len, &d), 0);
		free(buf);
		assert_int_equal(d.op, o);
		assert_int_equal(d.id, r.id);
		assert_int_equal(d.version, OMFS_PROTO_VERSION);
		assert_int_equal(d.cred.uid, 5);
		assert_int_equal(d.cred.ngroups, 2);
		assert_int_equal(d.cred.groups[1], 8);
		assert_int_equal(d.nrelease, 2);
		assert_true(d.release[0] == 11 && d.release[1] == UINT64_MAX);
		assert_int_equal(d.notify_sender, o & 1);
		assert_int_equal(d.nwrites, 2);
		assert_true(d.writes[0].fh == 7 && d.writes[0].offset == 100);
		assert_int_equal(d.writes[0].data.len, 7);
		assert_memory_equal(d.writes[0].data.p, "carried", 7);
		assert_int_equal(d.writes[1].data.len, 0);
		assert_string_not_equal(omfs_op_name(d.op), "?");
		if (o == OMFS_OP_FALLOCATE)
			assert_true(d.fh == 99 && d.mode == 0644 && d.offset == 4096 &&
				    d.length == 12345);
		if (o == OMFS_OP_COPY_FILE_RANGE)
			assert_true(d.fh == 99 && d.offset == 4096 && d.fh2 == 77 &&
				    d.offset2 == 555 && d.length == 12345 && d.flags == 3);
		omfs_req_clear(&d);
	}
	struct omfs_req r;
	memset(&r, 0, sizeof(r));
	uint8_t *buf;
	size_t len;
	assert_int_equal(omfs_wire_req_encode(&r, &buf, &len), -EINVAL);
	r.op = OMFS_OP_WRITE;
	r.data.len = OMFS_MAX_IO + 1;
	assert_int_equal(omfs_wire_req_encode(&r, &buf, &len), -EINVAL);
	r.data.len = 0;
	r.nrelease = OMFS_MAX_RELEASE + 1;
	assert_int_equal(omfs_wire_req_encode(&r, &buf, &len), -EINVAL);
	r.nrelease = 0;
	r.nwrites = OMFS_MAX_CARRIED + 1;
	assert_int_equal(omfs_wire_req_encode(&r, &buf, &len), -EINVAL);
	r.nwrites = 2; /* carried data over OMFS_MAX_IO in all */
	r.writes[0].data = (struct omfs_buf){ (const uint8_t *)"", OMFS_MAX_IO };
	r.writes[1].data = (struct omfs_buf){ (const uint8_t *)"", 1 };
	assert_int_equal(omfs_wire_req_encode(&r, &buf, &len), -EINVAL);
}

static void test_req_bad_input(void **state)
{
	(void)state;
	struct omfs_req d;
	const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	assert_int_equal(omfs_wire_req_decode(junk, sizeof(junk), &d), -EBADMSG);
	/* no op set */
	Omfs__Request m = OMFS__REQUEST__INIT;
	m.version = 1;
	uint8_t buf[256];
	size_t len = omfs__request__pack(&m, buf);
	assert_int_equal(omfs_wire_req_decode(buf, len, &d), -EBADMSG);
	/* too many groups */
	Omfs__Cred cred = OMFS__CRED__INIT;
	uint32_t groups[OMFS_MAX_GROUPS + 1] = { 0 };
	cred.n_groups = OMFS_MAX_GROUPS + 1;
	cred.groups = groups;
	Omfs__PathReq pr = OMFS__PATH_REQ__INIT;
	m.cred = &cred;
	m.op_case = OMFS__REQUEST__OP_GETATTR;
	m.getattr = &pr;
	len = omfs__request__pack(&m, buf);
	assert_int_equal(omfs_wire_req_decode(buf, len, &d), -EBADMSG);
	/* too many handles released on the side */
	uint64_t rel[OMFS_MAX_RELEASE + 1] = { 0 };
	cred.n_groups = 0;
	m.n_released = OMFS_MAX_RELEASE + 1;
	m.released = rel;
	uint8_t big[1024];
	len = omfs__request__pack(&m, big);
	assert_int_equal(omfs_wire_req_decode(big, len, &d), -EBADMSG);
	m.n_released = 0;
	m.released = NULL;
	/* too many carried writes */
	Omfs__WriteReq w = OMFS__WRITE_REQ__INIT, *wp[OMFS_MAX_CARRIED + 1];
	for (int i = 0; i <= OMFS_MAX_CARRIED; i++)
		wp[i] = &w;
	m.n_writes = OMFS_MAX_CARRIED + 1;
	m.writes = wp;
	len = omfs__request__pack(&m, big);
	assert_int_equal(omfs_wire_req_decode(big, len, &d), -EBADMSG);
	m.n_writes = 0;
	m.writes = NULL;
	/* another version: refused, but the id survives for the reply */
	m.cred = NULL;
	m.version = 2;
	m.id = 77;
	len = omfs__request__pack(&m, buf);
	assert_int_equal(omfs_wire_req_decode(buf, len, &d), -EPROTO);
	assert_int_equal(d.id, 77);
	omfs_req_clear(&d);
	/* no credentials: nobody, never root */
	m.version = 1;
	len = omfs__request__pack(&m, buf);
	assert_int_equal(omfs_wire_req_decode(buf, len, &d), 0);
	assert_int_equal(d.cred.uid, 65534);
	omfs_req_clear(&d);
}

static void test_resp_roundtrip(void **state)
{
	(void)state;
	struct omfs_resp r, d;
	memset(&r, 0, sizeof(r));
	r.id = 5;
	r.error = 0;
	r.has_attr = 1;
	r.attr.ino = 42;
	r.attr.mode = 0100644;
	r.attr.size = 1 << 20;
	r.attr.mtime_nsec = 999999999;
	r.attr.no_xattrs = 1;
	r.attr.watched = 1;
	struct omfs_dirent ents[2] = {
		{ .name = "a", .ino = 1, .type = 4, .off = 10 },
		{ .name = "bb", .ino = 2, .type = 8, .off = 20, .has_attr = 1, .attr = { .ino = 2 } },
	};
	r.entries = ents;
	r.nentries = 2;
	r.has_statfs = 1;
	r.statfs.namemax = 255;
	r.nwrite_errors = 2;
	r.write_errors[1] = -ENOSPC;
	uint8_t *buf;
	size_t len;
	assert_int_equal(omfs_wire_resp_encode(&r, &buf, &len), 0);
	assert_int_equal(omfs_wire_resp_decode(buf, len, &d), 0);
	free(buf);
	assert_int_equal(d.id, 5);
	assert_int_equal(d.attr.ino, 42);
	assert_int_equal(d.attr.mtime_nsec, 999999999);
	assert_true(d.attr.no_xattrs);
	assert_false(d.entries[1].attr.no_xattrs); /* absent means "not known" */
	assert_true(d.attr.watched);
	assert_false(d.entries[1].attr.watched);
	assert_int_equal(d.nentries, 2);
	assert_string_equal(d.entries[1].name, "bb");
	assert_true(d.entries[1].has_attr);
	assert_false(d.entries[0].has_attr);
	assert_int_equal(d.statfs.namemax, 255);
	assert_int_equal(d.nwrite_errors, 2);
	assert_int_equal(d.write_errors[0], 0);
	assert_int_equal(d.write_errors[1], -ENOSPC);
	omfs_resp_clear(&d);
	r.write_errors[1] = 5; /* a positive errno is malformed */
	assert_int_equal(omfs_wire_resp_encode(&r, &buf, &len), 0);
	assert_int_equal(omfs_wire_resp_decode(buf, len, &d), -EBADMSG);
	free(buf);
	r.nwrite_errors = 0;
	/* an entry name with a slash-free NUL, or a positive error, is malformed */
	r.entries[0].name = "";
	assert_int_equal(omfs_wire_resp_encode(&r, &buf, &len), 0);
	assert_int_equal(omfs_wire_resp_decode(buf, len, &d), -EBADMSG);
	free(buf);
	r.nentries = 0;
	r.error = 5;
	assert_int_equal(omfs_wire_resp_encode(&r, &buf, &len), 0);
	assert_int_equal(omfs_wire_resp_decode(buf, len, &d), -EBADMSG);
	free(buf);
}

static void test_notify(void **state)
{
	(void)state;
	struct omfs_notify nt = { 0 }, d;
	omfs_notify_add(&nt, "/a/b", 4, OMFS_CHG_NAME);
	omfs_notify_add(&nt, "/a", 2, OMFS_CHG_ATTR);
	omfs_notify_add(&nt, "/a/bc", 4, OMFS_CHG_DATA); /* only "/a/b" of it: the same path */
	assert_int_equal(nt.n, 2);
	assert_int_equal(nt.c[0].what, OMFS_CHG_NAME | OMFS_CHG_DATA);
	uint8_t *buf;
	size_t len;
	assert_int_equal(omfs_wire_notify_encode(&nt, &buf, &len), 0);
	assert_int_equal(omfs_wire_notify_decode(buf, len, &d), 0);
	free(buf);
	assert_false(d.all);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.c[0].path, "/a/b");
	assert_int_equal(d.c[0].what, OMFS_CHG_NAME | OMFS_CHG_DATA);
	assert_string_equal(d.c[1].path, "/a");
	omfs_notify_clear(&d);
	/* what cannot be listed becomes "all": a bad path, too many paths */
	omfs_notify_add(&nt, "rel", 3, OMFS_CHG_ATTR);
	assert_true(nt.all);
	assert_int_equal(nt.n, 0);
	omfs_notify_add(&nt, "/x", 2, OMFS_CHG_ATTR); /* stays "all" */
	assert_int_equal(nt.n, 0);
	omfs_notify_clear(&nt);
	assert_false(nt.all);
	char p[32];
	for (int i = 0; i <= OMFS_MAX_CHANGES; i++) {
		int n = snprintf(p, sizeof(p), "/f%d", i);
		omfs_notify_add(&nt, p, (size_t)n, OMFS_CHG_DATA);
	}
	assert_true(nt.all);
	assert_int_equal(omfs_wire_notify_encode(&nt, &buf, &len), 0);
	assert_int_equal(omfs_wire_notify_decode(buf, len, &d), 0);
	free(buf);
	assert_true(d.all);
	assert_int_equal(d.n, 0);
	omfs_notify_clear(&nt);
	/* the decoder refuses what the receiver could misread */
	const char *bad[] = { "", "rel", "/nul\\0x" };
	for (size_t i = 0; i < 3; i++) {
		struct omfs_change c = { (char *)bad[i], OMFS_CHG_NAME };
		struct omfs_notify one = { .n = 1, .cap = 1, .c = &c };
		assert_int_equal(omfs_wire_notify_encode(&one, &buf, &len), 0);
		if (i == 2) /* a NUL inside: patch the encoded backslash pair into a real NUL */
			for (size_t k = 0; k + 1 < len; k++)
				if (buf[k] == '\\' && buf[k + 1] == '0') {
					buf[k] = 0;
					break;
				}
		assert_int_equal(omfs_wire_notify_decode(buf, len, &d), -EBADMSG);
		free(buf);
	}
	struct omfs_change c = { "/ok", 8 }; /* an unknown bit */
	struct omfs_notify one = { .n = 1, .cap = 1, .c = &c };
	assert_int_equal(omfs_wire_notify_encode(&one, &buf, &len), 0);
	assert_int_equal(omfs_wire_notify_decode(buf, len, &d), -EBADMSG);
	free(buf);
	/* a notify frame carries it */
	struct omfs_frame f = { .kind = OMFS_FRAME_NOTIFY, .payload = { (const uint8_t *)"x", 1 } }, g;
	assert_int_equal(omfs_wire_frame_encode(&f, &buf, &len), 0);
	assert_int_equal(omfs_wire_frame_decode(buf, len, &g), 0);
	assert_int_equal(g.kind, OMFS_FRAME_NOTIFY);
	omfs_frame_clear(&g);
	free(buf);
}

static void test_client_loopback(void **state)
{
	(void)state;
	char dir[] = "/tmp/omfs-wire-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct omfs_export ex = { .path = dir, .no_root_squash = 1 };
	struct omfs_server_config cfg = { .exports = &ex, .nexports = 1 };
	struct omfs_server *srv;
	assert_int_equal(omfs_server_new(&cfg, &srv), 0);
	struct omfs_loopback lb = { .srv = srv, .session = 9, .node = 3 };
	struct omfs_transport t = { .request = omfs_loopback_request, .ctx = &lb };
	struct omfs_client *c;
	assert_int_equal(omfs_client_new(&t, &c), 0);
	struct omfs_cred cred;
	omfs_cred_self(&cred);
	char path[64];
	snprintf(path, sizeof(path), "%s/f", dir);
	uint64_t fh;
	assert_int_equal(omfs_client_open(c, 3, &cred, path, O_CREAT | O_RDWR, 0600, &fh), 0);
	assert_int_equal(omfs_client_open(c, 4, &cred, path, O_RDWR, 0, &fh), -EHOSTUNREACH);
	static char big[OMFS_MAX_IO], back[OMFS_MAX_IO];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	assert_int_equal(omfs_client_pwrite(c, 3, &cred, fh, big, sizeof(big), 0), sizeof(big));
	assert_int_equal(omfs_client_pread(c, 3, &cred, fh, back, sizeof(back), 0), sizeof(back));
	assert_memory_equal(big, back, sizeof(big));
	assert_int_equal(omfs_client_pread(c, 3, &cred, fh, back, 10, sizeof(big)), 0);
	assert_int_equal(omfs_client_release(c, 3, &cred, fh, 0), 0);
	struct omfs_attr a;
	assert_int_equal(omfs_client_stat(c, 3, &cred, path, &a), 0);
	assert_int_equal(a.size, OMFS_MAX_IO);
	assert_int_equal(a.mode, 0100600);
	/* no_xattrs follows what the file really has (where this file system has user xattrs) */
	if (llistxattr(path, NULL, 0) == 0) {
		assert_true(a.no_xattrs);
		if (lsetxattr(path, "user.t", "1", 1, 0) == 0) {
			assert_int_equal(omfs_client_stat(c, 3, &cred, path, &a), 0);
			assert_false(a.no_xattrs);
			assert_int_equal(lremovexattr(path, "user.t"), 0);
			assert_int_equal(omfs_client_stat(c, 3, &cred, path, &a), 0);
			assert_true(a.no_xattrs);
		}
	}
	assert_int_equal(omfs_client_path_op(c, 3, &cred, OMFS_OP_UNLINK, path, 0), 0);
	assert_int_equal(omfs_client_stat(c, 3, &cred, path, &a), -ENOENT);
	/* garbage to the server still gets a well-formed reply */
	uint8_t *out;
	size_t outlen;
	struct omfs_resp resp;
	assert_int_equal(omfs_server_handle(srv, 9, (const uint8_t *)"\xff\xff", 2, &out, &outlen),
			 0);
	assert_int_equal(omfs_wire_resp_decode(out, outlen, &resp), 0);
	assert_int_equal(resp.error, -EBADMSG);
	free(out);
	omfs_resp_clear(&resp);
	omfs_client_free(&c);
	assert_null(c);
	omfs_server_free(&srv);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_req_roundtrip_all_ops),
		cmocka_unit_test(test_req_bad_input),
		cmocka_unit_test(test_resp_roundtrip),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_client_loopback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
