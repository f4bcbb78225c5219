# shellcheck shell=bash
# tests/cluster/lib.sh: a multi-node omx cluster on one Linux machine, for tests, the demo and benches.
#
# Design. Every node is a network namespace with one veth leg; the other legs are enslaved to Linux
# bridges that live in a "switch" namespace of their own, so a run never adds an interface, route or
# nft table to the host's namespace and all of it disappears with the namespaces. Names carry a
# per-run prefix (omxt<pid>-) so concurrent or leftover runs never clash, and the addresses
# (10.77.<subnet>.0/24) exist only on those private bridges. Two subnets (sites) are joined by a
# router namespace with ip_forward=1; nodes on site 2 reach site 1 through it only.
#
# Each node runs a real omxd under `ip netns exec NS unshare -m --propagation private`: its own
# network AND mount namespace (the daemon will mount /mfs there later without touching the host).
# Neither `ip netns exec` nor `unshare` (without --fork) forks, so the PID we record is omxd's own.
# The control socket is a path in the node's state dir, reachable from the host namespace, so
# node_omx runs the omx CLI directly. Optionally (CLUSTER_CPU_QUOTA=<fraction of a core>) every
# node lives in its own cgroup v1 cpu group with a CFS quota (plus a cpuacct group of the same name,
# so the daemon can read its usage), the daemon and whatever node_exec runs.
#
# A trap on EXIT/INT/TERM always kills every process in the run's namespaces, deletes namespaces,
# cgroups and the temp dir, and, when the test failed, prints the tail of every node's log.
#
# Use: source this file, call cluster_init, then net_*/node_* helpers; see tests/cluster/test_*.sh.
# Requires root, iproute2, nftables, util-linux (unshare, setpriv), jq.

set -uo pipefail

CLUSTER_PORT=${CLUSTER_PORT:-4660}
CLUSTER_PROFILE=${CLUSTER_PROFILE:-lan}
CLUSTER_LOG_LEVEL=${CLUSTER_LOG_LEVEL:-info}
CLUSTER_CPU_QUOTA=${CLUSTER_CPU_QUOTA:-}   # e.g. 0.5 = half a core per node; empty = no cgroup
CLUSTER_KEEP=${CLUSTER_KEEP:-0}            # 1: keep temp dir (logs) after the run
CLUSTER_MFS=${CLUSTER_MFS:-1}              # 1: each omxd mounts oMFS at $TMP/mfs<K> (node_mfs K); 0: --no-mfs

_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$_LIB_DIR/../.." && pwd)

# Where omx and omxd are: $OMX_BIN (ctest sets it to BUILD/cli), else ./build/cli, else $PATH.
_find_bin() {
	if [ -n "${OMX_BIN:-}" ]; then
		:
	elif [ -x "$REPO_ROOT/build/cli/omxd" ]; then
		OMX_BIN=$REPO_ROOT/build/cli
	elif command -v omxd >/dev/null 2>&1; then
		OMX_BIN=$(dirname "$(command -v omxd)")
	else
		OMX_BIN=$REPO_ROOT/build/cli
	fi
	OMX=${OMX:-$OMX_BIN/omx}
	OMXD=${OMXD:-$OMX_BIN/omxd}
}

# ---------------------------------------------------------------------------------------------
# logging and assertions

_t0=$(date +%s.%N)
log() { printf '[%6.1fs] %s\n' "$(echo "$(date +%s.%N) - $_t0" | bc)" "$*" >&2; }
die() {
	log "FAIL: $*"
	exit 1
}
# skip: the test cannot run here (not root, missing tool). ctest treats 77 as failure unless the
# test sets SKIP_RETURN_CODE; we do not, on purpose: CI runs as root with every tool installed.
need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"; }

