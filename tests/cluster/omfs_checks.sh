# shellcheck shell=bash
# tests/cluster/omfs_checks.sh - real-tool checks on an oMFS directory, shared by
# test_omfs_local.sh (loopback mount in one process) and test_omfs_mesh.sh (between omxd nodes).
#
# Source it, set these variables, then call the omfs_check_* functions (each runs under set -e
# in a subshell of its own and calls fail on a wrong result):
#   M  a directory seen through /mfs (<mount>/<node><E>), where the checks write
#   E  the same directory on the serving node's own file system (checked behind oMFS's back)
#   S  a local source tree (omfs_make_source creates it)
#   L  a local scratch directory
#   X  E as `omx` names it: /mfs/<node><E>
# and define `fail MESSAGE` (must exit non-zero) and, for omfs_check_omx, `omx ARGS...` (the
# command under test). Runs as root; the permission check uses uids 1000/1001 (setpriv).

step() { echo "== $*"; }

# omfs_make_source: $S with files of many sizes, links, a fifo, odd modes, owners and times
omfs_make_source() {
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
}

omfs_listing() { (cd "$1" && find . -printf '%p %y %m %u %g %n %s %T@ %l\n' | sort); }

omfs_check_cpa() (
	set -e
	step "cp -a round trip + diff -r"
	cp -a "$S" "$M/cpa"
	cp -a "$M/cpa" "$L/back"
	diff -r --no-dereference -x fifo "$S" "$L/back" || fail "cp -a content differs"
	# directory sizes and link counts of directories are file-system specific: compare the rest
	omfs_listing "$S" | grep -v ' d ' >"$L/l1"
	omfs_listing "$L/back" | grep -v ' d ' >"$L/l2"
	diff "$L/l1" "$L/l2" || fail "cp -a metadata differs"
	omfs_listing "$M/cpa" | grep -v ' d ' | awk '{print $1,$2,$3,$4,$5,$7,$8,$9}' >"$L/l3"
	awk '{print $1,$2,$3,$4,$5,$7,$8,$9}' "$L/l1" >"$L/l4"
	diff "$L/l4" "$L/l3" || fail "metadata seen through /mfs differs"
	[ "$(stat -c %i "$M/cpa/hardlink")" = "$(stat -c %i "$M/cpa/dir/sub/hello")" ] ||
		fail "hard links do not share an inode number through /mfs"
)

omfs_check_tar() (
	set -e
	step "tar create and extract"
	mkdir "$M/tarx"
	tar -C "$S" -cf - . | tar -C "$M/tarx" -xpf -
	diff -r --no-dereference -x fifo "$S" "$M/tarx" || fail "tar extract into /mfs differs"
	tar -C "$M/tarx" -cf "$L/t.tar" .
	mkdir "$L/tarback"
	tar -C "$L/tarback" -xpf "$L/t.tar"
	diff -r --no-dereference -x fifo "$S" "$L/tarback" || fail "tar created from /mfs differs"
	out=$(tar -tvf "$L/t.tar")
	grep -q 'hardlink link to' <<<"$out" || fail "tar did not see the hard link"
)

omfs_check_git() (
	set -e
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
)

omfs_check_sqlite() (
	set -e
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
)

omfs_check_make() (
	set -e
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
)

omfs_check_mmap() (
	set -e
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
	[ "$(dd if="$E/mm" bs=1 skip=4096 count=5 2>/dev/null)" = mmapd ] ||
		fail "mmap write not on the server"
)

omfs_check_xattrs() (
	set -e
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
# LSM labels are host-local: not carried, EOPNOTSUPP (as NFSv3, SSHFS), never in the list
for f in (lambda: os.getxattr(p, "security.selinux"),
          lambda: os.setxattr(p, "security.selinux", b"unconfined_u:object_r:user_home_t:s0")):
    try:
        f()
        raise SystemExit("security.selinux carried")
    except OSError as e:
        assert e.errno == 95, e  # EOPNOTSUPP
assert not any(n.startswith("security.selinux") for n in os.listxattr(p))
EOF
)

omfs_check_locks() (
	set -e
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
	# a blocking lock wait is released when the holder unlocks
	flock "$M/lockfile" -c "sleep 1" &
	sleep 0.3
	t0=$(date +%s%N)
	flock "$M/lockfile" true || fail "blocking flock"
	wait
	[ $((($(date +%s%N) - t0) / 1000000)) -ge 300 ] || fail "blocking flock did not wait"
)

omfs_as_user() { setpriv --reuid="$1" --regid="$1" --clear-groups "${@:2}"; }

