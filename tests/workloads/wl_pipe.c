/* wl_pipe.c - blocked in read() on its standard input (a pipe) while frozen and moved. After
 * the restore, what the driver writes must arrive intact: "omx-pipe-check\n". */
#include <errno.h>

#include "wl.h"

int main(int argc, char **argv)
{
	char buf[64];
	size_t got = 0;
	wl_ready(argc, argv);
	while (got < 15) {
		ssize_t n = read(0, buf + got, sizeof(buf) - got);
		if (n < 0 && errno == EINTR) {
			fprintf(stderr, "read: EINTR leaked\n");
			return 1;
		}
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return wl_result(got == 15 && memcmp(buf, "omx-pipe-check\n", 15) == 0, "pipe");
}
