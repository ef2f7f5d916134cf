/*
 * kam-bench: a load generator for kamd on one libuv loop. N TLS connections
 * as M users each log in once, find the accounts their user may see (or take
 * --accounts), then run a closed loop of a weighted mix of audited reads,
 * information updates, list pages and reviews for a duration, and report
 * rate, latency percentiles and errors per operation. --hold instead keeps N
 * idle authenticated connections open to measure the server's memory per
 * connection. Must not touch the database or the server's files.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <uv.h>

#include "bench.h"
#include "bench_conn.h"
#include "msg.h"

#define EXIT_RUN_ERRORS 1   /* the run finished, but requests failed or connections broke */
#define EXIT_USAGE 2
#define EXIT_FATAL 3        /* the run could not start: server, login, set-up */

/*
 * Connections in connect/handshake/login at once. A login costs a password hash,
 * and kamd hashes a few at a time: a connection waiting its turn for longer than
 * kamd's login_timeout (10 s) is closed, so only a few log in at once. A hello
 * (--hold) costs no hash.
 */
#define LOGIN_BATCH 8
#define HELLO_BATCH 64
/* Accounts a user's discovery keeps at most (list pages of KAM_LIST_MAX). */
#define DISCOVER_MAX_DEFAULT 10000
/* After the window, requests still out get this long before their connections close. */
#define DRAIN_MS 5000
#define LIST_PAGE 50
/* Connection failures reported one by one; the rest are only counted. */
#define REPORT_FAILURES 5
#define PASSWORD_MAX 1024

/* What the run is doing; set only by phase_set(). */
enum phase {
	PH_SETUP,      /* connecting, handshakes, logins */
	PH_DISCOVER,   /* one connection per user lists the user's accounts */
	PH_WARMUP,     /* the mix runs, nothing is recorded */
	PH_MEASURE,    /* the mix runs and every answer is recorded */
	PH_DRAIN,      /* no new requests; connections close as their answers come */
	PH_HOLD,       /* --hold: every connection idle and authenticated */
	PH_DONE,       /* closing everything; the loop ends when all is closed */
};

/* One connection's state. */
enum cstate {
	CS_NEW,        /* not started */
	CS_HANDSHAKE,  /* TCP connect and TLS handshake */
	CS_LOGIN,      /* LoginRequest out */
	CS_HELLO,      /* --hold: WhoamiRequest with the shared token out */
	CS_READY,      /* authenticated, nothing out */
	CS_DISCOVER,   /* an AccountList page out */
	CS_BUSY,       /* a request of the mix out */
	CS_CLOSED,     /* closing or closed */
};

struct user {
	const char *name;
	int64_t *pool;         /* the accounts the user sees */
	size_t n_pool, cap_pool;
	unsigned n_clients;    /* connections logged in as this user */
	bool discovered;
};

struct client {
	struct bconn conn;     /* first: the transport's callbacks get this pointer */
	struct bench *b;
	unsigned idx;
	unsigned user;
	enum cstate state;
	uint8_t token[KAM_TOKEN_LEN];
	uint64_t next_id;
	uint64_t sent_id;
	uint64_t sent_at;      /* uv_hrtime() of the request out */
	enum bench_op op;      /* the mix operation out */
	const int64_t *acc;    /* this connection's accounts: acc[off + k * stride] */
	size_t n_acc, off, stride;
	uint64_t rng;
	uint64_t updates;      /* counter written into notes */
	struct kam_arena arena;  /* the last response; reset per frame */
	struct kam_field field;  /* the one field an update sets */
	char ref[24];          /* the account as a decimal reference */
	char notes[64];
};

struct bench {
	/* options */
	const char *server;
	char host[256], port[16];
	const char *ca;
	unsigned n_clients;
	const char **user_names;
	size_t n_users;
	char password[PASSWORD_MAX + 1];
	double duration_s, warmup_s, timeout_s, hold_s;
	unsigned mix[OP__COUNT], mix_total;
	int64_t *ids;          /* --accounts */
	size_t n_ids;
	int64_t list_after;
	size_t discover_max;
	long server_pid;
	bool json, hold;
	uint64_t seed;

	/* run state */
	uv_loop_t loop;
	uv_timer_t timer;
	struct sockaddr_storage addr;
	struct tls_ctx *tls;
	struct user *users;
	struct client *clients;
	enum phase phase;
	unsigned next_connect, connecting, authed, open, discovering;
	bool loop_ready, have_token, failed, timer_closed;
	uint8_t token[KAM_TOKEN_LEN];
	uint64_t t_start, t0;
	double cpu0, server_cpu0;   /* CPU seconds used when the window opened */
	struct bench_result res;
};

