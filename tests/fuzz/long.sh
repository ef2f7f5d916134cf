#!/bin/sh
# Long fuzzing runs, for before an issue closes (CI runs tests/fuzz/run.sh 60).
# Usage: tests/fuzz/long.sh [EXECUTIONS] [request|response] [JOBS]
#   (defaults: 10000000 request 1). Runs JOBS libFuzzer processes of
#   EXECUTIONS/JOBS inputs each over the committed seeds plus
#   build-fuzz/corpus/<target> (which grows), then prints the total number of
#   inputs executed, the line to quote in an issue's note. A crash stops its
#   job, leaves the input in build-fuzz/artifacts/ and fails the script.
set -eu

execs=${1:-10000000}
target=${2:-request}
jobs=${3:-1}
case $target in
request|response) ;;
*) echo "usage: $0 [EXECUTIONS] [request|response] [JOBS]" >&2; exit 2 ;;
esac
case $execs$jobs in
*[!0-9]*) echo "usage: $0 [EXECUTIONS] [request|response] [JOBS]" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${KAM_FUZZ_BUILD:-$root/build-fuzz}
work=$build/corpus/$target
art=$build/artifacts
logs=$build/long-$target
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKAM_FUZZ=ON >/dev/null
cmake --build "$build" --target "fuzz_$target" -j2
mkdir -p "$work" "$art" "$logs"
rm -f "$logs"/job-*.log

per=$((execs / jobs))
started=$(date +%s)
pids=
i=0
while [ "$i" -lt "$jobs" ]; do
	"$build/tests/fuzz/fuzz_$target" -runs="$per" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$art/" -seed=$((started + i)) \
		"$work" "$root/tests/fuzz/corpus/$target" > "$logs/job-$i.log" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
status=0
for p in $pids; do
	wait "$p" || status=1
done
total=$(cat "$logs"/job-*.log | sed -n 's/^stat::number_of_executed_units: *//p' | awk '{s += $1} END {print s + 0}')
echo "fuzz_$target: $total inputs executed in $(( $(date +%s) - started )) s by $jobs job(s) (logs: $logs)"
if [ "$status" -ne 0 ]; then
	grep -h -A 30 "ERROR: \|==ERROR\|deadly signal" "$logs"/job-*.log | head -n 80 >&2 || true
	echo "fuzz_$target: a job failed; crashing inputs are in $art" >&2
fi
exit "$status"
