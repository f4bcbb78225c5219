#!/usr/bin/env bash
# test_omfs_local.sh - real tools on an oMFS mount: tar, cp -a + diff -r, git, sqlite3 (WAL, so
# shared mmap too), make, flock, xattrs, and permissions as an unprivileged user.
#
# Today the mount is tests/omfs/omfs_loopmount (FUSE front + client library + loopback
# transport + server core in one process); the same checks are meant to run over the mesh
# between omxd nodes once it carries oMFS. Runs as root in its own mount namespace; everything
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
step() { echo "== $*"; }

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

step "source tree"
S=$W/local/src
mkdir -p "$S/dir/sub" "$S/empty"
for i in $(seq 1 50); do head -c $((i * 997)) /dev/urandom >"$S/dir/f$i"; done
head -c 3000000 /dev/urandom >"$S/big"
echo hello >"$S/dir/sub/hello"
ln "$S/dir/sub/hello" "$S/hardlink"
ln -s dir/sub/hello "$S/rel-symlink"
ln -s /etc/hostname "$S/abs-symlink"
mkfifo "$S/fifo"
chmod 0751 "$S/dir"
chmod 4755 "$S/dir/f1"
chmod 0600 "$S/dir/f2"
chown 1234:5678 "$S/dir/f3"
touch -d '2001-02-03 04:05:06.123456789' "$S/dir/f4"
listing() { (cd "$1" && find . -printf '%p %y %m %u %g %n %s %T@ %l\n' | sort); }

step "cp -a round trip + diff -r"
cp -a "$S" "$M/cpa"
cp -a "$M/cpa" "$W/local/back"
diff -r --no-dereference -x fifo "$S" "$W/local/back" || fail "cp -a content differs"
# directory sizes and link counts of directories are file-system specific: compare the rest
listing "$S" | grep -v ' d ' >"$W/l1"
listing "$W/local/back" | grep -v ' d ' >"$W/l2"
diff "$W/l1" "$W/l2" || fail "cp -a metadata differs"
listing "$M/cpa" | grep -v ' d ' | awk '{print $1,$2,$3,$4,$5,$7,$8,$9}' >"$W/l3"
awk '{print $1,$2,$3,$4,$5,$7,$8,$9}' "$W/l1" >"$W/l4"
diff "$W/l4" "$W/l3" || fail "metadata seen through /mfs differs"
[ "$(stat -c %i "$M/cpa/hardlink")" = "$(stat -c %i "$M/cpa/dir/sub/hello")" ] ||
	fail "hard links do not share an inode number through /mfs"

step "tar create and extract"
mkdir "$M/tarx"
tar -C "$S" -cf - . | tar -C "$M/tarx" -xpf -
diff -r --no-dereference -x fifo "$S" "$M/tarx" || fail "tar extract into /mfs differs"
tar -C "$M/tarx" -cf "$W/local/t.tar" .
mkdir "$W/local/tarback"
tar -C "$W/local/tarback" -xpf "$W/local/t.tar"
diff -r --no-dereference -x fifo "$S" "$W/local/tarback" || fail "tar created from /mfs differs"
out=$(tar -tvf "$W/local/t.tar")
grep -q 'hardlink link to' <<<"$out" || fail "tar did not see the hard link"

step "git"
(
	cd "$M"
	git init -q repo
	cd repo
	git config user.email t@example.com
	git config user.name t
	cp -a "$S/dir" .
	git add -A
	git commit -q -m first
	echo change >>dir/sub/hello
	git commit -q -am second
	git mv dir/f5 moved
	git commit -q -m third
	git gc -q
	git fsck --full 2>&1
	[ "$(git rev-list --count HEAD)" = 3 ]
	[ -z "$(git status --porcelain)" ]
) || fail "git"

