#!/usr/bin/env bash
# tests/bench/run.sh — the KAM benchmark in one command: a throwaway PostgreSQL
# (durable by default: fsync and synchronous_commit on), kamd built Release in
# build-bench/, a generated data set, then at every client count:
#   1. kam-bench against kamd: audited reads, updates, and the default mix;
#   2. pgbench running the SQL kamd issues for an audited read and for an
#      update, one transaction per request, straight into PostgreSQL;
#   3. pgbench -S through PgBouncer in transaction pooling.
# Then a list page deep in the book against page 1, and the memory of idle
# connections. Prints the table with ratios and one line per target of issue
# 5 ("target NAME: R (goal G) met|missed"), and writes BENCH.md at the repository root.
# Everything listens on loopback or a private socket; every run is bounded.
#
#   tests/bench/run.sh [--accounts N] [--seconds S] [--clients LIST] [--hold N]
#                      [--pool N] [--no-watch] [--no-fsync] [--perf] [--soak S]
#                      [--note TEXT] [--out FILE] [--keep]
#     --accounts N    accounts in the data set (default 10000; 100000 and
#                     1000000 are the sizes of the issue; at least 1000)
#     --seconds S     length of each measured run (default 10)
#     --clients LIST  client counts, comma-separated (default 8,32)
#     --hold N        idle TLS connections for the memory target (default
#                     5000; 0 skips it)
#     --pool N        kamd's db_pool_size and PgBouncer's pool (default 4)
#     --no-watch      kamd without the bulk-read watch (bulk_read_limit = 0),
#                     and pgbench's read script without its call
#     --no-fsync      fsync, synchronous_commit and full_page_writes off
#     --perf          once more, audited reads at the last client count under
#                     perf record (kamd, kam-bench, PostgreSQL): where the CPU goes
#     --soak S        one mixed run (read/update/list 70/20/10) of S seconds
#                     at the last client count, for the flat-memory target
#                     (600 is the issue's); kamd's RSS at its start and end
#     --note TEXT     a line for BENCH.md (e.g. what else ran on the machine)
#     --out FILE      where to write the report (default BENCH.md at the repository root)
#     --keep          keep the temporary directory (logs, results)
#
# Needs root or sudo for missing Debian packages (pgbouncer among them);
# PostgreSQL and PgBouncer run as the postgres OS user when run as root.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$HERE/../.." && pwd -P)
# shellcheck disable=SC2034 # read by the helpers in local.sh
KAM_SH=bench/run.sh
# shellcheck source=../../deploy/local.sh
source "$ROOT/deploy/local.sh"

BUILD=$ROOT/build-bench
BENCH_BIN=$BUILD/tests/bench/kam-bench
BENCH_PACKAGES=(pgbouncer python3)
PERF_PACKAGES=(linux-perf)
JOBS=2
PG_PORT=5432
# The database kamd serves and the one pgbench -S uses.
KAM_DB=kam
PGB_DB=pgb
# Room for the benchmark's connections; the data fits in memory; no checkpoint mid-run.
PG_SETTINGS=("max_connections = 300" "shared_buffers = 1GB" "max_wal_size = 8GB" "checkpoint_timeout = 30min"
	"log_min_messages = warning")
PG_NO_FSYNC=("fsync = off" "synchronous_commit = off" "full_page_writes = off")
# Accounts a junior rep works at most: the bulk-read watch's default limit.
ACCOUNTS_PER_JUNIOR=30
JUNIORS_PER_SOLUTION=3
JUNIORS_PER_MANAGER=8
# The watch as kamd configures it by default (server/config.c).
WATCH_LIMIT=30
WATCH_WINDOW=600
WARMUP_S=1
# The list target: this page of 50, or the last one of a smaller book.
LIST_PAGE=1000
LIST_LIMIT=50
HOLD_SECONDS=3
# perf's sampling rate: enough samples in a few seconds, little overhead.
PERF_HZ=499
KAMD_START_S=60
KAMD_STOP_S=30

ACCOUNTS=10000
SECONDS_RUN=10
CLIENTS=8,32
HOLD=5000
POOL=4
WATCH=1
FSYNC=1
NOTE=
OUT=$HERE/../../BENCH.md
KEEP=0
PERF=0
SOAK=0

TMP=
PGDATA_DIR=
KAMD_PID=
BOUNCER_PID=

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

