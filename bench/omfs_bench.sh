#!/usr/bin/env bash
# omfs_bench.sh - issue 4's benchmark goals: /mfs/<other node> over the CURVE mesh vs SSHFS over
# the same link vs the local disk, all in one run.
#
# Setup. Two network-namespace nodes from tests/cluster/lib.sh on one bridge. Node 2's omxd
# exports / without root squash; node 1's omxd mounts its oMFS at $TMP/mfs1 in node 1's own mount
# namespace, so the "oMFS mesh" target is /mfs/<node 2 id>/<export dir>, every request crossing
# the veth link as an encrypted ZeroMQ message. sshd runs in node 2's namespace on node 2's
# address only (port $SSH_PORT, temp config, throw-away host and client keys in the temp dir,
# stopped on exit), and sshfs (default options) is mounted in node 1's mount namespace on the
# same export dir. "local" is the same export dir, used directly. All three share one disk.
# With OMFS_BENCH_LOOPBACK=1 a fourth column runs tests/omfs/omfs_loopmount (oMFS client and
# server in one process, no network) for reference.
#
# Workloads (goal in brackets; ratio oMFS/SSHFS is a speed ratio = SSHFS time / oMFS time):
#   write  SIZE_MB (512) MiB, dd bs=1M conv=fsync to a fresh file               [>= 1.5x SSHFS]
#   read   the same file back with dd bs=1M after drop_caches                   [>= 1.5x SSHFS]
#   small  create (empty) + stat + unlink of 2,000 files                        [>= SSHFS]
#   ls     ls -l of a dir with 5,000 entries, after drop_caches                 [>= SSHFS]
#   untar  a ~30 MB tar of /usr/include files (made locally), then sync         [>= SSHFS]
# Cold caches: before every workload, `sync; echo 3 >/proc/sys/vm/drop_caches` (the whole
# machine: client page cache, FUSE attributes/dentries, and the server's page cache of the disk,
# since client and server share the host kernel); every target also writes its own fresh files.
# REPEAT (default 1) runs; within a run the targets take turns; the table shows each best time.
#
# Usage (root): bench/omfs_bench.sh [BUILD_DIR]
#   env: SIZE_MB=512 REPEAT=1 SSH_PORT=2222 OMFS_BENCH_LOOPBACK=0
#        OMFS_BENCH_WORKLOADS="write read small ls untar" (a subset runs only those; the table
#        and the exit status then cover only those)
# Installs the Debian packages sshfs and openssh-server with apt-get when missing.
# Output: one line per (target, workload) while running, then the table. Exit 0 when every goal
# passed, 1 otherwise (or on a setup failure).
set -uo pipefail

BUILD=${1:-${OMX_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}}
SIZE_MB=${SIZE_MB:-512}
REPEAT=${REPEAT:-1}
SSH_PORT=${SSH_PORT:-2222}
LOOPBACK=${OMFS_BENCH_LOOPBACK:-0}
LOOP=$BUILD/tests/omfs/omfs_loopmount
export OMX_BIN=$BUILD/cli
[ "$(id -u)" = 0 ] || { echo "omfs_bench: needs root" >&2; exit 1; }
[ -x "$OMX_BIN/omxd" ] || { echo "omfs_bench: $OMX_BIN/omxd not built" >&2; exit 1; }
if [ "$LOOPBACK" = 1 ] && ! [ -x "$LOOP" ]; then
	echo "omfs_bench: $LOOP not built" >&2
	exit 1
fi

if ! command -v sshfs >/dev/null || ! [ -x /usr/sbin/sshd ] || ! [ -x /usr/lib/openssh/sftp-server ]; then
	echo "omfs_bench: installing sshfs and openssh-server with apt-get" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q sshfs openssh-server >/dev/null ||
		{ echo "omfs_bench: apt-get install sshfs openssh-server failed" >&2; exit 1; }
fi

# shellcheck source=tests/cluster/lib.sh
source "$(dirname "$0")/../tests/cluster/lib.sh"
cluster_init

SSHD_PID=
bench_cleanup() {
	local rc=$?
	set +e
	cd /
	sshfs_down 1 "$TMP/sshfs"
	(exit "$rc")
	_cluster_cleanup # kills whatever is left in the namespaces, deletes them and $TMP
}
trap bench_cleanup EXIT

W=$TMP/w
EXP=$W/exp
mkdir -p "$EXP" "$TMP/sshfs" "$TMP/loop" "$TMP/loopexp"
chmod 755 "$W" "$EXP" "$TMP/loopexp"

