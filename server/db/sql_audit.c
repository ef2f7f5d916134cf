/*
 * The audit trail's one INSERT, shared: on its own (store_audit_write,
 * store_bootstrap_gm) and as the data-modifying CTE every audited act carries
 * (SQL_AUDIT_INSERT in sql.h). This file knows the order of its parameters;
 * nothing here may UPDATE or DELETE audit rows.
 */
#include <inttypes.h>
#include <stdio.h>

#include "db/pool.h"
#include "db/sql.h"

const char sql_audit_insert[] = SQL_AUDIT_INSERT(SQL_AUDIT_ACCOUNT);

enum { AUDIT_WRITE };

static const struct pg_stmt_def stmts[] = {
	[AUDIT_WRITE] = { "audit_write", sql_audit_insert, SQL_AUDIT_NPARAMS },
};

const struct pg_stmt_set sql_audit_set = { stmts, sizeof(stmts) / sizeof(stmts[0]) };

int sql_audit_values(const struct audit_entry *e, struct sql_audit_values *out)
{
	if (!e || !e->username || !e->action)
		return KAM_EINVAL;
	snprintf(out->user_id, sizeof(out->user_id), "%" PRId64, e->user_id);
	snprintf(out->role, sizeof(out->role), "%d", (int)e->role);
	snprintf(out->account_id, sizeof(out->account_id), "%" PRId64, e->account_id);
	out->v[0] = out->user_id;
	out->v[1] = e->username;
	out->v[2] = out->role;
	out->v[3] = e->action;
	out->v[4] = audit_result_str(e->result);
	out->v[5] = e->client_addr ? e->client_addr : "";
	out->v[6] = e->detail;   /* NULL: no detail */
	out->v[7] = out->account_id;
	return 0;
}

void sql_audit_bind(struct pg_job *job, const struct audit_entry *e)
{
	struct sql_audit_values v;

	if (sql_audit_values(e, &v) != 0) {
		pg_job_fail(job, KAM_EINVAL);
		return;
	}
	for (int i = 0; i < SQL_AUDIT_NPARAMS; i++)
		pg_job_text(job, v.v[i]);
	/* Issue 7: a write's request key goes with its act, never with a lookup or a refusal. */
	if (e->result == AUDIT_ALLOWED)
		pg_job_claim_key(job);
}

static void audit_write_done(struct pg_job *job, int err)
{
	job->cb.done(job->arg, err);
}

int store_audit_write(struct store *st, const struct audit_entry *audit, store_done_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!audit || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, audit_write_done, arg, &job);
	if (err)
		return err;
	job->cb.done = cb;
	pg_job_stmt(job, &stmts[AUDIT_WRITE]);
	sql_audit_bind(job, audit);
	return pool_submit(job);
}
