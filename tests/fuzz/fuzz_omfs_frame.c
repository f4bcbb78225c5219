/* fuzz_omfs_frame.c - the oMFS mesh envelope decoder (omfs_wire_frame_decode: what omxd reads
 * from every member on the oMFS channel), the change-list decoder (omfs_wire_notify_decode: a
 * notify frame's payload) and the lock-wait classifier the calls table runs on requests. A
 * frame or change list that decodes must survive an encode/decode round trip unchanged. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "omfs/omfs_wire.h"

static void notify_round_trip(const uint8_t *data, size_t size)
{
	struct omfs_notify a, b;
	if (omfs_wire_notify_decode(data, size, &a) != 0)
		return;
	uint8_t *buf;
	size_t len;
	if (omfs_wire_notify_encode(&a, &buf, &len) != 0 || omfs_wire_notify_decode(buf, len, &b) != 0 ||
	    a.all != b.all || a.n != b.n)
		abort();
	for (size_t i = 0; i < a.n; i++)
		if (strcmp(a.c[i].path, b.c[i].path) != 0 || a.c[i].what != b.c[i].what ||
		    a.c[i].path[0] != '/' || !a.c[i].what)
			abort();
	free(buf);
	omfs_notify_clear(&a);
	omfs_notify_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct omfs_frame f, g;
	memset(&f, 0, sizeof(f));
	int r = omfs_wire_frame_decode(data, size, &f);
	if (r == -EMSGSIZE && f.payload.len != 0)
		abort();
	if (r == 0) {
		(void)omfs_wire_req_may_block(f.payload.p, f.payload.len);
		if (f.kind == OMFS_FRAME_NOTIFY)
			notify_round_trip(f.payload.p, f.payload.len);
		uint8_t *buf;
		size_t len;
		if (omfs_wire_frame_encode(&f, &buf, &len) != 0)
			abort();
		memset(&g, 0, sizeof(g));
		if (omfs_wire_frame_decode(buf, len, &g) != 0 || g.kind != f.kind || g.xid != f.xid ||
		    g.error != f.error || g.payload.len != f.payload.len ||
		    (f.payload.len && memcmp(g.payload.p, f.payload.p, f.payload.len) != 0))
			abort();
		omfs_frame_clear(&g);
		free(buf);
		omfs_frame_clear(&f);
	}
	(void)omfs_wire_req_may_block(data, size);
	notify_round_trip(data, size);
	return 0;
}
