/* identity.c - node identity file, Ed25519 <-> X25519 mapping, cluster key derivation; see
 * identity.h. The identity file is the 64-byte libsodium Ed25519 secret key (seed || pk): the
 * public half is checked against the seed on every load so a corrupted file is caught early.
 */
#include "crypto/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KDF_CTX_CURVE "omxcurve" /* crypto_kdf contexts: exactly 8 characters */
#define KDF_CTX_ID    "omxclsid"
#define KDF_ID_CURVE  1
#define KDF_ID_ID     2

static struct omxsec_identity *identity_alloc(void)
{
	if (sodium_init() < 0)
		return NULL;
	struct omxsec_identity *id = sodium_malloc(sizeof(*id));
	if (id)
		sodium_memzero(id, sizeof(*id));
	return id;
}

void omxsec_identity_free(struct omxsec_identity **id)
{
	if (!id || !*id)
		return;
	sodium_free(*id);
	*id = NULL;
}

/* Fills the derived halves from sign_sk; -EBADMSG if the file content is not a key pair. */
static int identity_complete(struct omxsec_identity *id)
{
	uint8_t seed[crypto_sign_SEEDBYTES], pk[OMXSEC_SIGN_PK_LEN];
	uint8_t *sk = sodium_malloc(OMXSEC_SIGN_SK_LEN);
	if (!sk)
		return -ENOMEM;
	int r = 0;
	if (crypto_sign_ed25519_sk_to_seed(seed, id->sign_sk) != 0 ||
	    crypto_sign_seed_keypair(pk, sk, seed) != 0 ||
	    sodium_memcmp(sk, id->sign_sk, OMXSEC_SIGN_SK_LEN) != 0) {
		r = -EBADMSG;
		goto out;
	}
	memcpy(id->sign_pk, pk, sizeof(pk));
	if (crypto_sign_ed25519_pk_to_curve25519(id->curve_pk, id->sign_pk) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(id->curve_sk, id->sign_sk) != 0)
		r = -EBADMSG;
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_free(sk);
	return r;
}

int omxsec_identity_generate(struct omxsec_identity **ret)
{
	struct omxsec_identity *id = identity_alloc();
	if (!id)
		return -ENOMEM;
	uint8_t pk[OMXSEC_SIGN_PK_LEN];
	int r = crypto_sign_keypair(pk, id->sign_sk) == 0 ? identity_complete(id) : -EIO;
	if (r < 0) {
		omxsec_identity_free(&id);
		return r;
	}
	*ret = id;
	return 0;
}

static int read_exact(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EBADMSG;
		got += (size_t)n;
	}
	uint8_t extra;
	ssize_t n = read(fd, &extra, 1);
	if (n < 0)
		return -errno;
	return n == 0 ? 0 : -EBADMSG;
}

static int load_file(const char *path, struct omxsec_identity *id)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0)
		r = -EPERM;
	else
		r = read_exact(fd, id->sign_sk, OMXSEC_SIGN_SK_LEN);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r < 0 ? r : identity_complete(id);
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes a new identity to path.tmp (0600) and links it into place; -EEXIST if another process
 * won the race (the caller then loads that one). */
static int create_file(const char *path, struct omxsec_identity *id)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	uint8_t pk[OMXSEC_SIGN_PK_LEN];
	if (crypto_sign_keypair(pk, id->sign_sk) != 0)
		return -EIO;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	int r = fchmod(fd, 0600) < 0 ? -errno : 0; /* umask-proof */
	if (r == 0)
		r = write_all(fd, id->sign_sk, OMXSEC_SIGN_SK_LEN);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && link(tmp, path) < 0)
		r = -errno;
	(void)unlink(tmp);
	return r < 0 ? r : identity_complete(id);
}

