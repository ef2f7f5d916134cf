/*
 * Bulk transfer: export (one audit entry naming the count and the last id it
 * covers, then pages read only under that entry, with every layer table that
 * references accounts, through kam_account_layers()) and import (all rows in
 * one statement, or none; one audit entry per account created).
 */
#include <string.h>

#include "db/pool.h"
#include "db/sql.h"

/* Exports are read within this long of their audit entry. */
#define EXPORT_VALID "interval '1 hour'"

static const char sql_export_begin[] =
	"WITH c AS (SELECT count(*) AS n, coalesce(max(id), 0) AS mx FROM accounts), "
	"aud AS (" SQL_AUDIT_INSERT_DETAIL("$7::jsonb || jsonb_build_object('count', c.n, 'until_id', c.mx)",
					   SQL_AUDIT_ACCOUNT) " FROM c RETURNING id) "
	"SELECT (SELECT id FROM aud), n, mx FROM c";

/* The export entry $2 of user $1, still valid: how far it reaches. */
#define SQL_EXPORT_ENTRY                                                                          \
	"SELECT (detail->>'until_id')::bigint AS until_id FROM audit_log "                      \
	"WHERE id = $2::bigint AND action = 'export' AND result = 'allowed' AND user_id = $1::bigint " \
	"AND at > now() - " EXPORT_VALID

static const char sql_export_entry[] = SQL_EXPORT_ENTRY;

/* $3 after this id, $4 rows: the accounts with information, then their layers as JSON. */
static const char sql_export_page[] =
	"WITH ex AS (" SQL_EXPORT_ENTRY "), "
	"page AS (SELECT a.id FROM accounts a, ex WHERE a.id > $3::bigint AND a.id <= ex.until_id "
	"ORDER BY a.id LIMIT $4::bigint), "
	"lay AS (SELECT * FROM kam_account_layers(ARRAY(SELECT id FROM page))) "
	"SELECT " SQL_ACCOUNT_HEAD(SQL_ACCOUNT_TEAM) SQL_ACCOUNT_INFO ", coalesce(lay.layers::text, '{}') "
	"FROM page p JOIN accounts a ON a.id = p.id" SQL_ACCOUNT_OWNER " LEFT JOIN lay ON lay.account_id = a.id "
	"ORDER BY a.id";

static const char sql_import_owners[] =
	"SELECT id, username, role, active FROM users "
	"WHERE username IN (SELECT jsonb_array_elements_text($1::jsonb))";

static const char sql_import_taken[] =
	"SELECT name FROM accounts WHERE name IN (SELECT jsonb_array_elements_text($1::jsonb)) ORDER BY name";

/*
 * $9 the rows: [{line, name, tier, owner_id, stage, strategy, founded, headcount,
 * business, revenue, budget, currency, suppliers, notes, detail}], every owner
 * active or nothing is inserted. The owner joins the team; each account gets its
 * audit entry ($7 merged with the row's detail).
 */
static const char sql_import[] =
	"WITH r AS (SELECT * FROM jsonb_to_recordset($9::jsonb) AS x(line integer, name text, tier smallint, "
	"owner_id bigint, stage smallint, strategy smallint, founded integer, headcount bigint, business text, "
	"revenue bigint, budget bigint, currency text, suppliers text, notes text, detail jsonb)), "
	"go AS (SELECT NOT EXISTS (SELECT 1 FROM r LEFT JOIN users u ON u.id = r.owner_id AND u.active "
	"WHERE u.id IS NULL) AS ok), "
	"ins AS (INSERT INTO accounts (name, tier, stage, strategy, owner_id, founded, headcount, business, revenue, "
	"budget, currency, suppliers, notes) "
	"SELECT name, tier, coalesce(stage, 1), coalesce(strategy, 0), owner_id, founded, headcount, "
	"coalesce(business, ''), revenue, budget, coalesce(currency, ''), coalesce(suppliers, ''), "
	"coalesce(notes, '') FROM r WHERE (SELECT ok FROM go) ORDER BY line RETURNING id, name, owner_id), "
	"team AS (INSERT INTO account_team (account_id, user_id) SELECT id, owner_id FROM ins), "
	"aud AS (" SQL_AUDIT_INSERT_DETAIL("$7::jsonb || r.detail", "COALESCE(NULLIF($8::bigint, 0), ins.id)")
	" FROM ins JOIN r ON r.name = ins.name) "
	"SELECT ins.id FROM ins JOIN r ON r.name = ins.name ORDER BY r.line";

enum { EXPORT_BEGIN, EXPORT_ENTRY, EXPORT_PAGE, IMPORT_OWNERS, IMPORT_TAKEN, IMPORT_ROWS };

static const struct pg_stmt_def stmts[] = {
	[EXPORT_BEGIN] = { "transfer_export_begin", sql_export_begin, SQL_AUDIT_NPARAMS },
	[EXPORT_ENTRY] = { "transfer_export_entry", sql_export_entry, 2 },
	[EXPORT_PAGE] = { "transfer_export_page", sql_export_page, 4 },
	[IMPORT_OWNERS] = { "transfer_import_owners", sql_import_owners, 1 },
	[IMPORT_TAKEN] = { "transfer_import_taken", sql_import_taken, 1 },
	[IMPORT_ROWS] = { "transfer_import", sql_import, SQL_AUDIT_NPARAMS + 1 },
};

const struct pg_stmt_set sql_transfer_set = { stmts, sizeof(stmts) / sizeof(stmts[0]) };

/* ---- export ---- */

