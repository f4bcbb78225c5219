# Damaged images are refused with a clear message before anything runs: truncated, a flipped
# byte in page data, wrong magic, another format version.
. "$(dirname "$0")/lib.sh"
start_wl wl_compute
pid=$WPID
"$OMX" checkpoint "$pid" -o "$T/good.img" --leave-running || fail "checkpoint"
size=$(stat -c %s "$T/good.img")
patch() { # OUT OFFSET BYTE(decimal)
	cp "$T/good.img" "$1"
	printf "$(printf '\\%03o' "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
expect_refused() { # IMG REGEX
	local out rc=0
	out=$("$OMX" restore "$1" 2>&1) || rc=$?
	[ "$rc" = 1 ] || fail "restore of $1 exited $rc: $out"
	echo "$out" | grep -Eq "$2" || fail "unclear message for $1: $out"
}
head -c $((size / 2)) "$T/good.img" > "$T/trunc.img"
expect_refused "$T/trunc.img" "damaged or truncated"
head -c 100 "$T/good.img" > "$T/short.img"
expect_refused "$T/short.img" "damaged or truncated"
patch "$T/flip.img" $((size - 3000)) 255
expect_refused "$T/flip.img" "damaged or truncated"
patch "$T/magic.img" 0 88
expect_refused "$T/magic.img" "not an image"
# header chunk: magic(8) len(4) 0x0a len 0x08 VERSION ...
[ "$(od -An -tu1 -j12 -N4 "$T/good.img" | awk '{print $1, $3}')" = "10 8" ] || fail "layout"
patch "$T/version.img" 15 9
expect_refused "$T/version.img" "format version"
# (another kernel's vDSO is not refused: test_vdso.sh)
# nothing was started: the original is the only wl_compute
[ "$(pgrep -xc wl_compute)" = 1 ] || fail "a stray process is left"
kill -USR1 "$pid"
expect_rc 0 "$pid"
echo PASS
