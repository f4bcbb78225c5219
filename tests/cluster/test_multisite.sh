#!/usr/bin/env bash
# Two sites (10.77.1.0/24 and 10.77.2.0/24) joined only by a router namespace. Site-2 nodes listen
# on 0.0.0.0 and announce themselves with --advertise; every node sees all, at advertised addresses.
source "$(dirname "$0")/lib.sh"
cluster_init

net_subnet 1
net_subnet 2
net_router 1 2
for k in 1 2 3; do node_create "$k" 1; done
for k in 4 5 6; do node_create "$k" 2; done
ALL="1 2 3 4 5 6"
CLUSTER_KEY=$(cluster_keygen 1) || die "keygen"
for k in 1 2 3; do node_start "$k"; done
for k in 4 5 6; do
	NODE_LISTEN[$k]=0.0.0.0:$CLUSTER_PORT
	node_start "$k" --advertise "$(node_ep "$k")" --profile wan
done
nodes_start_join "$CLUSTER_KEY" $ALL
wait_all_see 40 alive "$ALL" "$(names $ALL)" || die "two sites did not form one view"
for k in $ALL; do
	for o in 4 5 6; do
		a=$(node_view "$k" | jq -r --arg n "n$o" '.[] | select(.name == $n) | .addr')
		[ "$a" = "$(node_ep "$o")" ] || [ "$a" = "$(node_addr "$o")" ] ||
			die "node $k lists n$o at '$a', want the advertised $(node_ep "$o")"
	done
done
cluster_pass "two sites through a router, all see all"
