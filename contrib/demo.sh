#!/usr/bin/env bash
# contrib/demo.sh: install, build, and show omx on a local cluster of network-namespace nodes.
#
# Run as root on Debian bookworm: `sudo contrib/demo.sh`. Non-interactive, about 1-2 minutes,
# always cleans up (namespaces, cgroups, daemons, temp files). Each act is one function; later
# acts (process migration, /mfs) plug in after act_load. The cluster itself comes from
# tests/cluster/lib.sh, the same harness the cluster tests use: every node is a network and mount
# namespace running a real omxd, confined to a cgroup v1 CPU quota when the machine has one, so a
# busy node really is busier than the others even on a 2-core machine.
#
# Environment: DEMO_NODES (default 5), DEMO_QUOTA (CPU cores per node, default 0.5),
# DEMO_SKIP_BUILD=1 (use an existing ./build), DEMO_SKIP_DEPS=1.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
DEMO_NODES=${DEMO_NODES:-5}
DEMO_QUOTA=${DEMO_QUOTA:-0.5}

banner() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

act_deps() {
	[ "${DEMO_SKIP_DEPS:-0}" = 1 ] && return 0
	banner "installing Debian packages (contrib/install-deps.sh)"
	contrib/install-deps.sh
}

act_build() {
	[ "${DEMO_SKIP_BUILD:-0}" = 1 ] && return 0
	banner "building into ./build (cmake, make -j2)"
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	make -C build -j2 --no-print-directory omx omxd >/dev/null
	[ -x build/cli/omx ] && [ -x build/cli/omxd ] || { echo "demo: build produced no omx/omxd" >&2; exit 1; }
}

# the cluster: lib.sh installs its own cleanup trap; from here on errors go through die()
act_cluster_setup() {
	export OMX_BIN=${OMX_BIN:-$ROOT/build/cli}
	export CLUSTER_CPU_QUOTA=$DEMO_QUOTA
	# shellcheck source=../tests/cluster/lib.sh
	source "$ROOT/tests/cluster/lib.sh"
	set +e # lib.sh helpers report failures through their status; die() exits
	cluster_init
	nodes_create "$DEMO_NODES" 1
	ALL=$(seq -s ' ' 1 "$DEMO_NODES")
	if [ -n "${NODE_CG[1]}" ]; then
		log "each node is confined to $DEMO_QUOTA CPU cores (cgroup v1 cpu.cfs_quota_us)"
	else
		log "no cgroup v1 cpu controller here: nodes share the machine's CPUs"
	fi
	banner "starting $DEMO_NODES omxd daemons (one per network namespace, 10.77.1.11-$((10 + DEMO_NODES)))"
	# shellcheck disable=SC2086
	for k in $ALL; do node_start "$k"; done
	CLUSTER_KEY=$(cluster_keygen 1) || die "omx keygen failed"
	echo "\$ omx keygen --seed $(node_ep 1)"
	echo "$CLUSTER_KEY"
}

show_nodes() { # show_nodes K: `omx nodes` as seen from node K
	echo "\$ omx nodes    # on n$1"
	node_omx "$1" nodes || die "omx nodes failed on n$1"
}

show_cpu() { # show_cpu K: each node's CPU quota and usage (in CPUs) as node K knows them
	echo "\$ omx nodes --json | jq ...    # on n$1: quota and usage per node, in CPUs"
	node_view "$1" | jq -r 'sort_by(.name)[] | "  \(.name): load \(.load)  cpu_quota \(.cpu_quota // "-")  cpu_usage \(.cpu_usage // "-")"'
}

act_join() {
	banner "joining the nodes one by one with the same CLUSTER_KEY"
	local k joined=""
	for k in $ALL; do
		echo "\$ omx join \$CLUSTER_KEY    # on n$k"
		node_omx "$k" join "$CLUSTER_KEY" || die "omx join failed on n$k"
		joined+="$k "
		# shellcheck disable=SC2046
		wait_all_see 20 alive "$joined" "$(names $joined)" || die "n$k did not join"
		show_nodes 1
	done
}