omfs_check_perms() (
	set -e
	step "permissions as an unprivileged user"
	echo secret >"$E/secret"
	chmod 600 "$E/secret"
	mkdir -m 1777 "$E/pub"
	omfs_as_user 1000 cat "$M/secret" 2>/dev/null && fail "uid 1000 read a 0600 root file"
	out=$(omfs_as_user 1000 cat "$M/secret" 2>&1 || true)
	grep -q 'Permission denied' <<<"$out" || fail "wrong error for EACCES: $out"
	omfs_as_user 1000 touch "$M/newfile" 2>/dev/null && fail "uid 1000 created a file in a root 0755 dir"
	omfs_as_user 1000 sh -c "echo mine >'$M/pub/mine'" || fail "uid 1000 could not write in a 1777 dir"
	[ "$(stat -c %u:%g "$E/pub/mine")" = 1000:1000 ] || fail "owner of a file created as uid 1000"
	omfs_as_user 1000 chmod 600 "$M/pub/mine" || fail "owner chmod"
	omfs_as_user 1001 cat "$M/pub/mine" 2>/dev/null && fail "uid 1001 read uid 1000's 0600 file"
	omfs_as_user 1001 rm -f "$M/pub/mine" 2>/dev/null && fail "uid 1001 removed a file in a sticky dir"
	true
)

omfs_check_errno() (
	set -e
	step "errno of common failures"
	mkdir "$M/e"
	touch "$M/e/f"
	out=$(mkdir "$M/e" 2>&1 || true)
	grep -q 'File exists' <<<"$out" || fail "mkdir existing: $out"
	out=$(rmdir "$M/e" 2>&1 || true)
	grep -q 'Directory not empty' <<<"$out" || fail "rmdir non-empty: $out"
	out=$(ls "$M/e/f/x" 2>&1 || true)
	grep -q 'Not a directory' <<<"$out" || fail "lookup under a file: $out"
)

# omx ls/cat/cp/stat/rm/mkdir against their coreutils namesakes (needs omfs_check_cpa's tree)
omfs_check_omx() (
	set -e
	step "omx ls/cat/cp/stat/rm/mkdir without FUSE"
	[ "$(omx ls "$X/cpa/dir")" = "$(ls "$S/dir")" ] || fail "omx ls differs from ls"
	[ "$(omx ls -l "$X/cpa/dir")" = "$(ls -l "$E/cpa/dir")" ] || fail "omx ls -l differs from ls -l"
	[ "$(omx ls -a "$X/cpa")" = "$(ls -a "$E/cpa")" ] || fail "omx ls -a differs from ls -a"
	omx cat "$X/cpa/big" | cmp - "$S/big" || fail "omx cat"
	omx cp "$S/big" "$X/big2" && cmp "$S/big" "$E/big2" || fail "omx cp to /mfs"
	omx cp "$X/big2" "$L/big3" && cmp "$S/big" "$L/big3" || fail "omx cp from /mfs"
	[ "$(stat -c %a "$E/big2")" = "$(stat -c %a "$S/big")" ] || fail "omx cp mode"
	out=$(TZ=UTC omx stat "$X/cpa/dir/f4")
	[ "$out" = "$(TZ=UTC stat "$E/cpa/dir/f4" | sed 's|^  File: .*|  File: '"$X/cpa/dir/f4"'|; s|^ Birth: .*| Birth: -|')" ] ||
		fail "omx stat differs from stat: $out"
	omx mkdir -p "$X/m/n/o" && [ -d "$E/m/n/o" ] || fail "omx mkdir -p"
	omx mkdir "$X/m" 2>/dev/null && fail "omx mkdir of an existing dir succeeded"
	omx rm "$X/big2" && [ ! -e "$E/big2" ] || fail "omx rm"
	set +e
	omx ls "$X/none" 2>/dev/null; [ $? = 2 ] || fail "omx ls exit code for a missing operand"
	omx cat "$X/none" 2>/dev/null; [ $? = 1 ] || fail "omx cat exit code"
	omx rm "$X/m" 2>/dev/null; [ $? = 1 ] || fail "omx rm of a directory"
	omx rm -f "$X/none"; [ $? = 0 ] || fail "omx rm -f of nothing"
	set -e
	out=$(omx ls /mfs/65000/x 2>&1 || true)
	grep -q 'No route to host' <<<"$out" || fail "omx ls on an unknown node: $out"
)