cleanup() {
	if [[ -n $KAMD_PID ]]; then
		kill -TERM "$KAMD_PID" 2>/dev/null || true
		wait_gone "$KAMD_PID" "$KAMD_STOP_S" || kill -KILL "$KAMD_PID" 2>/dev/null || true
		wait "$KAMD_PID" 2>/dev/null || true
		KAMD_PID=
	fi
	if [[ -n $BOUNCER_PID ]]; then
		kill -TERM "$BOUNCER_PID" 2>/dev/null || true
		wait_gone "$BOUNCER_PID" 10 || warn "PgBouncer (pid $BOUNCER_PID) did not stop"
		BOUNCER_PID=
	fi
	if [[ -n $PGDATA_DIR ]]; then
		pg_stop "$PGDATA_DIR" || warn "could not stop the benchmark cluster"
		PGDATA_DIR=
	fi
	if [[ -n $TMP && -d $TMP ]]; then
		if ((KEEP)); then
			say "kept $TMP"
		else
			rm -rf -- "$TMP"
		fi
		TMP=
	fi
}

# wait_gone PID SECONDS: true once the process has exited (a child of ours may linger as a zombie).
wait_gone() {
	local i state
	for ((i = 0; i < $2 * 10; i++)); do
		state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
		[[ $state == Z ]] && return 0
		sleep 0.1
	done
	return 1
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

psql_db() {
	"$PGBIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 -h "$TMP/run" -p "$PG_PORT" -U postgres -d "$1" "${@:2}"
}

build() {
	local log=$TMP/build.log
	say "building Release into build-bench/ (log: build-bench/build.log)"
	{
		[[ -f $BUILD/CMakeCache.txt ]] || cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release
		cmake --build "$BUILD" -j"$JOBS" --target kamd kam-bench
	} > "$log" 2>&1 || { tail -n 30 "$log" >&2; die "build failed"; }
	cp "$log" "$BUILD/build.log"
}

start_cluster() {
	local settings=("${PG_SETTINGS[@]}")
	((FSYNC)) || settings+=("${PG_NO_FSYNC[@]}")
	as_pg mkdir -m 0700 "$TMP/data"
	as_pg mkdir -m 0755 "$TMP/run"
	PGDATA_DIR=$TMP/data
	PG_INITDB_EXTRA=--no-sync pg_init "$PGDATA_DIR" "$TMP/run" "$PG_PORT" "${settings[@]}"
	pg_start "$PGDATA_DIR" "$TMP/postgresql.log"
	pg_ensure_roles "$TMP/run" "$PG_PORT"
	pg_ensure_db "$TMP/run" "$PG_PORT" "$KAM_DB"
	psql_super "$TMP/run" "$PG_PORT" "CREATE DATABASE $PGB_DB"
}

make_secrets() {
	(umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 2 -nodes \
		-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null)
	(umask 077 && openssl rand -base64 18 > "$TMP/password")
}

write_kamd_conf() {
	local conn="host=$TMP/run port=$PG_PORT dbname=$KAM_DB"
	local max=$((HOLD + 200 > 1024 ? HOLD + 200 : 1024))
	cat > "$TMP/kamd.conf" <<-EOF
	# Written by tests/bench/run.sh for one benchmark run.
	listen = 127.0.0.1:$KAMD_PORT
	db = "$conn user=kam_app"
	db_admin = "$conn user=kam_admin"
	tls_cert = $TMP/cert.pem
	tls_key = $TMP/key.pem
	db_pool_size = $POOL
	max_connections = $max
	max_connections_per_address = $max
	# Every connection logs in from 127.0.0.1 at once, and a login in progress counts
	# against the address until its password checks out (server/svc/throttle.c).
	login_failures_per_minute = 100000
	login_failures_per_hour = 100000
	EOF
	((WATCH)) || echo "bulk_read_limit = 0" >> "$TMP/kamd.conf"
}

# Sets GEN_S. The users and their ids follow the shape in sql/dataset.sql.
load_dataset() {
	local t0 layers=false max_clients
	JUNIORS=$(((ACCOUNTS + ACCOUNTS_PER_JUNIOR - 1) / ACCOUNTS_PER_JUNIOR))
	max_clients=$(tr ',' '\n' <<< "$CLIENTS" | sort -n | tail -n 1)
	((JUNIORS >= max_clients)) || JUNIORS=$max_clients
	SOLUTIONS=$(((JUNIORS + JUNIORS_PER_SOLUTION - 1) / JUNIORS_PER_SOLUTION))
	MANAGERS=$(((JUNIORS + JUNIORS_PER_MANAGER - 1) / JUNIORS_PER_MANAGER))
	MBASE=1000
	SBASE=$((MBASE + MANAGERS))
	JBASE=$((SBASE + SOLUTIONS))
	[[ -n $(psql_db "$KAM_DB" -c "SELECT to_regclass('barriers')") ]] && layers=true
	say "generating $ACCOUNTS accounts, $JUNIORS junior reps, $SOLUTIONS solution reps, $MANAGERS managers (layers: $layers)"
	t0=$(date +%s.%N)
	psql_db "$KAM_DB" -1 -v accounts="$ACCOUNTS" -v juniors="$JUNIORS" -v solutions="$SOLUTIONS" \
		-v managers="$MANAGERS" -v mbase="$MBASE" -v sbase="$SBASE" -v jbase="$JBASE" \
		-v sessions="$max_clients" -v layers="$layers" -f "$HERE/sql/dataset.sql" > /dev/null ||
		die "generating the data set failed"
	psql_db "$KAM_DB" -c "VACUUM ANALYZE" > /dev/null
	GEN_S=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
	say "data set generated in $GEN_S s"
}

start_kamd() {
	local i
	"$BUILD/kamd" --config "$TMP/kamd.conf" < /dev/null > "$TMP/kamd.log" 2>&1 &
	KAMD_PID=$!
	for ((i = 0; i < KAMD_START_S * 10; i++)); do
		grep -q 'listening on' "$TMP/kamd.log" && return 0
		kill -0 "$KAMD_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$TMP/kamd.log" >&2
	die "kamd did not start"
}

start_bouncer() {
	local scale=$(((ACCOUNTS + 99999) / 100000))
	say "pgbench -i -s $scale for pgbench -S; PgBouncer on 127.0.0.1:$BOUNCER_PORT, transaction pooling, pool $POOL"
	"$PGBIN/pgbench" -i -q -s "$scale" -h "$TMP/run" -p "$PG_PORT" -U postgres "$PGB_DB" > "$TMP/pgbench-init.log" 2>&1 ||
		{ tail -n 20 "$TMP/pgbench-init.log" >&2; die "pgbench -i failed"; }
	as_pg mkdir -m 0755 "$TMP/bouncer"
	as_pg tee "$TMP/bouncer/pgbouncer.ini" > /dev/null <<-EOF
	[databases]
	$PGB_DB = host=$TMP/run port=$PG_PORT dbname=$PGB_DB user=postgres
	[pgbouncer]
	listen_addr = 127.0.0.1
	listen_port = $BOUNCER_PORT
	unix_socket_dir =
	auth_type = any
	pool_mode = transaction
	default_pool_size = $POOL
	max_client_conn = 1000
	logfile = $TMP/bouncer/pgbouncer.log
	pidfile = $TMP/bouncer/pgbouncer.pid
	EOF
	as_pg /usr/sbin/pgbouncer -d "$TMP/bouncer/pgbouncer.ini" ||
		{ tail -n 20 "$TMP/bouncer/pgbouncer.log" >&2 || true; die "PgBouncer did not start"; }
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -s $TMP/bouncer/pgbouncer.pid ]] && break
		sleep 0.1
	done
	BOUNCER_PID=$(cat "$TMP/bouncer/pgbouncer.pid")
}

