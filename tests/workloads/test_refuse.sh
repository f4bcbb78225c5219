# What cannot move is refused with a reason, and left running untouched: several threads,
# shared anonymous memory, a socket. omx cantmove lists the same reasons.
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
# a movable process says so
start_wl wl_compute
out=$("$OMX" cantmove "$WPID") || fail "cantmove of a movable process: $out"
echo "$out" | grep -q "can move" || fail "cantmove: $out"
"$OMX" cantmove 999999999 >/dev/null 2>&1 && fail "cantmove of no process succeeded"
echo PASS
