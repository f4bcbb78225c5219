#!/usr/bin/env bash
# Graceful leave, both ways: `omx leave` and SIGTERM (omxd exits 0); every other node then lists
# the leaver as "left" (not "dead").
source "$(dirname "$0")/lib.sh"
cluster_init

cluster_up 5 30
node_omx 5 leave >/dev/null || die "omx leave failed on node 5"
wait_all_see 10 left "1 2 3 4" "n5" || die "omx leave: n5 not seen as left by all"
log "omx leave: n5 seen as left everywhere"

node_stop 4 15
rc=$?
[ "$rc" -eq 0 ] || die "omxd did not exit 0 on SIGTERM (rc $rc)"
wait_all_see 10 left "1 2 3" "n4" || die "SIGTERM: n4 not seen as left by all"
# a leaver stays "left", it is not later declared dead by failure detection
sleep 4
all_see left "1 2 3" "n4 n5" || { print_views "1 2 3"; die "left nodes changed state"; }
wait_until 10 all_see alive "1 2 3" "$(names 1 2 3)" || { print_views "1 2 3"; die "remaining nodes lost each other"; }
cluster_pass "omx leave and SIGTERM seen as left by all"
