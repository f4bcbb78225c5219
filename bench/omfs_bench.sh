#!/usr/bin/env bash
# omfs_bench.sh - oMFS (loopback FUSE mount) vs the local disk vs SSHFS over loopback, same run.
#
# Workloads (issue 4's goals): sequential write then read of SIZE_MB (default 512) MiB,
# create+stat+delete of 2,000 small files, `ls -l` of 5,000 entries, untar of a source tree.
# Reads are made cold (drop_caches) before each read. SSHFS runs only if sshfs and sshd exist
# (Debian packages sshfs, openssh-server); it uses a throw-away key and sshd on 127.0.0.1:2222.
# Usage (root): bench/omfs_bench.sh [BUILD_DIR]     Output: one line per (target, workload).
set -euo pipefail

BUILD=${1:-${OMX_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}}
LOOP=$BUILD/tests/omfs/omfs_loopmount
SIZE_MB=${SIZE_MB:-512}
[ "$(id -u)" = 0 ] || { echo "omfs_bench: needs root" >&2; exit 1; }
[ -x "$LOOP" ] || { echo "omfs_bench: $LOOP not built" >&2; exit 1; }
if [ "${OMFS_BENCH_INSIDE:-}" != 1 ]; then
	OMFS_BENCH_INSIDE=1 exec unshare -m --propagation private bash "$0" "$BUILD"
fi

W=$(mktemp -d /tmp/omfs-bench.XXXXXX)
chmod 755 "$W"
PIDS=()
cleanup() {
	set +e
	cd /
	for m in "$W/omfs" "$W/sshfs"; do mountpoint -q "$m" && fusermount3 -u "$m"; done
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W/exp" "$W/omfs" "$W/sshfs" "$W/local" "$W/tree"

now() { date +%s.%N; }
report() { printf '%-6s %-28s %8.2f s  %s\n' "$1" "$2" "$3" "${4:-}"; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# a source tree to untar: many small files in nested dirs (~30 MB)
for d in $(seq 1 60); do
	mkdir -p "$W/tree/src/d$d"
	for f in $(seq 1 50); do head -c $((RANDOM % 20000 + 200)) /dev/urandom >"$W/tree/src/d$d/f$f.c"; done
done
tar -C "$W/tree" -cf "$W/src.tar" src

run_suite() { # name dir
	local name=$1 d=$2 t0 t1
	mkdir -p "$d/b"
	t0=$(now)
	dd if=/dev/zero of="$d/b/big" bs=1M count="$SIZE_MB" conv=fsync status=none
	t1=$(now)
	report "$name" "write ${SIZE_MB} MiB" "$(echo "$t1 - $t0" | bc)" "$(echo "$SIZE_MB / ($t1 - $t0)" | bc) MiB/s"
	drop
	t0=$(now)
	dd if="$d/b/big" of=/dev/null bs=1M status=none
	t1=$(now)
	report "$name" "read ${SIZE_MB} MiB (cold)" "$(echo "$t1 - $t0" | bc)" "$(echo "$SIZE_MB / ($t1 - $t0)" | bc) MiB/s"
	rm -f "$d/b/big"
	mkdir "$d/b/small"
	t0=$(now)
	python3 -c 'import os,sys
d=sys.argv[1]
for i in range(2000): open(f"{d}/f{i}","w").close()
for i in range(2000): os.stat(f"{d}/f{i}")
for i in range(2000): os.unlink(f"{d}/f{i}")' "$d/b/small"
	t1=$(now)
	report "$name" "create+stat+rm 2000 files" "$(echo "$t1 - $t0" | bc)"
	mkdir "$d/b/many"
	python3 -c 'import sys
for i in range(5000): open(f"{sys.argv[1]}/entry-{i:05d}","w").close()' "$d/b/many"
	drop
	t0=$(now)
	ls -l "$d/b/many" >/dev/null
	t1=$(now)
	report "$name" "ls -l 5000 entries (cold)" "$(echo "$t1 - $t0" | bc)"
	t0=$(now)
	tar -C "$d/b" -xf "$W/src.tar"
	sync
	t1=$(now)
	report "$name" "untar $(du -sm "$W/src.tar" | cut -f1) MB tree" "$(echo "$t1 - $t0" | bc)"
	rm -rf "$d/b"
}

run_suite local "$W/local"

"$LOOP" --no-root-squash "$W/omfs" "$W/exp" >"$W/omfs.out" 2>"$W/omfs.err" &
PIDS+=($!)
for _ in $(seq 100); do grep -q mounted "$W/omfs.out" && break; sleep 0.05; done
run_suite omfs "$W/omfs/1$W/exp"

if command -v sshfs >/dev/null && [ -x /usr/sbin/sshd ]; then
	ssh-keygen -q -t ed25519 -N '' -f "$W/key"
	ssh-keygen -q -t ed25519 -N '' -f "$W/hostkey"
	mkdir -p /root/.ssh /run/sshd
	cp "$W/key.pub" "$W/authorized_keys"
	/usr/sbin/sshd -D -p 2222 -o ListenAddress=127.0.0.1 -h "$W/hostkey" \
		-o AuthorizedKeysFile="$W/authorized_keys" -o PermitRootLogin=yes &
	PIDS+=($!)
	sleep 0.5
	sshfs -p 2222 -o IdentityFile="$W/key",StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null \
		root@127.0.0.1:"$W/exp" "$W/sshfs"
	run_suite sshfs "$W/sshfs"
else
	echo "sshfs: skipped (install the Debian packages sshfs and openssh-server to compare)"
fi
