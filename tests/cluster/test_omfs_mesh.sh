#!/usr/bin/env bash
# test_omfs_mesh.sh - oMFS between three real omxd nodes over the encrypted mesh.
#
#   node 1  the client: its /mfs (a FUSE mount in its own mount namespace) and `omx`
#   node 2  exports / without root squash: real tools (omfs_checks.sh: cp -a, tar, git, sqlite3,
#           make, mmap, xattrs, locks, permissions as uid 1000/1001, errno values, omx vs
#           coreutils) run from node 1 on /mfs/<node 2>/<tmp dir>
#   node 3  exports a subdirectory (plus a read-only one), root squashed: escape attempts
#           (`..`, absolute and relative symlinks) must stay inside it; then it is killed with
#           SIGKILL while node 1 reads from it: the reader must fail with EIO/ENOTCONN within
#           10 s, and /mfs/<node 3> must disappear once gossip declares it dead.
# Then node 1 is stopped with SIGTERM while its /mfs is busy (a cwd, an open file, lock waits
# on node 2 and on its own export):
# clean unmount, threads joined, exit 0 within 5 s; restarted, it rejoins; finally node 2 leaves
# (its /mfs is unmounted, node 1 stops listing it).
# All nodes share the host's file system, so what node 2 serves is checked directly on disk.
set -uo pipefail
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/cluster/omfs_checks.sh
source "$(dirname "$0")/omfs_checks.sh"

KILL_BOUND_S=10

cluster_init
for tool in git sqlite3 make cc python3 tar; do
	command -v "$tool" >/dev/null 2>&1 || die "missing tool: $tool"
done
nodes_create 3 1
W=$TMP/w # everything the checks create (all nodes see the host's file system)
E3=$TMP/exp3
RO3=$TMP/ro3
mkdir -p "$W/exp" "$W/local" "$E3" "$RO3"
chmod 755 "$W" "$W/exp" "$E3" "$RO3"

node_start 1
node_start 2 --no-root-squash
node_start 3 --export "$E3" --export "$RO3:ro"
KEY=$(cluster_keygen 1 2) || die "keygen"
nodes_start_join "$KEY" 1 2 3
wait_all_see 30 alive "1 2 3" "$(names 1 2 3)" || die "no full view"
# a joining node may renumber itself to the smallest free id a moment after it joined: use the
# ids once two reads a second apart agree and they are distinct
IDS=
for _ in $(seq 15); do
	sleep 1
	ids="$(node_id 1) $(node_id 2) $(node_id 3)"
	[ "$ids" = "$IDS" ] && [ "$(printf '%s\n' $ids | sort -u | wc -l)" = 3 ] && break
	IDS=$ids
done
read -r I1 I2 I3 <<<"$IDS"
M1=$(node_mfs 1)
log "node ids: $I1 $I2 $I3; node 1's /mfs is $M1"

# on1 CMD...: run CMD on node 1 (its network and mount namespace)
on1() { node_exec_mnt 1 "$@"; }
mfs_lists() { on1 ls "$M1" | grep -qx "$1"; }
wait_until 10 mfs_lists "$I3" || die "node 1's /mfs does not list node 3"

step "/mfs root on node 1"
out=$(on1 ls "$M1" | sort | tr '\n' ' ')
want=$(printf '%s\n' "$I1" "$I2" "$I3" here home | sort | tr '\n' ' ')
[ "$out" = "$want" ] || die "ls /mfs: '$out', want '$want'"
[ "$(on1 readlink "$M1/here")" = "$I1" ] || die "/mfs/here"
[ "$(on1 readlink "$M1/home")" = "$I1" ] || die "/mfs/home"
[ "$(on1 cat "$M1/$I1/etc/hostname")" = "$(cat /etc/hostname)" ] || die "own node through /mfs"
on1 test -e "$M1/65000" && die "a node that is not a member"
ra=$(cat "/sys/class/bdi/$(on1 mountpoint -d "$M1")/read_ahead_kb")
[ "$ra" = 4096 ] || die "/mfs read-ahead is $ra KiB, want 4096 (omfs_fuse_set_readahead)"

