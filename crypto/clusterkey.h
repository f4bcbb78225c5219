/* clusterkey.h - the CLUSTER_KEY string: a 32-byte cluster secret plus bootstrap endpoints.
 *
 * `omx keygen` prints one, `omx join` hands it to omxd, which stores it (0600) in its state dir.
 * String form: "omx1-" + base64url without padding of (protobuf omx.ClusterKey || 16-byte
 * BLAKE2b checksum of the protobuf bytes). The checksum catches truncation and typos before the
 * protobuf decoder sees anything; the version is in both the prefix and the message.
 *
 * Secrets live in sodium_malloc() memory (guarded, locked, wiped on free). Parsing never logs.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define OMXSEC_SECRET_LEN	32
#define OMXSEC_CLUSTERKEY_VERSION 1
#define OMXSEC_CLUSTERKEY_PREFIX "omx1-"
#define OMXSEC_SEEDS_MAX	16
#define OMXSEC_SEED_MAX		128 /* "host:port" including NUL */
#define OMXSEC_CLUSTERKEY_STR_MAX 4096 /* longest string accepted/produced, including NUL */

struct omxsec_clusterkey {
	uint8_t secret[OMXSEC_SECRET_LEN];
	size_t n_seeds;
	char seeds[OMXSEC_SEEDS_MAX][OMXSEC_SEED_MAX];
};

/* A zeroed key in sodium_malloc() memory. Caller owns return value (omxsec_clusterkey_free).
 * NULL on allocation failure. */
struct omxsec_clusterkey *omxsec_clusterkey_new(void);
/* Wipes and frees *k, sets it to NULL. NULL or *k == NULL is a no-op. */
void omxsec_clusterkey_free(struct omxsec_clusterkey **k);

/* A fresh random secret and no seeds. Caller owns *ret. */
__attribute__((warn_unused_result)) int omxsec_clusterkey_generate(struct omxsec_clusterkey **ret);

/* Appends a bootstrap endpoint "host:port" (validated: printable host, port 1..65535).
 * -EINVAL on a bad endpoint, -E2BIG when OMXSEC_SEEDS_MAX are already there. */
__attribute__((warn_unused_result)) int omxsec_clusterkey_add_seed(struct omxsec_clusterkey *k,
								  const char *seed);

/* Writes the string form (NUL-terminated) into buf. -ENOBUFS if cap is too small. The buffer
 * holds the secret: the caller wipes it (sodium_memzero). */
__attribute__((warn_unused_result)) int omxsec_clusterkey_format(const struct omxsec_clusterkey *k,
								char *buf, size_t cap);

/* Parses a string (leading/trailing white space ignored). On success *ret is a new key the
 * caller owns; on failure *ret is untouched and the result is one of
 *   -EINVAL   not an omx cluster key (prefix, alphabet, length)
 *   -EBADMSG  checksum mismatch (truncated or mistyped)
 *   -EPROTONOSUPPORT  unknown format version
 *   -EPROTO   checksum fine but content invalid (secret length, seed syntax)
 *   -ENOMEM */
__attribute__((warn_unused_result)) int omxsec_clusterkey_parse(const char *s,
							       struct omxsec_clusterkey **ret);

/* A short English explanation of a parse error, for `omx join` and omxd. */
const char *omxsec_clusterkey_strerror(int err);

/* Validates "host:port" (the syntax seeds and --listen/--advertise use). 0 or -EINVAL. */
__attribute__((warn_unused_result)) int omxsec_endpoint_check(const char *ep);
