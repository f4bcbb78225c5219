# A process inside nanosleep(3 s) is frozen after 1 s, killed and restored: the sleep must go
# on for the remaining time and return 0 (no EINTR, no -516 leaking out).
. "$(dirname "$0")/lib.sh"
start_wl wl_sleep 3000
sleep 1
checkpoint_kill "$WPID" "$T/s.img"
expect_rc 137 "$WPID"
restore_bg "$T/s.img" "$WPID" wl_sleep
expect_rc 0 "$RPID"
echo PASS