static const char *const cstate_names[] = {
	[CS_NEW] = "new", [CS_HANDSHAKE] = "TLS handshake", [CS_LOGIN] = "login", [CS_HELLO] = "hello",
	[CS_READY] = "ready", [CS_DISCOVER] = "account discovery", [CS_BUSY] = "request", [CS_CLOSED] = "closed",
};

static const char *const phase_names[] = {
	[PH_SETUP] = "set-up", [PH_DISCOVER] = "discovery", [PH_WARMUP] = "warm-up", [PH_MEASURE] = "measure",
	[PH_DRAIN] = "drain", [PH_HOLD] = "hold", [PH_DONE] = "done",
};

/* One line on stderr: "kam-bench: " and what (e.g. "error: ") before the message. */
static void vsay(const char *what, const char *fmt, va_list ap)
{
	fprintf(stderr, "kam-bench: %s", what);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
}

static double seconds_since(uint64_t t)
{
	return (double)(uv_hrtime() - t) / 1e9;
}

static uint64_t ms_of(double s)
{
	return (uint64_t)(s * 1000.0 + 0.5);
}

/* splitmix64: a fast, well-mixed per-connection generator; the run is repeatable with --seed. */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- phases and the end of the run ---- */

static void on_timer(uv_timer_t *t);

static void phase_set(struct bench *b, enum phase p, double timeout_s)
{
	b->phase = p;
	if (b->timer_closed)
		return;
	if (timeout_s > 0)
		(void)uv_timer_start(&b->timer, on_timer, ms_of(timeout_s), 0);
	else
		(void)uv_timer_stop(&b->timer);
}

static void maybe_finish(struct bench *b)
{
	if (b->phase == PH_DONE && b->open == 0 && !b->timer_closed) {
		b->timer_closed = true;
		uv_close((uv_handle_t *)&b->timer, NULL);
	}
}

static void close_all(struct bench *b)
{
	for (unsigned i = 0; i < b->next_connect; i++)
		if (b->clients[i].state != CS_CLOSED) {
			b->clients[i].state = CS_CLOSED;
			bconn_close(&b->clients[i].conn);
		}
	maybe_finish(b);
}

static void finish(struct bench *b)
{
	phase_set(b, PH_DONE, 0);
	close_all(b);
}