step "real tools from node 1 on /mfs/$I2$W/exp (omfs_checks.sh)"
on1 env S="$W/local/src" M="$M1/$I2$W/exp" E="$W/exp" L="$W/local" X="/mfs/$I2$W/exp" \
	OMX="$OMX" STATE="$(node_dir 1)" CHECKS="$_LIB_DIR/omfs_checks.sh" bash -c '
	set -euo pipefail
	source "$CHECKS"
	fail() { echo "FAIL: $*" >&2; exit 1; }
	omx() { "$OMX" --state-dir "$STATE" "$@"; }
	omfs_check_tools
	omfs_check_omx
' || die "real-tool checks over the mesh"
n=$(node_omx 2 status --json | jq '.counters.omfs_rx_requests')
[ "$n" -gt 1000 ] || die "node 2 served only $n requests"
log "node 2 served $n oMFS requests"

step "kernel caches: kept long where node 2 watches, dropped at once when anything changes"
# node 2 tells its recent clients of every change (its server's own, and other programs' seen
# by its fanotify watch); what it marks watched they may cache for 10 s. Each check below
# starts right after node 1 cached the old state and must see the new one well inside 10 s.
C=$W/coh
mkdir -p "$C"
echo one >"$C/f"
echo a >"$C/a"
chmod 644 "$C/f" "$C/a"
MC=$M1/$I2$C
M2=$(node_mfs 2)
on2() { node_exec_mnt 2 "$@"; }
rx2() { node_omx 2 status --json | jq '.counters.omfs_rx_requests'; }
# see CMD WANT: CMD's output becomes WANT within 5 s (half the 10 s a stale entry would live)
see() {
	local cmd=$1 want=$2 t0 out
	t0=$(now_ms)
	while :; do
		out=$(eval "$cmd" 2>&1)
		[ "$out" = "$want" ] && return 0
		[ $(($(now_ms) - t0)) -lt 5000 ] || { echo "'$cmd': '$out', want '$want'" >&2; return 1; }
		sleep 0.05
	done
}
watched=$(node_omx 2 status --json | jq '.counters.omfs_watched_fs')
if [ "$watched" -gt 0 ]; then
	# from a working directory inside, so that no ancestor's entry (cached by earlier steps,
	# and expiring whenever) is revalidated in between: an attribute that is not watched
	# lives 1 s, so after 2 s only a watched one is still cached
	read -r n0 n1 < <(on1 env OMXC="$(readlink -f "$OMX")" S2="$(node_dir 2)" sh -c '
		rx() { "$OMXC" --state-dir "$S2" status --json | jq .counters.omfs_rx_requests; }
		cd "$1" && [ "$(stat -c %s f a | tr "\n" " ")" = "4 2 " ] && sleep 2 &&
			n0=$(rx) && stat f a >/dev/null && echo "$n0 $(rx)"' sh "$MC")
	[ -n "${n1:-}" ] || die "stat through /mfs"
	[ "$n1" = "$n0" ] || die "stat 2 s later asked node 2 again ($n0 -> $n1 requests): not cached"
	# a program on node 2's file system, not through oMFS: seen by node 2's watch
	chmod 600 "$C/f"
	echo two >>"$C/f"
	see "on1 stat -c '%a %s' '$MC/f'" "600 8" || die "node 1 kept stale attributes of a changed file"
	[ "$(on1 cat "$MC/f" | tr '\n' ' ')" = "one two " ] || die "node 1 read stale data"
	# node 3 renames through its /mfs (node 2's server reports its own change)
	[ "$(on1 cat "$MC/a")" = a ] || die "cat through /mfs"
	node_exec_mnt 3 mv "$(node_mfs 3)/$I2$C/a" "$(node_mfs 3)/$I2$C/b" || die "mv on node 3"
	see "on1 sh -c 'test -e $MC/a && echo stale; cat $MC/b'" "a" || die "node 1 kept a renamed name"
	# node 2's own /mfs, changed by node 1
	[ "$(on2 stat -c %s "$M2/$I2$C/f")" = 8 ] || die "node 2's own /mfs"
	on1 sh -c "echo three >>'$MC/f'" || die "append through /mfs"
	see "on2 stat -c %s '$M2/$I2$C/f'" 14 || die "node 2's own /mfs kept stale attributes"
	# omx rm on node 1, relayed by its omxd: its /mfs must hear of it as well
	on1 stat "$MC/b" >/dev/null || die "stat b"
	node_omx 1 rm "/mfs/$I2$C/b" || die "omx rm"
	see "on1 sh -c 'test -e $MC/b && echo stale; echo done'" "done" || die "node 1's /mfs kept what omx rm removed"
	# a directory node 1 made: its creates cost no lookup round trip (node 1 knows every name
	# in it), and still see names others add at once
	on1 mkdir "$MC/nd" || die "mkdir through /mfs"
	read -r k0 k1 < <(on1 env OMXC="$(readlink -f "$OMX")" S2="$(node_dir 2)" sh -c '
		rx() { "$OMXC" --state-dir "$S2" status --json | jq .counters.omfs_rx_requests; }
		k0=$(rx) && python3 -c "import os,sys
for i in range(20): os.close(os.open(f\"{sys.argv[1]}/f{i}\", os.O_CREAT|os.O_WRONLY|os.O_EXCL, 0o644))" "$1" &&
			echo "$k0 $(rx)"' sh "$MC/nd")
	[ -n "${k1:-}" ] || die "creates through /mfs"
	[ $((k1 - k0)) -le 21 ] || die "20 creates in a new directory cost $((k1 - k0)) requests, want 20 (and a release)"
	echo x >"$C/nd/ext" # a program on node 2
	see "on1 sh -c 'cat $MC/nd/ext 2>&1'" "x" || die "node 1 kept saying a name others created is not there"
	node_exec_mnt 3 sh -c "echo y >'$(node_mfs 3)/$I2$C/nd/by3'" || die "create on node 3"
	see "on1 sh -c 'cat $MC/nd/by3 2>&1'" "y" || die "node 1 missed node 3's create"
	# what node 1 knows never creates over a file: the server decides an exclusive create
	on1 mkdir "$MC/nd2" || die "mkdir nd2"
	echo z >"$C/nd2/g"
	on1 python3 -c "import os,sys
try: os.open(sys.argv[1], os.O_CREAT|os.O_EXCL|os.O_WRONLY)
except FileExistsError: sys.exit(0)
sys.exit('an exclusive create succeeded over node 2 file')" "$MC/nd2/g" || die "O_EXCL create"
	see "on1 cat $MC/nd2/g" z || die "node 2's file through node 1's /mfs"
	log "node 2 watches $watched file system(s); node 1 saw every change within 5 s"
else
	log "node 2 has no file-system watch here (no fanotify): its clients cache 1 s; skipped"
fi

step "a chown through /mfs is one request (no GETATTR first: the INIT reply asks the server to clear set-id bits)"
read -r c0 c1 < <(on1 env OMXC="$(readlink -f "$OMX")" S2="$(node_dir 2)" sh -c '
	rx() { "$OMXC" --state-dir "$S2" status --json | jq .counters.omfs_rx_requests; }
	cd "$1" && touch k && stat k >/dev/null && sleep 0.2 && c0=$(rx) && chown 1000 k &&
		echo "$c0 $(rx)"' sh "$MC")
[ -n "${c1:-}" ] || die "chown through /mfs"
[ $((c1 - c0)) = 1 ] || die "a chown through /mfs cost $((c1 - c0)) requests, want 1"

step "cp within one node's tree is copied by that node (copy_file_range); across nodes, through reads and writes"
head -c 16M /dev/urandom >"$W/exp/c16"
read -r c0 c1 < <(on1 env OMXC="$(readlink -f "$OMX")" S2="$(node_dir 2)" sh -c '
	rx() { "$OMXC" --state-dir "$S2" status --json | jq .counters.omfs_rx_requests; }
	c0=$(rx) && cp "$1/c16" "$1/c16b" && echo "$c0 $(rx)"' sh "$M1/$I2$W/exp")
[ -n "${c1:-}" ] || die "cp within /mfs/$I2"
cmp "$W/exp/c16" "$W/exp/c16b" || die "cp within /mfs/$I2: the copy differs"
# 16 MiB through reads and writes would be 32 requests of 1 MiB at least
[ $((c1 - c0)) -lt 16 ] || die "cp of 16 MiB within /mfs/$I2 cost $((c1 - c0)) requests"
log "cp of 16 MiB within node 2's tree: $((c1 - c0)) requests to node 2"
mkdir -p -m 1777 "$W/x1" # node 1 squashes root: the copy is made as 65534
on1 cp "$M1/$I2$W/exp/c16" "$M1/$I1$W/x1/c16" || die "cp from /mfs/$I2 to /mfs/$I1"
cmp "$W/exp/c16" "$W/x1/c16" || die "cp across nodes: the copy differs"
rm -rf "$W/exp/c16" "$W/exp/c16b" "$W/x1"

step "exports of node 3: a subdirectory, escapes, read-only, root squash"
mkdir -p "$E3/etc" "$E3/pub"
chmod 1777 "$E3/pub"
echo INSIDE >"$E3/etc/hostname"
ln -s /etc/hostname "$E3/abs"
ln -s ../../../../../../../../../etc/hostname "$E3/rel"
ln -s / "$E3/rootlink"
echo secret >"$E3/secret"
chmod 600 "$E3/secret"
echo ro >"$RO3/file"
X3=/mfs/$I3$E3
for p in abs rel rootlink/etc/hostname; do
	out=$(node_omx 1 cat "$X3/$p" 2>&1) || die "omx cat $p: $out"
	[ "$out" = INSIDE ] || die "symlink $p resolved outside the export: '$out'"
done
node_omx 1 cat "$X3/../../../../../etc/hostname" >/dev/null 2>&1 && die "'..' left the export"
node_omx 1 cat "/mfs/$I3/etc/hostname" >/dev/null 2>&1 && die "a path outside every export"
out=$(node_omx 1 ls "/mfs/$I3/")
[ "$out" = "$(echo "$TMP" | cut -d/ -f2)" ] ||
	die "only the exports' ancestors may show at node 3's root: '$out'"
on1 cat "$M1/$I3/etc/hostname" >/dev/null 2>&1 && die "FUSE: a path outside every export"
[ "$(on1 cat "$M1/$I3$E3/etc/hostname")" = INSIDE ] || die "FUSE: file in the export"
out=$(on1 touch "$M1/$I3$RO3/new" 2>&1) && die "created a file in a read-only export"
grep -q 'Read-only file system' <<<"$out" || die "read-only export error: $out"
[ "$(on1 cat "$M1/$I3$RO3/file")" = ro ] || die "read from a read-only export"
on1 cat "$M1/$I3$E3/secret" >/dev/null 2>&1 && die "squashed root read a 0600 root file"
on1 sh -c "echo sq >'$M1/$I3$E3/pub/sq'" || die "squashed root writing in a 1777 dir"
[ "$(stat -c %u:%g "$E3/pub/sq")" = 65534:65534 ] || die "root was not squashed: $(stat -c %u:%g "$E3/pub/sq")"

step "node 3 killed (SIGKILL) while node 1 reads from it"
head -c $((32 << 20)) /dev/urandom >"$E3/big"
chmod 644 "$E3/big"
on1 python3 - "$M1/$I3$E3/big" >"$TMP/reader.out" 2>&1 <<'EOF' &
import errno, sys, time
p = sys.argv[1]
passes = 0
while True:
    try:
        with open(p, "rb", buffering=0) as f:
            while f.read(1 << 16):
                pass
        passes += 1
        if passes == 1:
            print("reading", flush=True)
    except OSError as e:
        print("error", errno.errorcode.get(e.errno, e.errno), passes, flush=True)
        sys.exit(0)
EOF
READER=$!
wait_until 20 grep -q reading "$TMP/reader.out" || die "the reader never finished a pass: $(cat "$TMP/reader.out")"
t0=$(now_ms)
node_kill 3
if ! wait_until $KILL_BOUND_S grep -q error "$TMP/reader.out"; then
	kill -9 "$READER" 2>/dev/null
	die "a read from the killed node still hangs after $KILL_BOUND_S s"
fi
dt=$(($(now_ms) - t0))
wait "$READER" 2>/dev/null
out=$(cat "$TMP/reader.out")
grep -qE 'error (EIO|ENOTCONN)' <<<"$out" || die "reader failed with the wrong error: $out"
log "reader failed after $dt ms: $(tail -1 "$TMP/reader.out")"
t0=$(now_ms)
out=$(node_omx 1 cat "$X3/etc/hostname" 2>&1) && die "omx cat from a killed node succeeded"
[ $(($(now_ms) - t0)) -lt $((KILL_BOUND_S * 1000)) ] || die "omx cat from a killed node took too long"
wait_all_see 30 dead "1 2" "n3" || die "node 3 not declared dead"
mfs_lacks() { ! on1 ls "$M1" | grep -qx "$1"; }
wait_until 5 mfs_lacks "$I3" || die "/mfs/$I3 still listed after node 3 was declared dead"
out=$(on1 stat "$M1/$I3" 2>&1) && die "/mfs/$I3 still resolves"
out=$(on1 ls "$M1/$I3$E3" 2>&1) && die "node 3's subtree still answers"
[ "$(on1 cat "$M1/$I2/etc/hostname")" = "$(cat /etc/hostname)" ] || die "node 2 no longer reachable"

step "node 1 stopped with SIGTERM while /mfs is busy: unmounts, joins its threads, exits 0"
# a process with its cwd in /mfs, one with a file open, one waiting for a lock held on node 2
mkdir -m 777 "$TMP/lk"
touch "$TMP/lk/f"
chmod 666 "$TMP/lk/f"
flock "$TMP/lk/f" -c "sleep 60" &
HOLDER=$!
on1 sh -c "cd '$M1/$I2/tmp' && exec sleep 60" &
CWD=$!
on1 sh -c "exec 3<'$M1/$I2/etc/hostname'; exec sleep 60" &
OPEN=$!
sleep 0.5
on1 sh -c "flock '$M1/$I2$TMP/lk/f' -c true; echo \"waiter exit \$?\"" >"$TMP/waiter.out" 2>&1 &
WAITER=$!
# the same lock through node 1's own export: served in the FUSE thread itself
on1 sh -c "flock '$M1/$I1$TMP/lk/f' -c true; echo \"waiter exit \$?\"" >"$TMP/waiter1.out" 2>&1 &
WAITER1=$!
sleep 1
t0=$(now_ms)
node_stop 1 10
rc=$?
dt_stop=$(($(now_ms) - t0))
[ "$rc" = 0 ] || die "omxd on node 1 exited with $rc"
[ "$dt_stop" -lt 5000 ] || die "stopping node 1 with a busy /mfs took $dt_stop ms"
grep -q "oMFS unmounted" "$(node_log 1)" || die "node 1 did not log its unmount"
for w in waiter waiter1; do
	wait_until 5 grep -q "waiter exit" "$TMP/$w.out" || die "a lock waiter on /mfs outlived omxd"
	grep -q "waiter exit 0" "$TMP/$w.out" && die "a lock waiter got a lock held elsewhere"
	grep -q "Unknown error" "$TMP/$w.out" && die "a kernel-internal errno leaked: $(cat "$TMP/$w.out")"
done
log "node 1 stopped in $dt_stop ms with a busy /mfs"
kill "$HOLDER" "$CWD" "$OPEN" "$WAITER" "$WAITER1" 2>/dev/null
wait "$HOLDER" "$CWD" "$OPEN" "$WAITER" "$WAITER1" 2>/dev/null
node_restart 1
wait_all_see 30 alive "1 2" "n1 n2" || die "node 1 did not rejoin"
wait_until 10 mfs_lists "$I2" || die "node 1's /mfs is back without node 2"

step "node 2 leaves: its /mfs is unmounted, node 1 stops listing it"
node_omx 2 leave >/dev/null || die "omx leave on node 2"
wait_until 10 grep -q "oMFS unmounted" "$(node_log 2)" || die "node 2 did not unmount /mfs on leave"
node_exec_mnt 2 mountpoint -q "$(node_mfs 2)" && die "node 2's /mfs still mounted after leaving"
wait_until 10 mfs_lacks "$I2" || die "node 1 still lists node 2 after it left"
node_omx 1 ls "/mfs/$I2/" >/dev/null 2>&1 && die "omx ls on a node that left"
cluster_pass "oMFS over the mesh: tools, permissions, escapes, kill -9 in $dt ms, busy stop in $dt_stop ms, leave"
