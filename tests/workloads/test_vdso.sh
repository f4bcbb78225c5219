# An image from "another kernel build" (its vDSO fingerprint altered) is restored with its own
# vDSO mapped back, entry points redirected to system calls: time calls keep working. The
# restored process (no [vdso] any more) is checkpointed and restored once more.
. "$(dirname "$0")/lib.sh"
start_wl wl_vdso
sleep 0.3
checkpoint_kill "$WPID" "$T/v.img"
expect_rc 137 "$WPID"
# vdso_fp is field 4 of the header: find its tag (0x22 0x10) and change a byte of it
python3 -c "
d = bytearray(open('$T/v.img', 'rb').read())
i = d.index(bytes([0x22, 0x10]), 14) + 2
d[i] ^= 0xff
open('$T/other.img', 'wb').write(d)"
restore_bg "$T/other.img" "$WPID" wl_vdso 2> "$T/r.err"
cat "$T/r.err" >&2
grep -q "another kernel build" "$T/r.err" || fail "no vDSO redirection announced"
grep -q '\[vdso\]' "/proc/$WPID/maps" && fail "the live vDSO was mapped"
sleep 0.3
checkpoint_kill "$WPID" "$T/v2.img"
expect_rc 137 "$RPID"
restore_bg "$T/v2.img" "$WPID" wl_vdso
sleep 0.2
kill -USR1 "$WPID"
expect_rc 0 "$RPID"
echo PASS