# wait_until TIMEOUT_S CMD...: run CMD every 0.2 s until it succeeds; 1 if it never did in time.
wait_until() {
	local timeout=$1
	shift
	local deadline=$(($(date +%s%N) + ${timeout%.*} * 1000000000))
	while :; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# now_ms: monotonic-enough wall clock in ms, for measuring convergence times
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---------------------------------------------------------------------------------------------
# run setup and cleanup

# cluster_init: prefix, temp dir, traps, switch namespace. Call once, before anything else.
cluster_init() {
	need_root
	_find_bin
	for tool in ip nft jq unshare setpriv bc; do
		command -v "$tool" >/dev/null 2>&1 || die "missing tool: $tool (run contrib/install-deps.sh)"
	done
	PFX=omxt$$-
	IFP=ot$(($$ % 100000)) # interface name prefix: names must stay < 16 characters
	TMP=$(mktemp -d /tmp/omxt$$.XXXXXX) || die "mktemp failed"
	chmod 0755 "$TMP"
	NODES=()       # node numbers created so far
	SUBNETS=()     # subnet numbers created so far
	declare -gA NODE_NS NODE_ADDR NODE_SUBNET NODE_PID NODE_ARGS NODE_CG NODE_RC
	declare -gA NODE_LISTEN # optional per-node --listen value (default ADDR:CLUSTER_PORT)
	CLUSTER_OK=0
	trap '_cluster_cleanup' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	cluster_sweep_stale
	ip netns add "${PFX}sw" || die "cannot create switch namespace"
	ip -n "${PFX}sw" link set lo up
	log "run ${PFX} in $TMP (omx from $OMX_BIN)"
}

# cluster_pass MESSAGE: mark success (cleanup then prints no logs) and exit 0.
cluster_pass() {
	CLUSTER_OK=1
	log "PASS: $*"
	exit 0
}

# Namespaces, cgroups and temp dirs of runs whose shell is gone (a SIGKILLed test, e.g. at a
# ctest timeout, cannot run its trap): delete them.
cluster_sweep_stale() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^omxt[0-9]+-' || true); do
		pid=${ns#omxt}
		pid=${pid%%-*}
		[ -d "/proc/$pid" ] && continue
		_ns_kill_all "$ns"
		ip netns del "$ns" 2>/dev/null || true
	done
	local cg
	for cg in /sys/fs/cgroup/cpu/omxt*-* /sys/fs/cgroup/cpuacct/omxt*-*; do
		[ -d "$cg" ] || continue
		pid=${cg##*/omxt}
		pid=${pid%%-*}
		[ -d "/proc/$pid" ] && continue
		_cg_kill_rm "$cg"
	done
	local d
	for d in /tmp/omxt[0-9]*.??????; do
		[ -d "$d" ] || continue
		pid=${d#/tmp/omxt}
		pid=${pid%%.*}
		[ -d "/proc/$pid" ] || rm -rf "$d"
	done
}

_ns_kill_all() {
	local pids
	pids=$(ip netns pids "$1" 2>/dev/null || true)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	return 0
}

_cg_kill_rm() {
	local cg=$1 i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		local procs
		procs=$(cat "$cg/cgroup.procs" 2>/dev/null || true)
		[ -z "$procs" ] && break
		kill -9 $procs 2>/dev/null
		sleep 0.1
	done
	rmdir "$cg" 2>/dev/null || true
}

_cluster_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if [ "$CLUSTER_OK" != 1 ] && [ -n "${TMP:-}" ]; then
		[ "$rc" -eq 0 ] && rc=1 # a test that ends without cluster_pass did not pass
		cluster_dump_logs
	fi
	local k
	for k in "${NODES[@]}"; do
		[ -n "${NODE_PID[$k]:-}" ] && kill -9 "${NODE_PID[$k]}" 2>/dev/null
	done
	for k in "${NODES[@]}"; do # reap quietly (bash reports killed jobs otherwise)
		[ -n "${NODE_PID[$k]:-}" ] && wait "${NODE_PID[$k]}" 2>/dev/null
	done
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -F "$PFX" || true); do
		case $ns in "$PFX"*) _ns_kill_all "$ns" ;; esac
	done
	local g
	for k in "${NODES[@]}"; do
		for g in ${NODE_CG[$k]:-}; do _cg_kill_rm "$g"; done
	done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' || true); do
		case $ns in "$PFX"*) ip netns del "$ns" 2>/dev/null ;; esac
	done
	if [ -n "${TMP:-}" ] && [ -d "$TMP" ]; then
		if [ "$CLUSTER_KEEP" = 1 ]; then
			log "kept $TMP"
		else
			rm -rf "$TMP"
		fi
	fi
	exit "$rc"
}