static void fatal(struct bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fatal(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	if (b->failed)
		return;
	b->failed = true;
	va_start(ap, fmt);
	vsay("error: ", fmt, ap);
	va_end(ap);
	finish(b);
}

/* ---- requests ---- */

static void client_send(struct client *c, struct kam_request *req, enum cstate next)
{
	int rc;

	req->id = c->sent_id = ++c->next_id;
	if (req->op != KAM_OP_LOGIN) {
		req->has_token = true;
		memcpy(req->token, c->token, KAM_TOKEN_LEN);
	}
	c->state = next;
	c->sent_at = uv_hrtime();
	if ((rc = bconn_send(&c->conn, req)) < 0 && rc != KAM_ECLOSED)
		fatal(c->b, "cannot encode a %s request: %s", kam_op_str(req->op), kam_strerror(rc));
}

static void send_list_page(struct client *c, int64_t after_id, uint32_t limit, enum cstate next)
{
	struct kam_request req = { .op = KAM_OP_ACCOUNT_LIST };

	req.u.account_list.owner = "";
	req.u.account_list.after_id = after_id;
	req.u.account_list.limit = limit;
	client_send(c, &req, next);
}

static enum bench_op pick_op(struct client *c)
{
	uint64_t r = next_rand(&c->rng) % c->b->mix_total;
	int op;

	for (op = 0; op < OP__COUNT - 1; op++) {
		if (r < c->b->mix[op])
			break;
		r -= c->b->mix[op];
	}
	return (enum bench_op)op;
}

static void pick_account(struct client *c)
{
	size_t k = (size_t)(next_rand(&c->rng) % c->n_acc);

	snprintf(c->ref, sizeof(c->ref), "%" PRId64, c->acc[c->off + k * c->stride]);
}

/* The next request of the mix. */
static void send_next(struct client *c)
{
	struct kam_request req = { .op = KAM_OP_NONE };

	c->op = pick_op(c);
	switch (c->op) {
	case OP_READ:
		pick_account(c);
		req.op = KAM_OP_ACCOUNT_SHOW;
		req.u.account_show.account = c->ref;
		break;
	case OP_UPDATE:
		pick_account(c);
		snprintf(c->notes, sizeof(c->notes), "kam-bench %u #%" PRIu64, c->idx, ++c->updates);
		c->field = (struct kam_field){ "notes", c->notes };
		req.op = KAM_OP_ACCOUNT_SET;
		req.u.account_set.account = c->ref;
		req.u.account_set.fields = &c->field;
		req.u.account_set.n_fields = 1;
		break;
	case OP_LIST:
		send_list_page(c, c->b->list_after, LIST_PAGE, CS_BUSY);
		return;
	case OP_REVIEW:
		pick_account(c);
		req.op = KAM_OP_REVIEW_ACCOUNT;
		req.u.layer_list.account = c->ref;
		break;
	case OP__COUNT:
		break;
	}
	client_send(c, &req, CS_BUSY);
}

/* The response op each mix operation expects. */
static enum kam_op op_answer(enum bench_op op)
{
	static const enum kam_op answer[OP__COUNT] = {
		[OP_READ] = KAM_OP_ACCOUNT_SHOW, [OP_UPDATE] = KAM_OP_ACCOUNT_SET,
		[OP_LIST] = KAM_OP_ACCOUNT_LIST, [OP_REVIEW] = KAM_OP_REVIEW_ACCOUNT,
	};
	return answer[op];
}

/* ---- the run ---- */

/* Hand each connection its accounts: the list, or its user's, split so no two connections update one account. */
static int assign_accounts(struct bench *b)
{
	unsigned *slot = calloc(b->n_users, sizeof(*slot));

	if (!slot)
		return KAM_ENOMEM;
	for (unsigned i = 0; i < b->n_clients; i++) {
		struct client *c = &b->clients[i];
		const int64_t *pool = b->ids;
		size_t n = b->n_ids, ways = b->n_clients, me = i;

		if (!b->ids) {
			pool = b->users[c->user].pool;
			n = b->users[c->user].n_pool;
			ways = b->users[c->user].n_clients;
			me = slot[c->user]++;
		}
		c->acc = pool;
		if (n >= ways) {
			c->off = me;
			c->stride = ways;
			c->n_acc = (n - me + ways - 1) / ways;
		} else {
			c->off = 0;
			c->stride = 1;
			c->n_acc = n;
		}
	}
	free(slot);
	return 0;
}

/* The measured window: its start, and the server's memory and both sides' CPU at its edges. */
static void window_open(struct bench *b)
{
	memset(b->res.ops, 0, sizeof(b->res.ops));
	b->t0 = uv_hrtime();
	b->cpu0 = bench_cpu_s(0);
	b->server_cpu0 = b->server_pid ? bench_cpu_s(b->server_pid) : -1;
	b->res.rss_start_kib = b->server_pid ? bench_rss_kib(b->server_pid) : -1;
	phase_set(b, PH_MEASURE, b->duration_s);
	/* run.sh waits for this line to start a profiler on the window alone. */
	say("measuring for %.1f s", b->duration_s);
}

static void window_close(struct bench *b)
{
	double server_cpu = b->server_pid ? bench_cpu_s(b->server_pid) : -1;

	b->res.elapsed_s = seconds_since(b->t0);
	b->res.rss_end_kib = b->server_pid ? bench_rss_kib(b->server_pid) : -1;
	b->res.client_cpu_pct = (bench_cpu_s(0) - b->cpu0) * 100.0 / b->res.elapsed_s;
	b->res.server_cpu_pct = server_cpu >= 0 && b->server_cpu0 >= 0 ?
		(server_cpu - b->server_cpu0) * 100.0 / b->res.elapsed_s : -1;
	phase_set(b, PH_DRAIN, DRAIN_MS / 1000.0);
}

static void start_mix(struct bench *b)
{
	b->res.setup_s = seconds_since(b->t_start);
	if (assign_accounts(b) < 0) {
		fatal(b, "out of memory");
		return;
	}
	say("set-up done in %.2f s; warming up for %.1f s", b->res.setup_s, b->warmup_s);
	if (b->warmup_s > 0)
		phase_set(b, PH_WARMUP, b->warmup_s);
	else
		window_open(b);
	for (unsigned i = 0; i < b->n_clients; i++)
		if (b->clients[i].state == CS_READY)
			send_next(&b->clients[i]);
}

static void start_discovery(struct bench *b)
{
	phase_set(b, PH_DISCOVER, b->timeout_s);
	/* Client u is the first logged in as user u (client i is user i mod users). */
	for (unsigned u = 0; u < b->n_users; u++) {
		b->discovering++;
		send_list_page(&b->clients[u], 0, KAM_LIST_MAX, CS_DISCOVER);
	}
}

static void setup_done(struct bench *b)
{
	if (b->hold) {
		b->res.setup_s = seconds_since(b->t_start);
		b->res.held = b->authed;
		say("holding %u connections for %.1f s (set-up took %.2f s)", b->authed, b->hold_s, b->res.setup_s);
		phase_set(b, PH_HOLD, b->hold_s);
		return;
	}
	if (b->ids)
		start_mix(b);
	else
		start_discovery(b);
}

static void on_timer(uv_timer_t *t)
{
	struct bench *b = t->data;

	switch (b->phase) {
	case PH_SETUP:
	case PH_DISCOVER:
		fatal(b, "%s did not finish within %.0f s (%u of %u connections authenticated)", phase_names[b->phase],
		      b->timeout_s, b->authed, b->n_clients);
		break;
	case PH_WARMUP:
		window_open(b);
		break;
	case PH_MEASURE:
		window_close(b);
		/* Connections with nothing out close now; the others when their answer comes. */
		for (unsigned i = 0; i < b->n_clients; i++)
			if (b->clients[i].state != CS_BUSY && b->clients[i].state != CS_CLOSED) {
				b->clients[i].state = CS_CLOSED;
				bconn_close(&b->clients[i].conn);
			}
		break;
	case PH_HOLD:
		b->res.rss_after_kib = b->server_pid ? bench_rss_kib(b->server_pid) : -1;
		finish(b);
		break;
	case PH_DRAIN:
	case PH_DONE:
		finish(b);
		break;
	}
}

static void start_connects(struct bench *b);

static void on_authenticated(struct client *c)
{
	struct bench *b = c->b;

	c->state = CS_READY;
	b->connecting--;
	b->authed++;
	if (b->authed == b->n_clients)
		setup_done(b);
	else
		start_connects(b);
}

static void record(struct client *c, const struct kam_response *resp)
{
	struct op_stats *s = &c->b->res.ops[c->op];

	if (c->b->phase != PH_MEASURE)
		return;
	if (resp->error.code != KAM_STATUS_OK) {
		s->errors++;
		s->by_status[(unsigned)resp->error.code < BENCH_STATUS_SLOTS ? (unsigned)resp->error.code : 0]++;
		return;
	}
	hist_record(&s->h, uv_hrtime() - c->sent_at);
}

/* One page of the user's accounts: keep them, ask for the next or finish. */
static void on_discovered(struct client *c, const struct kam_response *resp)
{
	struct bench *b = c->b;
	struct user *u = &b->users[c->user];
	size_t n = resp->u.account_list.n;

	if (u->n_pool + n > b->discover_max)
		n = b->discover_max - u->n_pool;
	if (u->n_pool + n > u->cap_pool) {
		size_t cap = u->cap_pool ? u->cap_pool : 256;
		int64_t *p;

		while (cap < u->n_pool + n)
			cap *= 2;
		if (!(p = realloc(u->pool, cap * sizeof(*p)))) {
			fatal(b, "out of memory");
			return;
		}
		u->pool = p;
		u->cap_pool = cap;
	}
	for (size_t i = 0; i < n; i++)
		u->pool[u->n_pool++] = resp->u.account_list.accounts[i].id;
	if (resp->u.account_list.next_after_id > 0 && u->n_pool < b->discover_max) {
		send_list_page(c, resp->u.account_list.next_after_id, KAM_LIST_MAX, CS_DISCOVER);
		return;
	}
	c->state = CS_READY;
	if (u->n_pool == 0) {
		fatal(b, "user %s sees no accounts: give it a team, or pass --accounts", u->name);
		return;
	}
	u->discovered = true;
	if (--b->discovering == 0)
		start_mix(b);
}

static void on_frame(struct bconn *conn, const uint8_t *payload, size_t len)
{
	struct client *c = (struct client *)conn;
	struct bench *b = c->b;
	struct kam_response resp;
	int rc;

	kam_arena_reset(&c->arena);
	if ((rc = msg_response_decode(payload, len, &c->arena, &resp)) < 0) {
		fatal(b, "connection %u: cannot decode a response: %s", c->idx, kam_strerror(rc));
		return;
	}
	if (resp.id != c->sent_id) {
		fatal(b, "connection %u: response id %" PRIu64 " to request %" PRIu64 "%s%s", c->idx, resp.id,
		      c->sent_id, resp.error.message[0] ? ": " : "", resp.error.message);
		return;
	}
	if (resp.error.code == KAM_STATUS_OK && c->state == CS_BUSY && resp.op != op_answer(c->op)) {
		fatal(b, "connection %u: a %s answer to a %s request", c->idx, kam_op_str(resp.op), bench_op_names[c->op]);
		return;
	}
	switch (c->state) {
	case CS_LOGIN:
	case CS_HELLO:
		if (resp.error.code != KAM_STATUS_OK) {
			fatal(b, "%s as %s failed: %s: %s", c->state == CS_LOGIN ? "login" : "hello",
			      b->users[c->user].name, kam_status_str(resp.error.code), resp.error.message);
			return;
		}
		if (c->state == CS_LOGIN)
			memcpy(c->token, resp.u.login.token, KAM_TOKEN_LEN);
		if (b->hold && !b->have_token) {
			memcpy(b->token, c->token, KAM_TOKEN_LEN);
			b->have_token = true;
		}
		on_authenticated(c);
		break;
	case CS_DISCOVER:
		if (resp.error.code != KAM_STATUS_OK) {
			fatal(b, "listing the accounts of %s failed: %s: %s", b->users[c->user].name,
			      kam_status_str(resp.error.code), resp.error.message);
			return;
		}
		on_discovered(c, &resp);
		break;
	case CS_BUSY:
		record(c, &resp);
		c->state = CS_READY;
		if (b->phase == PH_WARMUP || b->phase == PH_MEASURE) {
			send_next(c);
		} else {
			c->state = CS_CLOSED;
			bconn_close(&c->conn);
		}
		break;
	default:
		fatal(b, "connection %u: an answer nobody asked for", c->idx);
	}
}

static void on_ready(struct bconn *conn)
{
	struct client *c = (struct client *)conn;
	struct kam_request req = { .op = KAM_OP_LOGIN };

	if (c->b->hold && c->b->have_token) {
		/* A request with a token authenticates the connection without a password hash. */
		memcpy(c->token, c->b->token, KAM_TOKEN_LEN);
		req.op = KAM_OP_WHOAMI;
		client_send(c, &req, CS_HELLO);
		return;
	}
	req.u.login.username = c->b->users[c->user].name;
	req.u.login.password = c->b->password;
	client_send(c, &req, CS_LOGIN);
}

static void on_fail(struct bconn *conn, const char *why)
{
	struct client *c = (struct client *)conn;
	struct bench *b = c->b;
	bool running = b->phase == PH_WARMUP || b->phase == PH_MEASURE || b->phase == PH_DRAIN;
	enum cstate was = c->state;

	c->state = CS_CLOSED;
	if (b->phase == PH_DONE)
		return;
	if (!running) {
		fatal(b, "connection %u to %s, in its %s: %s", c->idx, b->server, cstate_names[was], why);
		return;
	}
	if (b->phase != PH_DRAIN && ++b->res.conn_failures <= REPORT_FAILURES)
		say("connection %u lost during the run: %s", c->idx, why);
}

static void on_closed(struct bconn *conn)
{
	struct client *c = (struct client *)conn;
	struct bench *b = c->b;

	b->open--;
	if (b->open == 0 && b->phase == PH_DRAIN)
		finish(b);
	maybe_finish(b);
}

static const struct bconn_ops client_ops = { on_ready, on_frame, on_fail, on_closed };

static void start_connects(struct bench *b)
{
	while (b->phase == PH_SETUP && b->connecting < (b->have_token ? HELLO_BATCH : LOGIN_BATCH) &&
	       b->next_connect < b->n_clients) {
		struct client *c;
		int rc;

		/* --hold: the first connection logs in; the others wait for its token. */
		if (b->hold && !b->have_token && b->next_connect > 0)
			return;
		c = &b->clients[b->next_connect++];
		rc = bconn_start(&c->conn, &b->loop, b->tls, b->host, (const struct sockaddr *)&b->addr, &client_ops);
		if (rc < 0) {
			c->state = CS_CLOSED;
			fatal(b, "connection %u: %s", c->idx, kam_strerror(rc));
			return;
		}
		c->state = CS_HANDSHAKE;
		b->connecting++;
		b->open++;
	}
}

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kam-bench --server HOST:PORT --ca FILE [--connections N]\n"
		"                 (--users LIST | --user-prefix P [--user-count M])\n"
		"                 (--password-file FILE | --password PW | env KAM_BENCH_PASSWORD)\n"
		"                 [--duration S] [--warmup S] [--mix read=70,update=20,list=10,review=0]\n"
		"                 [--accounts LIST-OR-RANGE] [--list-after ID] [--discover-max N]\n"
		"                 [--server-pid PID] [--seed N] [--timeout S] [--json]\n"
		"       kam-bench --server HOST:PORT --ca FILE --hold N [--hold-seconds S] --users USER ...\n"
		"\n"
		"Drives kamd with N TLS connections (default 8) logged in as M users (connection i\n"
		"as user i mod M; M defaults to N with --user-prefix: P1..PM). Each connection\n"
		"keeps one request out at a time, chosen by the mix: read is an audited account\n"
		"show, update sets the notes field (audited before/after), list is a page of 50\n"
		"accounts (after --list-after, default 0), review is a review of an account.\n"
		"Accounts are those each user sees (listed once at start, at most --discover-max,\n"
		"default 10000), or --accounts (e.g. 1-10000 or 3,5,7); connections of one user\n"
		"split them, so no two connections update the same account.\n"
		"Prints requests/s, p50/p95/p99/max latency and errors per operation (--json: one\n"
		"JSON document). With --server-pid, also the server's RSS at the window's edges.\n"
		"--hold N opens N connections, logs the first in and authenticates the others with\n"
		"its token, keeps them idle --hold-seconds (default 5) and reports the server's RSS\n"
		"growth per connection (needs --server-pid).\n"
		"Exit: 0 all requests succeeded, 1 some failed or connections broke, 2 usage,\n"
		"3 the run could not start.\n");
}

