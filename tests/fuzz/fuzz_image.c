/* fuzz_image.c - the migration image decoder (migrate/image_wire.c) on arbitrary bytes: header,
 * process chunk, then every page chunk to the end. Must never crash or leak. */
#include <stddef.h>
#include <stdint.h>

#include "migrate/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mig_memsrc src = { .data = data, .len = size };
	struct mig_reader r = { .source = mig_source_mem, .ctx = &src };
	struct mig_image *img = NULL;
	if (mig_read_begin(&r, &img) == 0) {
		uint64_t addr;
		const uint8_t *pages;
		size_t len;
		while (mig_read_pages(&r, &addr, &pages, &len) > 0)
			;
		mig_image_free(&img);
	}
	mig_reader_release(&r);
	return 0;
}