# cluster_dump_logs [LINES]: the tail of every node's log on stderr
cluster_dump_logs() {
	local n=${1:-40} k
	for k in "${NODES[@]}"; do
		[ -f "$TMP/node$k.log" ] || continue
		echo "----- node $k (${NODE_ADDR[$k]}) log tail -----" >&2
		tail -n "$n" "$TMP/node$k.log" >&2
	done
}

# ---------------------------------------------------------------------------------------------
# network

# net_subnet S: bridge br<S> in the switch namespace for 10.77.S.0/24 (router address .1)
net_subnet() {
	local s=$1
	ip -n "${PFX}sw" link add "br$s" type bridge || die "bridge br$s"
	ip -n "${PFX}sw" link set "br$s" up
	SUBNETS+=("$s")
}

# net_router S1 S2...: a router namespace with a leg (10.77.S.1) on each subnet, forwarding on
net_router() {
	local rt=${PFX}rt s
	ip netns add "$rt" || die "router namespace"
	ip -n "$rt" link set lo up
	for s in "$@"; do
		ip link add "${IFP}r$s" type veth peer name "eth$s" netns "$rt" || die "router veth $s"
		ip link set "${IFP}r$s" netns "${PFX}sw"
		ip -n "${PFX}sw" link set "${IFP}r$s" master "br$s" up
		ip -n "$rt" addr add "10.77.$s.1/24" dev "eth$s"
		ip -n "$rt" link set "eth$s" up
	done
	ip netns exec "$rt" sysctl -qw net.ipv4.ip_forward=1 || die "ip_forward"
}

# node_addr K: the node's IPv4 address
node_addr() { echo "${NODE_ADDR[$1]}"; }
node_ep() { echo "${NODE_ADDR[$1]}:$CLUSTER_PORT"; }
node_ns() { echo "${NODE_NS[$1]}"; }
node_dir() { echo "$TMP/node$1"; }
node_log() { echo "$TMP/node$1.log"; }

# node_create K [SUBNET]: namespace, veth on br<SUBNET> (default 1), address 10.77.SUBNET.(10+K),
# default route via the router address .1 (used only when a router exists), state dir, cgroup.
node_create() {
	local k=$1 s=${2:-1}
	local ns=${PFX}n$k addr="10.77.$s.$((10 + k))"
	[ "$k" -ge 1 ] && [ "$k" -le 200 ] || die "node number $k out of range 1..200"
	ip netns add "$ns" || die "netns $ns"
	ip -n "$ns" link set lo up
	ip link add "${IFP}v$k" type veth peer name eth0 netns "$ns" || die "veth for node $k"
	ip link set "${IFP}v$k" netns "${PFX}sw"
	ip -n "${PFX}sw" link set "${IFP}v$k" master "br$s" up
	ip -n "$ns" addr add "$addr/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default via "10.77.$s.1" dev eth0 2>/dev/null || true
	mkdir -p "$TMP/node$k"
	chmod 0700 "$TMP/node$k"
	NODE_NS[$k]=$ns
	NODE_ADDR[$k]=$addr
	NODE_SUBNET[$k]=$s
	NODE_PID[$k]=
	NODE_CG[$k]=
	NODES+=("$k")
	if [ -n "$CLUSTER_CPU_QUOTA" ]; then
		_node_cgroup "$k"
	fi
}

# A cgroup v1 cpu group with CFS quota CLUSTER_CPU_QUOTA cores; silently absent without cgroup v1.
_node_cgroup() {
	local k=$1 cg=/sys/fs/cgroup/cpu/${PFX}n$1
	[ -w /sys/fs/cgroup/cpu/cgroup.procs ] || return 0
	mkdir "$cg" 2>/dev/null || return 0
	echo 100000 >"$cg/cpu.cfs_period_us"
	echo "$(echo "$CLUSTER_CPU_QUOTA * 100000 / 1" | bc)" >"$cg/cpu.cfs_quota_us" || {
		rmdir "$cg"
		return 0
	}
	NODE_CG[$k]=$cg
	# cpuacct is a separate v1 hierarchy here: a group of the same name gives the node's CPU usage
	local acg=/sys/fs/cgroup/cpuacct/${PFX}n$k
	if [ -w /sys/fs/cgroup/cpuacct/cgroup.procs ] && mkdir "$acg" 2>/dev/null; then
		NODE_CG[$k]="$cg $acg"
	fi
}

