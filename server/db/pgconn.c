/*
 * One PostgreSQL connection on the event loop, the only place libpq and libuv
 * meet: names resolved with uv_getaddrinfo, PQconnectPoll on a uv_poll, every
 * statement prepared, then jobs pipelined, those sent in one dispatch round
 * sharing one sync (a group commit). It must never block the loop, nor report
 * success for a job whose sync (its commit) it did not see.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "db/pgconn.h"
#include "db/pool.h"
#include "db/sql.h"
#include "log.h"

/* libpq leaves connect_timeout to whoever drives PQconnectPoll; this covers preparing too. */
#define PG_CONNECT_TIMEOUT_MS 10000
/* Jobs sharing one sync at most: bounds the work one failing job makes the others redo. */
#define PG_BATCH_MAX_JOBS 32
/* Reconnect backoff: a quick first retry, doubling up to a cap so recovery is noticed within 2 s. */
#define PG_BACKOFF_MIN_MS 100
#define PG_BACKOFF_MAX_MS 2000

#define container_of(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Every connection prepares the union of the sql_<aggregate>.c tables. */
static const struct pg_stmt_set *const stmt_sets[] = {
	&sql_session_set, &sql_user_set, &sql_account_set, &sql_audit_set,
	&sql_layers_set,   /* layers (issue 3) */
	&sql_audit_trail_set, &sql_churn_set, &sql_transfer_set,   /* audit and churn (issue 4) */
	&sql_auth_set,     /* hostile clients (issue 6) */
	&sql_rls_set,      /* faults and scale-out (issue 7) */
	&sql_guard_set,    /* performance (issue 5) */
};

static const char *const state_names[PGC__COUNT] = {
	[PGC_IDLE] = "idle",
	[PGC_RESOLVING] = "resolving",
	[PGC_CONNECTING] = "connecting",
	[PGC_PREPARING] = "preparing",
	[PGC_READY] = "ready",
	[PGC_STOPPED] = "stopped",
};

#define BIT(s) (1u << (s))
/* Legal transitions: a failure from any live state goes back to idle; stopped is final. */
static const unsigned state_next[PGC__COUNT] = {
	[PGC_IDLE] = BIT(PGC_IDLE) | BIT(PGC_RESOLVING) | BIT(PGC_CONNECTING) | BIT(PGC_STOPPED),
	[PGC_RESOLVING] = BIT(PGC_IDLE) | BIT(PGC_CONNECTING) | BIT(PGC_STOPPED),
	[PGC_CONNECTING] = BIT(PGC_IDLE) | BIT(PGC_PREPARING) | BIT(PGC_STOPPED),
	[PGC_PREPARING] = BIT(PGC_IDLE) | BIT(PGC_READY) | BIT(PGC_STOPPED),
	[PGC_READY] = BIT(PGC_IDLE) | BIT(PGC_STOPPED),
	[PGC_STOPPED] = 0,
};

static void conn_connect(struct pg_conn *c, const char *hostaddr);
static void on_poll(uv_poll_t *h, int status, int events);

const char *pg_conn_state_str(enum pg_conn_state s)
{
	return (unsigned)s < PGC__COUNT ? state_names[s] : "?";
}

static void conn_set_state(struct pg_conn *c, enum pg_conn_state to)
{
	bool legal = (state_next[c->state] & BIT(to)) != 0;

	assert(legal);
	(void)legal;
	kam_log(KAM_LOG_DEBUG, c->name, "%s -> %s", pg_conn_state_str(c->state), pg_conn_state_str(to));
	c->state = to;
}

/* Connected: a PGconn in pipeline mode whose results this file reads. */
static bool conn_live(const struct pg_conn *c)
{
	return c->state == PGC_PREPARING || c->state == PGC_READY;
}

/* Let go of the PGconn: stop watching its socket first, PQfinish after (in the close callback). */
static void conn_drop(struct pg_conn *c)
{
	uv_timer_stop(&c->timer);
	pg_watch_drop(&c->watch, c->pg);
	c->pg = NULL;
	c->seen = false;
	c->prep_failed = false;
	c->unflushed = false;
}

/* Hand every job on the connection its error. The FIFO is detached first: callbacks may queue more. */
static void conn_fail_jobs(struct pg_conn *c, int err)
{
	struct pg_job *job = c->head, *next;

	c->head = c->tail = c->recv = NULL;
	c->n_jobs = 0;
	c->batch_n = 0;
	for (; job; job = next) {
		next = job->next;
		job->next = NULL;
		pool_job_done(job, err);
	}
}

