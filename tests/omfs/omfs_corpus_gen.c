/* omfs_corpus_gen.c - writes the seed corpus of fuzz_omfs_wire: one encoded request per op,
 * plus escape attempts and a few encoded responses. Paths aim at the fuzz target's scratch
 * export (/tmp/omfs-fuzz-export); fh 1 and 2 stand for its pre-opened file and directory.
 * Usage: omfs_corpus_gen DIR   (regenerate after changing proto/omfs.proto)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/xattr.h>

#include "omfs/omfs_wire.h"

#define E "/tmp/omfs-fuzz-export"

static const char *dir;
static int count;

static struct omfs_buf B(const char *s)
{
	return (struct omfs_buf){ (const uint8_t *)s, s ? strlen(s) : 0 };
}

static int save(const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wbe");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		return -1;
	}
	count++;
	return 0;
}

static int req(const char *name, enum omfs_op op, const char *p1, const char *p2, uint64_t fh,
	       void (*tweak)(struct omfs_req *))
{
	struct omfs_req r;
	memset(&r, 0, sizeof(r));
	r.op = op;
	r.id = (uint64_t)count + 1;
	r.cred = (struct omfs_cred){ .uid = 1000, .gid = 1000, .ngroups = 1, .groups = { 100 } };
	r.path = B(p1);
	r.path2 = B(p2);
	r.fh = fh;
	r.size = 4096;
	r.mode = 0644;
	if (tweak)
		tweak(&r);
	uint8_t *buf;
	size_t len;
	if (omfs_wire_req_encode(&r, &buf, &len) < 0)
		return -1;
	int rc = save(name, buf, len);
	free(buf);
	return rc;
}

static void t_write(struct omfs_req *r) { r->data = B("fuzzed bytes"); r->offset = 3; }
static void t_trunc(struct omfs_req *r) { r->valid = OMFS_SET_SIZE | OMFS_SET_MODE | OMFS_SET_MTIME_NOW; r->offset = 4; }
static void t_chown(struct omfs_req *r) { r->valid = OMFS_SET_UID | OMFS_SET_GID | OMFS_SET_ATIME; r->uid = 1000; r->gid = 100; }
static void t_rdwr(struct omfs_req *r) { r->flags = O_RDWR | O_APPEND; }
static void t_creat(struct omfs_req *r) { r->flags = O_CREAT | O_EXCL | O_WRONLY; r->umask = 022; }
static void t_plus(struct omfs_req *r) { r->plus = 1; r->size = 1024; }
static void t_xset(struct omfs_req *r) { r->data = B("value"); r->flags = XATTR_CREATE; }
static void t_lock(struct omfs_req *r) { r->lock_type = F_WRLCK; r->offset = 0; r->end = 10; r->lock_owner = 7; r->wait = 1; }
static void t_flock(struct omfs_req *r) { r->flock_op = LOCK_EX; }
static void t_fifo(struct omfs_req *r) { r->mode = 0010644; }
static void t_root(struct omfs_req *r) { r->cred.uid = 0; r->cred.gid = 0; r->flags = O_RDWR; }
static void t_exch(struct omfs_req *r) { r->flags = RENAME_EXCHANGE; }
static void t_acc(struct omfs_req *r) { r->mask = R_OK | W_OK; }
static void t_sync(struct omfs_req *r) { r->datasync = 1; r->lock_owner = 7; }
static void t_falloc(struct omfs_req *r) { r->mode = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE; r->offset = 2; r->length = 5; }
static void t_copy(struct omfs_req *r) { r->fh2 = 1; r->offset = 0; r->offset2 = 8; r->length = 4; }
static void t_carried(struct omfs_req *r) { r->nwrites = 2; r->writes[0] = (struct omfs_carried){ 1, 0, B("carried") }; r->writes[1] = (struct omfs_carried){ 9, 4, B("stale") }; }
static void t_released(struct omfs_req *r) { r->nrelease = 3; r->release[0] = 1; r->release[1] = 2; r->release[2] = 1ull << 20 | 1; }

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	int rc = 0;
	rc |= req("lookup", OMFS_OP_LOOKUP, E "/f", NULL, 0, NULL);
	rc |= req("getattr", OMFS_OP_GETATTR, E "/d/g", NULL, 0, NULL);
	rc |= req("getattr_fh", OMFS_OP_GETATTR, NULL, NULL, 1, NULL);
	rc |= req("lookup_released", OMFS_OP_LOOKUP, E "/f", NULL, 0, t_released);
	rc |= req("getattr_carried", OMFS_OP_GETATTR, NULL, NULL, 1, t_carried);
	rc |= req("setattr", OMFS_OP_SETATTR, E "/f", NULL, 0, t_trunc);
	rc |= req("setattr_fh", OMFS_OP_SETATTR, NULL, NULL, 1, t_chown);
	rc |= req("readlink", OMFS_OP_READLINK, E "/up", NULL, 0, NULL);
	rc |= req("mknod", OMFS_OP_MKNOD, E "/pub/fifo", NULL, 0, t_fifo);
	rc |= req("mkdir", OMFS_OP_MKDIR, E "/pub/newdir", NULL, 0, NULL);
	rc |= req("unlink", OMFS_OP_UNLINK, E "/pub/x", NULL, 0, NULL);
	rc |= req("rmdir", OMFS_OP_RMDIR, E "/pub/newdir", NULL, 0, NULL);
	rc |= req("symlink", OMFS_OP_SYMLINK, E "/pub/sl", "../../../../etc/passwd", 0, NULL);
	rc |= req("rename", OMFS_OP_RENAME, E "/d/g", E "/pub/g2", 0, NULL);
	rc |= req("rename_exchange", OMFS_OP_RENAME, E "/d", E "/pub", 0, t_exch);
	rc |= req("link", OMFS_OP_LINK, E "/f", E "/pub/hard", 0, NULL);
	rc |= req("open", OMFS_OP_OPEN, E "/f", NULL, 0, t_rdwr);
	rc |= req("create", OMFS_OP_CREATE, E "/pub/new", NULL, 0, t_creat);
	rc |= req("read", OMFS_OP_READ, NULL, NULL, 1, NULL);
	rc |= req("write", OMFS_OP_WRITE, NULL, NULL, 1, t_write);
	rc |= req("flush", OMFS_OP_FLUSH, NULL, NULL, 1, t_sync);
	rc |= req("release", OMFS_OP_RELEASE, NULL, NULL, 1, NULL);
	rc |= req("fsync", OMFS_OP_FSYNC, NULL, NULL, 1, t_sync);
	rc |= req("opendir", OMFS_OP_OPENDIR, E "/d", NULL, 0, NULL);
	rc |= req("readdir", OMFS_OP_READDIR, NULL, NULL, 2, t_plus);
	rc |= req("releasedir", OMFS_OP_RELEASEDIR, NULL, NULL, 2, NULL);
	rc |= req("statfs", OMFS_OP_STATFS, E, NULL, 0, NULL);
	rc |= req("setxattr", OMFS_OP_SETXATTR, E "/f", "user.fuzz", 0, t_xset);
	rc |= req("getxattr", OMFS_OP_GETXATTR, E "/f", "user.fuzz", 0, NULL);
	rc |= req("listxattr", OMFS_OP_LISTXATTR, E "/f", NULL, 0, NULL);
	rc |= req("removexattr", OMFS_OP_REMOVEXATTR, E "/f", "user.fuzz", 0, NULL);
	rc |= req("access", OMFS_OP_ACCESS, E "/f", NULL, 0, t_acc);
	rc |= req("getlk", OMFS_OP_GETLK, NULL, NULL, 1, t_lock);
	rc |= req("setlk", OMFS_OP_SETLK, NULL, NULL, 1, t_lock);
	rc |= req("flock", OMFS_OP_FLOCK, NULL, NULL, 1, t_flock);
	rc |= req("fallocate", OMFS_OP_FALLOCATE, NULL, NULL, 1, t_falloc);
	rc |= req("copy_file_range", OMFS_OP_COPY_FILE_RANGE, NULL, NULL, 1, t_copy);
	/* escape attempts */
	rc |= req("esc_dotdot", OMFS_OP_OPEN, E "/../omfs-fuzz-outside/canary", NULL, 0, t_root);
	rc |= req("esc_uplink", OMFS_OP_OPEN, E "/up/tmp/omfs-fuzz-outside/canary", NULL, 0, t_rdwr);
	rc |= req("esc_abslink", OMFS_OP_SETATTR, E "/abs", NULL, 0, t_trunc);
	rc |= req("esc_rename", OMFS_OP_RENAME, E "/pub/new", E "/up/tmp/omfs-fuzz-outside/x", 0,
		  NULL);
	rc |= req("esc_virtual", OMFS_OP_MKDIR, "/tmp/omfs-fuzz-outside/x", NULL, 0, NULL);
	rc |= req("esc_proc", OMFS_OP_OPEN, E "/up/proc/self/root/etc/passwd", NULL, 0, NULL);
	/* responses, for the response decoder */
	struct omfs_resp r;
	memset(&r, 0, sizeof(r));
	struct omfs_dirent ents[2] = { { .name = ".", .ino = 2, .type = 4, .off = 1 },
				       { .name = "f", .ino = 12, .type = 8, .off = 2, .has_attr = 1 } };
	r.id = 9;
	r.has_attr = 1;
	r.attr.mode = 0100644;
	r.entries = ents;
	r.nentries = 2;
	r.has_statfs = 1;
	r.has_lock = 1;
	r.data = (uint8_t *)"payload";
	r.data_len = 7;
	uint8_t *buf;
	size_t len;
	if (omfs_wire_resp_encode(&r, &buf, &len) < 0)
		return 1;
	rc |= save("resp_full", buf, len);
	free(buf);
	printf("%d seeds in %s\n", count, dir);
	return rc ? 1 : 0;
}
