/*
 * The revocation listener (issue 7): one libpq connection of its own, outside
 * the pool and not in pipeline mode, that LISTENs on kam_revoke and hands each
 * well-formed notification to the daemon. It sends nothing but LISTEN (its
 * ping too), never blocks the loop and reconnects with jittered backoff; what
 * was notified while it was down is lost, and the session check covers that.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/pgpoll.h"
#include "db/pool.h"
#include "log.h"

#define LISTEN_CHANNEL "kam_revoke"
/* Also the ping: LISTEN on a channel already listened to changes nothing and answers at once. */
#define LISTEN_SQL "LISTEN " LISTEN_CHANNEL
/* A ping this often; one still unanswered at the next is a dead or black-holed connection. */
#define LISTEN_PING_MS 5000
/* Connecting and the first LISTEN may take as long as a pool connection may (pgconn.c). */
#define LISTEN_CONNECT_TIMEOUT_MS 10000
/* Reconnect backoff, as the pool's: a quick first retry, doubling to a cap, jittered. */
#define LISTEN_BACKOFF_MIN_MS 100
#define LISTEN_BACKOFF_MAX_MS 2000
#define LISTEN_BACKOFF_MAX_SHIFT 5
/* A bigint has at most 19 digits. */
#define LISTEN_ID_DIGITS 19
/* So much of a payload that is not ours goes to the log, non-printable bytes as '?'. */
#define LISTEN_SHOW_MAX 64

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

enum listen_state {
	LS_IDLE = 0,      /* not connected: waiting out the backoff */
	LS_CONNECTING,    /* PQconnectPoll in progress */
	LS_SUBSCRIBING,   /* connected; the first LISTEN awaits its answer */
	LS_LISTENING,     /* notifications arrive; a ping every LISTEN_PING_MS */
	LS_STOPPED,       /* closed by the daemon; never reconnects */
	LS__COUNT
};

struct store_listen {
	struct store *st;             /* the conninfo and the pool's resolved hosts; closed after us */
	store_revoke_cb cb;
	void *arg;
	enum listen_state state;
	PGconn *pg;
	struct pg_watch watch;
	uv_timer_t timer;             /* connecting: timeout; listening: ping; idle: backoff */
	unsigned attempt;             /* failed attempts in a row: the backoff, and whether to warn */
	bool was_up;                  /* it listened before: when back, say what was missed */
	bool ping_out;                /* a ping awaits its answer */
	unsigned live;                /* handles whose close callback has not run, plus one until closed */
};

static char prefix[] = "db[listen]";

static const char *const state_names[LS__COUNT] = {
	[LS_IDLE] = "idle",
	[LS_CONNECTING] = "connecting",
	[LS_SUBSCRIBING] = "subscribing",
	[LS_LISTENING] = "listening",
	[LS_STOPPED] = "stopped",
};

static void on_poll(uv_poll_t *h, int status, int events);

/* Legal moves: forward one step, back to idle on any failure, stopped from anywhere. */
static void listen_set_state(struct store_listen *l, enum listen_state to)
{
	assert(l->state != LS_STOPPED);
	assert(to == LS_IDLE || to == LS_STOPPED || to == l->state + 1);
	kam_log(KAM_LOG_DEBUG, prefix, "%s -> %s", state_names[l->state], state_names[to]);
	l->state = to;
}

static bool listen_connected(const struct store_listen *l)
{
	return l->state == LS_SUBSCRIBING || l->state == LS_LISTENING;
}

static void listen_release(void *owner)
{
	struct store_listen *l = owner;

	if (--l->live == 0)
		free(l);
}

static void on_timer_closed(uv_handle_t *h)
{
	listen_release(h->data);
}

/* Let go of the connection (PQfinish once its poll handle is closed). */
static void listen_drop(struct store_listen *l)
{
	uv_timer_stop(&l->timer);
	if (l->pg)
		pg_watch_drop(&l->watch, l->pg);
	l->pg = NULL;
	l->ping_out = false;
}

static void listen_connect(struct store_listen *l);

static void on_retry(uv_timer_t *t)
{
	listen_connect(t->data);
}

static void listen_retry(struct store_listen *l)
{
	unsigned shift = l->attempt < LISTEN_BACKOFF_MAX_SHIFT ? l->attempt : LISTEN_BACKOFF_MAX_SHIFT;
	uint64_t ms = (uint64_t)LISTEN_BACKOFF_MIN_MS << shift;

	if (ms > LISTEN_BACKOFF_MAX_MS)
		ms = LISTEN_BACKOFF_MAX_MS;
	/* Half to all of it, so instances that lost PostgreSQL together do not return in step. */
	ms = ms / 2 + pool_random(l->st) % (ms / 2 + 1);
	l->attempt++;
	uv_timer_start(&l->timer, on_retry, ms, 0);
}

