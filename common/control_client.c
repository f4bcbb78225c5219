/* control_client.c - the `omx` side of the control socket: one request, one reply. */
#include "common/control.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int connect_to(const char *state_dir, int *ret_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", state_dir, CONTROL_SOCKET_NAME) >=
	    (int)sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		(void)close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int control_call(const char *state_dir, const struct control_request *req, uint32_t timeout_ms,
		 struct control_reply *ret)
{
	uint8_t *buf = malloc(CONTROL_MSG_MAX);
	if (!buf)
		return -ENOMEM;
	int fd = -1;
	int r = control_request_pack(req, buf, CONTROL_MSG_MAX);
	if (r < 0)
		goto out;
	size_t len = (size_t)r;
	r = connect_to(state_dir, &fd);
	if (r < 0)
		goto out;
	if (send(fd, buf, len, MSG_NOSIGNAL) < 0) {
		r = -errno;
		goto out;
	}
	memset(buf, 0, len); /* the request may hold a cluster key */
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int pr;
	do
		pr = poll(&p, 1, (int)(timeout_ms > INT_MAX ? INT_MAX : timeout_ms));
	while (pr < 0 && errno == EINTR);
	if (pr < 0) {
		r = -errno;
		goto out;
	}
	if (pr == 0) {
		r = -ETIMEDOUT;
		goto out;
	}
	ssize_t n = recv(fd, buf, CONTROL_MSG_MAX, MSG_TRUNC);
	if (n < 0) {
		r = -errno;
		goto out;
	}
	if (n == 0) {
		r = -ECONNRESET; /* the daemon refused us (SO_PEERCRED) or died */
		goto out;
	}
	if ((size_t)n > CONTROL_MSG_MAX) {
		r = -EMSGSIZE;
		goto out;
	}
	r = control_reply_unpack(buf, (size_t)n, ret);
out:
	if (fd >= 0)
		(void)close(fd);
	free(buf);
	return r;
}