static void export_begin_done(struct pg_job *job, int err)
{
	const PGresult *r = pg_job_result(job, 0);

	if (!err)
		err = pg_job_expect_row(job, 0, 3, KAM_EINTERNAL);
	job->cb.export_begin(job->arg, err, err ? 0 : pg_get_i64(r, 0, 0), err ? 0 : pg_get_i64(r, 0, 1),
			     err ? 0 : pg_get_i64(r, 0, 2));
}

int store_export_begin(struct store *st, const struct audit_entry *audit, store_export_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!audit || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, export_begin_done, arg, &job);
	if (err)
		return err;
	job->cb.export_begin = cb;
	pg_job_long(job);   /* issue 7: counts every account */
	pg_job_stmt(job, &stmts[EXPORT_BEGIN]);
	sql_audit_bind(job, audit);
	return pool_submit(job);
}

static void export_page_done(struct pg_job *job, int err)
{
	const PGresult *r = pg_job_result(job, 1);
	struct kam_export_item *items = NULL;
	int n = 0;

	/* No valid export entry: the page is not served. */
	if (!err)
		err = pg_job_expect_row(job, 0, 1, KAM_ENOTFOUND);
	if (!err) {
		n = pg_job_rows(job, 1, ACCOUNT_NCOLS + 1);
		err = n < 0 ? n : 0;
	}
	if (!err && n > 0 && !(items = kam_arena_alloc(&job->arena, (size_t)n * sizeof(*items))))
		err = KAM_ENOMEM;
	for (int i = 0; !err && i < n; i++) {
		err = sql_account_from_row(job, r, i, true, &items[i].account);
		items[i].layers = pg_get_str(r, i, ACCOUNT_NCOLS);
	}
	job->cb.export_page(job->arg, err, err ? NULL : items, err ? 0 : (size_t)n);
}

int store_export_page(struct store *st, int64_t user_id, int64_t export_id, int64_t after_id, uint32_t limit,
		      store_export_page_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!cb || limit == 0)
		return KAM_EINVAL;
	err = pg_job_new(st, export_page_done, arg, &job);
	if (err)
		return err;
	job->cb.export_page = cb;
	pg_job_long(job);   /* issue 7: a page of accounts with every layer */
	pg_job_stmt(job, &stmts[EXPORT_ENTRY]);
	pg_job_i64(job, user_id);
	pg_job_i64(job, export_id);
	pg_job_stmt(job, &stmts[EXPORT_PAGE]);
	pg_job_i64(job, user_id);
	pg_job_i64(job, export_id);
	pg_job_i64(job, after_id);
	pg_job_i64(job, limit);
	return pool_submit(job);
}

/* ---- import ---- */

static void import_check_done(struct pg_job *job, int err)
{
	const PGresult *users = pg_job_result(job, 0), *names = pg_job_result(job, 1);
	struct kam_user *owners = NULL;
	const char **taken = NULL;
	int nu = 0, nn = 0, role;

	if (!err) {
		nu = pg_job_rows(job, 0, 4);
		nn = pg_job_rows(job, 1, 1);
		err = nu < 0 ? nu : nn < 0 ? nn : 0;
	}
	if (!err && nu > 0 && !(owners = kam_arena_alloc(&job->arena, (size_t)nu * sizeof(*owners))))
		err = KAM_ENOMEM;
	if (!err && nn > 0 && !(taken = kam_arena_alloc(&job->arena, (size_t)nn * sizeof(*taken))))
		err = KAM_ENOMEM;
	for (int i = 0; !err && i < nu; i++) {
		if (!pg_get_enum(users, i, 2, KAM_ROLE_JUNIOR, KAM_ROLE__COUNT, &role)) {
			err = KAM_EINTERNAL;
			break;
		}
		owners[i] = (struct kam_user){
			.id = pg_get_i64(users, i, 0),
			.username = pg_get_str(users, i, 1),
			.role = (enum kam_role)role,
			.reports_to = "",
			.active = pg_get_bool(users, i, 3),
		};
	}
	for (int i = 0; !err && i < nn; i++)
		taken[i] = pg_get_str(names, i, 0);
	job->cb.import_check(job->arg, err, owners, err ? 0 : (size_t)nu, taken, err ? 0 : (size_t)nn);
}

int store_import_check(struct store *st, const char *owners_json, const char *names_json,
		       store_import_check_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!owners_json || !names_json || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, import_check_done, arg, &job);
	if (err)
		return err;
	job->cb.import_check = cb;
	pg_job_stmt(job, &stmts[IMPORT_OWNERS]);
	pg_job_text(job, owners_json);
	pg_job_stmt(job, &stmts[IMPORT_TAKEN]);
	pg_job_text(job, names_json);
	return pool_submit(job);
}

static void import_done(struct pg_job *job, int err)
{
	int64_t *ids = NULL;
	size_t n = 0;

	if (!err)
		err = sql_ids(job, 0, &ids, &n);
	/* Fewer ids than rows: an owner was deactivated since the check, and nothing was inserted. */
	if (!err && (int64_t)n != job->aux)
		err = KAM_ECONFLICT;
	job->cb.ids(job->arg, err, err ? NULL : ids, err ? 0 : n);
}

int store_import(struct store *st, const char *rows_json, size_t rows, const struct audit_entry *audit,
		 store_ids_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!rows_json || !audit || !cb || rows > KAM_MAX_REPEATED)
		return KAM_EINVAL;
	err = pg_job_new(st, import_done, arg, &job);
	if (err)
		return err;
	job->cb.ids = cb;
	job->aux = (int64_t)rows;
	pg_job_long(job);   /* issue 7: up to KAM_MAX_REPEATED accounts in one transaction */
	pg_job_stmt(job, &stmts[IMPORT_ROWS]);
	sql_audit_bind(job, audit);
	pg_job_text(job, rows_json);
	return pool_submit(job);
}