/* Down (or an attempt failed): say so once per outage, drop the connection, retry later. */
static void listen_fail(struct store_listen *l, const char *what, const char *detail)
{
	char line[256];

	if (l->state == LS_STOPPED)
		return;
	if (!detail)
		detail = pg_first_line(l->pg ? PQerrorMessage(l->pg) : NULL, line, sizeof(line));
	if (l->attempt == 0)
		kam_log(KAM_LOG_WARN, prefix, "%s: %s; revocations go unheard until it is back (the session "
			"check still refuses them at the next request)", what, detail);
	else
		kam_log(KAM_LOG_DEBUG, prefix, "%s: %s", what, detail);
	listen_drop(l);
	listen_set_state(l, LS_IDLE);
	listen_retry(l);
}

static void listen_watch(struct store_listen *l, int events)
{
	int err = pg_watch_set(&l->watch, l->pg, events);

	if (err)
		listen_fail(l, "cannot watch the socket", kam_strerror(err));
}

static void listen_flush(struct store_listen *l)
{
	int r = PQflush(l->pg);

	if (r < 0)
		listen_fail(l, "cannot send", NULL);
	else
		listen_watch(l, r ? UV_READABLE | UV_WRITABLE : UV_READABLE);
}

/* ---- connecting ---- */

/*
 * The addresses the pool resolved the conninfo's host names to (pgconn.c), so
 * that nothing here looks a name up: NULL when no name needs a lookup (also
 * with db_listen, whose hosts store_open checked are addresses or sockets), ""
 * while no pool connection is up to say.
 */
static const char *listen_hostaddr(const struct store *st)
{
	if (st->hosts.n == 0 || st->listen_conninfo)   /* db_listen names no host to look up */
		return NULL;
	for (int i = 0; i < st->n_conns; i++) {
		if (st->conns[i].state == PGC_READY)
			return st->conns[i].hostaddr;
	}
	return "";
}

static void on_connect_timeout(uv_timer_t *t)
{
	listen_fail(t->data, "cannot connect", "timed out");
}

static void listen_connect(struct store_listen *l)
{
	const char *kw[PG_CONN_NPARAMS], *val[PG_CONN_NPARAMS];
	const char *hostaddr = listen_hostaddr(l->st);

	if (hostaddr && !*hostaddr) {
		kam_log(KAM_LOG_DEBUG, prefix, "waiting for a pool connection to resolve the database host");
		listen_retry(l);
		return;
	}
	pg_conn_params(l->st->listen_conninfo ? l->st->listen_conninfo : l->st->conninfo, hostaddr, kw, val);
	l->pg = PQconnectStartParams(kw, val, 1);
	if (!l->pg || PQstatus(l->pg) == CONNECTION_BAD) {
		listen_fail(l, "cannot connect", l->pg ? NULL : "out of memory");
		return;
	}
	PQsetNoticeProcessor(l->pg, pg_notice_log, prefix);
	listen_set_state(l, LS_CONNECTING);
	uv_timer_start(&l->timer, on_connect_timeout, LISTEN_CONNECT_TIMEOUT_MS, 0);
	/* Begin as if PQconnectPoll had answered PGRES_POLLING_WRITING (libpq docs). */
	listen_watch(l, UV_WRITABLE);
}

static void listen_connect_step(struct store_listen *l)
{
	PostgresPollingStatusType s = PQconnectPoll(l->pg);

	if (s == PGRES_POLLING_FAILED) {
		listen_fail(l, "cannot connect", NULL);
	} else if (s != PGRES_POLLING_OK) {
		listen_watch(l, s == PGRES_POLLING_READING ? UV_READABLE : UV_WRITABLE);
	} else if (PQsetnonblocking(l->pg, 1) != 0 || !PQsendQuery(l->pg, LISTEN_SQL)) {
		listen_fail(l, "cannot listen", NULL);
	} else {
		listen_set_state(l, LS_SUBSCRIBING);   /* the connect timeout covers the answer too */
		listen_flush(l);
	}
}

/* ---- listening ---- */

static void on_ping(uv_timer_t *t)
{
	struct store_listen *l = t->data;

	if (l->ping_out) {
		listen_fail(l, "no answer", "a ping went unanswered");
		return;
	}
	if (!PQsendQuery(l->pg, LISTEN_SQL)) {
		listen_fail(l, "cannot send", NULL);
		return;
	}
	l->ping_out = true;
	listen_flush(l);
}

static void listen_ready(struct store_listen *l)
{
	uv_timer_stop(&l->timer);
	listen_set_state(l, LS_LISTENING);
	if (l->was_up)
		kam_log(KAM_LOG_INFO, prefix, "listening for revocations again; any made while it was down "
			"went unheard (the session check refuses them at their next request)");
	else
		kam_log(KAM_LOG_INFO, prefix, "listening for revocations on %s", LISTEN_CHANNEL);
	l->was_up = true;
	l->attempt = 0;
	uv_timer_start(&l->timer, on_ping, LISTEN_PING_MS, LISTEN_PING_MS);
}