static void on_backoff(uv_timer_t *t)
{
	pg_conn_start(t->data);
}

static void conn_backoff(struct pg_conn *c)
{
	uint64_t delay = PG_BACKOFF_MAX_MS;

	if (c->state != PGC_IDLE)   /* a failed job's callback closed the store */
		return;
	if (c->attempt < 5 && (PG_BACKOFF_MIN_MS << c->attempt) < PG_BACKOFF_MAX_MS)
		delay = PG_BACKOFF_MIN_MS << c->attempt;
	/* Half to all of it, so connections and daemons do not retry in step. */
	delay = delay / 2 + pool_random(c->st) % (delay / 2 + 1);
	c->attempt++;
	uv_timer_start(&c->timer, on_backoff, delay, 0);
}

/*
 * The connection failed (or an attempt did): drop it, fail its jobs with
 * KAM_EUNAVAIL, retry later. detail NULL takes libpq's message.
 */
static void conn_fail(struct pg_conn *c, const char *what, const char *detail)
{
	char line[256];
	size_t n = c->n_jobs;

	if (c->state == PGC_STOPPED)
		return;
	if (!detail)
		detail = pg_first_line(c->pg ? PQerrorMessage(c->pg) : NULL, line, sizeof(line));
	/* The first failure of a streak is news; retries while PostgreSQL stays away are not. */
	if (n)
		kam_log(KAM_LOG_WARN, c->name, "%s: %s (%zu request%s failed)", what, detail, n, n == 1 ? "" : "s");
	else
		kam_log(c->attempt == 0 ? KAM_LOG_WARN : KAM_LOG_DEBUG, c->name, "%s: %s", what, detail);
	conn_drop(c);
	conn_set_state(c, PGC_IDLE);
	conn_fail_jobs(c, KAM_EUNAVAIL);
	conn_backoff(c);
}

static void conn_watch_or_fail(struct pg_conn *c, int events)
{
	int err = pg_watch_set(&c->watch, c->pg, events);

	if (err)
		conn_fail(c, "cannot watch the socket", kam_strerror(err));
}

/*
 * Issue 7: the answer awaited is the sync of the head's batch, and it may take
 * the longest timeout among that batch's jobs: the request timeout, or more
 * for the few jobs marked long (pg_job_long). A server that says nothing for
 * that long is stuck or gone (a black hole): the connection is dropped.
 */
static uint64_t conn_answer_timeout(const struct pg_conn *c)
{
	uint64_t ms = c->st->request_timeout_ms;

	for (const struct pg_job *job = c->head; job; job = job->next) {
		if (job->timeout_ms > ms)
			ms = job->timeout_ms;
		if (job->sync_after)
			break;
	}
	return ms;
}

/* The timer's repeat holds the timeout it was armed with (conn_arm_answer_timeout). */
static void on_answer_timeout(uv_timer_t *t)
{
	struct pg_conn *c = t->data;
	uint64_t waited = uv_timer_get_repeat(t), need = conn_answer_timeout(c);
	char why[64];

	if (need > waited) {   /* a longer job joined the batch after the timer started */
		uv_timer_start(t, on_answer_timeout, need - waited, need);
		return;
	}
	snprintf(why, sizeof(why), "nothing from the server for %llu ms", (unsigned long long)waited);
	conn_fail(c, "no answer", why);
}

/* While jobs are outstanding, each answer (or the first send) restarts the answer timeout. */
static void conn_arm_answer_timeout(struct pg_conn *c)
{
	uint64_t ms;

	if (!c->n_jobs) {
		uv_timer_stop(&c->timer);
		return;
	}
	ms = conn_answer_timeout(c);
	uv_timer_start(&c->timer, on_answer_timeout, ms, ms);
}

/* End the open batch: the sync makes its jobs one transaction, committed with one flush. */
static bool conn_seal(struct pg_conn *c)
{
	if (!c->tail || c->tail->sync_after)
		return true;
	if (!PQpipelineSync(c->pg)) {
		conn_fail(c, "cannot send", NULL);
		return false;
	}
	c->tail->sync_after = true;
	c->batch_n = 0;
	return true;
}

void pg_conn_flush(struct pg_conn *c)
{
	int r;

	if (!conn_live(c))
		return;
	if (c->state == PGC_READY && !conn_seal(c))
		return;
	c->unflushed = false;
	r = PQflush(c->pg);
	if (r < 0) {
		conn_fail(c, "cannot send", NULL);
		return;
	}
	/* Reading stays on: libpq may need input before it can write more (PQflush docs). */
	conn_watch_or_fail(c, r ? UV_READABLE | UV_WRITABLE : UV_READABLE);
}

