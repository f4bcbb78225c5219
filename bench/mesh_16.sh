#!/usr/bin/env bash
# bench/mesh_16.sh: a real 16-node mesh (network namespaces, tests/cluster/lib.sh) against the goals
# of issue 2: join to full view <= 3 s; an idle omxd uses <= 1 % of a core and <= 20 MiB RSS.
#
# Baselines from the same run: the join time of a 2-node cluster (one handshake and one exchange,
# the floor for any join), and the CPU and RSS of a lone omxd that never joins (the daemon's own
# idle cost, without any mesh traffic). Figures, then PASS/FAIL per goal; exit 0 when all pass.
# Also counted: the suspicions the daemons log during the join and while idle (nobody dies here,
# so each one is a false positive).
#
# Run as root after a build: bench/mesh_16.sh (OMX_BIN=BUILD/cli to pick a build; IDLE_S=30).
source "$(dirname "$0")/../tests/cluster/lib.sh"
N=${N:-16}
IDLE_S=${IDLE_S:-30}
GOAL_JOIN_MS=3000
GOAL_CPU_PCT=1.0
GOAL_RSS_KIB=$((20 * 1024))
cluster_init

HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime of one process
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# full_view K COUNT: node K lists COUNT nodes, all alive (grep, not jq: cheap enough to poll often)
full_view() {
	local v
	v=$(node_omx "$1" nodes --json 2>/dev/null) || return 1
	[ "$(grep -o '"state": *"[a-z]*"' <<<"$v" | grep -c '"alive"')" -eq "$2" ] &&
		[ "$(grep -o '"state": *"[a-z]*"' <<<"$v" | wc -l)" -eq "$2" ]
}

# log_full_ms K FROM TO: the latest membership event ("... joined" or "... is alive") in node K's
# log between the absolute times FROM and TO (ms); empty when the log has none. omxd logs UTC
# HH:MM:SS.mmm; compared as ms of the day (a run across midnight UTC gives no figure).
log_full_ms() {
	local day=$((($2 / 86400000) * 86400000))
	awk -v from=$(($2 - day)) -v to=$(($3 - day)) -v day="$day" '
		$3 == "omxd:" && ($NF == "joined" || ($(NF-1) == "is" && $NF == "alive")) {
			split($1, t, ":"); ms = ((t[1] * 60 + t[2]) * 60 + t[3]) * 1000
			if (ms >= from && ms <= to && ms > best) best = ms
		}
		END { if (best) printf "%.0f\n", best + day }' "$(node_log "$1")"
}

# join_time "NODES" KEY: issue every join at once; ms until every node has the full view. One
# poller per node confirms its full view with `omx nodes --json`; on a 2-core machine the 16
# pollers and 16 joins starve each other, so a poll only gives an upper bound. The figure is the
# moment of the last membership event each node logged before its poll succeeded (the daemon's
# own clock), or the poll time when the log has no such line. Prints "FIGURE POLL_UPPER_BOUND".
join_time() {
	local nodes=$1 key=$2 n k t0 pollers=() last=0 last_poll=0 t tl
	n=$(echo "$nodes" | wc -w)
	rm -f "$TMP"/full.*
	t0=$(now_ms)
	for k in $nodes; do node_omx "$k" join "$key" >/dev/null 2>&1 & done
	for k in $nodes; do
		(
			until full_view "$k" "$n"; do
				[ $(($(now_ms) - t0)) -lt 60000 ] || exit 1
				sleep "${POLL_S:-0.1}"
			done
			now_ms >"$TMP/full.$k"
		) &
		pollers+=($!)
	done
	for k in "${pollers[@]}"; do wait "$k" || { print_views "$nodes"; die "no full view after 60 s"; }; done
	wait # the joins
	local each=""
	for k in $nodes; do
		t=$(cat "$TMP/full.$k")
		[ "$t" -gt "$last_poll" ] && last_poll=$t
		tl=$(log_full_ms "$k" "$t0" "$t")
		[ -n "$tl" ] || tl=$t
		[ "$tl" -gt "$last" ] && last=$tl
		each+="n$k:$((tl - t0))/$((t - t0)) "
	done
	log "full view per node, ms after the joins (daemon log/poll): $each"
	echo "$((last - t0)) $((last_poll - t0))"
}

net_subnet 1
# baseline nodes: 1..N are the mesh; N+1, N+2 a 2-node cluster; N+3 a lone idle daemon
for k in $(seq 1 $((N + 3))); do node_create "$k" 1; done
MESH=$(seq -s ' ' 1 "$N")
PAIR="$((N + 1)) $((N + 2))"
LONE=$((N + 3))
for k in $MESH $PAIR $LONE; do node_start "$k"; done

