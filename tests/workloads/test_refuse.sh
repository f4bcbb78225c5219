# What cannot move is refused with a reason, and left running untouched: several threads,
# shared anonymous memory, a socket, seccomp filters. omx cantmove lists the same reasons.
. "$(dirname "$0")/lib.sh"
check_refused() { # PID REASON-REGEX
	local out rc=0
	out=$("$OMX" checkpoint "$1" -o "$T/no.img" 2>&1) || rc=$?
	[ "$rc" = 1 ] || fail "checkpoint of $1 exited $rc: $out"
	echo "$out" | grep -Eq "$2" || fail "reason for $1 not given: $out"
	[ -e "$T/no.img" ] || [ -e "$T/no.img.part" ] && fail "image written for $1"
	rc=0
	out=$("$OMX" cantmove "$1") || rc=$?
	[ "$rc" = 1 ] && echo "$out" | grep -Eq "$2" || fail "cantmove $1: $out"
	kill -0 "$1" || fail "$1 died"
	[ "$(status_field "$1" TracerPid)" = 0 ] || fail "$1 left traced"
	[ "$(status_field "$1" State)" = S ] || fail "$1 left in state $(status_field "$1" State)"
}
start_py() {
	"$WL/wl_exec" /usr/bin/python3 -c "$1" &
	PIDS+=($!)
	sleep 0.5
	PY=$!
}
start_py "import threading, time
threading.Thread(target=time.sleep, args=(60,)).start()
time.sleep(60)"
check_refused "$PY" "2 threads"
start_py "import mmap, time
m = mmap.mmap(-1, 4096)
m[0] = 1
time.sleep(60)"
check_refused "$PY" "shared anonymous"
start_py "import socket, time
s = socket.socket()
time.sleep(60)"
check_refused "$PY" "fd 3 is socket"
# seccomp: two filters are refused at once; one foreign filter (cantmove cannot tell it from
# omx's identity filter without stopping the process) is refused at the freeze
start_wl wl_seccomp 2
check_refused "$WPID" "seccomp mode 2 with 2 filters"
start_wl wl_seccomp 1
rc=0
out=$("$OMX" checkpoint "$WPID" -o "$T/no.img" 2>&1) || rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q "seccomp filter" || fail "foreign filter: $rc $out"
[ -e "$T/no.img" ] && fail "image written for a foreign filter"
[ "$(status_field "$WPID" TracerPid)" = 0 ] || fail "$WPID left traced"
[ "$(status_field "$WPID" State)" = S ] || fail "$WPID left in state $(status_field "$WPID" State)"
# a movable process says so
start_wl wl_compute
out=$("$OMX" cantmove "$WPID") || fail "cantmove of a movable process: $out"
echo "$out" | grep -q "can move" || fail "cantmove: $out"
"$OMX" cantmove 999999999 >/dev/null 2>&1 && fail "cantmove of no process succeeded"
echo PASS