/* ---- resolving ---- */

/* Append the next hostaddr element ("" for a host libpq reaches without a lookup). */
static void hostaddr_add(struct pg_conn *c, const char *addr)
{
	size_t len = strlen(c->hostaddr);

	snprintf(c->hostaddr + len, sizeof(c->hostaddr) - len, "%s%s", c->resolve_i ? "," : "", addr);
	c->resolve_i++;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res);

static void conn_resolve_next(struct pg_conn *c)
{
	const struct pg_hosts *h = &c->st->hosts;
	struct addrinfo hints;
	int err;

	while (c->resolve_i < h->n && !h->names[c->resolve_i])
		hostaddr_add(c, "");
	if (c->resolve_i == h->n) {
		conn_connect(c, c->hostaddr);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	err = uv_getaddrinfo(c->st->loop, &c->gai, on_resolved, h->names[c->resolve_i], NULL, &hints);
	if (err) {
		conn_fail(c, "cannot resolve the database host", uv_strerror(err));   /* not even queued */
		return;
	}
	c->st->live++;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct pg_conn *c = container_of(req, struct pg_conn, gai);
	struct store *st = c->st;
	char addr[PG_ADDR_LEN], why[256];

	if (c->state == PGC_RESOLVING) {
		if (status == 0 && res && uv_ip_name(res->ai_addr, addr, sizeof(addr)) == 0) {
			kam_log(KAM_LOG_DEBUG, c->name, "%s is %s", st->hosts.names[c->resolve_i], addr);
			hostaddr_add(c, addr);
			conn_resolve_next(c);
		} else {
			snprintf(why, sizeof(why), "%s: %s", st->hosts.names[c->resolve_i],
				 status ? uv_strerror(status) : "no usable address");
			conn_fail(c, "cannot resolve the database host", why);
		}
	}
	uv_freeaddrinfo(res);
	pool_release(st);   /* last: after store_close it may free the store */
}

/* ---- connecting and preparing ---- */

static void on_connect_timeout(uv_timer_t *t)
{
	conn_fail(t->data, "cannot connect", "timed out");
}

void pg_conn_start(struct pg_conn *c)
{
	if (c->state != PGC_IDLE)
		return;
	c->resolve_i = 0;
	c->hostaddr[0] = '\0';
	if (c->st->hosts.n == 0) {
		conn_connect(c, NULL);
		return;
	}
	conn_set_state(c, PGC_RESOLVING);
	conn_resolve_next(c);
}

static void conn_connect(struct pg_conn *c, const char *hostaddr)
{
	const char *kw[PG_CONN_NPARAMS], *val[PG_CONN_NPARAMS];

	pg_conn_params(c->st->conninfo, hostaddr, kw, val);
	c->pg = PQconnectStartParams(kw, val, 1);
	if (!c->pg) {
		conn_fail(c, "cannot connect", "out of memory");
		return;
	}
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		conn_fail(c, "cannot connect", NULL);
		return;
	}
	PQsetNoticeProcessor(c->pg, pg_notice_log, c->name);
	conn_set_state(c, PGC_CONNECTING);
	uv_timer_start(&c->timer, on_connect_timeout, PG_CONNECT_TIMEOUT_MS, 0);
	/* Begin as if PQconnectPoll had answered PGRES_POLLING_WRITING (libpq docs). */
	conn_watch_or_fail(c, UV_WRITABLE);
}

static const struct pg_stmt_def *stmt_at(int i)
{
	for (size_t s = 0; s < ARRAY_LEN(stmt_sets); s++) {
		if (i < stmt_sets[s]->count)
			return &stmt_sets[s]->stmts[i];
		i -= stmt_sets[s]->count;
	}
	return NULL;
}

/* Connected: pipeline mode, then every statement prepared in one sync. */
static void conn_prepare(struct pg_conn *c)
{
	const struct pg_stmt_def *d;

	if (PQsetnonblocking(c->pg, 1) != 0 || PQenterPipelineMode(c->pg) != 1) {
		conn_fail(c, "cannot enter pipeline mode", NULL);
		return;
	}
	for (int i = 0; (d = stmt_at(i)) != NULL; i++) {
		if (!PQsendPrepare(c->pg, d->name, d->text, d->nparams, NULL)) {
			conn_fail(c, "cannot prepare statements", NULL);
			return;
		}
	}
	if (!PQpipelineSync(c->pg)) {
		conn_fail(c, "cannot prepare statements", NULL);
		return;
	}
	conn_set_state(c, PGC_PREPARING);
	c->prep_i = 0;
	pg_conn_flush(c);
}

