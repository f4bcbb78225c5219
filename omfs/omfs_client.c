/* omfs_client.c - build a request, send it through the transport, decode and check the reply.
 *
 * The only state is the transport and a request-id counter; replies are matched to requests by
 * id (a transport that multiplexes can rely on that, and a reply carrying another id is -EIO
 * here rather than silently answering the wrong question).
 */
#include "omfs/omfs_client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "omfs/omfs_server.h"

struct omfs_client {
	struct omfs_transport t;
	atomic_uint_fast64_t next_id;
};

static int take_reply(uint64_t id, uint8_t *in, size_t inlen, struct omfs_resp *ret_resp);

int omfs_client_new(const struct omfs_transport *t, struct omfs_client **ret_client)
{
	if (!t || !t->request)
		return -EINVAL;
	struct omfs_client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->t = *t;
	atomic_init(&c->next_id, 1);
	*ret_client = c;
	return 0;
}

void omfs_client_free(struct omfs_client **client)
{
	if (!client || !*client)
		return;
	free(*client);
	*client = NULL;
}

int omfs_client_call(struct omfs_client *c, uint32_t node, struct omfs_req *req,
		     struct omfs_resp *ret_resp)
{
	uint8_t *out, *in = NULL;
	size_t outlen, inlen = 0;
	req->version = OMFS_PROTO_VERSION;
	req->id = atomic_fetch_add(&c->next_id, 1);
	int rc = omfs_wire_req_encode(req, &out, &outlen);
	if (rc < 0)
		return rc;
	rc = c->t.request(c->t.ctx, node, out, outlen, &in, &inlen);
	free(out);
	if (rc < 0)
		return rc;
	return take_reply(req->id, in, inlen, ret_resp);
}

/* Decodes and checks a reply for request `id` (frees `in`); *ret_resp is set, and then owned by
 * the caller, only when the result is >= 0 or equals ret_resp->error. */
static int take_reply(uint64_t id, uint8_t *in, size_t inlen, struct omfs_resp *ret_resp)
{
	struct omfs_resp resp;
	int rc = omfs_wire_resp_decode(in, inlen, &resp);
	free(in);
	if (rc < 0)
		return rc == -ENOMEM ? rc : -EIO;
	if (resp.id != id) {
		omfs_resp_clear(&resp);
		return -EIO;
	}
	*ret_resp = resp;
	return resp.error;
}

struct submitted {
	uint64_t id;
	omfs_client_done_fn done;
	void *ctx;
};

static void submit_done(void *ctx, int err, uint8_t *in, size_t inlen)
{
	struct submitted *sb = ctx;
	struct omfs_resp resp;
	memset(&resp, 0, sizeof(resp)); /* untouched unless a reply was decoded: error 0 */
	int rc = err;
	if (rc == 0)
		rc = take_reply(sb->id, in, inlen, &resp);
	else
		free(in);
	int have = rc >= 0 || rc == resp.error;
	sb->done(sb->ctx, rc, have ? &resp : NULL);
	if (have)
		omfs_resp_clear(&resp);
	free(sb);
}

int omfs_client_submit(struct omfs_client *c, uint32_t node, struct omfs_req *req,
		       omfs_client_done_fn done, void *ctx)
{
	if (!c->t.submit) {
		struct omfs_resp resp;
		memset(&resp, 0, sizeof(resp)); /* untouched unless a reply was decoded: error 0 */
		int rc = omfs_client_call(c, node, req, &resp);
		int have = rc >= 0 || rc == resp.error;
		done(ctx, rc, have ? &resp : NULL);
		if (have)
			omfs_resp_clear(&resp);
		return 0;
	}
	struct submitted *sb = malloc(sizeof(*sb));
	if (!sb)
		return -ENOMEM;
	uint8_t *out;
	size_t outlen;
	req->version = OMFS_PROTO_VERSION;
	req->id = atomic_fetch_add(&c->next_id, 1);
	int rc = omfs_wire_req_encode(req, &out, &outlen);
	if (rc < 0) {
		free(sb);
		return rc;
	}
	*sb = (struct submitted){ req->id, done, ctx };
	rc = c->t.submit(c->t.ctx, node, out, outlen, submit_done, sb);
	if (rc < 0)
		free(sb);
	return rc;
}

void omfs_cred_self(struct omfs_cred *ret_cred)
{
	gid_t g[OMFS_MAX_GROUPS];
	memset(ret_cred, 0, sizeof(*ret_cred));
	ret_cred->uid = geteuid();
	ret_cred->gid = getegid();
	int n = getgroups(OMFS_MAX_GROUPS, g);
	for (int i = 0; i < n; i++)
		ret_cred->groups[i] = g[i];
	ret_cred->ngroups = n > 0 ? (uint32_t)n : 0;
}

static struct omfs_buf sbuf(const char *s)
{
	return (struct omfs_buf){ .p = (const uint8_t *)s, .len = s ? strlen(s) : 0 };
}

static void req_init(struct omfs_req *r, enum omfs_op op, const struct omfs_cred *cred)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->cred = *cred;
}

/* Calls and discards the reply body; returns the error or 0. */
static int call_simple(struct omfs_client *c, uint32_t node, struct omfs_req *r,
		       struct omfs_resp *keep)
{
	struct omfs_resp resp;
	memset(&resp, 0, sizeof(resp));
	int rc = omfs_client_call(c, node, r, &resp);
	if (keep && rc == 0)
		*keep = resp;
	else
		omfs_resp_clear(&resp);
	return rc;
}

