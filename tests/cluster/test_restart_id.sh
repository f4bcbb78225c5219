#!/usr/bin/env bash
# A node keeps its node id across restarts (persisted in its state dir), both after SIGTERM and
# after kill -9, and comes back alive in every view; --node-id fixes the id.
source "$(dirname "$0")/lib.sh"
cluster_init

nodes_create 4 1
CLUSTER_KEY=$(cluster_keygen 1) || die "keygen"
node_start 1
node_start 2
node_start 3
node_start 4 --node-id 4242
nodes_start_join "$CLUSTER_KEY" 1 2 3 4
wait_all_see 30 alive "1 2 3 4" "$(names 1 2 3 4)" || die "cluster did not form"

id_of() { node_view "$1" | jq -r --arg n "$2" '.[] | select(.name == $n) | .id'; }
[ "$(id_of 1 n4)" = 4242 ] || die "--node-id 4242 not honoured: node 1 sees n4 as id $(id_of 1 n4)"
id3=$(id_of 3 n3)
[ -n "$id3" ] || die "no id for n3"

node_stop 3 15 || die "omxd n3 did not stop cleanly"
wait_all_see 10 left "1 2 4" n3 || die "n3 not seen as left"
node_restart 3
# joined state is persisted too: no second `omx join` needed
wait_all_see 30 alive "1 2 3 4" "$(names 1 2 3 4)" || die "n3 did not come back after restart"
for k in 1 2 3 4; do
	[ "$(id_of "$k" n3)" = "$id3" ] || die "after restart node $k sees n3 with id $(id_of "$k" n3), was $id3"
done

node_kill 3 KILL
node_restart 3
wait_all_see 30 alive "1 2 3 4" "$(names 1 2 3 4)" || die "n3 did not come back after kill -9"
for k in 1 2 3 4; do
	[ "$(id_of "$k" n3)" = "$id3" ] || die "after kill -9 node $k sees n3 with id $(id_of "$k" n3), was $id3"
done
node_stop 4 15 || die "n4 stop"
node_restart 4
wait_all_see 30 alive "1 2 3 4" "$(names 1 2 3 4)" || die "n4 did not come back"
[ "$(id_of 1 n4)" = 4242 ] || die "n4 lost its fixed id"
cluster_pass "restart keeps the node id ($id3; fixed 4242)"
