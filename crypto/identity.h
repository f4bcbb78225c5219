/* identity.h - a node's signing identity and the keys derived from the cluster secret.
 *
 * Each node owns an Ed25519 key pair, kept in STATE_DIR/identity.key (mode 0600, created on first
 * start, never logged). Its CURVE (X25519) client key pair for the mesh is the birational map of
 * that key pair (crypto_sign_ed25519_{pk,sk}_to_curve25519), so the transport identity seen by a
 * receiver can be checked against the Ed25519 key a gossip record claims (omxsec_peer_check).
 *
 * From the 32-byte cluster secret (crypto_kdf, one context per purpose) every member derives the
 * same CURVE *server* key pair: all omxd bind their ROUTER with it and connect with its public
 * key, so a client without the secret cannot even complete the CURVE handshake. The public
 * cluster id (shown by `omx status`) is a separate derivation that reveals nothing of the rest.
 *
 * Secret key material lives in sodium_malloc() memory and is wiped on free.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OMXSEC_SIGN_PK_LEN  32
#define OMXSEC_SIGN_SK_LEN  64
#define OMXSEC_SIG_LEN	    64
#define OMXSEC_CURVE_LEN    32
#define OMXSEC_CLUSTER_ID_LEN 8 /* bytes; printed as 16 hex digits */
#define OMXSEC_IDENTITY_FILE "identity.key"

struct omxsec_identity {
	uint8_t sign_pk[OMXSEC_SIGN_PK_LEN];
	uint8_t sign_sk[OMXSEC_SIGN_SK_LEN];
	uint8_t curve_pk[OMXSEC_CURVE_LEN];
	uint8_t curve_sk[OMXSEC_CURVE_LEN];
};

/* Loads DIR/identity.key, or creates it (0600, O_EXCL, written then renamed into place) when it
 * does not exist. *ret_created (may be NULL) tells which. Refuses (-EPERM) a file readable or
 * writable by group/others, and -EBADMSG a file of the wrong size or inconsistent content.
 * Caller owns *ret (omxsec_identity_free). */
__attribute__((warn_unused_result)) int omxsec_identity_load(const char *dir,
							    struct omxsec_identity **ret,
							    bool *ret_created);
/* A fresh in-memory identity (tests, simulator). Caller owns *ret. */
__attribute__((warn_unused_result)) int omxsec_identity_generate(struct omxsec_identity **ret);
/* Wipes and frees *id, sets it to NULL. NULL-safe. */
void omxsec_identity_free(struct omxsec_identity **id);

/* Ed25519 public key -> X25519 public key. -EINVAL for a key that is not a valid point. */
__attribute__((warn_unused_result)) int omxsec_sign_pk_to_curve(
	const uint8_t pk[OMXSEC_SIGN_PK_LEN], uint8_t ret_curve[OMXSEC_CURVE_LEN]);

/* 0 if peer (a CURVE public key as the transport saw it, peer_len bytes) is the X25519 form of
 * the Ed25519 key pk; -EPERM otherwise (including a wrong length or an invalid pk). */
__attribute__((warn_unused_result)) int omxsec_peer_check(const uint8_t pk[OMXSEC_SIGN_PK_LEN],
							 const uint8_t *peer, size_t peer_len);

/* Detached Ed25519 signature over data. */
void omxsec_sign(const struct omxsec_identity *id, const uint8_t *data, size_t len,
		 uint8_t ret_sig[OMXSEC_SIG_LEN]);
/* 0 if sig is pk's signature over data, -EBADMSG otherwise. */
__attribute__((warn_unused_result)) int omxsec_verify(const uint8_t pk[OMXSEC_SIGN_PK_LEN],
						     const uint8_t *data, size_t len,
						     const uint8_t sig[OMXSEC_SIG_LEN]);

/* The cluster CURVE server key pair derived from the secret. ret_sk should point into
 * sodium_malloc() memory. Always succeeds for a 32-byte secret (0). */
__attribute__((warn_unused_result)) int omxsec_derive_server_keys(
	const uint8_t secret[32], uint8_t ret_pk[OMXSEC_CURVE_LEN], uint8_t ret_sk[OMXSEC_CURVE_LEN]);

/* Public, non-secret cluster id: 16 lowercase hex digits + NUL into ret (17 bytes). */
void omxsec_cluster_id(const uint8_t secret[32], char ret[2 * OMXSEC_CLUSTER_ID_LEN + 1]);

/* Lowercase hex of len bytes into ret (2*len+1 bytes). */
void omxsec_hex(const uint8_t *data, size_t len, char *ret);
/* Parses exactly 2*len hex digits into ret. 0 or -EINVAL. */
__attribute__((warn_unused_result)) int omxsec_unhex(const char *s, uint8_t *ret, size_t len);
