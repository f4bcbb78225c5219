# 256 MiB of patterned heap (every 7th page zero): checkpoint, kill, restore, verify each word.
# The image must not carry the zero pages.
. "$(dirname "$0")/lib.sh"
start_wl wl_heap 256
checkpoint_kill "$WPID" "$T/h.img" 2> "$T/stats"
cat "$T/stats" >&2
expect_rc 137 "$WPID"
size=$(stat -c %s "$T/h.img")
# 256 MiB less 1/7 zero pages is ~219 MiB: allow for the program itself, refuse zero pages
[ "$size" -lt $((235 * 1024 * 1024)) ] || fail "image of $size bytes carries zero pages"
[ "$size" -gt $((210 * 1024 * 1024)) ] || fail "image of $size bytes lacks data"
restore_bg "$T/h.img" "$WPID" wl_heap
kill -USR1 "$WPID"
expect_rc 0 "$RPID"
echo PASS
