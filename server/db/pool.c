/*
 * The store's pool: pool_size connections, a queue for jobs no connection can
 * take yet (each waits at most the request timeout), and the dispatcher that
 * hands queued jobs, just before the loop blocks, to the ready connection with
 * the fewest outstanding. A job's callback never runs inside the call that
 * queued it.
 */
#include <stdlib.h>
#include <string.h>

#include "db/pool.h"
#include "db/store.h"
#include "log.h"

/* Issue 7: how long a job may wait for a connection (and for its answer, pgconn.c) before it
 * fails with KAM_EUNAVAIL, when the configuration names no request_timeout. */
#define STORE_REQUEST_TIMEOUT_MS 5000
/* Jobs pipelined on one connection: bounds what one lost connection takes down with it. */
#define PG_CONN_MAX_JOBS 64
/* The warning that queued requests failed comes once per this at most. */
#define STORE_WARN_EVERY_MS 1000
/* Jobs handed out in one dispatch round at most (the rest go in the next round). */
#define PG_DISPATCH_MAX 256
/* More connections than this only crowd PostgreSQL; kamd's work per request is small. */
#define STORE_POOL_MAX 64

static void queue_push(struct store *st, struct pg_job *job)
{
	job->next = NULL;
	if (st->q_tail)
		st->q_tail->next = job;
	else
		st->q_head = job;
	st->q_tail = job;
}

/* Put first..last (linked by next) back at the front, in their order. */
static void queue_push_front(struct store *st, struct pg_job *first, struct pg_job *last)
{
	last->next = st->q_head;
	st->q_head = first;
	if (!st->q_tail)
		st->q_tail = last;
}

static struct pg_job *queue_pop(struct store *st)
{
	struct pg_job *job = st->q_head;

	if (job) {
		st->q_head = job->next;
		if (!st->q_head)
			st->q_tail = NULL;
		job->next = NULL;
	}
	return job;
}

uint32_t pool_random(struct store *st)
{
	/* xorshift64: jitter needs spread, not secrecy. */
	st->rng ^= st->rng << 13;
	st->rng ^= st->rng >> 7;
	st->rng ^= st->rng << 17;
	return (uint32_t)(st->rng >> 32);
}

void pool_job_done(struct pg_job *job, int err)
{
	struct store *st = job->st;
	int64_t actor = st->actor;

	st->pending--;
	/* Jobs the callback starts act for the same user (issue 7, sql_rls.c). */
	st->actor = job->actor;
	job->finish(job, err);
	st->actor = actor;
	pg_job_free(job);
}

void pool_requeue(struct store *st, struct pg_job *list)
{
	struct pg_job *job, *next, *tail = NULL;

	for (job = list; job; job = job->next) {
		for (int i = 0; i < job->nstmts; i++) {
			PQclear(job->stmts[i].res);
			job->stmts[i].res = NULL;
		}
		job->err = 0;
		job->sync_after = job->txn_failed = job->batch_victim = false;
		job->solo = true;
		tail = job;
	}
	if (!tail)
		return;
	if (st->closing) {
		for (job = list; job; job = next) {
			next = job->next;
			job->next = NULL;
			pool_job_done(job, KAM_ECANCELED);
		}
		return;
	}
	queue_push_front(st, list, tail);
	pool_kick(st);
}

void pool_release(struct store *st)
{
	void (*cb)(void *arg);
	void *arg;

	if (--st->live > 0 || !st->closing)
		return;
	cb = st->close_cb;
	arg = st->close_arg;
	pg_hosts_free(&st->hosts);
	free(st->conns);
	free(st->conninfo);
	free(st->listen_conninfo);
	free(st);
	if (cb)
		cb(arg);
}

static void on_handle_closed(uv_handle_t *h)
{
	pool_release(h->data);
}

/* The ready connection with the fewest outstanding jobs, if any has room. */
static struct pg_conn *pool_pick(struct store *st)
{
	struct pg_conn *best = NULL;

	if (st->closing)
		return NULL;
	for (int i = 0; i < st->n_conns; i++) {
		struct pg_conn *c = &st->conns[i];

		if (c->state == PGC_READY && c->n_jobs < PG_CONN_MAX_JOBS && (!best || c->n_jobs < best->n_jobs))
			best = c;
	}
	return best;
}

static void on_deadline(uv_timer_t *t);

/* Time the earliest queued job out; nothing queued, no timer. (Mostly the head: the
 * queue is in arrival order, but a dispatch round may put jobs back sorted by user.) */