static void conn_connect_step(struct pg_conn *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		conn_watch_or_fail(c, UV_READABLE);
		break;
	case PGRES_POLLING_WRITING:
		conn_watch_or_fail(c, UV_WRITABLE);
		break;
	case PGRES_POLLING_OK:
		conn_prepare(c);
		break;
	default:
		conn_fail(c, "cannot connect", NULL);
		break;
	}
}

static void conn_ready(struct pg_conn *c)
{
	uv_timer_stop(&c->timer);
	conn_set_state(c, PGC_READY);
	kam_log(c->attempt ? KAM_LOG_INFO : KAM_LOG_DEBUG, c->name, "connected%s", c->attempt ? " again" : "");
	c->attempt = 0;
	pool_kick(c->st);
}

static void conn_prepare_result(struct pg_conn *c, PGresult *r)
{
	ExecStatusType s = PQresultStatus(r);
	const struct pg_stmt_def *d;

	if (s == PGRES_PIPELINE_SYNC) {
		PQclear(r);
		if (c->prep_failed)
			conn_fail(c, "cannot prepare statements", "see the error before");
		else
			conn_ready(c);
		return;
	}
	c->seen = true;
	d = stmt_at(c->prep_i++);
	if (s == PGRES_FATAL_ERROR && !c->prep_failed) {
		(void)pg_result_error(r, c->name, d ? d->name : "prepare");
		c->prep_failed = true;
	}
	PQclear(r);
}

/* ---- jobs ---- */

/*
 * Issue 7: the acting user first, its result skipped (cur -1). Always sent, 0
 * for none: in a shared transaction a job must not inherit the previous one's.
 */
static bool conn_send_actor(struct pg_conn *c, struct pg_job *job)
{
	char actor[24];
	/* The request key this job's act claims, in binary, or NULL (sql_rls.c). */
	const char *v[2] = { actor, job->key_claim ? (const char *)job->key.bytes : NULL };
	int len[2] = { 0, job->key_claim ? (int)job->key.len : 0 }, fmt[2] = { 0, 1 };

	sql_actor_text(job, actor, sizeof(actor));
	job->cur = -1;
	if (!PQsendQueryPrepared(c->pg, SQL_ACT_AS_STMT, 2, v, len, fmt, 0)) {
		conn_fail(c, "cannot send", NULL);
		return false;
	}
	return true;
}

/*
 * Jobs join the open batch until the dispatcher flushes (pg_conn_flush seals
 * it) or it holds PG_BATCH_MAX_JOBS. A solo job (its batch failed because of
 * another) gets a sync of its own.
 */
void pg_conn_send(struct pg_conn *c, struct pg_job *job)
{
	assert(c->state == PGC_READY);
	if (job->solo && !conn_seal(c)) {
		pool_job_done(job, KAM_EUNAVAIL);
		return;
	}
	job->next = NULL;
	job->sync_after = job->txn_failed = job->batch_victim = false;
	if (c->tail)
		c->tail->next = job;
	else
		c->head = job;
	c->tail = job;
	if (!c->recv)
		c->recv = job;
	if (c->n_jobs++ == 0)
		conn_arm_answer_timeout(c);
	c->unflushed = true;
	if (!conn_send_actor(c, job))
		return;
	for (int i = 0; i < job->nstmts; i++) {
		const struct pg_job_stmt *s = &job->stmts[i];

		if (!PQsendQueryPrepared(c->pg, s->def->name, s->nparams, s->values, s->lengths, s->formats, 0)) {
			conn_fail(c, "cannot send", NULL);
			return;
		}
	}
	if (job->solo || ++c->batch_n >= PG_BATCH_MAX_JOBS)
		(void)conn_seal(c);
}

/*
 * A sync arrived: the batch from the head through the job marked sync_after
 * committed, or rolled back if a statement failed. Committed, every job gets
 * its own outcome. Rolled back, the job whose statement failed gets its error
 * and the others, whose work was undone with it, run again alone; a
 * serialization failure or deadlock may be the batch's own doing, so then all
 * run again alone.
 */
