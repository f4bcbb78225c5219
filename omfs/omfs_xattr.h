/* omfs_xattr.h - which extended attributes oMFS carries.
 *
 * Everything but LSM labels. security.selinux and the security.SMACK64* family mean something
 * only to the security policy of the host that set them: a label from node 3's policy is
 * meaningless, or wrong, under node 1's, and a client that runs such a policy answers for its
 * /mfs itself without asking the file system. So, as NFSv3, SMB and SSHFS, oMFS neither shows
 * nor sets them: both ends answer EOPNOTSUPP for those names and leave them out of lists (the
 * server is the authority, the FUSE front answers the same without a round trip). Programs
 * take EOPNOTSUPP as "this file system has no such labels" and stop asking: `ls -l` asks for
 * security.selinux once per mount instead of once per file. File capabilities
 * (security.capability), IMA/EVM and every other name are carried.
 */
#pragma once
#include <stddef.h>

/* 1 when oMFS does not carry the attribute `name` (NUL-terminated), else 0 */
int omfs_xattr_host_local(const char *name);

/* Removes the names oMFS does not carry from a listxattr(2) result (NUL-terminated names, len
 * bytes in all) in place; returns the new length. */
size_t omfs_xattr_filter_list(char *list, size_t len);
