#!/usr/bin/env bash
# tests/run.sh — the whole test suite, exactly as CI runs it (.ci/run): install
# missing packages, build build-test/ (Debug, ASan+UBSan), start ONE throwaway
# PostgreSQL cluster for the run, run every ctest, then a 60 s fuzz smoke run.
# Fails when any test fails OR is skipped: a skipped test was not tested.
#
#   tests/run.sh [--no-fuzz] [-R REGEX]
#     --no-fuzz    skip the fuzz run
#     -R REGEX     run only the ctest tests matching REGEX (implies --no-fuzz)
#
# Tests get: KAM_BUILD_DIR, KAM_TEST_PGHOST, KAM_TEST_PGPORT, KAM_TEST_PGSUPER,
# KAM_TEST_DB and KAM_TEST_DB_ADMIN (database kam_unit), sanitizer options.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck disable=SC2034 # read by the helpers in local.sh
KAM_SH=run.sh
# shellcheck source=deploy/local.sh
source "$ROOT/deploy/local.sh"

BUILD_TEST=$ROOT/build-test
# Extra packages beyond the build: the Python integration harness and the fuzzer.
TEST_PACKAGES=(python3 python3-protobuf protobuf-compiler clang libclang-rt-14-dev)
TEST_PG_PORT=5432
# A throwaway cluster needs no durability; these make it several times faster.
TEST_PG_SETTINGS=("fsync = off" "synchronous_commit = off" "full_page_writes = off")
FUZZ_SECONDS=60
# The machine has two cores, shared.
JOBS=2

TMP=
PGDATA_DIR=

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

cleanup() {
	if [[ -n $PGDATA_DIR ]]; then
		pg_stop "$PGDATA_DIR" || warn "could not stop the test cluster"
		PGDATA_DIR=
	fi
	if [[ -n $TMP && -d $TMP ]]; then
		rm -rf -- "$TMP"
		TMP=
	fi
}

build() {
	[[ -f $BUILD_TEST/CMakeCache.txt ]] ||
		cmake -S "$ROOT" -B "$BUILD_TEST" -DCMAKE_BUILD_TYPE=Debug -DKAM_SANITIZE=ON
	cmake --build "$BUILD_TEST" -j"$JOBS"
}

# One cluster for the whole run, in a fresh temporary directory.
start_cluster() {
	TMP=$(mktemp -d /tmp/kam-test.XXXXXX)
	chmod 0755 "$TMP"
	is_root && chown postgres:postgres "$TMP"
	as_pg mkdir -m 0700 "$TMP/data"
	as_pg mkdir -m 0755 "$TMP/run"
	PGDATA_DIR=$TMP/data
	PG_INITDB_EXTRA=--no-sync pg_init "$PGDATA_DIR" "$TMP/run" "$TEST_PG_PORT" "${TEST_PG_SETTINGS[@]}"
	pg_start "$PGDATA_DIR" "$TMP/postgresql.log"
	pg_ensure_roles "$TMP/run" "$TEST_PG_PORT"
	pg_ensure_db "$TMP/run" "$TEST_PG_PORT" kam_unit
	say "PostgreSQL for the tests: socket $TMP/run, port $TEST_PG_PORT"
}

export_test_env() {
	local conn="host=$TMP/run port=$TEST_PG_PORT dbname=kam_unit"
	export KAM_BUILD_DIR=$BUILD_TEST
	export KAM_TEST_PGHOST=$TMP/run KAM_TEST_PGPORT=$TEST_PG_PORT KAM_TEST_PGSUPER=postgres
	export KAM_TEST_DB="$conn user=kam_app" KAM_TEST_DB_ADMIN="$conn user=kam_admin"
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
}

# Sets PASSED, FAILED, SKIPPED from ctest's output in file $1.
count_results() {
	local summary total
	summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$1" | tail -n 1 || true)
	total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<< "$summary")
	FAILED=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<< "$summary")
	# ctest counts skipped (and disabled) tests as passed; they are listed as not run.
	SKIPPED=$(grep -cE '^[[:space:]]*[0-9]+ - .*\((Skipped|Disabled)\)$' "$1" || true)
	if [[ -z $summary ]]; then
		total=0 FAILED=0
	fi
	PASSED=$((total - FAILED - SKIPPED))
	SUMMARY=$summary
}

run_ctest() {
	local log=$TMP/ctest.log rc=0
	local args=(--test-dir "$BUILD_TEST" -j"$JOBS" --output-on-failure --no-tests=error)
	[[ -n $REGEX ]] && args+=(-R "$REGEX")
	# KAM_CTEST_VERBOSE=1: every test's output, passed or not (tests/faults/long.sh: its numbers).
	[[ ${KAM_CTEST_VERBOSE:-0} == 1 ]] && args+=(-V)
	ctest "${args[@]}" 2>&1 | tee "$log" || rc=$?
	count_results "$log"
	echo
	say "ctest: ${SUMMARY:-no summary (ctest exit $rc)}"
	if ((SKIPPED > 0)); then
		say "skipped or not run (a skipped test is an untested feature):"
		grep -E '^[[:space:]]*[0-9]+ - .*\((Skipped|Disabled)\)$' "$log" >&2 || true
	fi
	((PASSED + FAILED > 0)) || say "no test ran"
	((rc == 0 && SKIPPED == 0 && PASSED + FAILED > 0))
}

run_fuzz() {
	if [[ ! -f $ROOT/tests/fuzz/run.sh ]]; then
		say "no tests/fuzz/run.sh: fuzz run skipped"
		return 0
	fi
	if ! command -v clang >/dev/null; then
		say "clang not installed: fuzz run skipped"
		return 0
	fi
	local log=$BUILD_TEST/fuzz.log
	say "fuzzing for $FUZZ_SECONDS s (log: build-test/fuzz.log)"
	if bash "$ROOT/tests/fuzz/run.sh" "$FUZZ_SECONDS" > "$log" 2>&1; then
		tail -n 3 "$log"
	else
		tail -n 60 "$log" >&2
		return 1
	fi
}

main() {
	local fuzz=1 ok=1
	REGEX=
	while (($#)); do
		case $1 in
		--no-fuzz) fuzz=0 ;;
		-R) [[ $# -ge 2 ]] || { warn "-R needs a REGEX"; usage >&2; exit 2; }
			REGEX=$2 fuzz=0
			shift ;;
		-h | --help) usage; exit 0 ;;
		*) warn "unknown option $1"; usage >&2; exit 2 ;;
		esac
		shift
	done
	cd "$ROOT"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	need_packages "${KAM_BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
	find_pg_bindir
	build
	start_cluster
	export_test_env
	run_ctest || ok=0
	# The cluster is only for ctest: free it before the fuzzer takes the CPU.
	cleanup
	if ((fuzz)); then
		if run_fuzz; then
			say "fuzz run passed"
		else
			say "fuzz run FAILED"
			FAILED=$((FAILED + 1))
			ok=0
		fi
	fi
	# The closing line CI reads.
	echo "tests: $PASSED passed, $FAILED failed, $SKIPPED skipped"
	((ok))
}

main "$@"
