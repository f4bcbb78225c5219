#!/usr/bin/env bash
# 8 nodes join with one CLUSTER_KEY; every node lists all 8 alive, with unique ids, its own entry
# flagged "self", and the fields scripts depend on (issue 2, items 6 and 8); the daemon's
# membership threads run at nice -10, the others at 0.
source "$(dirname "$0")/lib.sh"
cluster_init

cluster_up 8 30

for k in $ALL; do
	v=$(node_view "$k")
	echo "$v" | jq -e 'length == 8' >/dev/null || die "node $k lists $(echo "$v" | jq length) nodes, want 8"
	echo "$v" | jq -e '[.[].id] | unique | length == 8' >/dev/null || die "node $k: node ids not unique: $(echo "$v" | jq -c '[.[].id]')"
	echo "$v" | jq -e 'all(.[]; has("id") and has("name") and has("addr") and has("state") and has("load")
		and has("cpus") and has("mem_free") and has("guests") and has("age_ms") and has("self"))' >/dev/null ||
		die "node $k: an entry lacks a required key: $(echo "$v" | jq -c '.[0]')"
	echo "$v" | jq -e --arg me "n$k" '[.[] | select(.self == true) | .name] == [$me]' >/dev/null ||
		die "node $k: self entry wrong: $(echo "$v" | jq -c '[.[] | select(.self == true)]')"
	echo "$v" | jq -e 'all(.[]; (.id | type) == "number" and .id >= 1 and .id <= 65535 and .cpus >= 1)' >/dev/null ||
		die "node $k: bad id or cpus: $(echo "$v" | jq -c '[.[] | {id, cpus}]')"
	for o in $ALL; do
		a=$(echo "$v" | jq -r --arg n "n$o" '.[] | select(.name == $n) | .addr')
		[ "$a" = "$(node_ep "$o")" ] || [ "$a" = "$(node_addr "$o")" ] ||
			die "node $k lists n$o at '$a', want $(node_ep "$o")"
	done
done
# all nodes agree on who has which id
ref=$(node_view 1 | jq -c '[.[] | {name, id}] | sort_by(.name)')
for k in $ALL; do
	[ "$(node_view "$k" | jq -c '[.[] | {name, id}] | sort_by(.name)')" = "$ref" ] ||
		die "node $k disagrees on node ids with node 1"
done
# scheduling: the loop (main) thread and ZeroMQ's I/O thread run at the default --nice (-10); every
# other thread (oMFS workers, FUSE threads started from the loop at mount) at the niceness omxd
# was started with (this shell's), set back within a second of inheriting the loop's
niceness() { # PID: "comm=nice" per thread, the main thread prefixed "main:"
	local t
	for t in /proc/"$1"/task/*; do
		printf '%s%s=%s\n' "$([ "${t##*/}" = "$1" ] && echo main:)" "$(cat "$t/comm")" \
			"$(awk '{print $(NF - 33)}' "$t/stat")"
	done
}
nice_ok() {
	local v
	v=$(niceness "${NODE_PID[1]}")
	grep -q '^main:omxd=-10$' <<<"$v" && grep -q '^ZMQbg/IO/0=-10$' <<<"$v" &&
		! grep -v '^main:\|^ZMQbg/IO/' <<<"$v" | grep -qv "=$(nice)\$"
}
wait_until 5 nice_ok || die "thread niceness of node 1: $(niceness "${NODE_PID[1]}" | tr '\n' ' ')"
# the human table works too
node_omx 1 nodes >"$TMP/table" || die "omx nodes (table) failed"
for o in $ALL; do grep -q "n$o" "$TMP/table" || die "omx nodes table lacks n$o"; done
cluster_pass "8 nodes joined and all see all alive"
