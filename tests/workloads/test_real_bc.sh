# bc -l computing 2500 digits of pi, moved mid-computation: identical digits.
. "$(dirname "$0")/lib.sh"
echo "scale=2500; 4*a(1)" > "$T/pi.bc"
real_program 1 "$T/pi.bc" bc -l
echo PASS
