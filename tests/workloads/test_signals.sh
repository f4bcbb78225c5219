# Handlers, an interval timer, an alternate stack and a blocked pending signal survive.
. "$(dirname "$0")/lib.sh"
start_wl wl_signals
sleep 0.3
checkpoint_kill "$WPID" "$T/g.img"
expect_rc 137 "$WPID"
restore_bg "$T/g.img" "$WPID" wl_signals
kill -USR1 "$WPID"
expect_rc 0 "$RPID"
echo PASS