int omfs_client_stat(struct omfs_client *c, uint32_t node, const struct omfs_cred *cred,
		     const char *path, struct omfs_attr *ret_attr)
{
	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, OMFS_OP_GETATTR, cred);
	r.path = sbuf(path);
	int rc = call_simple(c, node, &r, &resp);
	if (rc < 0)
		return rc;
	rc = resp.has_attr ? 0 : -EIO;
	if (rc == 0)
		*ret_attr = resp.attr;
	omfs_resp_clear(&resp);
	return rc;
}

int omfs_client_open(struct omfs_client *c, uint32_t node, const struct omfs_cred *cred,
		     const char *path, int flags, uint32_t mode, uint64_t *ret_fh)
{
	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, (flags & O_CREAT) ? OMFS_OP_CREATE : OMFS_OP_OPEN, cred);
	r.path = sbuf(path);
	r.flags = (uint32_t)flags;
	r.mode = mode;
	int rc = call_simple(c, node, &r, &resp);
	if (rc < 0)
		return rc;
	*ret_fh = resp.fh;
	omfs_resp_clear(&resp);
	return 0;
}

int omfs_client_opendir(struct omfs_client *c, uint32_t node, const struct omfs_cred *cred,
			const char *path, uint64_t *ret_fh)
{
	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, OMFS_OP_OPENDIR, cred);
	r.path = sbuf(path);
	int rc = call_simple(c, node, &r, &resp);
	if (rc < 0)
		return rc;
	*ret_fh = resp.fh;
	omfs_resp_clear(&resp);
	return 0;
}

long omfs_client_pread(struct omfs_client *c, uint32_t node, const struct omfs_cred *cred,
		       uint64_t fh, void *buf, size_t size, int64_t off)
{
	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, OMFS_OP_READ, cred);
	r.fh = fh;
	r.offset = off;
	r.size = (uint32_t)(size > OMFS_MAX_IO ? OMFS_MAX_IO : size);
	int rc = call_simple(c, node, &r, &resp);
	if (rc < 0)
		return rc;
	long n = resp.data_len <= size ? (long)resp.data_len : -EIO;
	if (n > 0)
		memcpy(buf, resp.data, (size_t)n);
	omfs_resp_clear(&resp);
	return n;
}

long omfs_client_pwrite(struct omfs_client *c, uint32_t node, const struct omfs_cred *cred,
			uint64_t fh, const void *buf, size_t size, int64_t off)
{
	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, OMFS_OP_WRITE, cred);
	r.fh = fh;
	r.offset = off;
	r.data = (struct omfs_buf){ .p = buf, .len = size > OMFS_MAX_IO ? OMFS_MAX_IO : size };
	int rc = call_simple(c, node, &r, &resp);
	if (rc < 0)
		return rc;
	long n = resp.size <= r.data.len ? (long)resp.size : -EIO;
	omfs_resp_clear(&resp);
	return n;
}

int omfs_client_release(struct omfs_client *c, uint32_t node, const struct omfs_cred *cred,
			uint64_t fh, int dir)
{
	struct omfs_req r;
	req_init(&r, dir ? OMFS_OP_RELEASEDIR : OMFS_OP_RELEASE, cred);
	r.fh = fh;
	return call_simple(c, node, &r, NULL);
}

int omfs_client_readdir(struct omfs_client *c, uint32_t node, const struct omfs_cred *cred,
			uint64_t fh, int64_t off, int plus, struct omfs_resp *ret_resp)
{
	struct omfs_req r;
	req_init(&r, OMFS_OP_READDIR, cred);
	r.fh = fh;
	r.offset = off;
	r.size = 65536;
	r.plus = plus;
	return call_simple(c, node, &r, ret_resp);
}

int omfs_client_path_op(struct omfs_client *c, uint32_t node, const struct omfs_cred *cred,
			enum omfs_op op, const char *path, uint32_t mode)
{
	struct omfs_req r;
	req_init(&r, op, cred);
	r.path = sbuf(path);
	r.mode = mode;
	return call_simple(c, node, &r, NULL);
}

long omfs_client_readlink(struct omfs_client *c, uint32_t node, const struct omfs_cred *cred,
			  const char *path, char *buf, size_t size)
{
	struct omfs_req r;
	struct omfs_resp resp;
	req_init(&r, OMFS_OP_READLINK, cred);
	r.path = sbuf(path);
	int rc = call_simple(c, node, &r, &resp);
	if (rc < 0)
		return rc;
	long n = resp.data_len < size ? (long)resp.data_len : -ENAMETOOLONG;
	if (n >= 0) {
		memcpy(buf, resp.data, (size_t)n);
		buf[n] = '\0';
	}
	omfs_resp_clear(&resp);
	return n;
}

int omfs_loopback_request(void *ctx, uint32_t node, const uint8_t *req, size_t len,
			  uint8_t **ret_resp, size_t *ret_len)
{
	struct omfs_loopback *lb = ctx;
	if (node != lb->node)
		return -EHOSTUNREACH;
	return omfs_server_handle(lb->srv, lb->session, req, len, ret_resp, ret_len);
}
