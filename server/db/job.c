/*
 * Jobs: binding parameters into a job's arena, reading its results, mapping
 * SQLSTATEs to KAM_E* codes. Pure bookkeeping around libpq data: no I/O, no
 * event loop; results are read here but never handed outside db/.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "db/job.h"
#include "db/pool.h"
#include "db/sql.h"
#include "log.h"

int pg_job_new(struct store *st, pg_finish_fn finish, void *arg, struct pg_job **out)
{
	struct pg_job *job;

	if (!st || !finish || !out)
		return KAM_EINVAL;
	if (st->closing)
		return KAM_ECANCELED;
	job = calloc(1, sizeof(*job));
	if (!job)
		return KAM_ENOMEM;
	job->st = st;
	job->finish = finish;
	job->arg = arg;
	job->actor = st->actor;
	kam_arena_init(&job->arena);
	pg_job_take_key(job);   /* issue 7 */
	sql_guard_attach(job);   /* issue 5: the fast path's checks, pending from svc */
	*out = job;
	return 0;
}

void pg_job_free(struct pg_job *job)
{
	if (!job)
		return;
	for (int i = 0; i < job->nstmts; i++)
		PQclear(job->stmts[i].res);
	kam_arena_free(&job->arena);
	free(job);
}

void pg_job_fail(struct pg_job *job, int err)
{
	if (!job->build_err)
		job->build_err = err;
}

void pg_job_stmt(struct pg_job *job, const struct pg_stmt_def *def)
{
	if (job->nstmts == PG_JOB_MAX_STMTS) {
		pg_job_fail(job, KAM_EINTERNAL);
		return;
	}
	job->stmts[job->nstmts++].def = def;
}

static void job_param(struct pg_job *job, const char *value, int len, int format)
{
	struct pg_job_stmt *s;

	if (job->build_err)
		return;
	if (job->nstmts == 0 || job->stmts[job->nstmts - 1].nparams == PG_STMT_MAX_PARAMS) {
		pg_job_fail(job, KAM_EINTERNAL);
		return;
	}
	s = &job->stmts[job->nstmts - 1];
	s->values[s->nparams] = value;
	s->lengths[s->nparams] = len;
	s->formats[s->nparams] = format;
	s->nparams++;
}

void pg_job_text(struct pg_job *job, const char *s)
{
	char *copy = NULL;

	if (s && !(copy = kam_arena_strdup(&job->arena, s))) {
		pg_job_fail(job, KAM_ENOMEM);
		return;
	}
	job_param(job, copy, 0, 0);
}

void pg_job_i64(struct pg_job *job, int64_t v)
{
	char *text = kam_arena_printf(&job->arena, "%" PRId64, v);

	if (!text) {
		pg_job_fail(job, KAM_ENOMEM);
		return;
	}
	job_param(job, text, 0, 0);
}

void pg_job_opt_i64(struct pg_job *job, struct kam_opt_i64 v)
{
	if (v.has)
		pg_job_i64(job, v.value);
	else
		job_param(job, NULL, 0, 0);
}

void pg_job_bytes(struct pg_job *job, const void *p, size_t n)
{
	void *copy;

	if (n > INT32_MAX) {
		pg_job_fail(job, KAM_E2BIG);
		return;
	}
	copy = kam_arena_alloc(&job->arena, n ? n : 1);
	if (!copy) {
		pg_job_fail(job, KAM_ENOMEM);
		return;
	}
	memcpy(copy, p, n);
	job_param(job, copy, (int)n, 1);
}

const PGresult *pg_job_result(const struct pg_job *job, int i)
{
	i += job->first;
	return i >= job->first && i < job->nstmts ? job->stmts[i].res : NULL;
}

int pg_job_rows(const struct pg_job *job, int i, int ncols)
{
	const PGresult *r = pg_job_result(job, i);

	/* A mismatch means the SQL and the C that reads it drifted apart: a bug. */
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK || PQnfields(r) != ncols) {
		log_error("db: statement %s returned %d columns, expected %d",
			  i >= 0 && i + job->first < job->nstmts ? job->stmts[i + job->first].def->name : "?",
			  r ? PQnfields(r) : -1, ncols);
		return KAM_EINTERNAL;
	}
	return PQntuples(r);
}