# bench_start NAME ARGS...: one kam-bench run into $RES/NAME.json, in the background (BENCH_PID).
bench_start() {
	local name=$1
	shift
	"$BENCH_BIN" --server "127.0.0.1:$KAMD_PORT" --ca "$TMP/cert.pem" --password-file "$TMP/password" \
		--server-pid "$KAMD_PID" --json "$@" > "$RES/$name.json" 2> "$RES/$name.err" &
	BENCH_PID=$!
}

# bench_wait NAME: a run with errors is kept (the report shows them); one that could not start stops everything.
bench_wait() {
	local name=$1 rc=0
	wait "$BENCH_PID" || rc=$?
	if ((rc == 1)); then
		warn "kam-bench $name: some requests failed (see the table)"
	elif ((rc != 0)); then
		cat "$RES/$name.err" >&2
		tail -n 20 "$TMP/kamd.log" >&2
		die "kam-bench $name failed (exit $rc)"
	fi
}

kam_bench() {
	bench_start "$@"
	bench_wait "$1"
}

# kam_load NAME CLIENTS ARGS...: a load run as junior reps bench1..benchCLIENTS.
kam_load() {
	local name=$1 clients=$2
	shift 2
	say "kam-bench $name, $clients clients, $SECONDS_RUN s"
	kam_bench "$name-c$clients" --connections "$clients" --user-prefix bench --user-count "$clients" \
		--warmup "$WARMUP_S" --duration "$SECONDS_RUN" "$@"
}

