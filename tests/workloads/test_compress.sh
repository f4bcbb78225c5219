# omx checkpoint --compress: a python3 process holding 64 MiB of repetitive bytes is checkpointed
# plain (left running) and compressed (killed); the compressed image is far smaller, restores,
# and the data is intact. A flipped byte inside a compressed chunk is refused before anything runs.
. "$(dirname "$0")/lib.sh"
"$WL/wl_exec" /usr/bin/python3 -c '
import os, signal, sys
N = 1 << 18
x = bytes(range(256)) * N
def verify(s, f):
    sys.exit(0 if x == bytes(range(256)) * N else 1)
signal.signal(signal.SIGUSR1, verify)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    signal.pause()
' "$T/ready" &
P=$!
PIDS+=("$P")
wait_file "$T/ready" 120
"$OMX" checkpoint "$P" -o "$T/raw.img" --leave-running || fail "plain checkpoint"
"$OMX" checkpoint "$P" -o "$T/z.img" --compress --kill --stats || fail "compressed checkpoint"
expect_rc 137 "$P"
raw=$(stat -c %s "$T/raw.img")
z=$(stat -c %s "$T/z.img")
echo "plain image $raw bytes, compressed $z bytes"
[ "$raw" -gt $((64 << 20)) ] || fail "plain image of $raw bytes lacks the data"
[ "$z" -lt $((raw / 4)) ] || fail "compressed image of $z bytes is not much smaller than $raw"
# a flipped byte in the last page chunk (compressed) must be refused
cp "$T/z.img" "$T/flip.img"
printf '\377' | dd of="$T/flip.img" bs=1 seek=$((z - 200)) conv=notrunc status=none
rc=0
out=$("$OMX" restore "$T/flip.img" 2>&1) || rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q "damaged or truncated" || fail "flipped: $rc $out"
restore_bg "$T/z.img" "$P" python3
kill -USR1 "$P"
expect_rc 0 "$RPID"
echo PASS
