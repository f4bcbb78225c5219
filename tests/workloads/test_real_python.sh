# python3 hashing numbers (a chain of SHA-256), moved mid-run: identical output.
. "$(dirname "$0")/lib.sh"
cat > "$T/prog.py" <<'PY'
import hashlib
h = b''
for i in range(4000000):
    h = hashlib.sha256(h + str(i).encode()).digest()
    if i % 100000 == 0:
        print(i, h.hex())
print(h.hex())
PY
real_program 1 /dev/null /usr/bin/python3 "$T/prog.py"
echo PASS
