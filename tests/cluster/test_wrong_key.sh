#!/usr/bin/env bash
# A node holding a DIFFERENT cluster key, seeded at the same bootstrap endpoint, is rejected at
# the handshake: it never appears in anyone's view and sees nobody itself (issue 2, item 4).
source "$(dirname "$0")/lib.sh"
cluster_init

cluster_up 4 30
# rejections K: the sum of node K's handshake/auth failure counters (omx status --json), if any
ctr_filter='[paths(numbers) as $p | ($p | map(tostring) | join(".")) as $n
	| select(($n | test("handshake|auth|zap"; "i")) and ($n | test("denied|fail|reject"; "i")))
	| {n: $n, v: getpath($p)}]'
rejections() { node_omx "$1" status --json | jq "$ctr_filter | map(.v) | add // 0"; }
ctr_names=$(node_omx 1 status --json | jq -r "$ctr_filter | map(.n) | join(\",\")")
ctr_before=$(rejections 1)

node_create 5 1
BAD_KEY=$(cluster_keygen 1) || die "second keygen failed"
[ "$BAD_KEY" != "$CLUSTER_KEY" ] || die "two keygens printed the same key"
node_start 5
# `omx join` keeps trying the seed until its timeout (a foreign key and an unreachable seed look
# alike to the joiner), so run it in the background and watch the members meanwhile
node_omx 5 join --timeout 8 "$BAD_KEY" >/dev/null 2>"$TMP/join5.err" &
join_pid=$!
end=$(($(now_ms) + 10000))
while [ "$(now_ms)" -lt "$end" ]; do
	for k in 1 2 3 4; do
		st=$(node_state_of "$k" n5)
		[ -z "$st" ] || { print_views "1 2 3 4 5"; die "node $k lists the wrong-key node n5 as '$st'"; }
	done
	others=$(node_view 5 | jq -r '[.[] | select(.name != "n5")] | length')
	[ "$others" = 0 ] || { print_views 5; die "wrong-key node n5 sees $others other node(s)"; }
	node_alive 5 || die "wrong-key omxd died"
	sleep 0.5
done
wait "$join_pid"
rc=$?
[ "$rc" -eq 1 ] || die "omx join with a foreign key exited $rc, want 1 (no member answers)"
log "foreign-key join: $(cat "$TMP/join5.err")"
# the real members are undisturbed
wait_until 10 all_see alive "1 2 3 4" "$(names 1 2 3 4)" || { print_views "1 2 3 4"; die "members lost each other"; }

# node 1 (the seed n5 dials) must have counted rejected handshakes (mesh_handshake_failed) since
# n5 started trying: the rejection happens at the handshake, not later
[ -n "$ctr_before" ] || die "no counters before"
ctr=$(rejections 1)
[ -n "$ctr_names" ] || die "omx status --json exposes no handshake failure counter"
[ "$ctr" -gt "$ctr_before" ] || die "node 1 counted no rejected handshake ($ctr_names: $ctr_before -> $ctr)"
log "node 1 rejected handshakes ($ctr_names): $ctr_before -> $ctr"
cluster_pass "wrong-key node rejected and invisible"