# POSIX details that pjdfstest (tests/omfs/run_pjdfstest.sh) checks, in a few cheap cases each:
# set-id bits dropped by a non-owner's write, who may chmod and set times, ctime/mtime of the
# parent on create and remove, sticky-directory renames, setgid directories, FIFOs and sockets
omfs_check_posix() (
	set -e
	step "POSIX semantics: set-id bits, times, sticky and setgid directories, special files"
	mkdir -p -m 1777 "$E/px"
	P=$M/px
	printf x >"$E/px/suid"
	chmod 6777 "$E/px/suid"
	omfs_as_user 1000 sh -c "printf y >>'$P/suid'" || fail "uid 1000 could not write a 06777 file"
	[ "$(stat -c %a "$E/px/suid")" = 777 ] || fail "set-id bits kept after a non-owner's write: $(stat -c %a "$E/px/suid")"
	# a write and a truncate drop file capabilities, as local ones do (done by the server's
	# own write and truncate: the INIT reply says so, HANDLE_KILLPRIV_V2)
	for how in write truncate; do
		python3 - "$E/px/caps" "$P/caps" "$how" <<'PY' || fail "security.capability kept after a $how through /mfs"
import os, struct, sys
server, mfs, how = sys.argv[1:]
open(server, "wb").close()
# VFS_CAP_REVISION_2, permitted: CAP_NET_RAW
os.setxattr(server, "security.capability", struct.pack("<5I", 0x02000000, 1 << 13, 0, 0, 0))
assert "security.capability" in os.listxattr(server)
if how == "write":
    with open(mfs, "ab") as f:
        f.write(b"x")
else:
    os.truncate(mfs, 100)
sys.exit(1 if "security.capability" in os.listxattr(server) else 0)
PY
	done
	chmod 4755 "$E/px/suid"
	omfs_as_user 1000 chmod 755 "$P/suid" 2>/dev/null && fail "uid 1000 chmod-ed root's file"
	[ "$(stat -c %a "$E/px/suid")" = 4755 ] || fail "mode changed by a refused chmod"
	# a chown drops set-id bits (done by the server's chown: the kernel hands that to /mfs)
	chown 1000 "$P/suid" && [ "$(stat -c '%u %a' "$E/px/suid")" = "1000 755" ] ||
		fail "after chown through /mfs: $(stat -c '%u %a' "$E/px/suid"), want 1000 755"
	chown 0 "$E/px/suid"
	chmod 666 "$E/px/suid"
	omfs_as_user 1000 touch "$P/suid" || fail "a writer may set the times to now"
	omfs_as_user 1000 touch -d @1000000000 "$P/suid" 2>/dev/null && fail "a non-owner set explicit times"
	touch -d @1000000000 "$P/suid" && [ "$(stat -c %Y "$E/px/suid")" = 1000000000 ] || fail "root set explicit times"
	d0=$(stat -c %Z "$E/px")
	sleep 1.1
	mkfifo "$P/fifo"
	[ "$(stat -c %Z "$E/px")" -gt "$d0" ] || fail "parent ctime after mkfifo"
	[ "$(stat -c %F "$E/px/fifo")" = fifo ] || fail "mkfifo made $(stat -c %F "$E/px/fifo")"
	python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$P/sock"
	[ "$(stat -c %F "$E/px/sock")" = socket ] || fail "bind made $(stat -c %F "$E/px/sock")"
	d0=$(stat -c %Y "$E/px")
	sleep 1.1
	rm "$P/fifo" "$P/sock"
	[ "$(stat -c %Y "$E/px")" -gt "$d0" ] || fail "parent mtime after unlink"
	omfs_as_user 1000 sh -c "echo a >'$P/u1000'"
	omfs_as_user 1001 mv "$P/u1000" "$P/taken" 2>/dev/null && fail "uid 1001 renamed uid 1000's file in a sticky dir"
	omfs_as_user 1000 mv "$P/u1000" "$P/moved" || fail "the owner could not rename in a sticky dir"
	mkdir -m 2775 "$E/px/sg"
	chgrp 4242 "$E/px/sg"
	chmod 2775 "$E/px/sg"
	(umask 022 && mkdir "$P/sg/sub")
	[ "$(stat -c %g:%a "$E/px/sg/sub")" = 4242:2755 ] || fail "setgid dir: subdir $(stat -c %g:%a "$E/px/sg/sub")"
	touch "$P/sg/f"
	[ "$(stat -c %g "$E/px/sg/f")" = 4242 ] || fail "setgid dir: file group $(stat -c %g "$E/px/sg/f")"
	# a file with two names is two nodes here: what is done through one shows through the other
	echo x >"$P/hl1"
	stat "$P/hl1" >/dev/null
	ln "$P/hl1" "$P/hl2"
	[ "$(stat -c %h "$P/hl1")" = 2 ] || fail "link count through the old name after link"
	chmod 600 "$P/hl2"
	[ "$(stat -c %a "$P/hl1")" = 600 ] || fail "chmod through one name, stale through the other"
	rm "$P/hl2"
	[ "$(stat -c %h "$P/hl1")" = 1 ] || fail "link count after the other name was removed"
)