enum {
	OPT_SERVER = 256, OPT_CA, OPT_CONNECTIONS, OPT_USERS, OPT_USER_PREFIX, OPT_USER_COUNT, OPT_PASSWORD,
	OPT_PASSWORD_FILE, OPT_DURATION, OPT_WARMUP, OPT_MIX, OPT_ACCOUNTS, OPT_LIST_AFTER, OPT_DISCOVER_MAX,
	OPT_SERVER_PID, OPT_SEED, OPT_TIMEOUT, OPT_JSON, OPT_HOLD, OPT_HOLD_SECONDS, OPT_HELP,
};

static const struct option long_opts[] = {
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "connections", required_argument, NULL, OPT_CONNECTIONS },
	{ "users", required_argument, NULL, OPT_USERS },
	{ "user-prefix", required_argument, NULL, OPT_USER_PREFIX },
	{ "user-count", required_argument, NULL, OPT_USER_COUNT },
	{ "password", required_argument, NULL, OPT_PASSWORD },
	{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "mix", required_argument, NULL, OPT_MIX },
	{ "accounts", required_argument, NULL, OPT_ACCOUNTS },
	{ "list-after", required_argument, NULL, OPT_LIST_AFTER },
	{ "discover-max", required_argument, NULL, OPT_DISCOVER_MAX },
	{ "server-pid", required_argument, NULL, OPT_SERVER_PID },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "hold", required_argument, NULL, OPT_HOLD },
	{ "hold-seconds", required_argument, NULL, OPT_HOLD_SECONDS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("error: ", fmt, ap);
	va_end(ap);
	fputs("hint: run 'kam-bench --help'\n", stderr);
	return EXIT_USAGE;
}

