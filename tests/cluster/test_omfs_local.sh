#!/usr/bin/env bash
# test_omfs_local.sh - real tools on an oMFS mount: tar, cp -a + diff -r, git, sqlite3 (WAL, so
# shared mmap too), make, flock, xattrs, and permissions as an unprivileged user.
#
# The mount is tests/omfs/omfs_loopmount (FUSE front + client library + loopback transport +
# server core in one process); test_omfs_mesh.sh runs the same checks (omfs_checks.sh) between
# omxd nodes over the mesh. Runs as root in its own mount namespace; everything
# it creates lives in one temporary directory that is removed on exit.
set -euo pipefail

BUILD=${OMX_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
LOOP=$BUILD/tests/omfs/omfs_loopmount
if [ "$(id -u)" -ne 0 ]; then
	echo "test_omfs_local: needs root" >&2
	exit 1
fi
if [ ! -x "$LOOP" ]; then
	echo "test_omfs_local: $LOOP not built" >&2
	exit 1
fi
if [ "${1:-}" != "--inside" ]; then
	exec unshare -m --propagation private bash "$0" --inside
fi

W=$(mktemp -d /tmp/omfs-local.XXXXXX)
chmod 755 "$W"
PID=
cleanup() {
	set +e
	cd /
	if [ -n "$PID" ]; then
		fusermount3 -u "$W/mnt" 2>/dev/null || umount -l "$W/mnt"
		wait "$PID"
	fi
	rm -rf "$W"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	echo "--- omfs_loopmount stderr:" >&2
	cat "$W/err" >&2 || true
	exit 1
}
# the checks themselves are shared with test_omfs_mesh.sh
# shellcheck source=tests/cluster/omfs_checks.sh
source "$(dirname "$0")/omfs_checks.sh"

mkdir "$W/mnt" "$W/exp" "$W/local"
"$LOOP" --no-root-squash "$W/mnt" "$W/exp" >"$W/out" 2>"$W/err" &
PID=$!
for _ in $(seq 100); do
	grep -q mounted "$W/out" 2>/dev/null && break
	kill -0 "$PID" 2>/dev/null || fail "omfs_loopmount exited"
	sleep 0.05
done
grep -q mounted "$W/out" || fail "mount did not come up"
M=$W/mnt/1$W/exp # the export, seen through /mfs/<node>/<path>

step "/mfs root"
[ "$(readlink "$W/mnt/here")" = 1 ] || fail "here link"
[ "$(readlink "$W/mnt/home")" = 1 ] || fail "home link"
[ -d "$W/mnt/1" ] || fail "node dir"
[ ! -e "$W/mnt/2" ] || fail "a node that is not a member"

S=$W/local/src
E=$W/exp
L=$W/local
X=/mfs/1$W/exp
CMD=$BUILD/tests/omfs/omfs_cmd
[ -x "$CMD" ] || fail "$CMD not built"
omx() { "$CMD" --no-root-squash --export "$W/exp" "$@"; }
omfs_check_tools
out=$(rmdir "$M" 2>&1 || true)
grep -qE 'Device or resource busy|Directory not empty' <<<"$out" || fail "rmdir export: $out"
omfs_check_omx

step "unmount"
fusermount3 -u "$W/mnt"
wait "$PID" || fail "omfs_loopmount exit status"
PID=
echo "test_omfs_local: all passed"