pair_key=$(cluster_keygen $((N + 1))) || die "keygen"
read -r pair_ms pair_poll < <(join_time "$PAIR" "$pair_key") || die "2-node baseline did not form"
# the pair is stopped again so its traffic does not count in the idle figures of the mesh
for k in $PAIR; do node_stop "$k" 10 >/dev/null; done

key=$(cluster_keygen 1 2) || die "keygen"
read -r mesh_ms mesh_poll < <(join_time "$MESH" "$key") || die "the $N-node mesh did not form"
log "join to full view: $N nodes $mesh_ms ms (polls: $mesh_poll ms); baseline 2 nodes $pair_ms ms (polls: $pair_poll ms)"
# suspicions logged by the mesh's daemons: nobody died, so every one of them was false
suspicions() {
	local k c=0
	for k in $MESH; do c=$((c + $(grep -c ' is suspect$' "$(node_log "$k")"))); done
	echo "$c"
}
susp_join=$(suspicions)
log "false suspicions during the join (all nodes): $susp_join"

sleep 3 # let join-time traffic (pushes, info republishing) die down before measuring idle
declare -A t0
for k in $MESH $LONE; do t0[$k]=$(cpu_ticks "${NODE_PID[$k]}"); done
log "measuring idle CPU over $IDLE_S s"
sleep "$IDLE_S"
log "false suspicions while idle (all nodes): $(($(suspicions) - susp_join))"
# the mesh must still be whole at the end of the window, else the figures mean nothing
for k in $MESH; do full_view "$k" "$N" || { print_views "$MESH"; die "node $k lost its full view while idle"; }; done

printf '\n%-6s %10s %10s\n' node "cpu %" "rss MiB"
max_cpu=0
max_rss=0
sum_cpu=0
for k in $MESH; do
	pid=${NODE_PID[$k]}
	cpu=$(echo "scale=3; ($(cpu_ticks "$pid") - ${t0[$k]}) * 100 / $HZ / $IDLE_S" | bc)
	rss=$(rss_kib "$pid")
	printf '%-6s %10.2f %10.1f\n' "n$k" "$cpu" "$(echo "scale=1; $rss / 1024" | bc)"
	sum_cpu=$(echo "$sum_cpu + $cpu" | bc)
	[ "$(echo "$cpu > $max_cpu" | bc)" = 1 ] && max_cpu=$cpu
	[ "$rss" -gt "$max_rss" ] && max_rss=$rss
done
lone_cpu=$(echo "scale=3; ($(cpu_ticks "${NODE_PID[$LONE]}") - ${t0[$LONE]}) * 100 / $HZ / $IDLE_S" | bc)
lone_rss=$(rss_kib "${NODE_PID[$LONE]}")
printf '%-6s %10.2f %10.1f   (baseline: lone omxd, never joined)\n' "lone" "$lone_cpu" "$(echo "scale=1; $lone_rss / 1024" | bc)"

ok_join=$([ "$mesh_ms" -le $GOAL_JOIN_MS ] && echo 1 || echo 0)
ok_cpu=$(echo "$max_cpu <= $GOAL_CPU_PCT" | bc)
ok_rss=$([ "$max_rss" -le $GOAL_RSS_KIB ] && echo 1 || echo 0)
FAILS=$((3 - ok_join - ok_cpu - ok_rss))
verdict() { [ "$1" = 1 ] && echo PASS || echo FAIL; }
printf '\n%-34s %14s %14s %12s %s\n' figure measured baseline goal verdict
printf '%-34s %11d ms %11d ms %9s ms %s\n' "join -> full view, $N nodes" "$mesh_ms" "$pair_ms" "<= $GOAL_JOIN_MS" \
	"$(verdict "$ok_join")"
printf '%-34s %12.2f %% %12.2f %% %10s %% %s\n' "idle CPU, max over $N omxd" "$max_cpu" "$lone_cpu" "<= $GOAL_CPU_PCT" \
	"$(verdict "$ok_cpu")"
printf '%-34s %12.2f %% %12.2f %% %12s\n' "idle CPU, mean over $N omxd" "$(echo "scale=3; $sum_cpu / $N" | bc)" "$lone_cpu" ""
printf '%-34s %10.1f MiB %10.1f MiB %8s MiB %s\n' "RSS, max over $N omxd" "$(echo "scale=1; $max_rss / 1024" | bc)" \
	"$(echo "scale=1; $lone_rss / 1024" | bc)" "<= 20" "$(verdict "$ok_rss")"
echo
[ "$FAILS" -eq 0 ] && cluster_pass "mesh_16: all goals met"
CLUSTER_OK=1 # the figures above are the result; no log dump for a missed goal
log "mesh_16: $FAILS goal(s) missed"
exit 1
