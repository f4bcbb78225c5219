#!/usr/bin/env bash
# contrib/test.sh: install, build and run every omx test, as root on Debian bookworm.
#
#   1. contrib/install-deps.sh (idempotent)
#   2. a normal build in ./build, then `ctest --output-on-failure` with every label:
#      unit, fuzz, cluster (network-namespace clusters), workloads (migration programs)
#   3. an ASan+UBSan build (-DOMX_SANITIZE=ON) in ./build-sanitize, running the unit and fuzz labels
#   4. a summary; exit 0 only when every step passed
#
# Environment: OMX_TEST_JOBS (default 2: this is sized for a 2-core machine), OMX_TEST_SKIP_SANITIZE=1.
# Cluster and workload tests are RUN_SERIAL, so they never overlap whatever the job count.
set -uo pipefail

cd "$(dirname "$0")/.."
JOBS=${OMX_TEST_JOBS:-2}
declare -a SUMMARY=()
FAILED=0
T0=$(date +%s)

step() { # step NAME CMD...: run, time and record a step
	local name=$1 t0 rc
	shift
	printf '\n==> %s\n' "$name"
	t0=$(date +%s)
	"$@"
	rc=$?
	SUMMARY+=("$(printf '%-44s %s (%ds)' "$name" "$([ $rc -eq 0 ] && echo ok || echo "FAILED rc=$rc")" $(($(date +%s) - t0)))")
	[ $rc -eq 0 ] || FAILED=1
	return $rc
}

build() { # build DIR [CMAKE ARGS...]
	local dir=$1
	shift
	cmake -S . -B "$dir" "$@" && make -C "$dir" -j"$JOBS" --no-print-directory
}

summary() {
	printf '\n==================== omx test summary ====================\n'
	printf '%s\n' "${SUMMARY[@]}"
	printf 'total %ds: %s\n' $(($(date +%s) - T0)) "$([ $FAILED -eq 0 ] && echo 'ALL PASSED' || echo 'SOME FAILED')"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "contrib/test.sh: run as root (installs packages; cluster tests create network namespaces)" >&2
	exit 1
fi

step "install dependencies" contrib/install-deps.sh || { summary; exit 1; }
if step "build (./build)" build build; then
	step "ctest: unit fuzz cluster workloads" \
		ctest --test-dir build --output-on-failure -j"$JOBS"
fi
if [ "${OMX_TEST_SKIP_SANITIZE:-0}" != 1 ]; then
	if step "build ASan+UBSan (./build-sanitize)" build build-sanitize -DOMX_SANITIZE=ON; then
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
			step "ctest (sanitizers): unit fuzz" \
			ctest --test-dir build-sanitize --output-on-failure -j"$JOBS" -L '^(unit|fuzz)$'
	fi
fi
summary
exit $FAILED
