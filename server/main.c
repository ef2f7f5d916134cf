/*
 * kamd's start-up and shutdown: options and configuration, --bootstrap-gm,
 * migrations, TLS, the event loop, signals (SIGTERM drains, SIGHUP reloads
 * the certificate). Start-up failures are one "kamd: " line and an exit
 * code; once the loop runs, nothing here exits the process.
 */
#include <assert.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/resource.h>

#include <openssl/crypto.h>
#include <protobuf-c/protobuf-c.h>
#include <uv.h>

#include "config.h"
#include "db/store.h"
#include "log.h"
#include "model.h"
#include "net/net.h"
#include "svc/svc.h"
#include "tls.h"

#define EXIT_CONFIG 2   /* bad options or configuration */
#define EXIT_RUNTIME 1  /* the configuration is fine but something it names is not */

/* How often a drain checks whether in-flight work has finished. */
#define KAMD_DRAIN_POLL_MS 100
/* An argon2id PHC string is about 100 bytes; room to spare for larger parameters. */
#define KAMD_HASH_MAX 256
/* Descriptors beyond the connections: listener, loop, signals, log, the database pool. */
#define KAMD_FD_SPARE 64
/* Connections past max_connections that still get a BUSY answer (net/session.c). */
#define KAMD_FD_BUSY 64
/* Flags that set configuration keys; each may be given once per key it names. */
#define KAMD_MAX_FLAGS 16

enum {
	OPT_LISTEN = 256,
	OPT_DB,
	OPT_DB_ADMIN,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_BOOTSTRAP_GM,
};

/* Long flags that are configuration keys under another spelling. */
static const struct {
	int opt;
	const char *key;
} flag_keys[] = {
	{ OPT_LISTEN, "listen" },
	{ OPT_DB, "db" },
	{ OPT_DB_ADMIN, "db_admin" },
	{ OPT_TLS_CERT, "tls_cert" },
	{ OPT_TLS_KEY, "tls_key" },
};

static const struct option long_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "db", required_argument, NULL, OPT_DB },
	{ "db-admin", required_argument, NULL, OPT_DB_ADMIN },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "bootstrap-gm", required_argument, NULL, OPT_BOOTSTRAP_GM },
	{ "test", no_argument, NULL, 't' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Everything the daemon holds, in one static so it stays reachable until exit. */
static struct kamd {
	struct kamd_config cfg;
	uv_loop_t loop;
	uv_signal_t sigs[3];
	int n_sigs;
	uv_timer_t drain_timer;
	bool drain_timer_up;
	uv_timer_t checkpoint_timer;     /* audit and churn (issue 4): signed audit checkpoints */
	bool checkpoint_timer_up;
	struct net_tls *tls;
	struct net *net;
	struct store *store;
	struct store_listen *listen;     /* faults and scale-out (issue 7): revocations heard at once */
	bool svc_up;
	bool draining;
	bool stopping;
	uint64_t drain_deadline_ms;
} kamd;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: kamd [OPTIONS]\n"
		"The KAM key-account daemon: serves kam clients over TLS from PostgreSQL.\n"
		"\n"
		"Options (flags override the configuration file):\n"
		"  -c, --config FILE        read key = value settings from FILE\n"
		"      --listen HOST:PORT   address to listen on (default 127.0.0.1:7433)\n"
		"      --db CONNINFO        PostgreSQL connection of the serving role (required)\n"
		"      --db-admin CONNINFO  schema owner used to apply migrations (recommended)\n"
		"      --tls-cert FILE      PEM certificate chain (required to serve)\n"
		"      --tls-key FILE       PEM private key (required to serve)\n"
		"      --bootstrap-gm USER  create the first GM, password read from stdin, and exit\n"
		"  -t, --test               check the configuration and certificate, then exit\n"
		"  -V, --version            print versions and exit\n"
		"  -h, --help               print this help and exit\n"
		"\n"
		"Signals: SIGTERM/SIGINT drain in-flight requests and exit; SIGHUP reloads the\n"
		"TLS certificate and key. See deploy/kamd.conf.example for every setting.\n");
}