static int parse_count(const char *opt, const char *s, long long lo, long long hi, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno || end == s || *end || *out < lo || *out > hi)
		return bad("%s wants a whole number from %lld to %lld, not '%s'", opt, lo, hi, s);
	return 0;
}

static int parse_seconds(const char *opt, const char *s, double lo, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || !(*out >= lo) || *out > 86400)
		return bad("%s wants seconds from %g to 86400, not '%s'", opt, lo, s);
	return 0;
}

/* The first line of a file, without its newline. */
static int read_password_file(struct bench *b, const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return bad("cannot read %s: %s", path, strerror(errno));
	if (!fgets(b->password, sizeof(b->password), f))
		b->password[0] = '\0';
	fclose(f);
	n = strcspn(b->password, "\r\n");
	b->password[n] = '\0';
	return 0;
}

static int set_password(struct bench *b, const char *pw)
{
	if (strlen(pw) > PASSWORD_MAX)
		return bad("the password is longer than %d bytes", PASSWORD_MAX);
	memcpy(b->password, pw, strlen(pw) + 1);
	return 0;
}

struct parsed {
	char *user_store;        /* --users: the names point into it */
	size_t n_made;           /* names made from --user-prefix, each malloc'd */
};

/* Users P1..PM into a malloc'd array of malloc'd names. */
static int make_prefixed_users(struct bench *b, struct parsed *p, const char *prefix, long long count)
{
	char **names;

	if (strlen(prefix) > KAM_MAX_USERNAME - 10)
		return bad("--user-prefix is too long");
	if (!(names = calloc((size_t)count, sizeof(*names))))
		return EXIT_FATAL;
	b->user_names = (const char **)names;
	b->n_users = (size_t)count;
	p->n_made = (size_t)count;
	for (long long i = 0; i < count; i++) {
		size_t len = strlen(prefix) + 24;

		if (!(names[i] = malloc(len)))
			return EXIT_FATAL;
		snprintf(names[i], len, "%s%lld", prefix, i + 1);
	}
	return 0;
}

