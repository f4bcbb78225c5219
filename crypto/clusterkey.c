/* clusterkey.c - CLUSTER_KEY generation, formatting and parsing; see clusterkey.h.
 *
 * The parser is a fuzz target (tests/fuzz/fuzz_clusterkey.c): it checks the prefix, decodes
 * base64url into a bounded buffer, verifies the checksum, and only then lets protobuf-c decode,
 * so that every failure is one of a few clear classes and nothing half-parsed escapes.
 */
#include "crypto/clusterkey.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/clusterkey.pb-c.h"

#define CHECKSUM_LEN 16
#define RAW_MAX	     (OMXSEC_CLUSTERKEY_STR_MAX * 3 / 4 + 4)

struct omxsec_clusterkey *omxsec_clusterkey_new(void)
{
	if (sodium_init() < 0)
		return NULL;
	struct omxsec_clusterkey *k = sodium_malloc(sizeof(*k));
	if (!k)
		return NULL;
	sodium_memzero(k, sizeof(*k));
	return k;
}

void omxsec_clusterkey_free(struct omxsec_clusterkey **k)
{
	if (!k || !*k)
		return;
	sodium_free(*k); /* sodium_free wipes */
	*k = NULL;
}

int omxsec_clusterkey_generate(struct omxsec_clusterkey **ret)
{
	struct omxsec_clusterkey *k = omxsec_clusterkey_new();
	if (!k)
		return -ENOMEM;
	randombytes_buf(k->secret, sizeof(k->secret));
	*ret = k;
	return 0;
}

int omxsec_endpoint_check(const char *ep)
{
	if (!ep)
		return -EINVAL;
	size_t len = strlen(ep);
	if (len == 0 || len >= OMXSEC_SEED_MAX)
		return -EINVAL;
	const char *colon = strrchr(ep, ':');
	if (!colon || colon == ep || colon[1] == '\0')
		return -EINVAL;
	for (const char *p = ep; p < colon; p++) {
		unsigned char c = (unsigned char)*p;
		if (!(isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '[' ||
		      c == ']'))
			return -EINVAL;
	}
	unsigned long port = 0;
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		port = port * 10 + (unsigned long)(*p - '0');
		if (port > 65535)
			return -EINVAL;
	}
	if (port == 0)
		return -EINVAL;
	return 0;
}

int omxsec_clusterkey_add_seed(struct omxsec_clusterkey *k, const char *seed)
{
	if (omxsec_endpoint_check(seed) < 0)
		return -EINVAL;
	if (k->n_seeds >= OMXSEC_SEEDS_MAX)
		return -E2BIG;
	strcpy(k->seeds[k->n_seeds++], seed); /* length checked above */
	return 0;
}