static void print_version(void)
{
	printf("kamd %s\n", KAM_VERSION);
	printf("libuv %s\n", uv_version_string());
	printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("libpq %s\n", store_libpq_version());
	printf("protobuf-c %s\n", protobuf_c_version());
}

/* One line on stderr, the way every start-up failure is reported. */
static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("kamd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static void svc_config_from(const struct kamd_config *c, struct svc_config *out)
{
	out->argon2_m_kib = c->argon2_m_kib;
	out->argon2_t = c->argon2_t;
	out->argon2_p = c->argon2_p;
	out->lockout_threshold = c->login_lockout_threshold;
	out->lockout_initial_s = c->login_lockout_initial_s;
	out->lockout_max_s = c->login_lockout_max_s;
	out->failures_per_hour = c->login_failures_per_hour;
	out->failures_per_minute = c->login_failures_per_minute;
	out->bulk_read_limit = (uint32_t)c->bulk_read_limit;        /* audit and churn (issue 4) */
	out->bulk_read_limit_manager = (uint32_t)c->bulk_read_limit_manager;
	out->bulk_read_window_s = (uint32_t)c->bulk_read_window_s;
}

/*
 * libuv's thread pool runs the password hashes, so its size is the number of
 * hashes at once, each holding argon2_memory_kib: the bound on what a login
 * storm can cost. libuv reads UV_THREADPOOL_SIZE when the pool first starts,
 * which is after this; the configuration wins over the environment.
 */
/*
 * max_connections (plus those answered BUSY) needs as many descriptors: raise
 * the soft limit towards the hard one, and say so when even that is too low,
 * rather than fail accepts with EMFILE under load.
 */
static void raise_fd_limit(const struct kamd_config *c)
{
	rlim_t need = (rlim_t)c->max_connections + KAMD_FD_BUSY + (rlim_t)c->db_pool_size + KAMD_FD_SPARE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < need)
		log_warn("only %llu file descriptors for max_connections %d: raise the limit (LimitNOFILE=) "
			 "or lower max_connections", (unsigned long long)rl.rlim_cur, c->max_connections);
}

static void bound_hashing(const struct kamd_config *c)
{
	char n[16];

	snprintf(n, sizeof(n), "%d", c->hash_threads);
	if (setenv("UV_THREADPOOL_SIZE", n, 1) != 0)
		log_warn("cannot set UV_THREADPOOL_SIZE; libuv's default of 4 hashing threads applies");
	work_limit((size_t)c->hash_threads + (size_t)c->hash_queue);
	log_info("password hashing: at most %d at once (%llu MiB of argon2 memory), %d more waiting",
		 c->hash_threads, (unsigned long long)c->hash_threads * c->argon2_m_kib / 1024,
		 c->hash_queue);
}

/* ---- --bootstrap-gm ---- */

/* One line from stdin, trailing newline stripped. Returns 0, or an exit code after printing why. */
static int read_password(char *buf, size_t cap)
{
	size_t n;

	if (!fgets(buf, (int)cap, stdin))
		return fail(EXIT_CONFIG, "--bootstrap-gm: no password on standard input");
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (!feof(stdin))
		return fail(EXIT_CONFIG, "--bootstrap-gm: password longer than %d characters", KAM_MAX_PASSWORD);
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (n < KAM_MIN_PASSWORD)
		return fail(EXIT_CONFIG, "--bootstrap-gm: password must be at least %d characters", KAM_MIN_PASSWORD);
	if (n > KAM_MAX_PASSWORD)
		return fail(EXIT_CONFIG, "--bootstrap-gm: password longer than %d characters", KAM_MAX_PASSWORD);
	return 0;
}

