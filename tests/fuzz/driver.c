/* driver.c - runs a libFuzzer target without libFuzzer, as a regression test.
 *
 * Usage: fuzz_x [CORPUS_DIR_OR_FILE...]. Every file given (or found in a directory) is fed to
 * LLVMFuzzerTestOneInput, then, for each, a fixed number of seeded mutations of it (bit flips,
 * truncations, extensions, byte splices), so the decoders meet malformed input on every CI run
 * even without clang. Exits non-zero only if the target crashes (which kills the process).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MUTATIONS_PER_SEED 2000

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void mutate_and_run(const uint8_t *seed, size_t len)
{
	size_t cap = len + 64;
	uint8_t *buf = malloc(cap);
	if (!buf)
		abort();
	for (int i = 0; i < MUTATIONS_PER_SEED; i++) {
		size_t n = len;
		memcpy(buf, seed, len);
		int edits = 1 + (int)(rng() % 4);
		for (int e = 0; e < edits; e++) {
			switch (rng() % 5) {
			case 0: /* flip a bit */
				if (n)
					buf[rng() % n] ^= (uint8_t)(1u << (rng() % 8));
				break;
			case 1: /* random byte */
				if (n)
					buf[rng() % n] = (uint8_t)rng();
				break;
			case 2: /* truncate */
				if (n)
					n = rng() % n;
				break;
			case 3: /* extend with random bytes */
				while (n < cap && (rng() % 4))
					buf[n++] = (uint8_t)rng();
				break;
			case 4: /* interesting values */
				if (n) {
					static const uint8_t vals[] = { 0x00, 0xff, 0x7f, 0x80, 0x01 };
					buf[rng() % n] = vals[rng() % sizeof(vals)];
				}
				break;
			}
		}
		/* exact-size heap copy so ASan sees overreads */
		uint8_t *exact = malloc(n ? n : 1);
		if (!exact)
			abort();
		memcpy(exact, buf, n);
		(void)LLVMFuzzerTestOneInput(exact, n);
		free(exact);
	}
	free(buf);
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	uint8_t *data = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			data = realloc(data, cap);
			if (!data)
				abort();
		}
		size_t r = fread(data + len, 1, cap - len, f);
		if (r == 0)
			break;
		len += r;
	}
	fclose(f);
	(void)LLVMFuzzerTestOneInput(data, len);
	mutate_and_run(data, len);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	int files = 0;
	/* the empty input always */
	(void)LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) < 0)
				return 1;
			files++;
			continue;
		}
		DIR *d = opendir(argv[i]);
		if (!d) {
			perror(argv[i]);
			return 1;
		}
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char p[4096];
			snprintf(p, sizeof(p), "%s/%s", argv[i], de->d_name);
			if (run_file(p) < 0) {
				closedir(d);
				return 1;
			}
			files++;
		}
		closedir(d);
	}
	printf("%d seeds, %d mutations each: no crash\n", files, MUTATIONS_PER_SEED);
	return files > 0 ? 0 : 1;
}
