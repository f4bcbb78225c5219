#!/usr/bin/env bash
# test_omx_cp_rm.sh - `omx cp -r/-p/-a` and `omx rm -r/-d` (cli/mfs_cp.c, cli/mfs_cmds.c) against
# their coreutils namesakes: trees copied to and from /mfs and between two /mfs paths compare
# equal (content, types, modes, owners, times, symlinks, fifos, hard links) with what `cp -a`
# makes; the refusals and exit codes people script against.
#
# The commands run over tests/omfs/omfs_cmd (the same code as `omx`, loopback transport: a
# server core in-process exporting one temporary directory as node 1); test_omfs_mesh.sh covers
# the mesh transport. Root (for owners); everything lives in one temporary directory.
set -euo pipefail

BUILD=${OMX_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
CMD=$BUILD/tests/omfs/omfs_cmd
[ "$(id -u)" -eq 0 ] || { echo "test_omx_cp_rm: needs root" >&2; exit 1; }
[ -x "$CMD" ] || { echo "test_omx_cp_rm: $CMD not built" >&2; exit 1; }

W=$(mktemp -d /tmp/omx-cp.XXXXXX)
trap 'rm -rf "$W"' EXIT
chmod 755 "$W"
E=$W/exp
X=/mfs/1$E
mkdir "$E" "$W/local"
omx() { "$CMD" --no-root-squash --export "$E" "$@"; }
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
step() { echo "== $*"; }
listing() { (cd "$1" && find . -printf '%p %y %m %u %g %s %T@ %l\n' | grep -v '^\. ' | sort); }

S=$W/src
mkdir -p "$S/d/sub" "$S/empty"
for i in $(seq 1 20); do head -c $((i * 3001)) /dev/urandom >"$S/d/f$i"; done
head -c 2500000 /dev/urandom >"$S/big"
echo hi >"$S/d/sub/hello"
ln "$S/d/sub/hello" "$S/hard"
ln -s d/sub/hello "$S/rel"
ln -s /nonexistent "$S/dangling"
mkfifo "$S/fifo"
chmod 0750 "$S/d"
chmod 4755 "$S/d/f1"
chmod 0600 "$S/d/f2"
chown 1234:5678 "$S/d/f3"
touch -h -d '2001-02-03 04:05:06.123456789' "$S/d/f4" "$S/rel"
touch -d '2002-02-03 04:05:06' "$S/d/sub" "$S/d"

step "cp -a to /mfs, back, and /mfs to /mfs: same tree as cp -a makes"
cp -a "$S" "$W/ref"
omx cp -a "$S" "$X/a1" || fail "cp -a local -> /mfs"
omx cp -a "$X/a1" "$X/a2" || fail "cp -a /mfs -> /mfs"
omx cp -a "$X/a2" "$W/local/a3" || fail "cp -a /mfs -> local"
for t in "$E/a1" "$E/a2" "$W/local/a3"; do
	diff <(listing "$W/ref") <(listing "$t") || fail "cp -a tree differs: $t"
	[ "$(stat -c %i "$t/hard")" = "$(stat -c %i "$t/d/sub/hello")" ] || fail "hard link lost: $t"
	cmp "$S/big" "$t/big" || fail "content: $t"
done

step "cp -r without -p: modes masked by umask, times new, links still links"
(umask 027 && omx cp -r "$S/d" "$X/r1") || fail "cp -r"
[ "$(stat -c %a "$E/r1")" = 750 ] || fail "dir mode after cp -r: $(stat -c %a "$E/r1")"
[ "$(stat -c %a "$E/r1/f2")" = 600 ] || fail "file mode after cp -r"
[ "$(stat -c %Y "$E/r1/f4")" != "$(stat -c %Y "$S/d/f4")" ] || fail "cp -r kept times"
diff -r "$S/d" "$E/r1" || fail "cp -r content"
omx cp -r "$S/rel" "$X/rel2" && [ "$(readlink "$E/rel2")" = d/sub/hello ] || fail "cp -r of a link"

step "cp into an existing directory, several sources, -p on one file"
mkdir "$E/into"
omx cp -p "$S/d/f4" "$S/d/f5" "$X/into" || fail "cp several files into a dir"
[ "$(stat -c %y "$E/into/f4")" = "$(stat -c %y "$S/d/f4")" ] || fail "cp -p times"
omx cp -r "$S/d" "$X/into" && [ -f "$E/into/d/sub/hello" ] || fail "cp -r into a dir"
omx cp "$S/d/f1" "$X/into/plain" && [ "$(stat -c %a "$E/into/plain")" = 755 ] || fail "cp mode"

step "refusals and exit codes"
set +e
out=$(omx cp "$S/d" "$X/x" 2>&1); rc=$?
[ $rc = 1 ] && grep -q 'omitting directory' <<<"$out" || fail "cp of a dir without -r: $rc $out"
out=$(omx cp "$S/d/f1" "$S/d/f2" "$X/into/plain" 2>&1); rc=$?
[ $rc = 1 ] && grep -q 'is not a directory' <<<"$out" || fail "several sources to a file: $out"
out=$(omx cp -r "$X/a1" "$X/a1/d" 2>&1); rc=$?
[ $rc = 1 ] && grep -q 'into itself' <<<"$out" || fail "copy into itself: $out"
out=$(omx cp "$X/into/plain" "$X/into/plain" 2>&1); rc=$?
[ $rc = 1 ] && grep -q 'same file' <<<"$out" || fail "copy onto itself: $out"
cmp "$S/d/f1" "$E/into/plain" || fail "copy onto itself damaged the file"
out=$(omx cp -r "$S/d" "$X/into/plain" 2>&1); rc=$?
[ $rc = 1 ] && grep -q 'non-directory' <<<"$out" || fail "dir over a file: $out"
omx cp "$X/none" "$W/local/x" 2>/dev/null; [ $? = 1 ] || fail "cp of a missing file"
omx cp "$X/none" 2>/dev/null; [ $? = 1 ] || fail "cp with one operand"
out=$(omx rm "$X/a2" 2>&1); rc=$?
[ $rc = 1 ] && grep -q 'Is a directory' <<<"$out" || fail "rm of a dir without -r: $out"
out=$(omx rm -r "$X/a2/." 2>&1); rc=$?
[ $rc = 1 ] && grep -q "refusing to remove '.'" <<<"$out" || fail "rm -r of .: $out"
out=$(omx rm -r "/mfs/1/" 2>&1); rc=$?
[ $rc = 1 ] && [ -d "$E/a2" ] || fail "rm -r of the node root: $rc $out"
mkdir "$E/locked" "$E/locked/sub"
touch "$E/locked/sub/keep"
chmod 0555 "$E/locked/sub"
out=$(setpriv --reuid 1000 --regid 1000 --clear-groups "$CMD" --export "$E" rm -r "$X/locked" 2>&1); rc=$?
[ $rc = 1 ] && [ -e "$E/locked/sub/keep" ] || fail "rm -r as a user without permission: $rc $out"
set -e

step "rm -r and rm -d"
omx rm -r "$X/a2" "$X/r1" && [ ! -e "$E/a2" ] && [ ! -e "$E/r1" ] || fail "rm -r"
[ -d "$E/a1" ] || fail "rm -r removed a sibling"
mkdir "$E/emptydir"
omx rm -d "$X/emptydir" && [ ! -e "$E/emptydir" ] || fail "rm -d"
omx rm -rf "$X/none" "$X/a1" && [ ! -e "$E/a1" ] || fail "rm -rf"
echo "test_omx_cp_rm: all passed"