static int bootstrap_gm(const struct kamd_config *c)
{
	/* +3: the newline, a carriage return and the NUL around the longest password. */
	char password[KAM_MAX_PASSWORD + 3];
	char hash[KAMD_HASH_MAX];
	char why[512];
	struct svc_config sc;
	int code, err;

	code = read_password(password, sizeof(password));
	if (code)
		goto out;
	if (store_migrate(c->db, c->db_admin, why, sizeof(why)) != 0) {
		code = fail(EXIT_RUNTIME, "%s", why);
		goto out;
	}
	svc_config_from(c, &sc);
	if (svc_password_hash(&sc, password, hash, sizeof(hash)) != 0) {
		code = fail(EXIT_RUNTIME, "--bootstrap-gm: cannot hash the password");
		goto out;
	}
	err = store_bootstrap_gm(c->db, c->bootstrap_gm, hash, why, sizeof(why));
	if (err == KAM_ECONFLICT) {
		code = fail(EXIT_RUNTIME, "a GM already exists; --bootstrap-gm only creates the first one");
		goto out;
	}
	if (err) {
		code = fail(EXIT_RUNTIME, "%s", why);
		goto out;
	}
	printf("kamd: created GM %s\n", c->bootstrap_gm);
	code = 0;
out:
	explicit_bzero(password, sizeof(password));
	explicit_bzero(hash, sizeof(hash));
	return code;
}

/* ---- the serving loop ---- */

static int load_tls(const struct kamd_config *c, struct net_tls **out, const char **why)
{
	struct tls_ctx *ctx = NULL;
	int err = tls_ctx_server_new(c->tls_cert, c->tls_key, &ctx, why);

	if (err)
		return err;
	err = net_tls_new(ctx, out);
	if (err)
		*why = "out of memory";
	return err;
}

static void on_handle_closed(uv_handle_t *h)
{
	(void)h;
}

static void after_store(void *arg)
{
	struct kamd *k = arg;

	if (k->svc_up) {
		svc_shutdown();
		k->svc_up = false;
	}
	for (int i = 0; i < k->n_sigs; i++)
		uv_close((uv_handle_t *)&k->sigs[i], on_handle_closed);
	k->n_sigs = 0;
	if (k->drain_timer_up) {
		uv_close((uv_handle_t *)&k->drain_timer, on_handle_closed);
		k->drain_timer_up = false;
	}
	if (k->checkpoint_timer_up) {
		uv_close((uv_handle_t *)&k->checkpoint_timer, on_handle_closed);
		k->checkpoint_timer_up = false;
	}
	svc_checkpoint_free();
}

static void close_store(void *arg)
{
	struct kamd *k = arg;

	store_listen_close(k->listen);   /* it reads the store's settings: first */
	k->listen = NULL;
	if (k->store)
		store_close(k->store, after_store, k);
	else
		after_store(k);
}

static void after_net(void *arg)
{
	struct kamd *k = arg;

	work_cancel_all();
	/* The last signed checkpoint of the audit chain, while the store is still open (issue 4). */
	if (k->svc_up)
		svc_checkpoint_final(close_store, k);
	else
		close_store(k);
}

/* Tear down whatever is up, in order: connections, then the store, then svc and our handles. */
static void stop(struct kamd *k)
{
	if (k->stopping)
		return;
	k->stopping = true;
	if (k->drain_timer_up)
		uv_timer_stop(&k->drain_timer);
	if (k->checkpoint_timer_up)
		uv_timer_stop(&k->checkpoint_timer);
	if (k->net)
		net_shutdown(k->net, after_net, k);
	else
		after_net(k);
}

static void on_drain_tick(uv_timer_t *t)
{
	struct kamd *k = t->data;
	size_t left = net_inflight(k->net) + (k->store ? store_pending(k->store) : 0) + work_pending();

	if (left == 0) {
		log_info("in-flight requests finished");
		stop(k);
	} else if (uv_now(&k->loop) >= k->drain_deadline_ms) {
		log_warn("shutdown_grace of %d s expired with %zu operations unfinished; closing anyway",
			 k->cfg.shutdown_grace_s, left);
		stop(k);
	}
}

