# A file read sequentially through two descriptors (one dup'ed to 17) across the checkpoint:
# the restored process reopens it at the same offsets and reads every byte right to EOF.
. "$(dirname "$0")/lib.sh"
python3 -c "
import sys
n = 1 << 20
sys.stdout.buffer.write(bytes(((i * 131 + 7) & 0xff) for i in range(n)))" > "$T/data"
start_wl wl_file "$T/data" $((1 << 20))
sleep 0.2
checkpoint_kill "$WPID" "$T/f.img"
expect_rc 137 "$WPID"
restore_bg "$T/f.img" "$WPID" wl_file
expect_rc 0 "$RPID"
echo PASS