static int parse_args(struct bench *b, struct parsed *p, int argc, char **argv)
{
	const char *prefix = NULL, *why = NULL, *env;
	long long v, user_count = 0;
	bool have_password = false;
	int ch, rc;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		rc = 0;
		switch (ch) {
		case OPT_SERVER: b->server = optarg; break;
		case OPT_CA: b->ca = optarg; break;
		case OPT_CONNECTIONS:
			if ((rc = parse_count("--connections", optarg, 1, 100000, &v)) == 0)
				b->n_clients = (unsigned)v;
			break;
		case OPT_USERS:
			free(p->user_store);
			free(b->user_names);
			if (bench_split_list(optarg, &p->user_store, &b->user_names, &b->n_users) < 0)
				rc = bad("--users wants names separated by commas");
			break;
		case OPT_USER_PREFIX: prefix = optarg; break;
		case OPT_USER_COUNT: rc = parse_count("--user-count", optarg, 1, 100000, &user_count); break;
		case OPT_PASSWORD: rc = set_password(b, optarg); have_password = true; break;
		case OPT_PASSWORD_FILE: rc = read_password_file(b, optarg); have_password = true; break;
		case OPT_DURATION: rc = parse_seconds("--duration", optarg, 0.1, &b->duration_s); break;
		case OPT_WARMUP: rc = parse_seconds("--warmup", optarg, 0, &b->warmup_s); break;
		case OPT_TIMEOUT: rc = parse_seconds("--timeout", optarg, 1, &b->timeout_s); break;
		case OPT_HOLD_SECONDS: rc = parse_seconds("--hold-seconds", optarg, 0.1, &b->hold_s); break;
		case OPT_MIX:
			if (bench_parse_mix(optarg, b->mix, &why) < 0)
				rc = bad("--mix %s: %s", optarg, why);
			break;
		case OPT_ACCOUNTS:
			free(b->ids);
			if ((rc = bench_parse_ids(optarg, &b->ids, &b->n_ids, &why)) < 0)
				rc = rc == KAM_ENOMEM ? EXIT_FATAL : bad("--accounts %s: %s", optarg, why);
			break;
		case OPT_LIST_AFTER:
			if ((rc = parse_count("--list-after", optarg, 0, INT64_MAX, &v)) == 0)
				b->list_after = v;
			break;
		case OPT_DISCOVER_MAX:
			if ((rc = parse_count("--discover-max", optarg, 1, BENCH_MAX_IDS, &v)) == 0)
				b->discover_max = (size_t)v;
			break;
		case OPT_SERVER_PID:
			if ((rc = parse_count("--server-pid", optarg, 1, INT32_MAX, &v)) == 0)
				b->server_pid = (long)v;
			break;
		case OPT_SEED:
			if ((rc = parse_count("--seed", optarg, 0, INT64_MAX, &v)) == 0)
				b->seed = (uint64_t)v;
			break;
		case OPT_HOLD:
			if ((rc = parse_count("--hold", optarg, 1, 100000, &v)) == 0) {
				b->hold = true;
				b->n_clients = (unsigned)v;
			}
			break;
		case OPT_JSON: b->json = true; break;
		case 'h':
		case OPT_HELP: usage(stdout); return -1;
		case ':': return bad("option '%s' needs a value", argv[optind - 1]);
		default: return bad("unknown option '%s'", argv[optind - 1]);
		}
		if (rc)
			return rc;
	}
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	if (!b->server || bench_parse_hostport(b->server, b->host, sizeof(b->host), b->port, sizeof(b->port)) < 0)
		return bad("give the server as --server HOST:PORT");
	if (!b->ca)
		return bad("give --ca FILE: the CA or self-signed certificate kamd's certificate verifies against");
	if (prefix && b->user_names)
		return bad("give either --users or --user-prefix, not both");
	if (prefix) {
		if ((rc = make_prefixed_users(b, p, prefix, user_count ? user_count : (long long)b->n_clients)) != 0)
			return rc;
	}
	if (!b->user_names)
		return bad("give the users: --users LIST or --user-prefix P");
	if (!have_password && (env = getenv("KAM_BENCH_PASSWORD")) && (rc = set_password(b, env)) != 0)
		return rc;
	if (!b->password[0])
		return bad("give the password: --password-file FILE, --password PW or KAM_BENCH_PASSWORD");
	/* More users than connections: the extra users would have nobody to drive them. */
	if (b->n_users > b->n_clients)
		b->n_users = b->n_clients;
	if (b->hold)
		b->n_users = 1;
	for (int op = 0; op < OP__COUNT; op++)
		b->mix_total += b->mix[op];
	return 0;
}