burners=()
n3_busiest() {
	node_view 1 | jq -e '([.[] | select(.name == "n3") | .load][0]) as $b
		| $b > 0 and all(.[]; .name == "n3" or .load < $b)' >/dev/null
}
act_load() {
	banner "running 2 CPU burners on n3; watch its load rise on every node's view"
	local i
	for i in 1 2; do
		node_spawn 3 sh -c 'while :; do :; done'
		burners+=("$SPAWNED")
	done
	for i in 1 2 3 4 5 6; do
		sleep 3
		show_nodes "$((i % DEMO_NODES + 1))"
	done
	show_cpu 1
	# n3 must now look busier than every other node, from n1's point of view
	if wait_until 15 n3_busiest; then
		log "n1 sees n3 as the busiest node: $(node_view 1 | jq -c '[.[] | {(.name): .load}] | add')"
	else
		log "WARNING: n3 does not look busier than the others: $(node_view 1 | jq -c '[.[] | {(.name): .load}] | add')"
	fi
	banner "stopping the burners; the load falls back"
	kill "${burners[@]}" 2>/dev/null
	wait "${burners[@]}" 2>/dev/null
	burners=()
	for i in 1 2 3; do
		sleep 3
		show_nodes 1
	done
	show_cpu 1
}

act_leave() {
	banner "n$DEMO_NODES leaves gracefully (omx leave); n$((DEMO_NODES - 1)) crashes (kill -9)"
	node_omx "$DEMO_NODES" leave || die "omx leave failed"
	node_kill "$((DEMO_NODES - 1))" KILL
	local rest
	rest=$(seq -s ' ' 1 "$((DEMO_NODES - 2))")
	wait_all_see 10 left "$rest" "n$DEMO_NODES" || die "leave not seen"
	show_nodes 1
	# SWIM: suspect after a failed probe round, dead when the suspicion times out
	wait_all_see 40 dead "$rest" "n$((DEMO_NODES - 1))" || die "crash not detected"
	show_nodes 1
}

# ---- oMFS (issue 4): /mfs on the surviving nodes; kept in this one function -------------------
act_mfs() {
	banner "oMFS: every node's files at /mfs/<id>/path, over the same encrypted mesh"
	local m1 m2 i1 i2 f
	if [ "$DEMO_NODES" -lt 4 ]; then # act_leave stopped n$DEMO_NODES and n$((DEMO_NODES - 1))
		log "the oMFS act needs n1 and n2 alive: DEMO_NODES >= 4"
		return 0
	fi
	m1=$(node_mfs 1) m2=$(node_mfs 2)
	i1=$(node_id 1) i2=$(node_id 2)
	[ -n "$i1" ] && [ -n "$i2" ] || die "no node ids"
	wait_until 10 node_exec_mnt 1 test -d "$m1/$i2" || die "n1's /mfs does not show n2"
	echo "\$ ls /mfs    # on n1 (mounted at $m1 in n1's mount namespace)"
	node_exec_mnt 1 ls "$m1" || die "ls /mfs on n1"
	# n2's /tmp is the host's, so the file goes away with the demo's temp dir; the directory is
	# world-writable because n1's root is squashed to nobody on n2 (the default)
	mkdir -m 1777 "$TMP/pub" || die "mkdir $TMP/pub"
	f=$TMP/pub/mfs-demo.txt
	echo "\$ echo \"written on n1\" > /mfs/$i2$f    # on n1"
	node_exec_mnt 1 sh -c "echo 'written on n1 at $(date +%T)' > '$m1/$i2$f'" ||
		die "write through /mfs/$i2 on n1"
	echo "\$ cat /mfs/here$f    # on n2: its own file, served locally"
	node_exec_mnt 2 cat "$m2/here$f" || die "read on n2"
	echo "\$ omx ls -l /mfs/$i2$TMP/pub    # on n1: no mount needed, straight over the mesh"
	node_omx 1 ls -l "/mfs/$i2$TMP/pub" || die "omx ls on n1"
	echo "\$ omx cat /mfs/$i1/etc/hostname    # on n2"
	node_omx 2 cat "/mfs/$i1/etc/hostname" || die "omx cat on n2"
}

act_deps
act_build
act_cluster_setup
act_join
act_load
act_leave
act_mfs
banner "done; cleaning up"
cluster_pass "demo finished"
