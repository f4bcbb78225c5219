/* omfs_xattr.c - which extended attributes oMFS carries (see omfs_xattr.h) */
#include "omfs/omfs_xattr.h"

#include <string.h>

int omfs_xattr_host_local(const char *name)
{
	return strcmp(name, "security.selinux") == 0 ||
	       strncmp(name, "security.SMACK64", strlen("security.SMACK64")) == 0;
}

size_t omfs_xattr_filter_list(char *list, size_t len)
{
	size_t in = 0, out = 0;
	while (in < len) {
		size_t n = strnlen(list + in, len - in);
		int terminated = n < len - in; /* a last name without its NUL is kept as it is */
		size_t step = terminated ? n + 1 : n;
		if (!terminated || !omfs_xattr_host_local(list + in)) {
			memmove(list + out, list + in, step);
			out += step;
		}
		in += step;
	}
	return out;
}
