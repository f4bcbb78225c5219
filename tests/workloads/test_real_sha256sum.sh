# sha256sum of a 1 GiB file, moved mid-file: identical output.
. "$(dirname "$0")/lib.sh"
yes "omx user-space migration test line, not very random but long enough" | head -c 1G > "$T/big"
real_program 0.7 /dev/null sha256sum "$T/big"
echo PASS