# The audited reads at CLIENTS again, with perf recording kamd, kam-bench and PostgreSQL during the
# window only (not the logins: argon2 would drown everything else): CPU by process, and kamd's and
# PostgreSQL's hot spots.
profile_reads() {
	local c=$1 name=perf-read-c$1 i pids
	say "kam-bench audited reads, $c clients, $SECONDS_RUN s, under perf record -g"
	bench_start "$name" --connections "$c" --user-prefix bench --user-count "$c" --warmup "$WARMUP_S" \
		--duration "$SECONDS_RUN" --mix read=100
	for ((i = 0; i < KAMD_START_S * 10; i++)); do
		grep -q 'measuring' "$RES/$name.err" 2>/dev/null && break
		kill -0 "$BENCH_PID" 2>/dev/null || break
		sleep 0.1
	done
	# Only this benchmark's processes: kamd, kam-bench and every process of our cluster (the
	# backends of kamd's pool, the WAL writer ...); other kamd and postgres on the machine stay out.
	pids=$KAMD_PID,$BENCH_PID,$(head -n 1 "$PGDATA_DIR/postmaster.pid")
	pids+=$(pgrep -P "$(head -n 1 "$PGDATA_DIR/postmaster.pid")" | sed 's/^/,/' | tr -d '\n')
	perf record -F "$PERF_HZ" -g -p "$pids" -o "$TMP/perf.data" -- sleep "$SECONDS_RUN" > "$TMP/perf.log" 2>&1 ||
		warn "perf record failed (see $TMP/perf.log)"
	bench_wait "$name"
	[[ -s $TMP/perf.data ]] || return 0
	perf report -i "$TMP/perf.data" --stdio --no-children --sort comm --percent-limit 1 -g none \
		> "$RES/perf-comm.txt" 2> /dev/null || true
	perf report -i "$TMP/perf.data" --stdio --no-children --comm kamd --percentage relative --sort dso,sym \
		--percent-limit 1 -g none > "$RES/perf-kamd.txt" 2> /dev/null || true
	perf report -i "$TMP/perf.data" --stdio --no-children --comm postgres --percentage relative --sort sym \
		--percent-limit 1.5 -g none > "$RES/perf-postgres.txt" 2> /dev/null || true
}

# pg_bench NAME ARGS...: one pgbench run into $RES/NAME.json (tps, average latency, failures).
pg_bench() {
	local name=$1 out
	shift
	out=$RES/$name.txt
	"$PGBIN/pgbench" -n -j 1 -T "$SECONDS_RUN" "$@" > "$out" 2>&1 ||
		{ tail -n 20 "$out" >&2; die "pgbench $name failed"; }
	python3 - "$out" > "$RES/$name.json" <<-'EOF'
	import json, re, sys
	text = open(sys.argv[1]).read()
	def num(pattern):
	    m = re.search(pattern, text)
	    return float(m.group(1)) if m else None
	print(json.dumps({"tps": num(r"tps = ([0-9.]+) \(without"), "latency_avg_ms": num(r"latency average = ([0-9.]+) ms"),
	                  "transactions": num(r"actually processed: ([0-9]+)"),
	                  "failed": num(r"number of failed transactions: ([0-9]+)") or 0}))
	EOF
}

pg_script() {
	local name=$1 clients=$2 script=$3
	say "pgbench $name (kamd's SQL, one transaction per request), $clients clients, $SECONDS_RUN s"
	pg_bench "$name-c$clients" -M prepared -c "$clients" -f "$HERE/sql/$script" -D jbase="$JBASE" \
		-D juniors="$JUNIORS" -D accounts="$ACCOUNTS" -D watch="$WATCH" -D watch_limit="$WATCH_LIMIT" \
		-D watch_window="$WATCH_WINDOW" -h "$TMP/run" -p "$PG_PORT" -U kam_app "$KAM_DB"
}

