#!/usr/bin/env bash
# tests/bench/audit_cost.sh — what auditing costs (issue 4): requests per second of
# `account show` (kam-bench --mix read=100) against the same data with the audit
# write, without it (a measurement-only build whose show passes no audit entry:
# never ship it), with the entry but without the hash chain, and with the
# bulk-read watch on. Needs a running PostgreSQL and the roles kam_admin, kam_app.
#
#   tests/bench/audit_cost.sh PGHOST PGPORT [SECONDS]
#
# Builds Release trees under $WORK (default /tmp/kam-audit-cost), creates the
# database kam_audit_cost (dropped first), loads tests/bench/sql/dataset.sql
# (2000 accounts, 100 juniors), runs each variant twice, alternating, and prints
# one line per run. Uses 8 connections as 8 juniors, 15 s per run by default.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
PGHOST=${1:?PGHOST (socket directory)} PGPORT=${2:?PGPORT} SECONDS_RUN=${3:-15}
WORK=${WORK:-/tmp/kam-audit-cost}
DB=kam_audit_cost
PW="bench password 123"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT")

mkdir -p "$WORK"
cd "$WORK"
# The normal build, and a copy of the tree whose account show writes no audit entry.
cmake -S "$ROOT" -B rel -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build rel -j2 --target kamd kam-bench >/dev/null
rm -rf src-noaudit && mkdir src-noaudit
tar -C "$ROOT" --exclude='./build*' --exclude='./.git' --exclude='./.kam' -cf - . | tar -C src-noaudit -xf -
sed -i 's/rc = store_account_get(svc_store(), c->watch_account_id, e, on_account, c);/rc = store_account_get(svc_store(), c->watch_account_id, NULL, on_account, c);/' \
	src-noaudit/server/svc/account.c
grep -q 'watch_account_id, NULL, on_account' src-noaudit/server/svc/account.c || { echo "patch failed" >&2; exit 1; }
cmake -S src-noaudit -B rel-noaudit -DCMAKE_BUILD_TYPE=Release -DKAM_TESTS=OFF >/dev/null
cmake --build rel-noaudit -j2 --target kamd >/dev/null

[[ -f key.pem ]] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=localhost \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout key.pem -out cert.pem 2>/dev/null
chmod 600 key.pem
"${PSQL[@]}" -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB OWNER kam_admin"
port=$((20000 + RANDOM % 20000))
cat > kamd.conf <<EOF
listen = 127.0.0.1:$port
db = host=$PGHOST port=$PGPORT dbname=$DB user=kam_app
db_admin = host=$PGHOST port=$PGPORT dbname=$DB user=kam_admin
tls_cert = $WORK/cert.pem
tls_key = $WORK/key.pem
argon2_memory_kib = 8192
argon2_iterations = 1
bulk_read_limit = 0
log_level = warn
EOF
echo "$PW" | rel/kamd --config kamd.conf --bootstrap-gm admin >/dev/null
"${PSQL[@]}" -U postgres -d $DB -v accounts=2000 -v juniors=100 -v solutions=20 -v managers=10 -v sessions=0 \
	-v layers=true -v mbase=1 -v sbase=11 -v jbase=31 -f "$ROOT/tests/bench/sql/dataset.sql" >/dev/null
"${PSQL[@]}" -U postgres -d $DB -c "ANALYZE"

run() {   # run KAMD LABEL [config line]
	local kamd=$1 label=$2 pid
	cp kamd.conf run.conf
	[[ $# -ge 3 ]] && echo "$3" >> run.conf
	"$kamd" --config run.conf 2> "kamd-$label.log" &
	pid=$!
	for _ in $(seq 100); do grep -q "listening on" "kamd-$label.log" 2>/dev/null && break; sleep 0.1; done
	rel/tests/bench/kam-bench --server 127.0.0.1:$port --ca cert.pem --connections 8 --user-prefix bench \
		--user-count 8 --password "$PW" --mix read=100 --duration "$SECONDS_RUN" --warmup 3 --json > "res-$label.json"
	kill -TERM $pid
	wait $pid
	python3 -c "import json; t = json.load(open('res-$label.json'))['total']; \
print(f\"$label: {t['rps']:8.0f} requests/s  p50 {t['p50_ms']:.2f} ms  p99 {t['p99_ms']:.2f} ms  errors {t['errors']}\")"
}

chain() {   # the hash chain off (measurement only): the trigger, and the columns it fills
	if [[ $1 == off ]]; then
		"${PSQL[@]}" -U postgres -d $DB -c "ALTER TABLE audit_log DISABLE TRIGGER audit_log_chain" \
			-c "ALTER TABLE audit_log ALTER part DROP NOT NULL, ALTER seq DROP NOT NULL, ALTER hash DROP NOT NULL"
	else
		"${PSQL[@]}" -U postgres -d $DB -c "DELETE FROM audit_log WHERE part IS NULL" \
			-c "ALTER TABLE audit_log ALTER part SET NOT NULL, ALTER seq SET NOT NULL, ALTER hash SET NOT NULL" \
			-c "ALTER TABLE audit_log ENABLE TRIGGER audit_log_chain"
	fi
}

for round in 1 2; do
	run rel-noaudit/kamd "no audit write     #$round"
	run rel/kamd "audited (chained) #$round"
	chain off
	run rel/kamd "audited, no chain #$round"
	chain on
	run rel/kamd "audited + watch   #$round" "bulk_read_limit = 1000"
done
"${PSQL[@]}" -U postgres -d postgres -c "DROP DATABASE $DB WITH (FORCE)"
