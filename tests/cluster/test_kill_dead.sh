#!/usr/bin/env bash
# kill -9 of one node (no leave message) is seen as "dead" by every other node within 15 s
# (SWIM + Lifeguard, LAN profile: ~1 s to suspect, then the suspicion timeout, 0.5-3 s depending on
# how many members confirm the suspicion, longer when Lifeguard sees a slow, overloaded host).
source "$(dirname "$0")/lib.sh"
cluster_init

cluster_up 6 30
others="1 2 3 4 5"
t0=$(now_ms)
node_kill 6 KILL
wait_all_see 15 dead "$others" "n6" || die "kill -9 of n6 not seen as dead by all within 15 s"
log "n6 dead everywhere after $(($(now_ms) - t0)) ms"
# nobody else is lost: every survivor's alive set is exactly the survivors (polled: on a loaded
# host a survivor may be suspected for a moment and refute it)
for k in $others; do
	wait_until 10 sees_exactly_alive "$k" $(names $others) ||
		{ print_views "$others"; die "node $k: alive set wrong after kill"; }
done
cluster_pass "kill -9 seen as dead by all others"
