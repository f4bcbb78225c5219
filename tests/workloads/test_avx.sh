# AVX registers holding live sums at the freeze (three freezes in a row, each mid-loop).
. "$(dirname "$0")/lib.sh"
start_wl wl_avx
pid=$WPID
for n in 1 2 3; do
	sleep 0.4
	checkpoint_kill "$pid" "$T/x$n.img"
	if [ "$n" = 1 ]; then expect_rc 137 "$pid"; else expect_rc 137 "$RPID"; fi
	restore_bg "$T/x$n.img" "$pid" wl_avx
done
sleep 0.4
kill -USR1 "$pid"
expect_rc 0 "$RPID"
echo PASS
