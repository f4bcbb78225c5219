# A process blocked in read() on a pipe (its stdin) is moved; the restored one reads from the
# stdin of omx restore (the same pipe here) and must get the data written after the restore.
. "$(dirname "$0")/lib.sh"
mkfifo "$T/fifo"
exec 3<>"$T/fifo"
rm -f "$T/ready"
"$WL/wl_exec" "$WL/wl_pipe" "$T/ready" < "$T/fifo" &
WPID=$!
PIDS+=("$WPID")
wait_file "$T/ready"
sleep 0.3
checkpoint_kill "$WPID" "$T/p.img"
expect_rc 137 "$WPID"
"$OMX" restore "$T/p.img" < "$T/fifo" &
RPID=$!
PIDS+=("$RPID")
for ((i = 0; i < 200; i++)); do
	[ "$(status_field "$WPID" TracerPid)" = 0 ] && [ "$(cat /proc/$WPID/comm 2>/dev/null)" = wl_pipe ] && break
	sleep 0.05
done
printf 'omx-pipe-check\n' >&3
expect_rc 0 "$RPID"
echo PASS
