#!/usr/bin/env bash
# deploy/local.sh — run KAM on this machine to try it: install missing Debian
# packages, build Release into build/, start a private PostgreSQL cluster
# (unix socket only, nothing on TCP), make a self-signed certificate, create
# the first GM and start kamd in the background. All state lives in .kam/.
# It is a developer's sandbox, not a production install (see deploy/README.md).
#
#   deploy/local.sh [up]     set everything up (idempotent) and start
#   deploy/local.sh stop     stop kamd, then the cluster
#   deploy/local.sh status   show both
#
# Environment: KAM_LISTEN (default 127.0.0.1:7433), KAM_GM (default admin),
# PG_BINDIR (default: newest /usr/lib/postgresql/*/bin).
#
# Sourced (tests/run.sh does), it only defines the helpers below, so the test
# runner and this script share one copy of the package and PostgreSQL code.
set -euo pipefail

KAM_SH=${KAM_SH:-local.sh}

# Everything the daemon and client need to build, plus the database server.
KAM_BUILD_PACKAGES=(build-essential cmake pkg-config libuv1-dev libprotobuf-c-dev
	protobuf-c-compiler libpq-dev libssl-dev libargon2-dev libjansson-dev
	postgresql openssl)

# ---------------------------------------------------------------- helpers --

say() { printf '%s: %s\n' "$KAM_SH" "$*"; }
warn() { printf '%s: warning: %s\n' "$KAM_SH" "$*" >&2; }
die() { printf '%s: error: %s\n' "$KAM_SH" "$*" >&2; exit 1; }

is_root() { [[ $(id -u) -eq 0 ]]; }

# Run a command as root: directly when we are root, else through sudo.
as_root() {
	if is_root; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		die "need root (or sudo) to run: $*"
	fi
}

# PostgreSQL refuses to run as root: as root, run its tools as the `postgres`
# OS user (created by the postgresql package); otherwise as ourselves. From /
# so a working directory the postgres user cannot enter does not matter.
as_pg() {
	if is_root; then
		(cd / && runuser -u postgres -- "$@")
	else
		(cd / && "$@")
	fi
}