# _cg_enter K PID: put PID into node K's cgroups (no-op without them)
_cg_enter() {
	local g
	for g in ${NODE_CG[$1]}; do echo "$2" >"$g/cgroup.procs" || return 1; done
}

# nodes_create N [SUBNET]: subnet (if new) and nodes 1..N on it
nodes_create() {
	local n=$1 s=${2:-1} k
	[[ " ${SUBNETS[*]} " == *" $s "* ]] || net_subnet "$s"
	for k in $(seq 1 "$n"); do node_create "$k" "$s"; done
}

# node_exec K CMD...: run CMD in node K's network namespace (and its cgroup, if any)
node_exec() {
	local k=$1
	shift
	(
		_cg_enter "$k" "$BASHPID" || die "cannot enter node $k's cgroup"
		exec ip netns exec "${NODE_NS[$k]}" "$@"
	)
}

# node_spawn K CMD...: start CMD in the background in node K's namespace and cgroups; its PID
# (CMD's own, not a wrapper's) is in SPAWNED. Do not call inside $(...).
node_spawn() {
	local k=$1
	shift
	(
		_cg_enter "$k" "$BASHPID" || exit 1
		exec ip netns exec "${NODE_NS[$k]}" "$@"
	) &
	SPAWNED=$!
}

# node_id K: node K's numeric cluster id (what /mfs/<id> names)
node_id() { node_omx "$1" status --json | jq -r .id; }

# node_mfs K: where node K's omxd mounts oMFS (its /mfs), visible through node_exec_mnt K only
node_mfs() { echo "$TMP/mfs$1"; }

# node_exec_mnt K CMD...: run CMD in the running daemon's network AND mount namespace
node_exec_mnt() {
	local k=$1
	shift
	nsenter -t "${NODE_PID[$k]}" -n -m -- "$@"
}

# ---------------------------------------------------------------------------------------------
# daemons

# node_start K [OMXD ARGS...]: start omxd on node K in the background (log in node_log K) and wait
# for its control socket. Extra args are remembered for node_restart. The name is n<K>.
node_start() {
	local k=$1
	shift
	[ -x "$OMXD" ] || die "omxd not found at $OMXD (build first, or set OMX_BIN)"
	[ -z "${NODE_PID[$k]}" ] || die "node $k already running"
	NODE_ARGS[$k]="$*"
	local dir=$TMP/node$k listen=${NODE_LISTEN[$k]:-$(node_ep "$k")}
	local mfs=(--no-mfs)
	# the mount point is outside the 0700 state dir so unprivileged users can reach it; the mount
	# itself exists only in the node's mount namespace (see node_exec_mnt)
	[ "$CLUSTER_MFS" = 1 ] && mkdir -p "$TMP/mfs$k" && mfs=(--mfs "$TMP/mfs$k")
	rm -f "$dir/omxd.sock"
	# a subshell that execs: $! is then omxd's PID (ip netns exec and unshare exec, not fork)
	(
		_cg_enter "$k" "$BASHPID" || exit 1
		exec ip netns exec "${NODE_NS[$k]}" unshare -m --propagation private \
			sh -c "$_CG_REMOUNT"' exec "$@"' sh \
			"$OMXD" --state-dir "$dir" --listen "$listen" --name "n$k" \
			--profile "$CLUSTER_PROFILE" --log-level "$CLUSTER_LOG_LEVEL" "${mfs[@]}" "$@"
	) >>"$TMP/node$k.log" 2>&1 </dev/null &
	NODE_PID[$k]=$!
	wait_until 10 test -S "$dir/omxd.sock" || {
		node_alive "$k" || die "omxd on node $k exited at start-up"
		die "omxd on node $k: no control socket after 10 s"
	}
}