static void pool_arm_deadline(struct store *st)
{
	uint64_t now, first;

	if (st->closing)
		return;
	if (!st->q_head) {
		uv_timer_stop(&st->deadline);
		return;
	}
	first = st->q_head->deadline;
	for (const struct pg_job *job = st->q_head->next; job; job = job->next)
		if (job->deadline < first)
			first = job->deadline;
	now = uv_now(st->loop);
	uv_timer_start(&st->deadline, on_deadline, first > now ? first - now : 0, 0);
}

static void on_deadline(uv_timer_t *t)
{
	struct store *st = t->data;
	uint64_t now = uv_now(st->loop);
	struct pg_job *expired = NULL, **expired_tail = &expired, **link = &st->q_head, *job;

	/* Take the expired jobs out first, in order: their callbacks may queue more. */
	st->q_tail = NULL;
	while ((job = *link) != NULL) {
		if (job->deadline <= now) {
			*link = job->next;
			job->next = NULL;
			*expired_tail = job;
			expired_tail = &job->next;
		} else {
			st->q_tail = job;
			link = &job->next;
		}
	}
	for (; expired; expired = job) {
		job = expired->next;
		expired->next = NULL;
		st->deadline_failed++;
		pool_job_done(expired, KAM_EUNAVAIL);
	}
	/* Once a second at most: a long outage fails requests many times a second. */
	if (st->deadline_failed && (!st->deadline_logged || now - st->deadline_logged >= STORE_WARN_EVERY_MS)) {
		log_warn("db: no database connection for %llu ms: %llu request%s failed",
			 (unsigned long long)st->request_timeout_ms, (unsigned long long)st->deadline_failed,
			 st->deadline_failed == 1 ? "" : "s");
		st->deadline_failed = 0;
		st->deadline_logged = now;
	}
	pool_arm_deadline(st);
}

/* Room for more jobs on the ready connections, at most max. */
static size_t pool_room(const struct store *st, size_t max)
{
	size_t room = 0;

	for (int i = 0; i < st->n_conns && room < max; i++) {
		const struct pg_conn *c = &st->conns[i];

		if (c->state == PGC_READY && c->n_jobs < PG_CONN_MAX_JOBS)
			room += PG_CONN_MAX_JOBS - c->n_jobs;
	}
	return room < max ? room : max;
}

/*
 * One round: what the connections have room for, at most PG_DISPATCH_MAX.
 * The jobs of a round become batches (pgconn.c), so they go out ordered by
 * the user they act for: jobs lock rows of their user (the bulk-read watch,
 * the session), and batches that take such locks in one order cannot
 * deadlock each other. A user's own jobs keep their order (the sort is
 * stable). Returns the number sent.
 */
static size_t dispatch_round(struct store *st)
{
	struct pg_job *round[PG_DISPATCH_MAX], *job;
	struct pg_conn *c;
	size_t n = 0, sent = 0, want = pool_room(st, PG_DISPATCH_MAX);

	while (n < want && st->q_head)
		round[n++] = queue_pop(st);
	for (size_t i = 1; i < n; i++) {   /* insertion sort: rounds are short and mostly in order */
		size_t j = i;

		job = round[i];
		for (; j > 0 && round[j - 1]->actor > job->actor; j--)
			round[j] = round[j - 1];
		round[j] = job;
	}
	for (; sent < n && (c = pool_pick(st)) != NULL; sent++)
		pg_conn_send(c, round[sent]);
	/* A send failed and took its connection down: the rest wait again, at the front, in order
	 * (or, if a callback closed the store meanwhile, end like the queue did). */
	while (st->closing && sent < n)
		pool_job_done(round[sent++], KAM_ECANCELED);
	if (sent < n) {
		for (size_t k = sent; k + 1 < n; k++)
			round[k]->next = round[k + 1];
		queue_push_front(st, round[sent], round[n - 1]);
	}
	/* Seal every connection's batch: the next round makes batches of its own. */
	for (int i = 0; !st->closing && i < st->n_conns; i++) {
		if (st->conns[i].unflushed)
			pg_conn_flush(&st->conns[i]);
	}
	return sent;
}

static void on_dispatch(uv_prepare_t *h)
{
	struct store *st = h->data;

	while (!st->closing && st->q_head && dispatch_round(st) > 0)
		;
	/* What is left waits for pool_kick (a connection ready, or room on one) or its deadline. */
	uv_prepare_stop(h);
	pool_arm_deadline(st);
}

