#!/usr/bin/env bash
# contrib/netns-cluster.sh: a local omx cluster to play with, until you press Ctrl-C.
#
#   contrib/netns-cluster.sh [N]        # as root, after a build (./build, or OMX_BIN=DIR)
#
# Starts N (default 4) omxd in network namespaces (tests/cluster/lib.sh), joins them with one key,
# prints how to talk to each node, then waits. Ctrl-C (or SIGTERM) tears everything down.
# CLUSTER_CPU_QUOTA=0.5 confines each node to half a core; CLUSTER_LOG_LEVEL=debug for more logs.
N=${1:-4}
source "$(dirname "$0")/../tests/cluster/lib.sh"
cluster_init
CLUSTER_KEEP=0
cluster_up "$N" 60
cat <<EOF

$N nodes are up (key: $CLUSTER_KEY).
  $OMX --state-dir $TMP/nodeK nodes          # K = 1..$N
  ip netns exec ${PFX}nK <command>           # run something on node K (network namespace)
  tail -f $TMP/nodeK.log                     # node K's log
Press Ctrl-C to stop and clean up.
EOF
trap 'CLUSTER_OK=1; exit 0' INT TERM
while :; do sleep 1; done