# Install, with apt-get, those of the given Debian packages that are missing.
need_packages() {
	local missing=() p
	if ! command -v dpkg-query >/dev/null; then
		warn "not a Debian system: cannot check for packages ($*); continuing"
		return 0
	fi
	for p in "$@"; do
		if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) != installed ]]; then
			missing+=("$p")
		fi
	done
	((${#missing[@]} == 0)) && return 0
	say "installing missing packages: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Sets PGBIN to the PostgreSQL server binaries (initdb and pg_ctl are not on PATH on Debian).
find_pg_bindir() {
	local d
	if [[ -n ${PG_BINDIR:-} ]]; then
		PGBIN=$PG_BINDIR
	else
		PGBIN=
		# The newest installed major version wins.
		while read -r d; do
			[[ -x $d/initdb ]] && PGBIN=$d
		done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
	fi
	[[ -n $PGBIN && -x $PGBIN/initdb && -x $PGBIN/pg_ctl ]] ||
		die "PostgreSQL server binaries not found (install postgresql, or set PG_BINDIR)"
}

# The longest unix socket path the kernel accepts is 107 bytes.
PG_SOCKET_PATH_MAX=107

# pg_init DATA SOCKDIR PORT [SETTING...]: create a cluster in DATA (owned by
# the user as_pg runs as) if it has none, trust on the local socket only, no
# TCP at all; (re)write the settings KAM relies on into DATA/kam.conf.
pg_init() {
	local data=$1 sock=$2 port=$3
	shift 3
	local sockfile="$sock/.s.PGSQL.$port"
	((${#sockfile} <= PG_SOCKET_PATH_MAX)) ||
		die "socket path $sockfile is longer than $PG_SOCKET_PATH_MAX bytes; use a shorter checkout path"
	if [[ ! -f $data/PG_VERSION ]]; then
		say "creating a PostgreSQL cluster in $data"
		as_pg "$PGBIN/initdb" -D "$data" -U postgres -E UTF8 --no-locale \
			--auth-local=trust --auth-host=reject ${PG_INITDB_EXTRA:+"$PG_INITDB_EXTRA"} >/dev/null
		echo "include_if_exists = 'kam.conf'" | as_pg tee -a "$data/postgresql.conf" >/dev/null
	fi
	{
		echo "# Written by $KAM_SH on every start; edits are lost."
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$sock'"
		echo "port = $port"
		local s
		for s in "$@"; do echo "$s"; done
	} | as_pg tee "$data/kam.conf" >/dev/null
}

pg_running() { as_pg "$PGBIN/pg_ctl" -D "$1" status >/dev/null 2>&1; }

# pg_start DATA LOGFILE: start the cluster unless it runs; wait until it accepts connections.
pg_start() {
	local data=$1 log=$2
	pg_running "$data" && return 0
	as_pg "$PGBIN/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null ||
		{ tail -n 20 "$log" >&2 || true; die "PostgreSQL did not start (log: $log)"; }
}

# pg_stop DATA: fast shutdown (disconnects clients, no crash recovery needed).
pg_stop() {
	local data=$1
	pg_running "$data" || return 0
	as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null ||
		as_pg "$PGBIN/pg_ctl" -D "$data" -m immediate -w stop >/dev/null
}

# psql_super SOCKDIR PORT SQL: one statement as the superuser; prints the result unaligned.
psql_super() {
	"$PGBIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 -h "$1" -p "$2" -U postgres -d postgres -c "$3"
}

# pg_ensure_roles SOCKDIR PORT: the schema owner and the serving role, both able to log in.
pg_ensure_roles() {
	local r
	for r in kam_admin kam_app; do
		if [[ -z $(psql_super "$1" "$2" "SELECT 1 FROM pg_roles WHERE rolname = '$r'") ]]; then
			psql_super "$1" "$2" "CREATE ROLE $r LOGIN"
		fi
	done
}

# pg_ensure_db SOCKDIR PORT NAME: a database owned by the schema owner.
pg_ensure_db() {
	if [[ -z $(psql_super "$1" "$2" "SELECT 1 FROM pg_database WHERE datname = '$3'") ]]; then
		psql_super "$1" "$2" "CREATE DATABASE $3 OWNER kam_admin"
	fi
}

# ------------------------------------------------------------ local setup --

# The default port: the socket lives in a private directory, so it cannot clash.
LOCAL_PG_PORT=5432
# kamd drains for up to shutdown_grace (10 s) after SIGTERM; allow a margin.
KAMD_STOP_WAIT_S=20
# From start to "listening on", migrations included.
KAMD_START_WAIT_S=30
# Outside the checkout when the postgres user cannot reach it (e.g. under /root).
LOCAL_PG_FALLBACK=/var/lib/kam-local

local_vars() {
	ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
	STATE=$ROOT/.kam
	BUILD=$ROOT/build
	LISTEN=${KAM_LISTEN:-127.0.0.1:7433}
	GM=${KAM_GM:-admin}
	TLS=$STATE/tls
	CONF=$STATE/kamd.conf
	PIDFILE=$STATE/kamd.pid
	KAMD_LOG=$STATE/kamd.log
	GM_PW=$STATE/gm-password
	BIN_SUM=$STATE/kamd.sum
}

# Sets PGHOME (the real cluster directory), PGDATA_DIR and PGSOCK. .kam/pg is
# the cluster, or a symlink to it under $LOCAL_PG_FALLBACK.
locate_cluster() {
	local link=$STATE/pg hash
	if [[ -L $link ]]; then
		PGHOME=$(readlink -f "$link")
	elif [[ -d $link ]]; then
		PGHOME=$(cd "$link" && pwd -P)
	elif [[ ${1:-} == create ]]; then
		if is_root && ! as_pg test -x "$STATE"; then
			hash=$(printf '%s' "$ROOT" | sha256sum | cut -c1-16)
			PGHOME=$LOCAL_PG_FALLBACK/$hash
			say "the postgres user cannot reach $ROOT; the cluster goes to $PGHOME (.kam/pg links to it)"
			mkdir -p "$PGHOME"
			chmod 0755 "$LOCAL_PG_FALLBACK"
			ln -s "$PGHOME" "$link"
		else
			PGHOME=$link
			mkdir -p "$PGHOME"
		fi
		# initdb insists on 0700 data; the socket directory must be reachable by kamd.
		chmod 0700 "$PGHOME"
		is_root && chown postgres:postgres "$PGHOME"
		as_pg mkdir -p -m 0700 "$PGHOME/data"
		as_pg mkdir -p -m 0755 "$PGHOME/run"
	else
		return 1
	fi
	PGDATA_DIR=$PGHOME/data
	PGSOCK=$PGHOME/run
}

build_release() {
	local log=$STATE/build.log
	say "building Release into build/ (log: .kam/build.log)"
	mkdir -p "$STATE"
	{
		[[ -f $BUILD/CMakeCache.txt ]] ||
			cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DKAM_TESTS=OFF
		cmake --build "$BUILD" -j2 --target kamd kam
	} > "$log" 2>&1 || { tail -n 30 "$log" >&2; die "build failed (full log: $log)"; }
}

setup_cluster() {
	# As root the postgres user must traverse .kam to reach .kam/pg; the
	# secrets inside are files of mode 0600, so 0711 lists nothing to others.
	mkdir -p "$STATE"
	chmod 0711 "$STATE"
	locate_cluster create
	pg_init "$PGDATA_DIR" "$PGSOCK" "$LOCAL_PG_PORT"
	pg_start "$PGDATA_DIR" "$PGHOME/postgresql.log"
	pg_ensure_roles "$PGSOCK" "$LOCAL_PG_PORT"
	pg_ensure_db "$PGSOCK" "$LOCAL_PG_PORT" kam
	say "PostgreSQL is running (socket $PGSOCK, database kam)"
}

setup_tls() {
	[[ -f $TLS/cert.pem && -f $TLS/key.pem ]] && return 0
	say "generating a self-signed TLS certificate in .kam/tls/"
	mkdir -p "$TLS"
	chmod 0700 "$TLS"
	(umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 825 -nodes \
		-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$TLS/key.pem" -out "$TLS/cert.pem" 2>/dev/null)
	chmod 0600 "$TLS/key.pem"
	chmod 0644 "$TLS/cert.pem"
}

write_conf() {
	local tmp=$CONF.tmp
	cat > "$tmp" <<-EOF
	# Written by deploy/local.sh on every run; edits are lost. Every key is
	# described in deploy/kamd.conf.example.
	listen = $LISTEN
	db = "host=$PGSOCK port=$LOCAL_PG_PORT dbname=kam user=kam_app"
	db_admin = "host=$PGSOCK port=$LOCAL_PG_PORT dbname=kam user=kam_admin"
	tls_cert = $TLS/cert.pem
	tls_key = $TLS/key.pem
	audit_checkpoint_file = $STATE/audit.checkpoint
	EOF
	chmod 0600 "$tmp"
	mv "$tmp" "$CONF"
}

# The first GM, once: its password is generated and kept in .kam/gm-password.
bootstrap_gm() {
	local out rc=0
	[[ -s $GM_PW ]] && return 0
	(umask 077 && openssl rand -base64 18 > "$GM_PW.tmp")
	out=$("$BUILD/kamd" --config "$CONF" --bootstrap-gm "$GM" < "$GM_PW.tmp" 2>&1) || rc=$?
	if ((rc == 0)); then
		mv "$GM_PW.tmp" "$GM_PW"
		say "created the first GM '$GM'; password in $GM_PW"
		return 0
	fi
	rm -f "$GM_PW.tmp"
	if grep -qi 'exists' <<< "$out"; then
		warn "the database already has a GM, but $GM_PW is gone; log in with the GM's own password"
		return 0
	fi
	printf '%s\n' "$out" >&2
	die "could not create the first GM"
}

kamd_pid() {
	local pid
	[[ -f $PIDFILE ]] || return 1
	pid=$(cat "$PIDFILE")
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
		[[ $(cat "/proc/$pid/comm" 2>/dev/null) == kamd ]] || return 1
	echo "$pid"
}

# What a running kamd was started from: restart when the binary or the configuration changed.
kamd_fingerprint() { cat "$BUILD/kamd" "$CONF" | sha256sum | cut -d' ' -f1; }

start_kamd() {
	local pid i
	if pid=$(kamd_pid); then
		if [[ -f $BIN_SUM && $(cat "$BIN_SUM") == $(kamd_fingerprint) ]]; then
			say "kamd is already running (pid $pid)"
			return 0
		fi
		say "kamd or its configuration changed: restarting"
		stop_kamd
	fi
	[[ -f $KAMD_LOG ]] && mv -f "$KAMD_LOG" "$KAMD_LOG.1"
	kamd_fingerprint > "$BIN_SUM"
	nohup "$BUILD/kamd" --config "$CONF" < /dev/null > "$KAMD_LOG" 2>&1 &
	pid=$!
	echo "$pid" > "$PIDFILE"
	for ((i = 0; i < KAMD_START_WAIT_S * 5; i++)); do
		grep -q 'listening on' "$KAMD_LOG" && { say "kamd started (pid $pid), listening on $LISTEN"; return 0; }
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -TERM "$pid" 2>/dev/null || true
	rm -f "$PIDFILE"
	echo "---- last lines of $KAMD_LOG ----" >&2
	tail -n 20 "$KAMD_LOG" >&2 || true
	die "kamd did not start"
}

stop_kamd() {
	local pid i
	if ! pid=$(kamd_pid); then
		rm -f "$PIDFILE"
		say "kamd is not running"
		return 0
	fi
	kill -TERM "$pid"
	for ((i = 0; i < KAMD_STOP_WAIT_S * 5; i++)); do
		kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; say "kamd stopped"; return 0; }
		sleep 0.2
	done
	die "kamd (pid $pid) did not stop within $KAMD_STOP_WAIT_S s; see $KAMD_LOG"
}

print_login() {
	local pw="password: cat $GM_PW"
	[[ -s $GM_PW ]] || pw="use the GM's own password"
	cat <<-EOF

	KAM is running. To log in as the first GM:

	  export KAM_SERVER=$LISTEN KAM_CA=$TLS/cert.pem
	  build/kam login $GM          # $pw

	(or: build/kam login $GM --password-stdin < $GM_PW)
	Stop with: deploy/local.sh stop
	EOF
}

cmd_up() {
	need_packages "${KAM_BUILD_PACKAGES[@]}"
	find_pg_bindir
	build_release
	setup_cluster
	setup_tls
	write_conf
	bootstrap_gm
	start_kamd
	print_login
}

cmd_stop() {
	stop_kamd
	find_pg_bindir
	if locate_cluster && pg_running "$PGDATA_DIR"; then
		pg_stop "$PGDATA_DIR"
		say "PostgreSQL stopped"
	else
		say "PostgreSQL is not running"
	fi
}

cmd_status() {
	local pid rc=0
	if pid=$(kamd_pid); then
		say "kamd: running (pid $pid), listening on $(sed -n 's/^listen = //p' "$CONF" 2>/dev/null), log $KAMD_LOG"
	else
		say "kamd: not running"
		rc=3
	fi
	find_pg_bindir
	if locate_cluster && pg_running "$PGDATA_DIR"; then
		say "PostgreSQL: running (data $PGDATA_DIR, socket $PGSOCK)"
	elif locate_cluster; then
		say "PostgreSQL: not running (data $PGDATA_DIR)"
		rc=3
	else
		say "PostgreSQL: no cluster yet (run deploy/local.sh)"
		rc=3
	fi
	return "$rc"
}

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

main() {
	# Logs, keys and passwords in .kam/ are nobody else's business.
	umask 077
	local_vars
	cd "$ROOT"
	case ${1:-up} in
	up) cmd_up ;;
	stop) cmd_stop ;;
	status) cmd_status ;;
	-h | --help | help) usage ;;
	*) warn "unknown command $1"; usage >&2; exit 2 ;;
	esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
