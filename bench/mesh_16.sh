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
# Run as root after a build: bench/mesh_16.sh (OMX_BIN=BUILD/cli to pick a build; IDLE_S=30;
# OMXD_ARGS="--nice 0" passes options to every omxd).
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

# full_view K COUNT: node K lists COUNT nodes, all alive (grep, not jq: cheap)
full_view() {
	local v
	v=$(node_omx "$1" nodes --json 2>/dev/null) || return 1
	[ "$(grep -o '"state": *"[a-z]*"' <<<"$v" | grep -c '"alive"')" -eq "$2" ] &&
		[ "$(grep -o '"state": *"[a-z]*"' <<<"$v" | wc -l)" -eq "$2" ]
}

# log_full_ms K FROM TO: when node K's view last became full (every other node of the run alive)
# between the absolute times FROM and TO (ms), replaying the membership lines of its log
# ("node ID (NAME, EP) joined", "node ID (NAME) is STATE", "node ID (NAME) forgotten"); members
# are keyed by name (ids may change while a node settles its id). Empty when the view was not
# full at TO. omxd logs UTC HH:MM:SS.mmm; compared as ms of the day (no figure across midnight).
log_full_ms() {
	local day=$((($2 / 86400000) * 86400000))
	awk -v from=$(($2 - day)) -v to=$(($3 - day)) -v day="$day" -v want="$4" '
		$3 != "omxd:" || $4 != "node" { next }
		{ split($1, t, ":"); ms = ((t[1] * 60 + t[2]) * 60 + t[3]) * 1000 }
		ms < from || ms > to { next }
		{ name = $6; gsub(/[(),]/, "", name) }
		$NF == "joined" { st[name] = "alive" }
		$(NF-1) == "is" { st[name] = $NF }
		$NF == "forgotten" { delete st[name] }
		$NF == "joined" || $(NF-1) == "is" || $NF == "forgotten" {
			c = 0; for (i in st) c += st[i] == "alive"
			if (c == want && !full) { full = 1; at = ms } else if (c != want) full = 0
		}
		END { if (full) printf "%.0f\n", at + day }' "$(node_log "$1")"
}

# log_start_ms K FROM: when node K's daemon started its cluster ("node N in cluster ...") at or
# after FROM (absolute ms); empty if it did not
log_start_ms() {
	local day=$((($2 / 86400000) * 86400000))
	awk -v from=$(($2 - day)) -v day="$day" '
		$3 == "omxd:" && $4 == "node" && $6 == "in" && $7 == "cluster" {
			split($1, t, ":"); ms = ((t[1] * 60 + t[2]) * 60 + t[3]) * 1000
			if (ms >= from) { printf "%.0f\n", ms + day; exit }
		}' "$(node_log "$1")"
}

# runq_ms PID: ms the daemon's threads have spent runnable but waiting for a CPU (schedstat)
runq_ms() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{w += $2} END {printf "%.0f\n", w / 1e6}'; }
# cpu_ms PID: ms of CPU its threads have used (schedstat)
cpu_ms() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{r += $1} END {printf "%.0f\n", r / 1e6}'; }