# --- the tarball: the first ~30 MB of /usr/include (sorted paths), made locally
( cd /usr/include && find . -type f -printf '%s %p\n' | sort -k2 |
	awk '{ t += $1; print $2; if (t > 30 * 1024 * 1024) exit }' ) >"$TMP/tar.list"
tar -C /usr/include -cf "$TMP/src.tar" -T "$TMP/tar.list" || die "cannot make the tarball"
TAR_MB=$(( $(stat -c %s "$TMP/src.tar") / 1048576 ))
TAR_FILES=$(wc -l <"$TMP/tar.list")

# --- the workload runner: runs in whatever namespaces it is started in; prints "name seconds"
cat >"$TMP/workload.sh" <<'EOF'
set -eu
d=$1 size=$2 tarball=$3 only=" $4 " reqs=${5:-}
# reqs: a command printing how many requests the server has served (oMFS only): each workload
# then also prints "reqs NAME COUNT", a figure the host's load does not move
want() { case $only in *" $1 "*) return 0 ;; esac; return 1; }
count() { if [ -n "$reqs" ]; then bash -c "$reqs"; else echo 0; fi; }
mark() { if [ -n "$reqs" ]; then echo "reqs $1 $(($(count) - r0))"; fi; }
now() { date +%s.%N; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
el() { echo "$2 - $1" | bc; }
b=$d/bench.$$
rm -rf "$b"
mkdir -p "$b"
if want write || want read; then
	drop
	t0=$(now); dd if=/dev/zero of="$b/big" bs=1M count="$size" conv=fsync status=none; t1=$(now)
	want write && echo "write $(el "$t0" "$t1")"
fi
if want read; then
	drop
	t0=$(now); dd if="$b/big" of=/dev/null bs=1M status=none; t1=$(now)
	echo "read $(el "$t0" "$t1")"
fi
rm -f "$b/big"
if want small; then
	mkdir "$b/small"
	drop
	r0=$(count)
	t0=$(now)
	python3 -c 'import os,sys
d=sys.argv[1]
for i in range(2000): os.close(os.open(f"{d}/f{i}", os.O_CREAT|os.O_WRONLY|os.O_EXCL, 0o644))
for i in range(2000): os.stat(f"{d}/f{i}")
for i in range(2000): os.unlink(f"{d}/f{i}")' "$b/small"
	t1=$(now)
	echo "small $(el "$t0" "$t1")"
	mark small
fi
if want ls; then
	mkdir "$b/many"
	python3 -c 'import os,sys
for i in range(5000): os.close(os.open(f"{sys.argv[1]}/entry-{i:05d}", os.O_CREAT|os.O_WRONLY, 0o644))' "$b/many"
	drop
	r0=$(count)
	t0=$(now); n=$(ls -l "$b/many" | wc -l); t1=$(now)
	[ "$n" = 5001 ] || { echo "ls -l listed $n lines, want 5001" >&2; exit 1; }
	echo "ls $(el "$t0" "$t1")"
	mark ls
fi
if want untar; then
	mkdir "$b/untar"
	drop
	r0=$(count)
	t0=$(now); tar -C "$b/untar" -xf "$tarball"; sync; t1=$(now)
	echo "untar $(el "$t0" "$t1")"
	mark untar
fi
rm -rf "$b"
EOF

declare -A BEST # BEST[target,workload] = min seconds
declare -A REQS # REQS[workload] = requests node 2 served for it (oMFS, last run)
WORKLOADS=${OMFS_BENCH_WORKLOADS:-write read small ls untar}
# run_target NAME DIR RUNNER...: one run (number $RUN) of the workload script through RUNNER;
# REQS_CMD (oMFS): prints node 2's count of served requests
run_target() {
	local name=$1 dir=$2 w s out n
	shift 2
	out=$("$@" bash "$TMP/workload.sh" "$dir" "$SIZE_MB" "$TMP/src.tar" "$WORKLOADS" \
		"${REQS_CMD:-}") || die "$name: workload failed (run $RUN)"
	while read -r w s n; do
		if [ "$w" = reqs ]; then
			REQS[$s]=$n
			continue
		fi
		log "$name run $RUN: $w ${s}s"
		if [ -z "${BEST[$name,$w]:-}" ] || [ "$(echo "$s < ${BEST[$name,$w]}" | bc)" = 1 ]; then
			BEST[$name,$w]=$s
		fi
	done <<<"$out"
}
on1() { node_exec_mnt 1 "$@"; }
# in_loopmount CMD...: run CMD in a private mount namespace of the host's in which omfs_loopmount
# (oMFS client and server in one process) is mounted on $TMP/loop; both end with CMD.
in_loopmount() {
	unshare -m --propagation private bash -c '
		"$1" --no-root-squash "$2" "$3" >"$4" 2>&1 &
		lp=$!
		trap "kill $lp 2>/dev/null; wait $lp 2>/dev/null" EXIT
		for _ in $(seq 100); do grep -q mounted "$4" && break; sleep 0.1; done
		grep -q mounted "$4" || { echo "omfs_loopmount did not mount" >&2; exit 1; }
		shift 4
		"$@"' sh "$LOOP" "$TMP/loop" "$TMP/loopexp" "$TMP/loop.out" "$@"
}
direct() { "$@"; }

# --- the cluster: node 1 the client, node 2 exports / without root squash
mfs_pair_up
M1=$(node_mfs 1)
mfs_lists() { on1 ls "$M1" | grep -qx "$I2"; }
wait_until 30 mfs_lists || die "node 1's /mfs does not list node 2 ($I2): $(on1 ls "$M1" | tr "\n" " ")"
MESH_DIR=$M1/$I2$EXP
on1 test -d "$MESH_DIR" || die "$MESH_DIR is not a directory on node 1"

# --- sshd in node 2's namespace, sshfs in node 1's mount namespace
sshfs_up 2 1 "$EXP" "$TMP/sshfs"

# --- the runs (local first, then the network targets)
log "tarball: $TAR_FILES files, $TAR_MB MiB; big file $SIZE_MB MiB; $REPEAT run(s) per target; load: $(cut -d' ' -f1-3 /proc/loadavg)"
# the targets take turns within each run, so a change in the machine's load hits all of them
for RUN in $(seq 1 "$REPEAT"); do
	run_target local "$EXP" direct
	REQS_CMD="$(readlink -f "$OMX") --state-dir $TMP/node2 status --json | jq .counters.omfs_rx_requests" \
		run_target omfs "$MESH_DIR" on1
	run_target sshfs "$TMP/sshfs" on1
	[ "$LOOPBACK" = 1 ] && run_target loop "$TMP/loop/1$TMP/loopexp" in_loopmount
done
log "load after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- the table
declare -A GOAL=([write]=1.5 [read]=1.5 [small]=1 [ls]=1 [untar]=1)
declare -A LABEL=([write]="seq write $SIZE_MB MiB" [read]="seq read $SIZE_MB MiB (cold)"
	[small]="create+stat+rm 2000 files" [ls]="ls -l 5000 entries (cold)"
	[untar]="untar $TAR_MB MiB ($TAR_FILES files)")
fmt() { # seconds [MiB] -> "1.23 s" or "1.23 s (415 MiB/s)"
	if [ -n "${2:-}" ]; then
		printf '%.2f s (%.0f MiB/s)' "$1" "$(echo "$2 / $1" | bc -l)"
	else
		printf '%.2f s' "$1"
	fi
}
echo
printf '%-30s %-20s %-20s %-20s' workload local "oMFS mesh" SSHFS
[ "$LOOPBACK" = 1 ] && printf ' %-20s' "oMFS loopback"
printf ' %-14s %-14s %s\n' "oMFS/SSHFS" "oMFS requests" "goal (speed ratio = SSHFS time / oMFS time)"
FAILS=0
for w in $WORKLOADS; do
	mib=
	case $w in write | read) mib=$SIZE_MB ;; esac
	printf '%-30s %-20s %-20s %-20s' "${LABEL[$w]}" "$(fmt "${BEST[local,$w]}" $mib)" \
		"$(fmt "${BEST[omfs,$w]}" $mib)" "$(fmt "${BEST[sshfs,$w]}" $mib)"
	[ "$LOOPBACK" = 1 ] && printf ' %-20s' "$(fmt "${BEST[loop,$w]}" $mib)"
	ratio=$(echo "${BEST[sshfs,$w]} / ${BEST[omfs,$w]}" | bc -l)
	if [ "$(echo "$ratio >= ${GOAL[$w]}" | bc -l)" = 1 ]; then
		verdict=PASS
	else
		verdict=FAIL
		FAILS=$((FAILS + 1))
	fi
	printf ' %-14s %-14s %s\n' "$(printf '%.2fx' "$ratio")" "${REQS[$w]:--}" "$verdict (>= ${GOAL[$w]}x)"
done
echo
CLUSTER_OK=1
[ "$FAILS" = 0 ] || { log "$FAILS goal(s) missed"; exit 1; }
log "every goal met"
exit 0