int pg_job_expect_row(const struct pg_job *job, int i, int ncols, int empty_err)
{
	int n = pg_job_rows(job, i, ncols);

	if (n < 0)
		return n;
	return n == 0 ? empty_err : 0;
}

int64_t pg_get_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool pg_get_bool(const PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

const char *pg_get_str(const PGresult *r, int row, int col)
{
	return PQgetvalue(r, row, col);   /* "" for NULL */
}

struct kam_opt_i64 pg_get_opt_i64(const PGresult *r, int row, int col)
{
	struct kam_opt_i64 v = { .has = !PQgetisnull(r, row, col), .value = 0 };

	if (v.has)
		v.value = pg_get_i64(r, row, col);
	return v;
}

bool pg_get_enum(const PGresult *r, int row, int col, int lo, int count, int *out)
{
	int64_t v = pg_get_i64(r, row, col);

	if (v < lo || v >= count)
		return false;
	*out = (int)v;
	return true;
}

/* Issue 7: kam_request_key_claim's "this key was used before" (deploy/sql/0006_request_keys.sql). */
#define PG_SQLSTATE_REPLAYED "KAM01"

static bool sqlstate_class(const char *s, const char *cls)
{
	return strncmp(s, cls, strlen(cls)) == 0;
}

int pg_sqlstate_error(const char *s)
{
	if (!s || strlen(s) != 5)
		return KAM_EUNAVAIL;
	if (strcmp(s, PG_SQLSTATE_REPLAYED) == 0)
		return KAM_EREPLAYED;
	if (strcmp(s, "23505") == 0)          /* unique_violation */
		return KAM_ECONFLICT;
	if (strcmp(s, "23503") == 0)          /* foreign_key_violation: what it names does not exist */
		return KAM_ENOTFOUND;
	if (strcmp(s, "23514") == 0 || sqlstate_class(s, "22"))   /* check_violation, data exceptions */
		return KAM_EINVAL;
	/* Issue 5: a fast-path guard (deploy/sql/0008_fast_path.sql) refused; svc takes the full path. */
	if (strcmp(s, "KAM02") == 0)
		return KAM_ERECHECK;
	if (strcmp(s, "KAM03") == 0)
		return KAM_EWATCH;
	/* Connection, resources, operator intervention, transaction rollback: retry later. */
	if (sqlstate_class(s, "08") || sqlstate_class(s, "53") || sqlstate_class(s, "57") ||
	    sqlstate_class(s, "40"))
		return KAM_EUNAVAIL;
	return KAM_EINTERNAL;
}

int pg_result_error(const PGresult *r, const char *prefix, const char *stmt)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	int err = pg_sqlstate_error(state);
	char line[256];

	pg_first_line(PQresultErrorMessage(r), line, sizeof(line));
	/* Constraint refusals are the caller's input and reported to it; the rest is ours to see. */
	kam_log(err == KAM_EINTERNAL ? KAM_LOG_ERROR : err == KAM_EUNAVAIL ? KAM_LOG_WARN : KAM_LOG_DEBUG,
		prefix, "%s failed (%s): %s", stmt, state ? state : "no SQLSTATE", line);
	return err;
}

const char *pg_first_line(const char *msg, char *buf, size_t len)
{
	size_t n;

	if (!len)
		return buf;
	if (!msg || !*msg)
		msg = "unknown error";
	n = strcspn(msg, "\n");
	if (n >= len)
		n = len - 1;
	memcpy(buf, msg, n);
	buf[n] = '\0';
	return buf;
}

void pg_conn_params(const char *conninfo, const char *hostaddr,
		    const char *kw[PG_CONN_NPARAMS], const char *val[PG_CONN_NPARAMS])
{
	int n = 0;

	/* With expand_dbname, a conninfo given as dbname is expanded; later keywords override it. */
	kw[n] = "dbname";
	val[n++] = conninfo;
	kw[n] = "application_name";
	val[n++] = "kamd";
	if (hostaddr) {
		kw[n] = "hostaddr";
		val[n++] = hostaddr;
	}
	kw[n] = NULL;
	val[n] = NULL;
}

void pg_notice_log(void *arg, const char *message)
{
	char line[256];

	kam_log(KAM_LOG_DEBUG, arg, "%s", pg_first_line(message, line, sizeof(line)));
}