/* ---- set-up and tear-down ---- */

static int resolve(struct bench *b)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
	int rc = getaddrinfo(b->host, b->port, &hints, &res);

	if (rc != 0) {
		say("error: cannot resolve %s: %s", b->host, gai_strerror(rc));
		return EXIT_FATAL;
	}
	memcpy(&b->addr, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static int setup(struct bench *b)
{
	const char *why = NULL;

	if (resolve(b) != 0)
		return EXIT_FATAL;
	if (tls_ctx_client_new(b->ca, &b->tls, &why) < 0) {
		say("error: TLS with --ca %s: %s", b->ca, why ? why : "failed");
		return EXIT_FATAL;
	}
	if (!(b->users = calloc(b->n_users, sizeof(*b->users))) ||
	    !(b->clients = calloc(b->n_clients, sizeof(*b->clients)))) {
		say("error: out of memory");
		return EXIT_FATAL;
	}
	for (size_t u = 0; u < b->n_users; u++)
		b->users[u].name = b->user_names[u];
	for (unsigned i = 0; i < b->n_clients; i++) {
		struct client *c = &b->clients[i];

		c->b = b;
		c->idx = i;
		c->user = b->hold ? 0 : i % (unsigned)b->n_users;
		c->rng = b->seed * 0x100000001b3ull + i;
		kam_arena_init(&c->arena);
		b->users[c->user].n_clients++;
	}
	if (uv_loop_init(&b->loop) < 0) {
		say("error: cannot start the event loop");
		return EXIT_FATAL;
	}
	b->loop_ready = true;
	(void)uv_timer_init(&b->loop, &b->timer);   /* cannot fail on an initialised loop */
	b->timer.data = b;
	return 0;
}

static void teardown(struct bench *b, struct parsed *p)
{
	int rc;

	if (b->clients) {
		for (unsigned i = 0; i < b->n_clients; i++)
			kam_arena_free(&b->clients[i].arena);
		free(b->clients);
	}
	if (b->users)
		for (size_t u = 0; u < b->n_users; u++)
			free(b->users[u].pool);
	free(b->users);
	if (b->loop_ready && (rc = uv_loop_close(&b->loop)) < 0)
		say("warning: the loop still holds handles: %s", uv_strerror(rc));
	tls_ctx_free(b->tls);
	for (size_t u = 0; u < p->n_made; u++)
		free((void *)b->user_names[u]);
	free(b->user_names);
	free(p->user_store);
	free(b->ids);
	explicit_bzero(b->password, sizeof(b->password));
}

static int run(struct bench *b)
{
	b->res.server = b->server;
	b->res.connections = b->n_clients;
	b->res.users = (unsigned)b->n_users;
	b->res.warmup_s = b->warmup_s;
	b->res.hold = b->hold;
	memcpy(b->res.mix, b->mix, sizeof(b->mix));
	b->res.rss_start_kib = b->res.rss_end_kib = b->res.rss_after_kib = -1;
	b->res.client_cpu_pct = b->res.server_cpu_pct = -1;
	b->res.rss_before_kib = b->server_pid ? bench_rss_kib(b->server_pid) : -1;
	if (b->server_pid && b->res.rss_before_kib < 0)
		say("warning: cannot read the RSS of process %ld", b->server_pid);
	b->t_start = uv_hrtime();
	phase_set(b, PH_SETUP, b->timeout_s);
	start_connects(b);
	uv_run(&b->loop, UV_RUN_DEFAULT);
	if (b->failed)
		return EXIT_FATAL;
	if (b->json) {
		if (bench_report_json(stdout, &b->res) < 0) {
			say("error: out of memory");
			return EXIT_FATAL;
		}
	} else {
		bench_report_table(stdout, &b->res);
	}
	if (b->res.conn_failures)
		return EXIT_RUN_ERRORS;
	for (int op = 0; op < OP__COUNT; op++)
		if (b->res.ops[op].errors)
			return EXIT_RUN_ERRORS;
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench b;
	struct parsed p = { NULL, 0 };
	int rc;

	b.n_clients = 8;
	b.duration_s = 10;
	b.warmup_s = 1;
	b.timeout_s = 120;
	b.hold_s = 5;
	b.discover_max = DISCOVER_MAX_DEFAULT;
	b.seed = 1;
	b.mix[OP_READ] = 70;
	b.mix[OP_UPDATE] = 20;
	b.mix[OP_LIST] = 10;
	rc = parse_args(&b, &p, argc, argv);
	if (rc == 0)
		rc = setup(&b);
	if (rc == 0)
		rc = run(&b);
	teardown(&b, &p);
	return rc < 0 ? 0 : rc;
}
