/*
 * Users: lookup by name, add (audited, with the manager resolved by name in
 * the same statement), list (audited). Results become struct kam_user here;
 * the password hash is written but never read back through these calls.
 */
#include "db/pool.h"
#include "db/sql.h"

/* The columns of a struct kam_user, from users u with its manager m joined. */
#define SQL_USER_COLS                                                            \
	"u.id, u.username, u.role, COALESCE(m.username, ''), u.active, "        \
	"extract(epoch FROM u.created_at)::bigint"
#define SQL_USER_NCOLS 6
#define SQL_USER_MANAGER " LEFT JOIN users m ON m.id = u.reports_to"

static const char sql_get[] =
	"SELECT " SQL_USER_COLS " FROM users u" SQL_USER_MANAGER " WHERE u.username = $1::text";

/* $9 username, $10 role, $11 manager's username ("" none), $12 password hash. An unknown
 * manager inserts nothing (so audits nothing) and returns no row. */
static const char sql_add[] =
	"WITH mgr AS (SELECT NULLIF($11::text, '') AS name), "
	"ins AS ("
	"INSERT INTO users (username, role, reports_to, password_hash) "
	"SELECT $9::text, $10::smallint, m.id, $12::text "
	"FROM mgr LEFT JOIN users m ON m.username = mgr.name "
	"WHERE mgr.name IS NULL OR m.id IS NOT NULL "
	"RETURNING *), "
	"aud AS (" SQL_AUDIT_INSERT(SQL_AUDIT_ACCOUNT) " FROM ins) "
	"SELECT " SQL_USER_COLS " FROM ins u" SQL_USER_MANAGER;

static const char sql_list[] =
	"WITH aud AS (" SQL_AUDIT_INSERT(SQL_AUDIT_ACCOUNT) ") "
	"SELECT " SQL_USER_COLS " FROM users u" SQL_USER_MANAGER " ORDER BY u.username";

enum { USER_GET, USER_ADD, USER_LIST };

static const struct pg_stmt_def stmts[] = {
	[USER_GET] = { "user_get", sql_get, 1 },
	[USER_ADD] = { "user_add", sql_add, SQL_AUDIT_NPARAMS + 4 },
	[USER_LIST] = { "user_list", sql_list, SQL_AUDIT_NPARAMS },
};

const struct pg_stmt_set sql_user_set = { stmts, sizeof(stmts) / sizeof(stmts[0]) };

static int user_from_row(const PGresult *r, int row, struct kam_user *u)
{
	int role;

	if (!pg_get_enum(r, row, 2, KAM_ROLE_JUNIOR, KAM_ROLE__COUNT, &role))
		return KAM_EINTERNAL;
	u->id = pg_get_i64(r, row, 0);
	u->username = pg_get_str(r, row, 1);
	u->role = (enum kam_role)role;
	u->reports_to = pg_get_str(r, row, 3);
	u->active = pg_get_bool(r, row, 4);
	u->created_at = pg_get_i64(r, row, 5);
	return 0;
}

/* One user from the job's only statement; no row: empty_err (in job->aux). */
static void user_done(struct pg_job *job, int err)
{
	struct kam_user u;

	if (!err)
		err = pg_job_expect_row(job, 0, SQL_USER_NCOLS, (int)job->aux);
	if (!err)
		err = user_from_row(pg_job_result(job, 0), 0, &u);
	job->cb.user(job->arg, err, err ? NULL : &u);
}

int store_user_get(struct store *st, const char *username, store_user_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!username || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, user_done, arg, &job);
	if (err)
		return err;
	job->cb.user = cb;
	job->aux = KAM_ENOTFOUND;
	pg_job_stmt(job, &stmts[USER_GET]);
	pg_job_text(job, username);
	return pool_submit(job);
}

int store_user_add(struct store *st, const char *username, enum kam_role role, const char *reports_to,
		   const char *password_hash, const struct audit_entry *audit,
		   store_user_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!username || !password_hash || !audit || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, user_done, arg, &job);
	if (err)
		return err;
	job->cb.user = cb;
	job->aux = KAM_ENOTFOUND;   /* the manager named does not exist */
	pg_job_stmt(job, &stmts[USER_ADD]);
	sql_audit_bind(job, audit);
	pg_job_text(job, username);
	pg_job_i64(job, role);
	pg_job_text(job, reports_to ? reports_to : "");
	pg_job_text(job, password_hash);
	return pool_submit(job);
}

static void user_list_done(struct pg_job *job, int err)
{
	struct kam_user *users = NULL;
	int n = 0;

	if (!err) {
		n = pg_job_rows(job, 0, SQL_USER_NCOLS);
		err = n < 0 ? n : 0;
	}
	if (!err && n > 0 && !(users = kam_arena_alloc(&job->arena, (size_t)n * sizeof(*users))))
		err = KAM_ENOMEM;
	for (int i = 0; !err && i < n; i++)
		err = user_from_row(pg_job_result(job, 0), i, &users[i]);
	job->cb.users(job->arg, err, err ? NULL : users, err ? 0 : (size_t)n);
}

int store_user_list(struct store *st, const struct audit_entry *audit, store_users_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!audit || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, user_list_done, arg, &job);
	if (err)
		return err;
	job->cb.users = cb;
	pg_job_stmt(job, &stmts[USER_LIST]);
	sql_audit_bind(job, audit);
	return pool_submit(job);
}
