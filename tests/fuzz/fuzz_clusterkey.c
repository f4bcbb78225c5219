/* fuzz_clusterkey.c - the CLUSTER_KEY string parser. Whatever parses must format back to a
 * string that parses to the same key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/clusterkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct omxsec_clusterkey *k = NULL, *k2 = NULL;
	if (omxsec_clusterkey_parse(s, &k) == 0) {
		static char buf[OMXSEC_CLUSTERKEY_STR_MAX];
		if (omxsec_clusterkey_format(k, buf, sizeof(buf)) != 0)
			abort();
		if (omxsec_clusterkey_parse(buf, &k2) != 0)
			abort();
		if (memcmp(k->secret, k2->secret, OMXSEC_SECRET_LEN) != 0 || k->n_seeds != k2->n_seeds)
			abort();
		for (size_t i = 0; i < k->n_seeds; i++)
			if (strcmp(k->seeds[i], k2->seeds[i]) != 0)
				abort();
	}
	omxsec_clusterkey_free(&k);
	omxsec_clusterkey_free(&k2);
	free(s);
	return 0;
}
