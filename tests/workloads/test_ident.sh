# Identity translation: a process restored while its PID is taken (the original left running)
# still sees its old PID and reaches itself through it (raise, kill, tgkill, sigqueue, pidfd);
# checkpointed again and restored three more times (PID still taken), it keeps that identity;
# once the original is gone, the next restore gives it its PID back, with no filter left.
. "$(dirname "$0")/lib.sh"

# restore_tr IMG N: omx restore in the background (RPID); NPID is the restored process
restore_tr() {
	"$OMX" restore "$1" --stats 2> "$T/rs$2.err" &
	RPID=$!
	PIDS+=("$RPID")
	local i
	NPID=
	for ((i = 0; i < 600; i++)); do
		NPID=$(sed -n 's/.* pid=\([0-9][0-9]*\).*/\1/p' "$T/rs$2.err")
		if [ -n "$NPID" ] && [ "$(status_field "$NPID" TracerPid)" = 0 ]; then
			PIDS+=("$NPID")
			return 0
		fi
		kill -0 "$RPID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$T/rs$2.err" >&2
	fail "restore $2 did not come up"
}

# verified SIG PID LINE: send SIG, wait until the result file has LINE lines
verified() {
	kill "-$1" "$2"
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(wc -l < "$T/res" 2>/dev/null || echo 0)" -ge "$3" ] && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.05
	done
	fail "process $2 did not verify (line $3)"
}

start_wl wl_ident "$T/res"
P=$WPID
"$OMX" checkpoint "$P" -o "$T/a.img" --leave-running --stats || fail "checkpoint of $P"
restore_tr "$T/a.img" 0
[ "$NPID" != "$P" ] || fail "PID $P was taken, yet the restore got it"
[ "$(status_field "$NPID" Seccomp)" = 2 ] || fail "no identity filter in $NPID"
verified USR1 "$NPID" 1
[ "$(sed -n 1p "$T/res")" = "ok $P $NPID" ] || fail "line 1: $(sed -n 1p "$T/res")"
line=1
for n in 1 2 3; do
	checkpoint_kill "$NPID" "$T/c.img"
	expect_rc 137 "$RPID"
	restore_tr "$T/c.img" "$n"
	[ "$NPID" != "$P" ] || fail "cycle $n got the taken PID"
	line=$((line + 1))
	verified USR1 "$NPID" "$line"
	[ "$(sed -n ${line}p "$T/res")" = "ok $P $NPID" ] || fail "line $line: $(sed -n ${line}p "$T/res")"
done
# the original is unaffected; then it ends, and its PID becomes free
line=$((line + 1))
verified HUP "$P" "$line"
expect_rc 0 "$P"
[ "$(sed -n ${line}p "$T/res")" = "ok $P $P" ] || fail "original: $(sed -n ${line}p "$T/res")"
checkpoint_kill "$NPID" "$T/d.img"
expect_rc 137 "$RPID"
restore_bg "$T/d.img" "$P" wl_ident
[ "$(status_field "$P" Seccomp)" = 0 ] || fail "PID $P was free, yet a filter was installed"
line=$((line + 1))
verified HUP "$P" "$line"
expect_rc 0 "$RPID"
[ "$(sed -n ${line}p "$T/res")" = "ok $P $P" ] || fail "last: $(sed -n ${line}p "$T/res")"
# every supervisor ends with its process
for ((i = 0; i < 200; i++)); do
	pgrep -x omx-ident > /dev/null || break
	sleep 0.05
done
pgrep -x omx-ident > /dev/null && fail "an omx-ident supervisor outlived its process"
echo PASS