void pool_kick(struct store *st)
{
	if (!st->closing && st->q_head)
		uv_prepare_start(&st->dispatch, on_dispatch);
}

int pool_submit(struct pg_job *job)
{
	struct store *st = job->st;
	int err = job->build_err;

	if (!err && job->nstmts == job->first)   /* guards alone do nothing */
		err = KAM_EINTERNAL;
	for (int i = 0; !err && i < job->nstmts; i++) {
		const struct pg_job_stmt *s = &job->stmts[i];

		if (s->nparams != s->def->nparams) {
			log_error("db: %s bound with %d parameters, expects %d", s->def->name, s->nparams,
				  s->def->nparams);
			err = KAM_EINTERNAL;
		}
	}
	if (err) {
		pg_job_free(job);
		return err;
	}
	job->deadline = uv_now(st->loop) + st->request_timeout_ms;
	if (job->timeout_ms < st->request_timeout_ms)   /* issue 7: long jobs keep their longer one */
		job->timeout_ms = st->request_timeout_ms;
	queue_push(st, job);
	st->pending++;
	pool_kick(st);
	return 0;
}

int store_open(uv_loop_t *loop, const struct store_config *cfg, struct store **out)
{
	struct store *st = NULL;
	int err;

	if (!loop || !cfg || !cfg->conninfo || !out || cfg->pool_size < 1 || cfg->pool_size > STORE_POOL_MAX ||
	    cfg->session_idle_s < 1 || cfg->session_absolute_s < 1)
		return KAM_EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return KAM_ENOMEM;
	st->conns = calloc((size_t)cfg->pool_size, sizeof(*st->conns));
	st->conninfo = strdup(cfg->conninfo);
	if (!st->conns || !st->conninfo) {
		err = KAM_ENOMEM;
		goto fail;
	}
	err = pg_hosts_parse(cfg->conninfo, &st->hosts);
	if (err)
		goto fail;
	if (cfg->listen_conninfo) {   /* issue 7: hosts it names must need no lookup (listen.c) */
		struct pg_hosts lh;

		err = pg_hosts_parse(cfg->listen_conninfo, &lh);
		if (!err && lh.n > 0) {
			log_error("db: db_listen must name its hosts by address or socket path, not by name");
			err = KAM_EINVAL;
		}
		pg_hosts_free(&lh);
		if (!err && !(st->listen_conninfo = strdup(cfg->listen_conninfo)))
			err = KAM_ENOMEM;
		if (err)
			goto fail;
	}
	/* Nothing below can fail: handles exist only once the store will be closed properly. */
	st->loop = loop;
	st->n_conns = cfg->pool_size;
	st->session_idle_s = cfg->session_idle_s;
	st->session_absolute_s = cfg->session_absolute_s;
	st->request_timeout_ms = cfg->request_timeout_ms ? cfg->request_timeout_ms : STORE_REQUEST_TIMEOUT_MS;
	st->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)st;
	if (!st->rng)
		st->rng = 1;
	(void)uv_prepare_init(loop, &st->dispatch);
	st->dispatch.data = st;
	(void)uv_timer_init(loop, &st->deadline);
	st->deadline.data = st;
	st->live = 2;
	for (int i = 0; i < st->n_conns; i++)
		pg_conn_init(&st->conns[i], st, i);
	for (int i = 0; i < st->n_conns; i++)
		pg_conn_start(&st->conns[i]);
	*out = st;
	return 0;
fail:
	pg_hosts_free(&st->hosts);
	free(st->conns);
	free(st->conninfo);
	free(st->listen_conninfo);
	free(st);
	return err;
}

void store_close(struct store *st, void (*cb)(void *arg), void *arg)
{
	struct pg_job *job;

	if (!st) {
		if (cb)
			cb(arg);
		return;
	}
	if (st->closing)
		return;
	st->closing = true;
	st->close_cb = cb;
	st->close_arg = arg;
	uv_close((uv_handle_t *)&st->dispatch, on_handle_closed);
	uv_close((uv_handle_t *)&st->deadline, on_handle_closed);
	/* Callbacks run from here may call the store again; closing makes that KAM_ECANCELED. */
	while ((job = queue_pop(st)) != NULL)
		pool_job_done(job, KAM_ECANCELED);
	for (int i = 0; i < st->n_conns; i++)
		pg_conn_stop(&st->conns[i]);
}

size_t store_pending(const struct store *st)
{
	return st ? st->pending : 0;
}