static const char *signal_name(int signum)
{
	switch (signum) {
	case SIGTERM: return "SIGTERM";
	case SIGINT: return "SIGINT";
	case SIGHUP: return "SIGHUP";
	}
	return "signal";
}

static void begin_drain(struct kamd *k, int signum)
{
	if (k->stopping)
		return;
	if (k->draining) {
		log_warn("%s again: closing without waiting", signal_name(signum));
		stop(k);
		return;
	}
	k->draining = true;
	log_info("%s: shutting down, waiting up to %d s for in-flight requests",
		 signal_name(signum), k->cfg.shutdown_grace_s);
	net_drain(k->net);
	k->drain_deadline_ms = uv_now(&k->loop) + (uint64_t)k->cfg.shutdown_grace_s * 1000;
	uv_timer_start(&k->drain_timer, on_drain_tick, 0, KAMD_DRAIN_POLL_MS);
}

static void reload_tls(struct kamd *k)
{
	struct net_tls *t = NULL;
	const char *why = NULL;

	if (load_tls(&k->cfg, &t, &why) != 0) {
		log_error("SIGHUP: keeping the current certificate: cannot load %s / %s: %s",
			  k->cfg.tls_cert, k->cfg.tls_key, why ? why : "unknown error");
		return;
	}
	net_set_tls(k->net, t);
	net_tls_unref(k->tls);
	k->tls = t;
	log_info("SIGHUP: reloaded TLS certificate %s and key %s for new connections",
		 k->cfg.tls_cert, k->cfg.tls_key);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct kamd *k = h->data;

	if (signum == SIGHUP) {
		if (k->net && !k->stopping)
			reload_tls(k);
		return;
	}
	begin_drain(k, signum);
}

