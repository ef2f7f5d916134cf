#!/usr/bin/env bash
# tests/faults/long.sh — the fault tests of issue 7 at full size: PostgreSQL
# restarted 10 times and kamd killed 20 times under a 50-client write load
# (CI runs the short form: 3 of each, 6 clients). Same harness as CI
# (tests/run.sh: build-test/, a throwaway cluster); extra arguments go to it.
#
#   tests/faults/long.sh [RESTARTS KILLS WRITERS]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
export KAM_FAULT_RESTARTS=${1:-10} KAM_FAULT_KILLS=${2:-20} KAM_FAULT_WRITERS=${3:-50}
exec "$ROOT/tests/run.sh" -R 'integration\.test_(pg_restart|kamd_kill)$'