/* The answer to a LISTEN: the first one makes us ready, later ones are pings. */
static void listen_result(struct store_listen *l, PGresult *r)
{
	char line[256];

	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		pg_first_line(PQresultErrorMessage(r), line, sizeof(line));
		PQclear(r);
		listen_fail(l, "LISTEN failed", line);
		return;
	}
	PQclear(r);
	if (l->state == LS_SUBSCRIBING)
		listen_ready(l);
	else
		l->ping_out = false;
}

/* A payload deploy/sql/0007_notify.sql writes: "session:ID" or "user:ID", ID a positive bigint. */
static bool payload_parse(const char *p, enum store_revoke_kind *kind, int64_t *id)
{
	static const struct {
		const char *tag;
		enum store_revoke_kind kind;
	} kinds[] = {
		{ "session:", STORE_REVOKE_SESSION },
		{ "user:", STORE_REVOKE_USER },
	};

	for (size_t i = 0; i < ARRAY_LEN(kinds); i++) {
		size_t tag_len = strlen(kinds[i].tag), digits;
		const char *d = p + tag_len;
		long long v;

		if (strncmp(p, kinds[i].tag, tag_len) != 0)
			continue;
		digits = strspn(d, "0123456789");
		if (digits == 0 || digits > LISTEN_ID_DIGITS || d[digits] != '\0' || d[0] == '0')
			return false;
		errno = 0;
		v = strtoll(d, NULL, 10);
		if (errno == ERANGE)
			return false;
		*kind = kinds[i].kind;
		*id = v;
		return true;
	}
	return false;
}

/* What the log shows of a payload that is not ours: bounded, printable. */
static const char *payload_show(const char *p, char *buf, size_t len)
{
	size_t i;

	for (i = 0; p[i] && i + 1 < len; i++)
		buf[i] = (unsigned char)p[i] >= 0x20 && (unsigned char)p[i] < 0x7f ? p[i] : '?';
	buf[i] = '\0';
	return buf;
}

static void listen_heard(struct store_listen *l, const PGnotify *n)
{
	char shown[LISTEN_SHOW_MAX + 1];
	enum store_revoke_kind kind;
	int64_t id;

	if (strcmp(n->relname, LISTEN_CHANNEL) != 0)
		return;
	if (!payload_parse(n->extra, &kind, &id)) {
		kam_log(KAM_LOG_WARN, prefix, "ignored a %s notification from backend %d: '%s' is neither "
			"session:ID nor user:ID", LISTEN_CHANNEL, n->be_pid, payload_show(n->extra, shown, sizeof(shown)));
		return;
	}
	kam_log(KAM_LOG_DEBUG, prefix, "heard %s", n->extra);
	l->cb(l->arg, kind, id);
}

static void listen_read(struct store_listen *l)
{
	PGresult *r;
	PGnotify *n;

	if (!PQconsumeInput(l->pg)) {
		listen_fail(l, "connection lost", NULL);
		return;
	}
	while (listen_connected(l) && !PQisBusy(l->pg) && (r = PQgetResult(l->pg)) != NULL)
		listen_result(l, r);
	while (listen_connected(l) && (n = PQnotifies(l->pg)) != NULL) {
		listen_heard(l, n);
		PQfreemem(n);
	}
	if (listen_connected(l) && PQstatus(l->pg) == CONNECTION_BAD)
		listen_fail(l, "connection lost", NULL);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct store_listen *l = h->data;

	if (status < 0)
		l->watch.events = 0;   /* libuv stopped the handle on the error; watching again restarts it */
	if (l->state == LS_CONNECTING) {
		listen_connect_step(l);   /* PQconnectPoll sees any socket error itself */
		return;
	}
	if (!listen_connected(l))
		return;
	/* On a socket error let libpq read first: its message says what happened. */
	if (status < 0 || (events & UV_READABLE))
		listen_read(l);
	if (listen_connected(l) && status < 0)
		listen_fail(l, "socket error", uv_strerror(status));
	else if (listen_connected(l) && (l->watch.events & UV_WRITABLE))
		listen_flush(l);
}

/* ---- life cycle ---- */

int store_listen_open(struct store *st, store_revoke_cb cb, void *arg, struct store_listen **out)
{
	struct store_listen *l;

	if (!st || !cb || !out)
		return KAM_EINVAL;
	if (st->closing)
		return KAM_ECANCELED;
	l = calloc(1, sizeof(*l));
	if (!l)
		return KAM_ENOMEM;
	l->st = st;
	l->cb = cb;
	l->arg = arg;
	l->state = LS_IDLE;
	l->watch = (struct pg_watch){
		.loop = st->loop,
		.on_poll = on_poll,
		.data = l,
		.live = &l->live,
		.release = listen_release,
		.owner = l,
	};
	(void)uv_timer_init(st->loop, &l->timer);   /* cannot fail */
	l->timer.data = l;
	l->live = 1;   /* the timer */
	listen_connect(l);
	*out = l;
	return 0;
}

void store_listen_close(struct store_listen *l)
{
	if (!l || l->state == LS_STOPPED)
		return;
	listen_set_state(l, LS_STOPPED);
	listen_drop(l);
	uv_close((uv_handle_t *)&l->timer, on_timer_closed);
}
