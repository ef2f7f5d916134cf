#!/bin/sh
# Build the libFuzzer targets with clang in build-fuzz and fuzz one for SECONDS.
# Usage: tests/fuzz/run.sh [SECONDS] [request|response]   (defaults: 60 request)
# New inputs go to build-fuzz/corpus/<target>; the committed seeds are only read.
set -eu

secs=${1:-60}
target=${2:-request}
case $target in
request|response) ;;
*) echo "usage: $0 [SECONDS] [request|response]" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${KAM_FUZZ_BUILD:-$root/build-fuzz}
work=$build/corpus/$target

cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKAM_FUZZ=ON >/dev/null
cmake --build "$build" --target "fuzz_$target" -j2
mkdir -p "$work"
# One worker: the build machines are shared. Frames up to 64 KiB keep runs fast.
exec "$build/tests/fuzz/fuzz_$target" -max_total_time="$secs" -max_len=65536 -timeout=10 \
	-rss_limit_mb=2048 -print_final_stats=1 "$work" "$root/tests/fuzz/corpus/$target"
