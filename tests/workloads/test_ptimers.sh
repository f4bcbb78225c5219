# POSIX timers (timer_create) are captured from /proc/PID/timers + timer_gettime and re-created
# under the same ids at restore, twice in a row (the restored process is checkpointed again).
. "$(dirname "$0")/lib.sh"
start_wl wl_ptimers
out=$("$OMX" cantmove "$WPID") || fail "cantmove refuses POSIX timers: $out"
sleep 0.3
checkpoint_kill "$WPID" "$T/p.img"
expect_rc 137 "$WPID"
restore_bg "$T/p.img" "$WPID" wl_ptimers
[ "$(grep -c '^ID:' "/proc/$WPID/timers")" = 4 ] || fail "timers after restore: $(cat /proc/$WPID/timers)"
cp "/proc/$WPID/timers" "$T/timers1"
sleep 0.2
checkpoint_kill "$WPID" "$T/p2.img"
expect_rc 137 "$RPID"
restore_bg "$T/p2.img" "$WPID" wl_ptimers
diff "$T/timers1" "/proc/$WPID/timers" || fail "timers changed by the second restore"
kill -USR1 "$WPID"
expect_rc 0 "$RPID"
echo PASS