# join_time "NODES" KEY: issue every join at once; ms until every node has the full view. The
# figure is taken from the daemons' own logs: for each node, the moment its view last became
# full (all other nodes alive) before the check that confirmed it; the largest over the nodes.
# Every POLL_S s (default 0.5) each node not yet confirmed is checked: its log says its view is
# full, then `omx nodes --json` must say so too (the earlier 16 parallel pollers running omx
# every 0.1 s added their own load to the host); the confirmation times are printed as an upper
# bound. Also printed: the CPU the daemons used during the join and how long they waited for one
# (run-queue time, /proc/PID/task/*/schedstat), which tells a slow daemon from a loaded host.
# Prints "FIGURE CONFIRMED_UPPER_BOUND".
join_time() {
	local nodes=$1 key=$2 n k t0 last=0 last_poll=0 t tl joins=() todo
	declare -A full_at rq0 cpu0
	n=$(echo "$nodes" | wc -w)
	for k in $nodes; do
		rq0[$k]=$(runq_ms "${NODE_PID[$k]}")
		cpu0[$k]=$(cpu_ms "${NODE_PID[$k]}")
	done
	log "host load average before the joins: $(cut -d' ' -f1-3 /proc/loadavg)"
	t0=$(now_ms)
	for k in $nodes; do # omx itself in the background (node_omx would fork a shell per join)
		"$OMX" --state-dir "$TMP/node$k" join "$key" >/dev/null 2>&1 &
		joins+=($!)
	done
	todo=$nodes
	while [ -n "$todo" ]; do
		sleep "${POLL_S:-0.5}"
		local left=""
		for k in $todo; do
			t=$(now_ms)
			if [ -n "$(log_full_ms "$k" "$t0" "$t" $((n - 1)))" ] && full_view "$k" "$n"; then
				full_at[$k]=$(now_ms)
			else
				left+="$k "
			fi
		done
		todo=$left
		if [ -n "$todo" ] && [ $(($(now_ms) - t0)) -gt 60000 ]; then
			print_views "$nodes"
			die "no full view after 60 s on node(s) $todo"
		fi
	done
	local each="" rq=0 cpu=0 st first=0 lastst=0
	for k in $nodes; do
		rq=$((rq + $(runq_ms "${NODE_PID[$k]}") - rq0[$k]))
		cpu=$((cpu + $(cpu_ms "${NODE_PID[$k]}") - cpu0[$k]))
	done
	wait "${joins[@]}"
	for k in $nodes; do
		t=${full_at[$k]}
		[ "$t" -gt "$last_poll" ] && last_poll=$t
		tl=$(log_full_ms "$k" "$t0" "$t" $((n - 1)))
		[ -n "$tl" ] || tl=$t
		[ "$tl" -gt "$last" ] && last=$tl
		each+="n$k:$((tl - t0))/$((t - t0)) "
		st=$(log_start_ms "$k" "$t0")
		[ -n "$st" ] || continue
		{ [ "$first" -eq 0 ] || [ "$st" -lt "$first" ]; } && first=$st
		[ "$st" -gt "$lastst" ] && lastst=$st
	done
	[ "$first" -gt 0 ] && log "the joins reached the daemons $((first - t0)) to $((lastst - t0)) ms after t0"
	log "full view per node, ms after the joins (daemon log/confirmed): $each"
	log "per omxd, from the joins until the last confirmation ($((last_poll - t0)) ms): CPU" \
		"$((cpu / n)) ms, runnable but waiting for a CPU $((rq / n)) ms"
	echo "$((last - t0)) $((last_poll - t0))"
}

net_subnet 1
# baseline nodes: 1..N are the mesh; N+1, N+2 a 2-node cluster; N+3 a lone idle daemon
for k in $(seq 1 $((N + 3))); do node_create "$k" 1; done
MESH=$(seq -s ' ' 1 "$N")
PAIR="$((N + 1)) $((N + 2))"
LONE=$((N + 3))
# shellcheck disable=SC2086 # OMXD_ARGS: extra omxd options for every node (e.g. --nice 0)
for k in $MESH $PAIR $LONE; do node_start "$k" ${OMXD_ARGS:-}; done

pair_key=$(cluster_keygen $((N + 1))) || die "keygen"
read -r pair_ms pair_poll < <(join_time "$PAIR" "$pair_key") || die "2-node baseline did not form"
# the pair is stopped again so its traffic does not count in the idle figures of the mesh
for k in $PAIR; do node_stop "$k" 10 >/dev/null; done

key=$(cluster_keygen 1 2) || die "keygen"
read -r mesh_ms mesh_poll < <(join_time "$MESH" "$key") || die "the $N-node mesh did not form"
log "join to full view: $N nodes $mesh_ms ms (confirmed: $mesh_poll ms); baseline 2 nodes $pair_ms ms" \
	"(confirmed: $pair_poll ms)"
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