run_clients() {
	local c
	for c in ${CLIENTS//,/ }; do
		kam_load kam-read "$c" --mix read=100
		kam_load kam-update "$c" --mix update=100
		kam_load kam-mix "$c" --mix read=70,update=20,list=10
		pg_script pg-read "$c" read.pgbench
		pg_script pg-update "$c" update.pgbench
		say "pgbench -S through PgBouncer, $c clients, $SECONDS_RUN s"
		pg_bench "bouncer-c$c" -S -c "$c" -h 127.0.0.1 -p "$BOUNCER_PORT" -U postgres "$PGB_DB"
	done
	((PERF)) && profile_reads "$c"
	return 0
}

# The GM lists page 1 and page LIST_PAGE (or the last page) of 50: keyset paging keeps them equal.
run_paging() {
	local c=${CLIENTS%%,*}
	PAGE=$((ACCOUNTS / LIST_LIMIT < LIST_PAGE ? ACCOUNTS / LIST_LIMIT : LIST_PAGE))
	say "kam-bench list page 1 and page $PAGE as the GM, $c clients, $SECONDS_RUN s each"
	kam_bench list-p1 --connections "$c" --users gm --mix list=100 --warmup "$WARMUP_S" --duration "$SECONDS_RUN"
	kam_bench list-deep --connections "$c" --users gm --mix list=100 --warmup "$WARMUP_S" \
		--duration "$SECONDS_RUN" --list-after $(((PAGE - 1) * LIST_LIMIT))
}

# kamd's memory over one long mixed run: it must stay flat (the report's memory_flat_pct).
run_soak() {
	local c=${CLIENTS##*,}
	((SOAK > 0)) || return 0
	say "kam-bench soak: mix read/update/list 70/20/10, $c clients, $SOAK s, kamd's RSS at start and end"
	kam_bench "soak-c$c" --connections "$c" --user-prefix bench --user-count "$c" --warmup "$WARMUP_S" \
		--duration "$SOAK" --mix read=70,update=20,list=10
}

run_hold() {
	((HOLD > 0)) || return 0
	say "kam-bench --hold $HOLD: idle TLS connections, kamd's RSS"
	kam_bench hold --users bench1 --hold "$HOLD" --hold-seconds "$HOLD_SECONDS" --timeout 300
}

# The run's parameters and the machine, for the report (values pass through the environment).
write_meta() {
	M_CPU=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1) \
	M_MEM=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) \
	M_KERNEL=$(uname -r) M_DEBIAN=$(cat /etc/debian_version 2>/dev/null || echo unknown) \
	M_PG=$("$PGBIN/postgres" --version | sed 's/^postgres (PostgreSQL) //') \
	M_BOUNCER=$(/usr/sbin/pgbouncer --version | head -n 1 | sed 's/^PgBouncer //') \
	M_COMMIT=$(commit_id) M_NOTE=$NOTE M_CLIENTS=$CLIENTS \
	python3 - "$RES/meta.json" "$ACCOUNTS" "$SECONDS_RUN" "$HOLD" "$POOL" "$WATCH" "$FSYNC" "$GEN_S" \
		"$PAGE" "$JUNIORS" "$SOAK" <<-'EOF'
	import json, os, sys, time
	out, accounts, seconds, hold, pool, watch, fsync, gen, page, juniors, soak = sys.argv[1:]
	e = os.environ
	json.dump({
	    "accounts": int(accounts), "seconds": int(seconds), "hold": int(hold), "pool": int(pool), "soak": int(soak),
	    "watch": watch == "1", "fsync": fsync == "1", "generation_s": float(gen), "list_page": int(page),
	    "juniors": int(juniors), "clients": [int(c) for c in e["M_CLIENTS"].split(",")], "note": e["M_NOTE"],
	    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
	    "machine": {"cpu": e["M_CPU"], "cores": os.cpu_count(), "memory": e["M_MEM"], "kernel": e["M_KERNEL"],
	                "debian": e["M_DEBIAN"]},
	    "postgresql": e["M_PG"], "pgbouncer": e["M_BOUNCER"], "commit": e["M_COMMIT"],
	}, open(out, "w"), indent=2)
	EOF
}