# `ip netns exec` mounts a fresh /sys, which hides /sys/fs/cgroup; inside the node's own mount
# namespace, mount the cgroup v1 cpu/cpuacct hierarchies (and v2) again so omxd can read its quota
# and usage. Then sh execs omxd: the PID stays the same.
_CG_REMOUNT='
if ! [ -e /sys/fs/cgroup/cpu ] && grep -q " /sys/fs/cgroup/cpu cgroup " /proc/1/mounts 2>/dev/null; then
	mount -t tmpfs -o mode=755 cgroup_root /sys/fs/cgroup
	for c in cpu cpuacct; do
		mkdir -p /sys/fs/cgroup/$c && mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c
	done
	mkdir -p /sys/fs/cgroup/unified && mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
fi;'

# node_alive K: the daemon process exists (and is not a zombie)
node_alive() {
	local pid=${NODE_PID[$1]}
	[ -n "$pid" ] && [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null
}

# node_kill K [SIGNAL]: send SIGNAL (default KILL) and reap; the node stays stopped
node_kill() {
	local k=$1 sig=${2:-KILL} pid=${NODE_PID[$1]}
	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	NODE_RC[$k]=$?
	NODE_PID[$k]=
}

# node_stop K [TIMEOUT_S]: SIGTERM (graceful leave) and wait; returns omxd's exit status, or 124
# (and SIGKILLs it) when it did not exit in time.
node_stop() {
	local k=$1 t=${2:-10} pid=${NODE_PID[$1]}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	if ! wait_until "$t" _pid_gone "$pid"; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		NODE_PID[$k]=
		return 124
	fi
	wait "$pid" 2>/dev/null
	local rc=$?
	NODE_PID[$k]=
	return $rc
}
_pid_gone() { ! [ -d "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# node_restart K: start again with the args of the last node_start (state dir kept)
node_restart() {
	local k=$1
	# shellcheck disable=SC2086
	node_start "$k" ${NODE_ARGS[$k]}
}

# node_omx K ARGS...: the omx CLI against node K's daemon
node_omx() {
	local k=$1
	shift
	"$OMX" --state-dir "$TMP/node$k" "$@"
}

# cluster_keygen SEED_NODE...: a CLUSTER_KEY whose bootstrap endpoints are those nodes
cluster_keygen() {
	local args=() k
	for k in "$@"; do args+=(--seed "$(node_ep "$k")"); done
	"$OMX" keygen "${args[@]}"
}

# nodes_start_join KEY K...: start (if needed) and join each node
nodes_start_join() {
	local key=$1 k
	shift
	for k in "$@"; do
		[ -n "${NODE_PID[$k]}" ] || node_start "$k"
	done
	for k in "$@"; do
		node_omx "$k" join "$key" >/dev/null || die "omx join failed on node $k"
	done
}

# cluster_up N [TIMEOUT_S]: nodes 1..N on subnet 1, one key seeded at node 1 (and 2), all joined,
# and wait until every node sees every other alive. Sets CLUSTER_KEY and ALL ("1 2 ... N").
cluster_up() {
	local n=$1 t=${2:-30} seeds=1
	[ "$n" -ge 2 ] && seeds="1 2"
	nodes_create "$n" 1
	ALL=$(seq -s ' ' 1 "$n")
	# shellcheck disable=SC2086
	CLUSTER_KEY=$(cluster_keygen $seeds) || die "omx keygen failed"
	# shellcheck disable=SC2086
	nodes_start_join "$CLUSTER_KEY" $ALL
	local t0
	t0=$(now_ms)
	wait_all_see "$t" alive "$ALL" "$(names $ALL)" || die "$n nodes did not converge in $t s"
	log "$n nodes joined, full view everywhere after $(($(now_ms) - t0)) ms"
}

# ---------------------------------------------------------------------------------------------
# views: what `omx nodes --json` says on a node

# node_view K: the JSON array (empty array when the daemon does not answer)
node_view() { node_omx "$1" nodes --json 2>/dev/null || echo '[]'; }

# node_state_of K NAME: the state node K has for the node named NAME ("" if absent)
node_state_of() {
	node_view "$1" | jq -r --arg n "$2" '[.[] | select(.name == $n)][0].state // ""'
}

# sees K STATE NAME...: node K lists every NAME (other than itself) in STATE
sees() {
	local k=$1 st=$2
	shift 2
	local names
	names=$(printf '%s\n' "$@" | jq -R . | jq -s .)
	node_view "$k" | jq -e --argjson want "$names" --arg st "$st" --arg me "n$k" '
		($want - [$me]) as $w
		| [.[] | select(.state == $st) | .name] as $have
		| ($w - $have) == []' >/dev/null
}

# sees_one_of K "STATE1 STATE2" NAME...: every NAME (other than K) is in one of the states
sees_one_of() {
	local k=$1 sts=$2
	shift 2
	local names states
	names=$(printf '%s\n' "$@" | jq -R . | jq -s .)
	states=$(printf '%s\n' $sts | jq -R . | jq -s .)
	node_view "$k" | jq -e --argjson want "$names" --argjson sts "$states" --arg me "n$k" '
		($want - [$me]) as $w
		| [.[] | select(.state as $s | $sts | index($s)) | .name] as $have
		| ($w - $have) == []' >/dev/null
}

# sees_exactly_alive K NAME...: node K's alive set (self excluded) is exactly NAME... (self excluded)
sees_exactly_alive() {
	local k=$1
	shift
	local names
	names=$(printf '%s\n' "$@" | jq -R . | jq -s .)
	node_view "$k" | jq -e --argjson want "$names" --arg me "n$k" '
		(($want - [$me]) | sort) as $w
		| ([.[] | select(.state == "alive" and .name != $me) | .name] | sort) == $w' >/dev/null
}

# names K...: n<K> for each K
names() {
	local k
	for k in "$@"; do printf 'n%s ' "$k"; done
}

# all_see STATE "OBSERVERS" "NAMES": every observer sees every name in STATE
all_see() {
	local st=$1 k
	# shellcheck disable=SC2086
	for k in $2; do sees "$k" "$st" $3 || return 1; done
}
all_see_one_of() {
	local sts=$1 k
	# shellcheck disable=SC2086
	for k in $2; do sees_one_of "$k" "$sts" $3 || return 1; done
}

# wait_all_see TIMEOUT STATE "OBSERVERS" "NAMES": poll all_see; on timeout print every observer's
# view of the names (so the failure says who missed whom) and return 1
# When STATE is alive it also waits for ids_agree (node ids settle a moment after a join).
wait_all_see() {
	local t=$1 st=$2 obs=$3 nm=$4
	if wait_until "$t" all_see "$st" "$obs" "$nm"; then
		[ "$st" != alive ] && return 0
		wait_until "$t" ids_agree "$obs" && return 0
		log "timeout ($t s): node ids did not settle on {$obs}"
		print_views "$obs"
		return 1
	fi
	log "timeout ($t s): not every node in {$obs} sees {$nm} as $st"
	print_views "$obs"
	return 1
}

# ids_agree "NODES": every node in NODES reports the same name -> id map of its live members,
# with unique ids and none provisional (>= 61440), so an id read now stays put
ids_agree() {
	local k v ref=
	for k in $1; do
		v=$(node_view "$k" | jq -c '[.[] | select(.state == "alive" or .state == "suspect")
			| [.name, .id]] | sort') || return 1
		jq -e 'map(.[1]) | (unique | length) == length and all(. < 61440)' <<<"$v" \
			>/dev/null || return 1
		[ -z "$ref" ] && ref=$v
		[ "$v" = "$ref" ] || return 1
	done
}

# print_views "NODES": a compact table of each node's view (name:state) on stderr
print_views() {
	local k
	for k in $1; do
		printf '  node %s: %s\n' "$k" \
			"$(node_view "$k" | jq -r '[.[] | "\(.name)#\(.id)=\(.state)"] | join(" ")')" >&2
	done
}

# ---------------------------------------------------------------------------------------------
# partitions: nft drop rules inside the namespaces of side A against addresses of side B and back

# partition "A..." "B...": every node of A drops traffic from/to every node of B, and vice versa
partition() {
	local a=$1 b=$2 k
	for k in $a; do _node_drop "$k" "$b"; done
	for k in $b; do _node_drop "$k" "$a"; done
}

_node_drop() {
	local k=$1 others=$2 o set=""
	for o in $others; do set+="${set:+, }${NODE_ADDR[$o]}"; done
	node_exec "$k" nft -f - <<-EOF || die "nft partition on node $k"
		table inet omx_partition {
			chain input { type filter hook input priority 0; policy accept; ip saddr { $set } drop; }
			chain output { type filter hook output priority 0; policy accept; ip daddr { $set } drop; }
		}
	EOF
}

# heal "NODES": remove the partition tables
heal() {
	local k
	for k in $1; do node_exec "$k" nft delete table inet omx_partition 2>/dev/null; done
	return 0
}

# ---------------------------------------------------------------------------------------------
# SSHFS for comparisons (bench/omfs_bench.sh, tests/omfs/run_pjdfstest.sh)

# sshfs_up SERVER CLIENT REMOTE_DIR MOUNTPOINT: sshd in node SERVER's namespace on its address
# only (port ${SSH_PORT:-2222}, throw-away keys and config under $TMP), then sshfs (default
# options) of REMOTE_DIR mounted on MOUNTPOINT in node CLIENT's mount namespace. Sets SSHD_PID;
# the caller's cleanup unmounts MOUNTPOINT and stops sshd.
sshfs_up() {
	local srv=$1 cli=$2 rdir=$3 mnt=$4 port=${SSH_PORT:-2222}
	ssh-keygen -q -t ed25519 -N '' -f "$TMP/hostkey" || die "ssh-keygen"
	ssh-keygen -q -t ed25519 -N '' -f "$TMP/key" || die "ssh-keygen"
	cp "$TMP/key.pub" "$TMP/authorized_keys"
	mkdir -p /run/sshd
	cat >"$TMP/sshd_config" <<EOF
ListenAddress $(node_addr "$srv"):$port
HostKey $TMP/hostkey
AuthorizedKeysFile $TMP/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
	/usr/sbin/sshd -t -f "$TMP/sshd_config" || die "sshd rejects its config"
	node_spawn "$srv" /usr/sbin/sshd -D -e -f "$TMP/sshd_config" 2>>"$TMP/sshd.log"
	SSHD_PID=$SPAWNED
	_sshd_up() { node_exec "$cli" bash -c "exec 3<>/dev/tcp/$(node_addr "$srv")/$port"; }
	wait_until 10 _sshd_up || die "sshd does not listen on $(node_addr "$srv"):$port"
	node_exec_mnt "$cli" sshfs -p "$port" -o IdentityFile="$TMP/key",StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,BatchMode=yes \
		"root@$(node_addr "$srv"):$rdir" "$mnt" || die "sshfs mount failed"
	node_exec_mnt "$cli" mountpoint -q "$mnt" || die "sshfs is not mounted on $mnt"
}

# sshfs_down CLIENT MOUNTPOINT: the cleanup for sshfs_up (unmount, stop sshd); for EXIT traps
sshfs_down() {
	if [ -n "${NODE_PID[$1]:-}" ]; then
		node_exec_mnt "$1" mountpoint -q "$2" 2>/dev/null && node_exec_mnt "$1" fusermount3 -u "$2"
	fi
	[ -n "${SSHD_PID:-}" ] && kill "$SSHD_PID" 2>/dev/null && wait "$SSHD_PID" 2>/dev/null
	return 0
}

# mfs_pair_up: two nodes for oMFS comparisons, node 1 the client, node 2 exporting / without
# root squash; sets I2 to node 2's (settled) id
mfs_pair_up() {
	nodes_create 2 1
	node_start 1
	node_start 2 --no-root-squash
	local key
	key=$(cluster_keygen 1 2) || die "keygen"
	nodes_start_join "$key" 1 2
	wait_all_see 30 alive "1 2" "$(names 1 2)" || die "the two nodes do not see each other"
	# wait_all_see has waited until both nodes agree on settled ids: node 2's id stays put
	I2=$(node_id 2) || die "node 2 has no id"
}
