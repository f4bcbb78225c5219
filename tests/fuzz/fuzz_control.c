/* fuzz_control.c - the control protocol decoders (what omxd reads from its socket, and what
 * omx reads back). A request that decodes must survive a pack/unpack round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct control_request req, req2;
	static struct control_reply rep;
	static uint8_t buf[CONTROL_MSG_MAX];
	if (control_request_unpack(data, size, &req) == 0) {
		int n = control_request_pack(&req, buf, sizeof(buf));
		if (n < 0 || control_request_unpack(buf, (size_t)n, &req2) != 0)
			abort();
		if (req.op != req2.op || strcmp(req.cluster_key, req2.cluster_key) != 0 ||
		    req.offset != req2.offset || req.timeout_ms != req2.timeout_ms)
			abort();
	}
	if (control_reply_unpack(data, size, &rep) == 0 && rep.n_nodes > CONTROL_NODES_PER_REPLY)
		abort();
	return 0;
}