step "sqlite3 (rollback journal, then WAL with its shared-memory mmap)"
for mode in delete wal; do
	db=$M/db-$mode.sqlite
	sqlite3 "$db" "PRAGMA journal_mode=$mode; CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);" >/dev/null
	{
		echo "BEGIN;"
		for i in $(seq 1 2000); do echo "INSERT INTO t(b) VALUES('row $i');"; done
		echo "COMMIT;"
	} | sqlite3 "$db"
	[ "$(sqlite3 "$db" 'SELECT count(*) FROM t;')" = 2000 ] || fail "sqlite3 $mode count"
	[ "$(sqlite3 "$db" 'PRAGMA integrity_check;')" = ok ] || fail "sqlite3 $mode integrity"
	# two connections at once: the second must see the first's committed rows
	sqlite3 "$db" "INSERT INTO t(b) VALUES('x');"
	[ "$(sqlite3 "$db" 'SELECT count(*) FROM t;')" = 2001 ] || fail "sqlite3 $mode second"
done

step "make"
mkdir "$M/proj"
cat >"$M/proj/main.c" <<'EOF'
#include <stdio.h>
int add(int, int);
int main(void) { printf("%d\n", add(2, 3)); return 0; }
EOF
cat >"$M/proj/add.c" <<'EOF'
int add(int a, int b) { return a + b; }
EOF
printf 'prog: main.o add.o\n\tcc -o $@ $^\n%%.o: %%.c\n\tcc -c -o $@ $<\n' >"$M/proj/Makefile"
make -s -C "$M/proj" >/dev/null || fail "make"
[ "$("$M/proj/prog")" = 5 ] || fail "built program output"
make -q -C "$M/proj" || fail "make does not consider the tree up to date"
sleep 1.1
touch "$M/proj/add.c"
! make -q -C "$M/proj" || fail "make missed a touched source"
out=$(make -C "$M/proj")
grep -q 'add.o add.c' <<<"$out" || fail "make did not rebuild add.o: $out"
! grep -q 'main.o main.c' <<<"$out" || fail "make rebuilt main.o needlessly"

step "mmap shared write"
python3 - "$M/mm" <<'EOF' || fail "mmap"
import mmap, os, sys
p = sys.argv[1]
with open(p, "wb") as f:
    f.truncate(1 << 20)
with open(p, "r+b") as f:
    m = mmap.mmap(f.fileno(), 1 << 20)
    m[4096:4101] = b"mmapd"
    m.flush()
    m.close()
with open(p, "rb") as f:
    f.seek(4096)
    assert f.read(5) == b"mmapd"
EOF
[ "$(dd if="$W/exp/mm" bs=1 skip=4096 count=5 2>/dev/null)" = mmapd ] || fail "mmap write not on the server"

step "xattrs"
python3 - "$M/dir-x" <<'EOF' || fail "xattrs"
import os, sys
p = sys.argv[1]
open(p, "w").close()
os.setxattr(p, "user.color", b"blue")
assert os.getxattr(p, "user.color") == b"blue"
assert "user.color" in os.listxattr(p)
os.removexattr(p, "user.color")
try:
    os.getxattr(p, "user.color")
    raise SystemExit("removed xattr still there")
except OSError as e:
    assert e.errno == 61, e  # ENODATA
EOF

step "flock and POSIX locks between processes"
touch "$M/lockfile"
flock "$M/lockfile" -c "flock -n '$M/lockfile' true" && fail "flock did not exclude"
python3 - "$M/lockfile" <<'EOF' || fail "posix locks"
import fcntl, os, sys
p = sys.argv[1]
fd = os.open(p, os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 10, 0)
r, w = os.pipe()
if os.fork() == 0:
    fd2 = os.open(p, os.O_RDWR)
    try:
        fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
        os.write(w, b"got")
    except OSError:
        os.write(w, b"busy")
    os._exit(0)
os.wait()
assert os.read(r, 8) == b"busy"
fcntl.lockf(fd, fcntl.LOCK_UN, 10, 0)
os.close(fd)
EOF

step "permissions as an unprivileged user"
echo secret >"$W/exp/secret"
chmod 600 "$W/exp/secret"
mkdir -m 1777 "$W/exp/pub"
as_user() { setpriv --reuid=1000 --regid=1000 --clear-groups "$@"; }
as_user cat "$M/secret" 2>/dev/null && fail "uid 1000 read a 0600 root file"
out=$(as_user cat "$M/secret" 2>&1 || true)
grep -q 'Permission denied' <<<"$out" || fail "wrong error for EACCES: $out"
as_user touch "$M/newfile" 2>/dev/null && fail "uid 1000 created a file in a root 0755 dir"
as_user sh -c "echo mine >'$M/pub/mine'" || fail "uid 1000 could not write in a 1777 dir"
[ "$(stat -c %u:%g "$W/exp/pub/mine")" = 1000:1000 ] || fail "owner of a file created as uid 1000"
as_user chmod 600 "$M/pub/mine" || fail "owner chmod"
setpriv --reuid=1001 --regid=1001 --clear-groups cat "$M/pub/mine" 2>/dev/null &&
	fail "uid 1001 read uid 1000's 0600 file"