static void conn_batch_done(struct pg_conn *c)
{
	struct pg_job *first = c->head, *last = first, *job, *next, *culprit = NULL;
	struct pg_job *again = NULL, **again_tail = &again, *done = NULL, **done_tail = &done;
	size_t n = 1;

	while (last && !last->sync_after) {
		last = last->next;
		n++;
	}
	if (!last) {
		conn_fail(c, "sync without a request", "protocol out of step");
		return;
	}
	c->head = last->next;
	if (!c->head)
		c->tail = NULL;
	c->recv = c->head;
	c->n_jobs -= n;
	last->next = NULL;
	conn_arm_answer_timeout(c);
	for (job = first; job && !culprit; job = job->next) {
		if (job->txn_failed)
			culprit = job;
	}
	if (culprit && n > 1)
		kam_log(KAM_LOG_DEBUG, c->name, "a batch of %zu rolled back: %zu run again alone", n,
			culprit->batch_victim ? n : n - 1);
	/* Split the batch; those to run again go back to the queue first: the callbacks below may queue more. */
	for (job = first; job; job = next) {
		next = job->next;
		job->next = NULL;
		if (culprit && n > 1 && (job != culprit || culprit->batch_victim)) {
			*again_tail = job;
			again_tail = &job->next;
		} else {
			*done_tail = job;
			done_tail = &job->next;
		}
	}
	pool_requeue(c->st, again);
	for (job = done; job; job = next) {
		next = job->next;
		job->next = NULL;
		if (!job->err && job->cur != job->nstmts)
			job->err = KAM_EINTERNAL;
		pool_job_done(job, job->err);
	}
	pool_kick(c->st);
}

static void conn_job_result(struct pg_conn *c, PGresult *r)
{
	struct pg_job *job = c->recv;
	ExecStatusType s = PQresultStatus(r);
	const char *state;

	if (s == PGRES_PIPELINE_SYNC) {
		PQclear(r);
		conn_batch_done(c);
		return;
	}
	if (!job) {
		PQclear(r);
		conn_fail(c, "result without a request", "protocol out of step");
		return;
	}
	c->seen = true;
	if (job->cur < 0 && s == PGRES_TUPLES_OK) {   /* kam_act_as (issue 7) */
		PQclear(r);
		return;
	}
	if (job->cur >= 0 && job->cur < job->nstmts && (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK)) {
		PQclear(job->stmts[job->cur].res);
		job->stmts[job->cur].res = r;
		return;
	}
	if (s == PGRES_FATAL_ERROR) {
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		job->txn_failed = true;
		job->batch_victim = state && strncmp(state, "40", 2) == 0;
	}
	/* PGRES_PIPELINE_ABORTED follows an error in this job or in an earlier one of its batch. */
	if (!job->err && s != PGRES_PIPELINE_ABORTED) {
		job->err = s == PGRES_FATAL_ERROR && job->cur < job->nstmts
			? pg_result_error(r, c->name, job->cur < 0 ? SQL_ACT_AS_STMT : job->stmts[job->cur].def->name)
			: KAM_EINTERNAL;
	}
	PQclear(r);
}

/* Read every result libpq has complete; a NULL ends one statement's results. */
static void conn_take_results(struct pg_conn *c)
{
	PGresult *r;

	while (conn_live(c) && !PQisBusy(c->pg)) {
		r = PQgetResult(c->pg);
		if (!r) {
			if (!c->seen)   /* not ending a statement: nothing more is buffered */
				break;
			c->seen = false;
			if (c->state == PGC_READY && c->recv && ++c->recv->cur == c->recv->nstmts)
				c->recv = c->recv->next;   /* NULL until the next job is sent */
			continue;
		}
		if (c->state == PGC_PREPARING)
			conn_prepare_result(c, r);
		else
			conn_job_result(c, r);
	}
}

static void conn_read(struct pg_conn *c)
{
	if (!PQconsumeInput(c->pg)) {
		conn_fail(c, "connection lost", NULL);
		return;
	}
	conn_take_results(c);
	if (conn_live(c) && PQstatus(c->pg) == CONNECTION_BAD)
		conn_fail(c, "connection lost", NULL);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct pg_conn *c = h->data;

	if (status < 0)
		c->watch.events = 0;   /* libuv stopped the handle on the error; watching again restarts it */
	if (c->state == PGC_CONNECTING) {
		conn_connect_step(c);   /* PQconnectPoll sees any socket error itself */
		return;
	}
	if (!conn_live(c))
		return;
	/* On a socket error let libpq read it first: its message says what happened. */
	if (status < 0 || (events & UV_READABLE))
		conn_read(c);
	if (conn_live(c) && status < 0) {
		conn_fail(c, "socket error", uv_strerror(status));
		return;
	}
	if (conn_live(c) && (c->watch.events & UV_WRITABLE))
		pg_conn_flush(c);
}

