#!/usr/bin/env bash
# `omx join` with a malformed key exits 1 with a clear message and changes nothing; the control
# socket refuses a non-root user even when the file permissions would let it connect.
source "$(dirname "$0")/lib.sh"
cluster_init

nodes_create 2 1
node_start 1
node_start 2
snap() { # the state dir's files and contents, minus the socket
	(cd "$(node_dir 1)" && find . -type f ! -name omxd.sock -print0 | sort -z | xargs -0r sha256sum)
}
before=$(snap)
good=$(cluster_keygen 1) || die "keygen"
c=${good:30:1}
[ "$c" = A ] && r=B || r=A
typo="${good:0:30}$r${good:31}" # one mistyped character
for bad in "garbage" "${good:0:20}" "${good}x" "$typo" "omx1-not-a-key"; do
	out=$(node_omx 1 join "$bad" 2>&1)
	rc=$?
	[ "$rc" -eq 1 ] || die "omx join '${bad:0:30}...' exited $rc, want 1 (output: $out)"
	[ -n "$out" ] || die "omx join '${bad:0:30}...' failed without a message"
	echo "$out" | grep -qiE 'key|invalid|malformed' || die "unclear message for a bad key: $out"
done
log "malformed-key message: $out"
[ "$(snap)" = "$before" ] || die "a failed join changed the state dir"
node_alive 1 || die "omxd died on a malformed key"
# the node did not join anything: it sees nobody but itself
[ "$(node_view 1 | jq '[.[] | select(.self != true)] | length')" = 0 ] || die "node 1 has peers after bad joins"

# usage error: exit 2
node_omx 1 join >/dev/null 2>&1
[ $? -eq 2 ] || die "omx join without a key must exit 2"

# the control socket admits root only (and the daemon's own user, root here)
chmod 0755 "$TMP" "$(node_dir 2)"
chmod 0666 "$(node_dir 2)/omxd.sock" || die "chmod socket"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$OMX" --state-dir "$(node_dir 2)" nodes --json 2>&1)
rc=$?
[ "$rc" -ne 0 ] || die "omx nodes as nobody succeeded: $out"
[ "$rc" -eq 1 ] || die "omx nodes as nobody exited $rc, want 1: $out"
log "as nobody: $out"
node_alive 2 || die "omxd died when refusing a non-root client"
node_omx 2 nodes --json >/dev/null || die "root can no longer use the control socket"
cluster_pass "malformed keys refused, nothing changed; control socket refuses nobody"
