# gzip -9 of a 60 MB file on stdin to stdout (both regular files), moved mid-stream:
# identical compressed output, and it decompresses to the input.
. "$(dirname "$0")/lib.sh"
seq 1 8000000 > "$T/in"
real_program 1 "$T/in" gzip -9
gzip -dc < "$T/mig.out" | cmp - "$T/in" || fail "does not decompress to the input"
echo PASS
