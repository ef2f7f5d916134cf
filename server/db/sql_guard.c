/*
 * The fast path's guards (issue 5): checks svc asks of the next job, put
 * ahead of that job's statements so they run in its transaction and cost no
 * round trip of their own. Each is one call of a PL/pgSQL function
 * (deploy/sql/0008_fast_path.sql) that raises its own SQLSTATE to refuse.
 * It decides nothing itself: the functions do, as the full path would.
 */
#include <stdio.h>
#include <string.h>

#include "db/pool.h"
#include "db/sql.h"

/* KAM02 unless still valid for this user and role; touches last_seen_at as session_check does. */
static const char sql_session_guard[] =
	"SELECT kam_session_guard($1::bytea, $2::bigint, $3::smallint, $4::integer)";

/* KAM03 unless kam_watch_admit says ok. */
static const char sql_watch_guard[] =
	"SELECT kam_watch_guard($1::bigint, $2::text, $3::smallint, $4::text, $5::bigint, $6::integer, $7::integer)";

enum { GUARD_SESSION, GUARD_WATCH };

static const struct pg_stmt_def stmts[] = {
	[GUARD_SESSION] = { "guard_session", sql_session_guard, 4 },
	[GUARD_WATCH] = { "guard_watch", sql_watch_guard, 7 },
};

const struct pg_stmt_set sql_guard_set = { stmts, sizeof(stmts) / sizeof(stmts[0]) };

void store_session_guard(struct store *st, const uint8_t token_hash[KAM_SHA256_LEN],
			 const struct kam_principal *who)
{
	if (!st || !token_hash || !who)
		return;
	st->guards.session = true;
	memcpy(st->guards.token_hash, token_hash, KAM_SHA256_LEN);
	st->guards.who = *who;
}

void store_watch_guard(struct store *st, const struct kam_principal *who, const char *client_addr,
		       int64_t account_id, const struct store_watch_limit *lim)
{
	if (!st || !who || !lim || lim->limit == 0)
		return;
	st->guards.watch = true;
	st->guards.who = *who;
	snprintf(st->guards.addr, sizeof(st->guards.addr), "%s", client_addr ? client_addr : "");
	st->guards.account_id = account_id;
	st->guards.limit = lim->limit;
	st->guards.window_s = lim->window_s;
}

void store_guard_clear(struct store *st)
{
	if (st)
		memset(&st->guards, 0, sizeof(st->guards));
}

void sql_guard_attach(struct pg_job *job)
{
	struct sql_guards *g = &job->st->guards;

	if (g->session) {
		pg_job_stmt(job, &stmts[GUARD_SESSION]);
		pg_job_bytes(job, g->token_hash, KAM_SHA256_LEN);
		pg_job_i64(job, g->who.user_id);
		pg_job_i64(job, g->who.role);
		pg_job_i64(job, job->st->session_idle_s);
	}
	if (g->watch) {
		pg_job_stmt(job, &stmts[GUARD_WATCH]);
		pg_job_i64(job, g->who.user_id);
		pg_job_text(job, g->who.username);
		pg_job_i64(job, g->who.role);
		pg_job_text(job, g->addr);
		pg_job_i64(job, g->account_id);
		pg_job_i64(job, g->limit);
		pg_job_i64(job, g->window_s);
	}
	job->first = job->nstmts;
	store_guard_clear(job->st);
}
