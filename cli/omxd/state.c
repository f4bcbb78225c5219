/* state.c - the files omxd keeps in its state dir:
 *   identity.key  Ed25519 secret key, 0600 (crypto/identity.c)
 *   node_id       the node id, decimal text (rewritten when conflict resolution changes it)
 *   cluster.key   the CLUSTER_KEY given to `omx join`, 0600; present = rejoin at start
 *   omxd.sock     the control socket (ctl.c)
 * Files are written to a temporary name, fsync'ed and renamed, so a crash never leaves half a
 * file behind.
 */
#define LOG_PREFIX "omxd"
#include "cli/omxd/omxd.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

static int path_of(const struct omxd *d, const char *name, char *buf, size_t cap)
{
	if (snprintf(buf, cap, "%s/%s", d->opts.state_dir, name) >= (int)cap)
		return -ENAMETOOLONG;
	return 0;
}

int omxd_state_prepare(struct omxd *d)
{
	/* missing parents 0755 (like mkdir -p), the state dir itself 0700 */
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s", d->opts.state_dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(d->opts.state_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	struct stat st;
	if (stat(d->opts.state_dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return 0;
}

/* Atomically replaces name with len bytes of data, mode 0600. */
static int write_file(const struct omxd *d, const char *name, const void *data, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int r = path_of(d, name, path, sizeof(path));
	if (r < 0)
		return r;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	r = fchmod(fd, 0600) < 0 ? -errno : 0;
	const char *p = data;
	while (r == 0 && len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		else {
			p += n;
			len -= (size_t)n;
		}
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

/* Reads at most cap-1 bytes of name into buf, NUL-terminated. */
static int read_file(const struct omxd *d, const char *name, char *buf, size_t cap)
{
	char path[PATH_MAX];
	int r = path_of(d, name, path, sizeof(path));
	if (r < 0)
		return r;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	size_t got = 0;
	while (got < cap - 1) {
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

int omxd_state_load_id(struct omxd *d, uint16_t *ret)
{
	char buf[32];
	int r = read_file(d, OMXD_ID_FILE, buf, sizeof(buf));
	if (r < 0)
		return r;
	char *end;
	errno = 0;
	unsigned long v = strtoul(buf, &end, 10);
	if (errno || end == buf || (*end != '\0' && *end != '\n') || v == 0 || v > 65535)
		return -EBADMSG;
	*ret = (uint16_t)v;
	return 0;
}

int omxd_state_save_id(struct omxd *d, uint16_t id)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%u\n", (unsigned)id);
	return write_file(d, OMXD_ID_FILE, buf, (size_t)n);
}

int omxd_state_load_key(struct omxd *d, struct omxsec_clusterkey **ret)
{
	char *buf = sodium_malloc(OMXSEC_CLUSTERKEY_STR_MAX);
	if (!buf)
		return -ENOMEM;
	int r = read_file(d, OMXD_KEY_FILE, buf, OMXSEC_CLUSTERKEY_STR_MAX);
	if (r == 0)
		r = omxsec_clusterkey_parse(buf, ret);
	sodium_free(buf);
	return r;
}

int omxd_state_save_key(struct omxd *d, const struct omxsec_clusterkey *k)
{
	char *buf = sodium_malloc(OMXSEC_CLUSTERKEY_STR_MAX);
	if (!buf)
		return -ENOMEM;
	int r = omxsec_clusterkey_format(k, buf, OMXSEC_CLUSTERKEY_STR_MAX);
	if (r == 0) {
		size_t n = strlen(buf);
		buf[n] = '\n';
		r = write_file(d, OMXD_KEY_FILE, buf, n + 1);
	}
	sodium_free(buf);
	return r;
}

int omxd_state_forget_key(struct omxd *d)
{
	char path[PATH_MAX];
	int r = path_of(d, OMXD_KEY_FILE, path, sizeof(path));
	if (r < 0)
		return r;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