omfs_check_parallel_writes() (
	set -e
	step "parallel small writes, metadata calls in between (gathering and carrying)"
	mkdir -m 1777 "$M/par"
	cat >"$L/par.py" <<'PY'
import hashlib, os, sys
d, tag = sys.argv[1], sys.argv[2]
for i in range(60):
    p = f"{d}/{tag}-{i}"
    fd = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    for k, n in enumerate((1000, 3000, 7, 12000)):
        os.write(fd, bytes([(i + k) % 251]) * n)
        if k == 1:
            os.fchmod(fd, 0o640)
            assert os.fstat(fd).st_size == 4000, os.fstat(fd).st_size
    os.close(fd)
    with open(p, "rb") as f:
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(
            b"".join(bytes([(i + k) % 251]) * n for k, n in enumerate((1000, 3000, 7, 12000)))).digest(), p
PY
	pids=()
	for t in a b; do timeout 120 python3 "$L/par.py" "$M/par" "$t" & pids+=($!); done
	for t in u v; do
		timeout 120 setpriv --reuid=1000 --regid=1000 --clear-groups /usr/bin/python3 \
			"$L/par.py" "$M/par" "$t" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || fail "a parallel writer failed or hung (timeout 120 s)"; done
	# two descriptors of one file: the later write wins, whatever was gathered where
	python3 - "$M/par/two" <<'PY' || fail "two descriptors: the earlier write won"
import os, sys
p = sys.argv[1]
a = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
b = os.open(p, os.O_WRONLY)
os.pwrite(a, b"old-old", 0)
os.pwrite(b, b"new", 0)
os.pwrite(a, b"A", 100)
os.fstat(b.__index__())
os.close(a)
os.close(b)
with open(p, "rb") as f:
    d = f.read()
sys.exit(0 if d[:7] == b"new-old" and d[100:101] == b"A" else 1)
PY
	n=$(find "$E/par" -type f -size 16007c | wc -l)
	[ "$n" = 240 ] || fail "parallel writers: $n of 240 files complete on the server"
	[ "$(stat -c %a "$E/par/u-7")" = 640 ] || fail "fchmod between writes lost"
)

# omfs_check_fallocate: fallocate(1) allocates, punches holes, zeroes ranges through /mfs, done
# by the serving node on its own file (util-linux calls fallocate(2), with no fallback)
omfs_check_fallocate() (
	set -e
	step "fallocate: allocate, punch a hole, zero a range"
	fallocate -l 1M "$M/fa" || fail "fallocate -l 1M on /mfs"
	[ "$(stat -c %s "$E/fa")" = 1048576 ] || fail "fallocate: server size $(stat -c %s "$E/fa")"
	[ "$(stat -c %b "$E/fa")" -ge 2048 ] || fail "fallocate: blocks not allocated on the server"
	head -c 65536 /dev/urandom | tr '\0' x >"$M/fb"
	fallocate -p -o 4096 -l 8192 "$M/fb" || fail "fallocate --punch-hole on /mfs"
	fallocate -z -o 32768 -l 100 "$M/fb" || fail "fallocate --zero-range on /mfs"
	python3 - "$M/fb" "$E/fb" <<'PY' || fail "fallocate: wrong contents after punching/zeroing"
import sys
for p in sys.argv[1:]:
    d = open(p, "rb").read()
    assert len(d) == 65536, (p, len(d))
    assert d[4096:12288] == bytes(8192) and d[32768:32868] == bytes(100), p
    assert 0 not in d[:4096] and 0 not in d[12288:32768] and 0 not in d[32868:], p
PY
	fallocate -o 0 -l 0 "$M/fa" 2>/dev/null && fail "fallocate of length 0 accepted"
	rm -f "$M/fa" "$M/fb"
)