# The checked-out commit, read from .git without running git.
commit_id() {
	local head ref
	head=$(cat "$ROOT/.git/HEAD" 2>/dev/null) || { echo unknown; return; }
	if [[ $head == ref:* ]]; then
		ref=${head#ref: }
		cat "$ROOT/.git/$ref" 2>/dev/null || grep " $ref\$" "$ROOT/.git/packed-refs" 2>/dev/null | cut -c1-40 ||
			echo unknown
	else
		echo "$head"
	fi
}

# in_range VALUE LO HI: a whole number within [LO, HI].
in_range() {
	[[ $1 =~ ^[0-9]{1,9}$ ]] || return 1
	(($1 >= $2 && $1 <= $3))
}

parse_args() {
	while (($#)); do
		case $1 in
		--accounts | --seconds | --clients | --hold | --pool | --note | --out | --soak)
			[[ $# -ge 2 ]] || { warn "$1 needs a value"; usage >&2; exit 2; } ;;
		esac
		case $1 in
		--accounts) ACCOUNTS=$2; shift ;;
		--seconds) SECONDS_RUN=$2; shift ;;
		--clients) CLIENTS=$2; shift ;;
		--hold) HOLD=$2; shift ;;
		--pool) POOL=$2; shift ;;
		--note) NOTE=$2; shift ;;
		--out) OUT=$2; shift ;;
		--no-watch) WATCH=0 ;;
		--no-fsync) FSYNC=0 ;;
		--keep) KEEP=1 ;;
		--perf) PERF=1 ;;
		--soak) SOAK=$2; shift ;;
		-h | --help) usage; exit 0 ;;
		*) warn "unknown option $1"; usage >&2; exit 2 ;;
		esac
		shift
	done
	in_range "$ACCOUNTS" 1000 10000000 || { warn "--accounts wants a number from 1000 to 10000000"; exit 2; }
	in_range "$SECONDS_RUN" 1 3600 || { warn "--seconds wants whole seconds from 1 to 3600"; exit 2; }
	in_range "$HOLD" 0 50000 || { warn "--hold wants a number up to 50000"; exit 2; }
	in_range "$POOL" 1 64 || { warn "--pool wants 1 to 64"; exit 2; }
	in_range "$SOAK" 0 7200 || { warn "--soak wants whole seconds up to 7200"; exit 2; }
	[[ $CLIENTS =~ ^[0-9]+(,[0-9]+)*$ ]] || { warn "--clients wants counts like 8,32"; exit 2; }
	local c
	for c in ${CLIENTS//,/ }; do
		in_range "$c" 1 250 || { warn "client counts go from 1 to 250"; exit 2; }
	done
}

main() {
	parse_args "$@"
	cd "$ROOT"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	need_packages "${KAM_BUILD_PACKAGES[@]}" "${BENCH_PACKAGES[@]}"
	((PERF)) && need_packages "${PERF_PACKAGES[@]}"
	find_pg_bindir
	# 5000 idle connections need as many descriptors in kamd and in kam-bench.
	ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
	TMP=$(mktemp -d /tmp/kam-bench.XXXXXX)
	chmod 0755 "$TMP"
	is_root && chown postgres:postgres "$TMP"
	RES=$TMP/results
	mkdir -p "$RES"
	build
	KAMD_PORT=$(free_port)
	BOUNCER_PORT=$(free_port)
	start_cluster
	make_secrets
	write_kamd_conf
	"$BUILD/kamd" --config "$TMP/kamd.conf" --bootstrap-gm gm < "$TMP/password" > "$TMP/bootstrap.log" 2>&1 ||
		{ cat "$TMP/bootstrap.log" >&2; die "kamd --bootstrap-gm failed"; }
	load_dataset
	start_kamd
	start_bouncer
	say "kamd pid $KAMD_PID on 127.0.0.1:$KAMD_PORT; PostgreSQL $(basename "$(dirname "$PGBIN")") in $TMP"
	run_clients
	run_paging
	run_soak   # before the hold: 5000 connections' memory would hide any growth
	run_hold
	write_meta
	mkdir -p "$BUILD/bench-results"
	python3 "$HERE/report.py" "$RES" --out "$OUT" --history "$BUILD/bench-results"
}

main "$@"