static int start_signals(struct kamd *k)
{
	static const int signums[] = { SIGTERM, SIGINT, SIGHUP };

	for (size_t i = 0; i < sizeof(signums) / sizeof(signums[0]); i++) {
		uv_signal_t *h = &k->sigs[k->n_sigs];
		int r = uv_signal_init(&k->loop, h);

		if (r < 0)
			return r;
		h->data = k;
		k->n_sigs++;
		r = uv_signal_start(h, on_signal, signums[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static void log_open_handle(uv_handle_t *h, void *arg)
{
	(void)arg;
	log_error("handle still open at exit: %s%s", uv_handle_type_name(uv_handle_get_type(h)),
		  uv_is_closing(h) ? " (closing)" : "");
}

/* Run the loop to completion and release everything; returns code unchanged, or 1 on a leak. */
static int finish_loop(struct kamd *k, int code)
{
	int r;

	uv_run(&k->loop, UV_RUN_DEFAULT);
	net_free(k->net);
	k->net = NULL;
	net_tls_unref(k->tls);
	k->tls = NULL;
	r = uv_loop_close(&k->loop);
	if (r != 0) {
		uv_walk(&k->loop, log_open_handle, NULL);
		assert(r == 0);
		code = code ? code : EXIT_RUNTIME;
	}
	return code;
}

static void on_checkpoint_tick(uv_timer_t *t)
{
	(void)t;
	svc_checkpoint_tick();
}

/* Load (or create) the checkpoint key and tick every audit_checkpoint_interval. */
static int start_checkpoints(struct kamd *k, char *why, size_t why_len)
{
	const struct kamd_config *c = &k->cfg;
	char key[4096];
	uint64_t ms = (uint64_t)c->audit_checkpoint_interval_s * 1000;
	int r;

	if (c->audit_checkpoint_file)
		snprintf(key, sizeof(key), "%s", c->audit_checkpoint_key ? c->audit_checkpoint_key : "");
	if (c->audit_checkpoint_file && !c->audit_checkpoint_key)
		snprintf(key, sizeof(key), "%s.key", c->audit_checkpoint_file);
	r = svc_checkpoint_init(c->audit_checkpoint_file, key, why, why_len);
	if (r < 0 || !c->audit_checkpoint_file)
		return r;
	uv_timer_init(&k->loop, &k->checkpoint_timer);
	k->checkpoint_timer_up = true;
	uv_timer_start(&k->checkpoint_timer, on_checkpoint_tick, ms, ms);
	return 0;
}

/* Issue 7: PostgreSQL says a session was revoked or a user deactivated: end their connections here. */
static void on_revoke(void *arg, enum store_revoke_kind kind, int64_t id)
{
	struct kamd *k = arg;
	bool user = kind == STORE_REVOKE_USER;
	size_t n;

	if (!k->net || k->stopping)
		return;
	n = net_close_sessions(k->net, user ? 0 : id, user ? id : 0);
	if (n)
		log_info("%s %lld revoked: %zu connection%s closed", user ? "user" : "session", (long long)id, n,
			 n == 1 ? "" : "s");
}

static int serve(struct kamd *k)
{
	const struct kamd_config *c = &k->cfg;
	struct store_config stc;
	struct svc_config sc;
	const char *tls_why = NULL;
	char why[512];
	int r, code;

	/* Configuration problems first, before anything touches the database. */
	if (load_tls(c, &k->tls, &tls_why) != 0)
		return fail(EXIT_CONFIG, "cannot load TLS certificate %s / key %s: %s", c->tls_cert, c->tls_key,
			    tls_why ? tls_why : "unknown error");
	/* Before the loop exists, main()'s exit path releases k->tls. */
	if (store_migrate(c->db, c->db_admin, why, sizeof(why)) != 0)
		return fail(EXIT_RUNTIME, "%s", why);

	r = uv_loop_init(&k->loop);
	if (r < 0)
		return fail(EXIT_RUNTIME, "cannot create the event loop: %s", uv_strerror(r));
	work_init(&k->loop);
	bound_hashing(c);
	raise_fd_limit(c);
	uv_timer_init(&k->loop, &k->drain_timer);
	k->drain_timer.data = k;
	k->drain_timer_up = true;

	r = start_signals(k);
	if (r < 0) {
		code = fail(EXIT_RUNTIME, "cannot install signal handlers: %s", uv_strerror(r));
		goto fail;
	}
	r = net_start(&k->loop, c, k->tls, &k->net, why, sizeof(why));
	if (r < 0) {
		code = fail(EXIT_RUNTIME, "%s", why);
		goto fail;
	}
	stc.conninfo = c->db;
	stc.pool_size = c->db_pool_size;
	stc.session_idle_s = c->session_idle_s;
	stc.session_absolute_s = c->session_absolute_s;
	stc.request_timeout_ms = (uint64_t)c->request_timeout_s * 1000;   /* issue 7 */
	stc.listen_conninfo = c->db_listen;                                /* issue 7 */
	r = store_open(&k->loop, &stc, &k->store);
	if (r < 0) {
		code = fail(EXIT_RUNTIME, "cannot open the database pool: %s", kam_strerror(r));
		goto fail;
	}
	r = store_listen_open(k->store, on_revoke, k, &k->listen);
	if (r < 0) {
		code = fail(EXIT_RUNTIME, "cannot listen for revocations: %s", kam_strerror(r));
		goto fail;
	}
	svc_config_from(c, &sc);
	r = svc_init(&sc, k->store);
	if (r < 0) {
		code = fail(EXIT_RUNTIME, "cannot start the service layer: %s", kam_strerror(r));
		goto fail;
	}
	k->svc_up = true;
	/* -- audit and churn (issue 4): signed checkpoints of the audit chain heads -- */
	r = start_checkpoints(k, why, sizeof(why));
	if (r < 0) {
		code = fail(EXIT_RUNTIME, "%s", why);
		goto fail;
	}
	log_info("listening on %s", net_listen_addr(k->net));
	code = finish_loop(k, 0);
	log_info("stopped");
	return code;
fail:
	stop(k);
	return finish_loop(k, code);
}

int main(int argc, char **argv)
{
	struct {
		const char *key;
		const char *value;
	} flags[KAMD_MAX_FLAGS];
	struct kamd *k = &kamd;
	const char *config_file = NULL;
	enum kam_log_level level = KAM_LOG_INFO;
	bool test_only = false;
	size_t n_flags = 0;
	int config_exit = EXIT_CONFIG;
	char why[512];
	int opt, code;

	config_defaults(&k->cfg);
	opterr = 0;   /* we print our own one-line errors */
	while ((opt = getopt_long(argc, argv, ":c:tVh", long_options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_file = optarg;
			break;
		case 't':
			test_only = true;
			break;
		case 'V':
			print_version();
			code = 0;
			goto out;
		case 'h':
			usage(stdout);
			code = 0;
			goto out;
		case OPT_BOOTSTRAP_GM:
			free(k->cfg.bootstrap_gm);
			k->cfg.bootstrap_gm = strdup(optarg);
			if (!k->cfg.bootstrap_gm) {
				code = fail(EXIT_RUNTIME, "out of memory");
				goto out;
			}
			break;
		case ':':
			code = fail(EXIT_CONFIG, "option '%s' needs a value (see kamd --help)", argv[optind - 1]);
			goto out;
		case '?':
			if (optopt)
				code = fail(EXIT_CONFIG, "unknown option '-%c' (see kamd --help)", optopt);
			else
				code = fail(EXIT_CONFIG, "unknown option '%s' (see kamd --help)", argv[optind - 1]);
			goto out;
		default:
			for (size_t i = 0; i < sizeof(flag_keys) / sizeof(flag_keys[0]); i++) {
				if (flag_keys[i].opt != opt)
					continue;
				if (n_flags == KAMD_MAX_FLAGS) {
					code = fail(EXIT_CONFIG, "too many options");
					goto out;
				}
				flags[n_flags].key = flag_keys[i].key;
				flags[n_flags].value = optarg;
				n_flags++;
			}
			break;
		}
	}
	/* --test reports on the configuration itself: 0 valid, 1 not. */
	if (test_only)
		config_exit = EXIT_RUNTIME;
	if (optind < argc) {
		code = fail(EXIT_CONFIG, "unexpected argument '%s' (see kamd --help)", argv[optind]);
		goto out;
	}

	/* defaults < file < flags */
	if (config_file && config_load_file(&k->cfg, config_file, why, sizeof(why)) != 0) {
		code = fail(config_exit, "%s", why);
		goto out;
	}
	for (size_t i = 0; i < n_flags; i++) {
		if (config_set(&k->cfg, flags[i].key, flags[i].value, why, sizeof(why)) != 0) {
			code = fail(config_exit, "%s", why);
			goto out;
		}
	}
	if (config_validate(&k->cfg, why, sizeof(why)) != 0) {
		code = fail(config_exit, "%s", why);
		goto out;
	}
	(void)kam_log_parse_level(k->cfg.log_level, &level);   /* validated above */
	kam_log_set_level(level);
	if (!k->cfg.db_admin)
		fprintf(stderr, "kamd: warning: no --db-admin: the serving role owns the schema, so the database "
				"does not protect the audit trail from the daemon\n");

	if (test_only) {
		const char *tls_why = NULL;

		if (!k->cfg.bootstrap_gm && load_tls(&k->cfg, &k->tls, &tls_why) != 0) {
			code = fail(config_exit, "cannot load TLS certificate %s / key %s: %s", k->cfg.tls_cert,
				    k->cfg.tls_key, tls_why ? tls_why : "unknown error");
			goto out;
		}
		printf("kamd: configuration OK\n");
		code = 0;
		goto out;
	}
	if (k->cfg.bootstrap_gm) {
		code = bootstrap_gm(&k->cfg);
		goto out;
	}

	signal(SIGPIPE, SIG_IGN);   /* a peer that vanishes mid-write is an error return, not a death */
	code = serve(k);
out:
	net_tls_unref(k->tls);
	k->tls = NULL;
	config_free(&k->cfg);
	return code;
}
