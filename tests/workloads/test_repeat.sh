# Checkpoint, kill, restore: ten times in a row on the same process (each restored process is
# checkpointed again), then its state is verified.
. "$(dirname "$0")/lib.sh"
start_wl wl_signals
pid=$WPID
parent=$WPID
for n in $(seq 1 10); do
	sleep 0.1
	checkpoint_kill "$pid" "$T/r.img" 2>/dev/null
	expect_rc 137 "$parent"
	restore_bg "$T/r.img" "$pid" wl_signals 2>/dev/null
	parent=$RPID
done
kill -USR1 "$pid"
expect_rc 0 "$RPID"
echo PASS