/* ---- life cycle ---- */

static void release_store(void *st)
{
	pool_release(st);
}

static void on_timer_closed(uv_handle_t *h)
{
	struct pg_conn *c = h->data;

	pool_release(c->st);
}

void pg_conn_init(struct pg_conn *c, struct store *st, int index)
{
	memset(c, 0, sizeof(*c));
	c->st = st;
	snprintf(c->name, sizeof(c->name), "db[%d]", index);
	c->state = PGC_IDLE;
	c->watch = (struct pg_watch){
		.loop = st->loop,
		.on_poll = on_poll,
		.data = c,
		.live = &st->live,
		.release = release_store,
		.owner = st,
	};
	(void)uv_timer_init(st->loop, &c->timer);   /* cannot fail */
	c->timer.data = c;
	st->live++;
}

void pg_conn_stop(struct pg_conn *c)
{
	bool resolving = c->state == PGC_RESOLVING;

	if (c->state == PGC_STOPPED)
		return;
	conn_set_state(c, PGC_STOPPED);
	if (resolving)
		(void)uv_cancel((uv_req_t *)&c->gai);   /* its callback still runs, and releases */
	conn_drop(c);
	uv_close((uv_handle_t *)&c->timer, on_timer_closed);
	conn_fail_jobs(c, KAM_ECANCELED);
}

/* ---- the conninfo's hosts ---- */

/* A socket path, libpq's default socket or a numeric address needs no lookup; a name does. */
static bool host_needs_lookup(const char *h, size_t len)
{
	unsigned char addr[sizeof(struct in6_addr)];
	char buf[PG_ADDR_LEN];

	if (len == 0 || h[0] == '/' || h[0] == '@')
		return false;
	if (len >= sizeof(buf))
		return true;
	memcpy(buf, h, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, addr) != 1 && inet_pton(AF_INET6, buf, addr) != 1;
}

int pg_hosts_parse(const char *conninfo, struct pg_hosts *out)
{
	PQconninfoOption *opts = NULL;
	const char *host = NULL, *hostaddr = NULL, *p;
	char *msg = NULL, line[256];
	int err = 0, n = 0, lookups = 0;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (!conninfo)
		return KAM_EINVAL;
	/* A bare word is a database name (expand_dbname): it names no host. */
	if (strchr(conninfo, '=') || strstr(conninfo, "://")) {
		opts = PQconninfoParse(conninfo, &msg);
		if (!opts) {
			log_error("db: invalid conninfo: %s", pg_first_line(msg, line, sizeof(line)));
			PQfreemem(msg);
			return KAM_EINVAL;
		}
		for (PQconninfoOption *o = opts; o->keyword; o++) {
			if (!o->val || !*o->val)
				continue;
			if (strcmp(o->keyword, "host") == 0)
				host = o->val;
			else if (strcmp(o->keyword, "hostaddr") == 0)
				hostaddr = o->val;
		}
	}
	if (!host)
		host = getenv("PGHOST");
	if (!hostaddr)
		hostaddr = getenv("PGHOSTADDR");
	/* Given a hostaddr, libpq looks nothing up. */
	if (!host || (hostaddr && *hostaddr))
		goto done;
	for (p = host;; p += len + 1) {
		len = strcspn(p, ",");
		if (n == PG_MAX_HOSTS) {
			log_error("db: more than %d hosts in the conninfo", PG_MAX_HOSTS);
			err = KAM_EINVAL;
			goto done;
		}
		if (host_needs_lookup(p, len)) {
			out->names[n] = strndup(p, len);
			if (!out->names[n]) {
				err = KAM_ENOMEM;
				goto done;
			}
			lookups++;
		}
		n++;
		if (!p[len])
			break;
	}
	out->n = lookups ? n : 0;
done:
	PQconninfoFree(opts);
	if (err)
		pg_hosts_free(out);
	return err;
}

void pg_hosts_free(struct pg_hosts *h)
{
	if (!h)
		return;
	for (int i = 0; i < PG_MAX_HOSTS; i++)
		free(h->names[i]);
	memset(h, 0, sizeof(*h));
}