# omfs_check_copy_range: cp within the tree (copy_file_range, done by the serving node) and
# copy_file_range at offsets, checked on the serving node's own files
omfs_check_copy_range() (
	set -e
	step "copy_file_range: cp within the tree, and at offsets"
	head -c 3000000 /dev/urandom >"$E/cr-src"
	cp "$M/cr-src" "$M/cr-dst" || fail "cp within /mfs"
	cmp "$E/cr-src" "$E/cr-dst" || fail "cp within /mfs: the copy differs"
	python3 - "$M/cr-src" "$M/cr-dst" "$E/cr-dst" <<'PY' || fail "copy_file_range at offsets"
import os, sys
src = open(sys.argv[1], "rb").read()
a = os.open(sys.argv[1], os.O_RDONLY)
b = os.open(sys.argv[2], os.O_RDWR | os.O_TRUNC)
n = os.copy_file_range(a, b, 100000, 5, 4096)
assert n == 100000, n
assert os.copy_file_range(a, b, 10, len(src) + 1, 0) == 0  # past the source's end
os.close(a)
os.close(b)
for p in sys.argv[2:]:
    d = open(p, "rb").read()
    assert d == bytes(4096) + src[5:100005], (p, len(d))
PY
	rm -f "$M/cr-src" "$M/cr-dst"
)

# omfs_check_rsync: rsync -aAXH onto /mfs keeps ACLs (access and default), user xattrs, hard
# links, symlinks, a fifo, set-id bits, owners and times (sources dated in the past: rsync
# compares whole seconds and leaves a time alone that is already in the same second)
omfs_check_rsync() (
	set -e
	step "rsync -aAXH onto /mfs: ACLs, xattrs, hard links, times"
	local src=$L/rs-src
	rm -rf "$src"
	mkdir -p "$src/d"
	head -c 7000 /dev/urandom >"$src/f1"
	printf two >"$src/f2"
	ln "$src/f2" "$src/hl"
	ln -s f1 "$src/sl"
	mkfifo "$src/fifo"
	chmod 4755 "$src/f2"
	chown 1000:100 "$src/f1"
	setfacl -m u:1001:rw "$src/f1"
	setfacl -d -m g:100:rx "$src/d"
	python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.k", b"v")' "$src/f1"
	find "$src" -exec touch -h -d '2001-02-03 04:05:06.789' {} +
	rsync -aAXH "$src/" "$M/rs/" || fail "rsync -aAXH onto /mfs"
	local a b
	for d in "$src" "$E/rs"; do
		(cd "$d" && find . -printf '%p %y %m %U:%G %n %s %T@ %l\n' | sort) >"$L/rs.$([ "$d" = "$src" ] && echo a || echo b)"
	done
	diff "$L/rs.a" "$L/rs.b" >&2 || fail "rsync -aAXH: names, modes, owners, links or times differ"
	a=$(cd "$src" && getfacl -R -p . 2>/dev/null)
	b=$(cd "$E/rs" && getfacl -R -p . 2>/dev/null)
	[ "$a" = "$b" ] || fail "rsync -aAXH: ACLs differ"
	[ "$(getfattr --only-values -n user.k "$E/rs/f1" 2>/dev/null ||
		python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.k").decode(), end="")' "$E/rs/f1")" = v ] ||
		fail "rsync -aAXH: user xattr lost"
	rm -rf "$src" "$M/rs" "$L/rs.a" "$L/rs.b"
)

# omfs_check_fsx: random writes, reads, mapped I/O, truncates, fallocate, two descriptors and
# reopens on one file, checked against a model after every read and, at the end, against the
# serving node's own copy (tests/omfs/omfs_fsx.py); random seeds, printed for a rerun
omfs_check_fsx() (
	set -e
	step "fsx: random operations against a model"
	local fsx seed
	fsx="$(dirname "${BASH_SOURCE[0]}")/../omfs/omfs_fsx.py"
	for i in 1 2; do
		seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
		python3 "$fsx" "$M/fsx$i" --ops 2000 --seed "$seed" --server-copy "$E/fsx$i" ||
			fail "fsx (seed $seed)"
	done
	rm -f "$M/fsx1" "$M/fsx2"
)

# omfs_check_tools: the source tree, then every real-tool check that both tests run (the
# transport-specific ones, such as omfs_check_omx, are called by each test as it needs)
omfs_check_tools() {
	omfs_make_source
	omfs_check_cpa
	omfs_check_tar
	omfs_check_git
	omfs_check_sqlite
	omfs_check_make
	omfs_check_mmap
	omfs_check_xattrs
	omfs_check_locks
	omfs_check_perms
	omfs_check_errno
	omfs_check_posix
	omfs_check_parallel_writes
	omfs_check_fallocate
	omfs_check_copy_range
	omfs_check_rsync
	omfs_check_fsx
}
