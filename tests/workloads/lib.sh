# lib.sh - helpers for the migration workload drivers (test_*.sh). Sourced; needs root (ptrace
# of non-children, clone3 set_tid), OMX_BIN (dir of omx) and OMX_WL (dir of the wl_* programs).
# Every driver gets its own temp dir and kills whatever it started on exit.
set -u
OMX="${OMX_BIN:?OMX_BIN not set}/omx"
WL="${OMX_WL:?OMX_WL not set}"
T=$(mktemp -d /tmp/omxwl.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }

# wait_file FILE [SECONDS]: until FILE exists
wait_file() {
	local i
	for ((i = 0; i < ${2:-20} * 20; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	fail "timed out waiting for $1"
}

# start_wl NAME ARGS...: runs a workload with a clean fd table; sets WPID once it is ready
start_wl() {
	local name=$1
	shift
	rm -f "$T/ready"
	"$WL/wl_exec" "$WL/$name" "$T/ready" "$@" &
	WPID=$!
	PIDS+=("$WPID")
	wait_file "$T/ready"
}

# status_field PID FIELD: a /proc/PID/status field
status_field() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

# checkpoint_kill PID IMG: checkpoint and kill; the caller reaps PID if it is its child
checkpoint_kill() {
	"$OMX" checkpoint "$1" -o "$2" --kill --stats || fail "checkpoint of $1"
}

# restore_bg IMG PID COMM: omx restore in the background (RPID) and wait until process PID
# runs again as COMM, no longer traced
restore_bg() {
	"$OMX" restore "$1" --stats &
	RPID=$!
	PIDS+=("$RPID")
	local i
	for ((i = 0; i < 400; i++)); do
		if [ "$(cat /proc/$2/comm 2>/dev/null)" = "$3" ] && [ "$(status_field "$2" TracerPid)" = 0 ]; then
			return 0
		fi
		kill -0 "$RPID" 2>/dev/null || break
		sleep 0.05
	done
	fail "restored process $2 ($3) did not come up"
}

# expect_rc WANT PID: waits for a child and checks its exit status
expect_rc() {
	local rc=0
	wait "$2" || rc=$?
	[ "$rc" = "$1" ] || fail "process $2 exited with $rc, expected $1"
}

# real_program DELAY IN CMD...: a program nobody here wrote, run once uninterrupted
# (CMD < IN > ref.out), then again with the same streams (mig.out), checkpointed after DELAY
# seconds, killed and restored; its output must be byte-identical and its exit status 0.
real_program() {
	local delay=$1 in=$2 rc=0 p
	shift 2
	"$@" < "$in" > "$T/ref.out" || fail "reference run of $1"
	"$WL/wl_exec" "$@" < "$in" > "$T/mig.out" &
	p=$!
	PIDS+=("$p")
	sleep "$delay"
	kill -0 "$p" 2>/dev/null || fail "$1 finished before the checkpoint"
	checkpoint_kill "$p" "$T/real.img"
	expect_rc 137 "$p"
	"$OMX" restore "$T/real.img" < /dev/null > /dev/null || rc=$?
	[ "$rc" = 0 ] || fail "restored $1 exited with $rc"
	cmp "$T/ref.out" "$T/mig.out" || fail "output of $1 differs from the uninterrupted run"
	echo "$1: $(stat -c %s "$T/mig.out") bytes identical"
}