int omxsec_identity_load(const char *dir, struct omxsec_identity **ret, bool *ret_created)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", dir, OMXSEC_IDENTITY_FILE) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	struct omxsec_identity *id = identity_alloc();
	if (!id)
		return -ENOMEM;
	bool created = false;
	int r = load_file(path, id);
	if (r == -ENOENT) {
		r = create_file(path, id);
		if (r == -EEXIST)
			r = load_file(path, id);
		else if (r == 0)
			created = true;
	}
	if (r < 0) {
		omxsec_identity_free(&id);
		return r;
	}
	*ret = id;
	if (ret_created)
		*ret_created = created;
	return 0;
}

int omxsec_sign_pk_to_curve(const uint8_t pk[OMXSEC_SIGN_PK_LEN], uint8_t ret_curve[OMXSEC_CURVE_LEN])
{
	uint8_t c[OMXSEC_CURVE_LEN];
	if (crypto_sign_ed25519_pk_to_curve25519(c, pk) != 0)
		return -EINVAL;
	memcpy(ret_curve, c, sizeof(c));
	return 0;
}

int omxsec_peer_check(const uint8_t pk[OMXSEC_SIGN_PK_LEN], const uint8_t *peer, size_t peer_len)
{
	uint8_t c[OMXSEC_CURVE_LEN];
	if (!peer || peer_len != OMXSEC_CURVE_LEN)
		return -EPERM;
	if (omxsec_sign_pk_to_curve(pk, c) < 0)
		return -EPERM;
	return sodium_memcmp(c, peer, OMXSEC_CURVE_LEN) == 0 ? 0 : -EPERM;
}

void omxsec_sign(const struct omxsec_identity *id, const uint8_t *data, size_t len,
		 uint8_t ret_sig[OMXSEC_SIG_LEN])
{
	(void)crypto_sign_detached(ret_sig, NULL, data, len, id->sign_sk); /* cannot fail */
}

int omxsec_verify(const uint8_t pk[OMXSEC_SIGN_PK_LEN], const uint8_t *data, size_t len,
		  const uint8_t sig[OMXSEC_SIG_LEN])
{
	return crypto_sign_verify_detached(sig, data, len, pk) == 0 ? 0 : -EBADMSG;
}

int omxsec_derive_server_keys(const uint8_t secret[32], uint8_t ret_pk[OMXSEC_CURVE_LEN],
			      uint8_t ret_sk[OMXSEC_CURVE_LEN])
{
	uint8_t seed[crypto_box_SEEDBYTES];
	if (sodium_init() < 0)
		return -ENOMEM;
	int r = 0;
	if (crypto_kdf_derive_from_key(seed, sizeof(seed), KDF_ID_CURVE, KDF_CTX_CURVE, secret) !=
		    0 ||
	    crypto_box_seed_keypair(ret_pk, ret_sk, seed) != 0)
		r = -EIO;
	sodium_memzero(seed, sizeof(seed));
	return r;
}

void omxsec_cluster_id(const uint8_t secret[32], char ret[2 * OMXSEC_CLUSTER_ID_LEN + 1])
{
	uint8_t sub[crypto_kdf_BYTES_MIN]; /* 16: the smallest subkey crypto_kdf makes */
	if (sodium_init() < 0 ||
	    crypto_kdf_derive_from_key(sub, sizeof(sub), KDF_ID_ID, KDF_CTX_ID, secret) != 0)
		memset(sub, 0, sizeof(sub));
	omxsec_hex(sub, OMXSEC_CLUSTER_ID_LEN, ret);
}

void omxsec_hex(const uint8_t *data, size_t len, char *ret)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		ret[2 * i] = digits[data[i] >> 4];
		ret[2 * i + 1] = digits[data[i] & 15];
	}
	ret[2 * len] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int omxsec_unhex(const char *s, uint8_t *ret, size_t len)
{
	if (!s || strlen(s) != 2 * len)
		return -EINVAL;
	for (size_t i = 0; i < 2 * len; i++) /* validate first: ret is set only on success */
		if (hexval(s[i]) < 0)
			return -EINVAL;
	for (size_t i = 0; i < len; i++)
		ret[i] = (uint8_t)(hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1]));
	return 0;
}
