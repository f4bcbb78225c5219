#!/usr/bin/env bash
# A 4+4 partition (nft drop rules inside the namespaces): each side sees the other side as
# dead or suspect and itself alive; after healing, one all-alive view of 8 nodes.
# The partition lasts well under the LAN profile's dead_reclaim period (5 min), so each side still
# knows the other's members (as dead) when it heals. A partition longer than that is not covered:
# omxd re-contacts its seeds only while it has no live peer, so two halves that have forgotten
# each other would stay apart.
source "$(dirname "$0")/lib.sh"
cluster_init

cluster_up 8 30
A="1 2 3 4"
B="5 6 7 8"
partition "$A" "$B"
t0=$(now_ms)
wait_until 30 all_see_one_of "dead suspect" "$A" "$(names $B)" ||
	{ print_views "$ALL"; die "side A did not lose side B within 30 s"; }
wait_until 30 all_see_one_of "dead suspect" "$B" "$(names $A)" ||
	{ print_views "$ALL"; die "side B did not lose side A within 30 s"; }
log "sides separated after $(($(now_ms) - t0)) ms"
wait_until 10 all_see alive "$A" "$(names $A)" || { print_views "$A"; die "side A lost one of its own"; }
wait_until 10 all_see alive "$B" "$(names $B)" || { print_views "$B"; die "side B lost one of its own"; }
# let the separation settle into "dead" on both sides, so healing has real work to do
wait_until 30 all_see dead "$A" "$(names $B)" || log "note: side A still has some of B suspect"

heal "$ALL"
t0=$(now_ms)
wait_all_see 90 alive "$ALL" "$(names $ALL)" || die "partition did not heal into one view within 90 s"
log "healed into one view after $(($(now_ms) - t0)) ms"
cluster_pass "4+4 partition separated and healed"
