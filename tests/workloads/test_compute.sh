# A compute loop: checkpointed and left running (it must not notice), then checkpointed,
# killed and restored (same PID); its running checksum must match a recomputation.
. "$(dirname "$0")/lib.sh"
start_wl wl_compute
"$OMX" checkpoint "$WPID" -o "$T/a.img" --leave-running || fail "checkpoint --leave-running"
[ -s "$T/a.img" ] || fail "no image"
sleep 0.2
[ "$(status_field "$WPID" TracerPid)" = 0 ] || fail "still traced"
checkpoint_kill "$WPID" "$T/b.img"
expect_rc 137 "$WPID"
[ -e "$T/b.img.part" ] && fail "partial image left"
restore_bg "$T/b.img" "$WPID" wl_compute
sleep 0.3
kill -USR1 "$WPID"
expect_rc 0 "$RPID"
echo PASS
