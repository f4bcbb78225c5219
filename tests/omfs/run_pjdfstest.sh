#!/usr/bin/env bash
# run_pjdfstest.sh PJDFSTEST_DIR [BUILD_DIR] - POSIX conformance of /mfs against SSHFS and the disk.
#
# Not part of ctest: pjdfstest (github.com/pjd/pjdfstest) is an external suite that is never
# copied into this repository; point this script at a checkout with its `pjdfstest` binary built
# (`autoreconf -ifs && ./configure && make pjdfstest`). As root, it starts two omxd nodes in
# network namespaces (tests/cluster/lib.sh; node 2 exports / with --no-root-squash, since the
# suite runs as root and switches to other uids itself), sshd in node 2's namespace and sshfs in
# node 1's, then runs the suite's .t files from node 1 with the working directory on
#   local  a directory on the disk (the reference),
#   omfs   /mfs/<node 2>/<that directory's sibling> over the CURVE mesh,
#   sshfs  the same kind of directory of node 2 through SSHFS (default options),
# the three targets at the same time (the suite mostly sleeps), and prints per target and per
# syscall group the passed/planned counts (a TODO test counts as passed, as prove does; a script
# that stops early counts its missing tests as failed). Logs: $PJD_LOGS (default a temp dir).
#
# Environment: PJD_GROUPS="chmod chown ..." (default: every directory under tests/ that Linux
# runs), PJD_TARGETS="local omfs sshfs", SSH_PORT (2222), PJD_LOGS.
set -uo pipefail

PJD=$(cd "${1:?usage: run_pjdfstest.sh PJDFSTEST_DIR [BUILD_DIR]}" && pwd) || exit 1
BUILD=${2:-${OMX_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}}
SSH_PORT=${SSH_PORT:-2222}
TARGETS=${PJD_TARGETS:-local omfs sshfs}
export OMX_BIN=$BUILD/cli
[ -x "$PJD/pjdfstest" ] || { echo "run_pjdfstest: build $PJD/pjdfstest first" >&2; exit 1; }
[ -d "$PJD/tests" ] || { echo "run_pjdfstest: $PJD/tests missing" >&2; exit 1; }
command -v prove >/dev/null || command -v perl >/dev/null || true
if [ -z "${PJD_GROUPS:-}" ]; then
	PJD_GROUPS=
	for g in chmod chown ftruncate link mkdir mkfifo mknod open posix_fallocate rename rmdir \
		symlink truncate unlink utimensat; do
		[ -d "$PJD/tests/$g" ] && PJD_GROUPS="$PJD_GROUPS $g"
	done
fi
case " $TARGETS " in
*" sshfs "*)
	if ! command -v sshfs >/dev/null || ! [ -x /usr/sbin/sshd ]; then
		echo "run_pjdfstest: installing sshfs and openssh-server with apt-get" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q sshfs openssh-server >/dev/null ||
			{ echo "run_pjdfstest: cannot install sshfs/openssh-server" >&2; exit 1; }
	fi
	;;
esac

source "$(dirname "$0")/../cluster/lib.sh"
cluster_init
LOGS=${PJD_LOGS:-$TMP/logs}
mkdir -p "$LOGS"
SSHD_PID=
pjd_cleanup() {
	local rc=$?
	set +e
	cd /
	sshfs_down 1 "$TMP/sshfs"
	(exit "$rc")
	_cluster_cleanup
}
trap pjd_cleanup EXIT

# one directory per target: the suite leaves nothing behind when it passes, but a failing
# target must not disturb another's
W=$TMP/w
mkdir -p "$W/local" "$W/omfs" "$W/sshfs" "$TMP/sshfs"
chmod 755 "$TMP" "$W" "$W"/*

mfs_pair_up
on1() { node_exec_mnt 1 "$@"; }
M1=$(node_mfs 1)
mfs_lists() { on1 ls "$M1" | grep -qx "$I2"; }
wait_until 30 mfs_lists || die "node 1's /mfs does not list node 2 ($I2): $(on1 ls "$M1" | tr "\n" " ")"
on1 test -d "$M1/$I2$W/omfs" || die "$M1/$I2$W/omfs is not a directory on node 1"

declare -A DIR=([local]=$W/local [omfs]=$M1/$I2$W/omfs [sshfs]=$TMP/sshfs)
if [[ " $TARGETS " == *" sshfs "* ]]; then
	sshfs_up 2 1 "$W/sshfs" "$TMP/sshfs"
fi

# run_target NAME: every .t of the groups, one after the other, output in $LOGS/NAME/<group>_<t>.out
run_target() {
	local name=$1 g t
	mkdir -p "$LOGS/$name"
	for g in $PJD_GROUPS; do
		for t in "$PJD/tests/$g"/*.t; do
			[ -e "$t" ] || continue
			on1 bash -c 'cd "$1" && timeout 1200 sh "$2"' sh "${DIR[$name]}" "$t" \
				>"$LOGS/$name/${g}_$(basename "$t" .t).out" 2>&1
		done
	done
}
log "groups:$PJD_GROUPS; targets: $TARGETS; logs in $LOGS"
pids=()
for name in $TARGETS; do
	run_target "$name" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done

# count OUT: "passed planned" of one .t output
count() {
	awk '/^1\.\.[0-9]+/ { sub(/^1\.\./, ""); plan = $0 + 0 }
		/^ok / { pass++ }
		/^not ok .*# TODO/ { pass++ }
		END { printf "%d %d\n", pass, (plan > 0 ? plan : pass) }' "$1"
}
printf '%-16s' group
for name in $TARGETS; do printf '%16s' "$name"; done
echo
declare -A TP TT
for g in $PJD_GROUPS; do
	printf '%-16s' "$g"
	for name in $TARGETS; do
		p=0 t=0
		for f in "$LOGS/$name/${g}"_*.out; do
			[ -e "$f" ] || continue
			read -r a b < <(count "$f")
			p=$((p + a)) t=$((t + b))
		done
		TP[$name]=$((${TP[$name]:-0} + p)) TT[$name]=$((${TT[$name]:-0} + t))
		printf '%16s' "$p/$t"
	done
	echo
done
printf '%-16s' total
for name in $TARGETS; do printf '%16s' "${TP[$name]}/${TT[$name]}"; done
echo
for name in $TARGETS; do
	echo "$name: failing scripts:"
	for f in "$LOGS/$name"/*.out; do
		read -r a b < <(count "$f")
		[ "$a" = "$b" ] || echo "  $(basename "$f" .out) $a/$b"
	done
done
CLUSTER_OK=1