int omxsec_clusterkey_format(const struct omxsec_clusterkey *k, char *buf, size_t cap)
{
	char *seedp[OMXSEC_SEEDS_MAX];
	Omx__ClusterKey msg = OMX__CLUSTER_KEY__INIT;
	msg.version = OMXSEC_CLUSTERKEY_VERSION;
	msg.secret.data = (uint8_t *)k->secret;
	msg.secret.len = OMXSEC_SECRET_LEN;
	for (size_t i = 0; i < k->n_seeds; i++)
		seedp[i] = (char *)k->seeds[i];
	msg.n_seeds = k->n_seeds;
	msg.seeds = seedp;

	size_t plen = omx__cluster_key__get_packed_size(&msg);
	if (plen + CHECKSUM_LEN > RAW_MAX)
		return -ENOBUFS;
	uint8_t *raw = sodium_malloc(plen + CHECKSUM_LEN);
	if (!raw)
		return -ENOMEM;
	omx__cluster_key__pack(&msg, raw);
	crypto_generichash(raw + plen, CHECKSUM_LEN, raw, plen, NULL, 0);

	size_t pre = strlen(OMXSEC_CLUSTERKEY_PREFIX);
	size_t b64 = sodium_base64_ENCODED_LEN(plen + CHECKSUM_LEN,
					       sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	int r = 0;
	if (pre + b64 > cap || pre + b64 > OMXSEC_CLUSTERKEY_STR_MAX) {
		r = -ENOBUFS;
	} else {
		memcpy(buf, OMXSEC_CLUSTERKEY_PREFIX, pre);
		sodium_bin2base64(buf + pre, cap - pre, raw, plen + CHECKSUM_LEN,
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	}
	sodium_free(raw);
	return r;
}

/* Decoded message -> key; -EPROTO on invalid content. */
static int from_message(const Omx__ClusterKey *msg, struct omxsec_clusterkey *k)
{
	if (msg->secret.len != OMXSEC_SECRET_LEN)
		return -EPROTO;
	if (msg->n_seeds > OMXSEC_SEEDS_MAX)
		return -EPROTO;
	memcpy(k->secret, msg->secret.data, OMXSEC_SECRET_LEN);
	k->n_seeds = 0;
	for (size_t i = 0; i < msg->n_seeds; i++)
		if (omxsec_clusterkey_add_seed(k, msg->seeds[i]) < 0)
			return -EPROTO;
	return 0;
}

int omxsec_clusterkey_parse(const char *s, struct omxsec_clusterkey **ret)
{
	if (!s)
		return -EINVAL;
	if (sodium_init() < 0)
		return -ENOMEM;
	while (isspace((unsigned char)*s))
		s++;
	size_t len = strnlen(s, OMXSEC_CLUSTERKEY_STR_MAX);
	if (len >= OMXSEC_CLUSTERKEY_STR_MAX)
		return -EINVAL;
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	size_t pre = strlen(OMXSEC_CLUSTERKEY_PREFIX);
	if (len < pre + 4)
		return -EINVAL;
	if (strncmp(s, "omx", 3) == 0 && strncmp(s, OMXSEC_CLUSTERKEY_PREFIX, pre) != 0) {
		/* "omxN-": a key from another format version */
		const char *p = s + 3;
		while (p < s + len && isdigit((unsigned char)*p))
			p++;
		if (p > s + 3 && p < s + len && *p == '-')
			return -EPROTONOSUPPORT;
		return -EINVAL;
	}
	if (strncmp(s, OMXSEC_CLUSTERKEY_PREFIX, pre) != 0)
		return -EINVAL;

	uint8_t *raw = sodium_malloc(RAW_MAX);
	if (!raw)
		return -ENOMEM;
	size_t rlen = 0;
	const char *end = NULL;
	int r = 0;
	Omx__ClusterKey *msg = NULL;
	struct omxsec_clusterkey *k = NULL;
	if (sodium_base642bin(raw, RAW_MAX, s + pre, len - pre, NULL, &rlen, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != s + len) {
		r = -EINVAL;
		goto out;
	}
	if (rlen <= CHECKSUM_LEN) {
		r = -EBADMSG;
		goto out;
	}
	uint8_t sum[CHECKSUM_LEN];
	crypto_generichash(sum, sizeof(sum), raw, rlen - CHECKSUM_LEN, NULL, 0);
	if (sodium_memcmp(sum, raw + rlen - CHECKSUM_LEN, CHECKSUM_LEN) != 0) {
		r = -EBADMSG;
		goto out;
	}
	msg = omx__cluster_key__unpack(NULL, rlen - CHECKSUM_LEN, raw);
	if (!msg) {
		r = -EPROTO;
		goto out;
	}
	if (msg->version != OMXSEC_CLUSTERKEY_VERSION) {
		r = -EPROTONOSUPPORT;
		goto out;
	}
	k = omxsec_clusterkey_new();
	if (!k) {
		r = -ENOMEM;
		goto out;
	}
	r = from_message(msg, k);
	if (r < 0)
		goto out;
	*ret = k;
	k = NULL;
out:
	if (msg) {
		if (msg->secret.data)
			sodium_memzero(msg->secret.data, msg->secret.len);
		omx__cluster_key__free_unpacked(msg, NULL);
	}
	omxsec_clusterkey_free(&k);
	sodium_free(raw);
	return r;
}

const char *omxsec_clusterkey_strerror(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case -EINVAL:
		return "not an omx cluster key (expected \"omx1-\" followed by base64url text)";
	case -EBADMSG:
		return "cluster key checksum mismatch (truncated or mistyped key)";
	case -EPROTONOSUPPORT:
		return "cluster key of an unknown format version (made by another omx release?)";
	case -EPROTO:
		return "cluster key content is invalid (bad secret length or endpoint)";
	case -ENOMEM:
		return "out of memory";
	default:
		return strerror(-err);
	}
}