setpriv --reuid=1001 --regid=1001 --clear-groups rm -f "$M/pub/mine" 2>/dev/null &&
	fail "uid 1001 removed a file in a sticky dir"

step "errno of common failures"
mkdir "$M/e"
touch "$M/e/f"
out=$(mkdir "$M/e" 2>&1 || true)
grep -q 'File exists' <<<"$out" || fail "mkdir existing: $out"
out=$(rmdir "$M" 2>&1 || true)
grep -qE 'Device or resource busy|Directory not empty' <<<"$out" || fail "rmdir export: $out"
out=$(rmdir "$M/e" 2>&1 || true)
grep -q 'Directory not empty' <<<"$out" || fail "rmdir non-empty: $out"
out=$(ls "$M/e/f/x" 2>&1 || true)
grep -q 'Not a directory' <<<"$out" || fail "lookup under a file: $out"

step "omx ls/cat/cp/stat/rm/mkdir without FUSE (cli/mfs_cmds.c over the loopback transport)"
CMD=$BUILD/tests/omfs/omfs_cmd
[ -x "$CMD" ] || fail "$CMD not built"
omx() { "$CMD" --no-root-squash --export "$W/exp" "$@"; }
X=/mfs/1$W/exp
[ "$(omx ls "$X/cpa/dir")" = "$(ls "$S/dir")" ] || fail "omx ls differs from ls"
[ "$(omx ls -l "$X/cpa/dir")" = "$(ls -l "$W/exp/cpa/dir")" ] || fail "omx ls -l differs from ls -l"
[ "$(omx ls -a "$X/cpa")" = "$(ls -a "$W/exp/cpa")" ] || fail "omx ls -a differs from ls -a"
omx cat "$X/cpa/big" | cmp - "$S/big" || fail "omx cat"
omx cp "$S/big" "$X/big2" && cmp "$S/big" "$W/exp/big2" || fail "omx cp to /mfs"
omx cp "$X/big2" "$W/local/big3" && cmp "$S/big" "$W/local/big3" || fail "omx cp from /mfs"
[ "$(stat -c %a "$W/exp/big2")" = "$(stat -c %a "$S/big")" ] || fail "omx cp mode"
out=$(TZ=UTC omx stat "$X/cpa/dir/f4")
[ "$out" = "$(TZ=UTC stat "$W/exp/cpa/dir/f4" | sed 's|^  File: .*|  File: '"$X/cpa/dir/f4"'|; s|^ Birth: .*| Birth: -|')" ] ||
	fail "omx stat differs from stat: $out"
omx mkdir -p "$X/m/n/o" && [ -d "$W/exp/m/n/o" ] || fail "omx mkdir -p"
omx mkdir "$X/m" 2>/dev/null && fail "omx mkdir of an existing dir succeeded"
omx rm "$X/big2" && [ ! -e "$W/exp/big2" ] || fail "omx rm"
set +e
omx ls "$X/none" 2>/dev/null; [ $? = 2 ] || fail "omx ls exit code for a missing operand"
omx cat "$X/none" 2>/dev/null; [ $? = 1 ] || fail "omx cat exit code"
omx rm "$X/m" 2>/dev/null; [ $? = 1 ] || fail "omx rm of a directory"
omx rm -f "$X/none"; [ $? = 0 ] || fail "omx rm -f of nothing"
set -e
out=$(omx ls /mfs/7/x 2>&1 || true)
grep -q 'No route to host' <<<"$out" || fail "omx ls on an unreachable node: $out"

step "unmount"
fusermount3 -u "$W/mnt"
wait "$PID" || fail "omfs_loopmount exit status"
PID=
echo "test_omfs_local: all passed"
