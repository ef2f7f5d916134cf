/*
 * Row-level security (issue 7): the acting user of each job. A job created
 * while a principal's request is being served carries that user, and the
 * connection sends kam_act_as before the job's statements, in the same sync,
 * so PostgreSQL's policies (deploy/sql/0005_rls.sql) see only what that user
 * may. It adds no round trip and decides nothing: the policies do.
 */
#include <inttypes.h>
#include <stdio.h>

#include "db/pool.h"
#include "db/sql.h"

/* Local to the job's implicit transaction: the next sync starts without an actor. */
static const char sql_act_as[] = "SELECT set_config('kam.user_id', $1::text, true)";

static const struct pg_stmt_def stmts[] = {
	{ SQL_ACT_AS_STMT, sql_act_as, 1 },
};

const struct pg_stmt_set sql_rls_set = { stmts, sizeof(stmts) / sizeof(stmts[0]) };

void store_act_as(struct store *st, int64_t user_id)
{
	if (st)
		st->actor = user_id > 0 ? user_id : 0;
}

void sql_actor_text(const struct pg_job *job, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRId64, job->actor);
}
