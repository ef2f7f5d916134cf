#!/usr/bin/env bash
# tests/faults/long.sh — the fault tests of issue 7 at full size: PostgreSQL
# restarted 10 times and kamd killed 20 times under a 50-client write load,
# and PostgreSQL black-holed for 30 s under an 8-client load with the default
# 5 s request deadline (CI runs the short form: 3 of each, 50 writers, an 8 s
# black hole with 4 clients). Same harness as CI (tests/run.sh: build-test/, a
# throwaway cluster); extra arguments go to it. The writers send keyed writes
# and finish each failed one with its request key (faultload.py): every write
# must be applied exactly once.
#
#   tests/faults/long.sh [RESTARTS KILLS WRITERS [BLACKHOLE_S BLACKHOLE_CLIENTS]]
#   KAM_FAULT_STAGE=kill tests/faults/long.sh     one stage: restart, kill or blackhole
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
export KAM_FAULT_RESTARTS=${1:-10} KAM_FAULT_KILLS=${2:-20} KAM_FAULT_WRITERS=${3:-50}
export KAM_BLACKHOLE_S=${4:-30} KAM_BLACKHOLE_CLIENTS=${5:-8}
case ${KAM_FAULT_STAGE:-all} in
all) TESTS='pg_restart|kamd_kill|blackhole' ;;
restart) TESTS=pg_restart ;;
kill) TESTS=kamd_kill ;;
blackhole) TESTS=blackhole ;;
*) echo "long.sh: KAM_FAULT_STAGE is restart, kill, blackhole or all" >&2; exit 2 ;;
esac
# The numbers each stage prints are the point of the long form: show them though it passes.
export KAM_CTEST_VERBOSE=1
exec "$ROOT/tests/run.sh" -R "integration\.test_($TESTS)\$"
