/*
 * Rep churn: one statement that hands a user's accounts, team places, open
 * projects and the barriers they work to a colleague and, for a deactivation, also deactivates the user,
 * revokes every session and moves their reports: all or nothing, with the
 * checks (active, senior enough for each tier) inside the same statement.
 * Must not change anything when a check fails.
 */
#include <string.h>

#include "db/pool.h"
#include "db/sql.h"

/* Names in a column, joined by newlines (neither account nor user names can hold one). */
#define SQL_NAMES(col, rel) "(SELECT coalesce(string_agg(" col ", E'\\n' ORDER BY " col "), '') FROM " rel ")"

/*
 * $9 from, $10 to, $11 deactivate, $12 the account ids as a JSON array (NULL: all
 * of from's). Seniority is owner seniority (strategic: a manager or the GM; TOP:
 * a solution rep or above) for every account handed over. A successor who
 * reported to from takes over from's own manager.
 */
static const char sql_handover[] =
	"WITH lv AS (SELECT id, active, reports_to FROM users WHERE id = $9::bigint FOR UPDATE), "
	"sc AS (SELECT id, active, role FROM users WHERE id = $10::bigint FOR UPDATE), "
	"sel AS (SELECT a.id, a.name, a.tier, a.owner_id = $9::bigint AS owned FROM accounts a "
	"WHERE EXISTS (SELECT 1 FROM account_team t WHERE t.account_id = a.id AND t.user_id = $9::bigint) "
	"AND ($12::jsonb IS NULL OR a.id IN (SELECT e::bigint FROM jsonb_array_elements_text($12::jsonb) e)) "
	"FOR UPDATE OF a), "
	"bad AS (SELECT s.name FROM sel s, sc WHERE (s.tier = 1 AND sc.role < 3) OR (s.tier = 2 AND sc.role < 2)), "
	"verdict AS (SELECT CASE "
	"WHEN NOT coalesce((SELECT active FROM sc), false) "
	"OR ($11::boolean AND NOT coalesce((SELECT active FROM lv), false)) THEN 'inactive' "
	"WHEN EXISTS (SELECT 1 FROM bad) THEN 'tier' "
	"WHEN $11::boolean AND (SELECT role FROM sc) < 3 "
	"AND EXISTS (SELECT 1 FROM users WHERE reports_to = $9::bigint AND id <> $10::bigint) THEN 'reports' "
	"ELSE 'done' END AS v), "
	"go AS (SELECT v = 'done' AS ok FROM verdict), "
	"usr AS (UPDATE users SET active = false, updated_at = now() "
	"WHERE id = $9::bigint AND $11::boolean AND (SELECT ok FROM go) RETURNING id), "
	"ses AS (UPDATE sessions SET revoked_at = now() "
	"WHERE user_id = $9::bigint AND revoked_at IS NULL AND $11::boolean AND (SELECT ok FROM go) RETURNING id), "
	"rep AS (UPDATE users u SET reports_to = CASE WHEN u.id = $10::bigint THEN lv.reports_to ELSE $10::bigint END, "
	"updated_at = now() FROM lv "
	"WHERE u.reports_to = $9::bigint AND $11::boolean AND (SELECT ok FROM go) RETURNING u.username), "
	"acc AS (UPDATE accounts a SET owner_id = CASE WHEN sel.owned THEN $10::bigint ELSE a.owner_id END, "
	"version = a.version + 1, updated_at = now() FROM sel "
	"WHERE a.id = sel.id AND (SELECT ok FROM go) RETURNING a.id, a.name, sel.owned), "
	"tin AS (INSERT INTO account_team (account_id, user_id) SELECT id, $10::bigint FROM acc ON CONFLICT DO NOTHING), "
	"tout AS (DELETE FROM account_team t USING acc WHERE t.account_id = acc.id AND t.user_id = $9::bigint), "
	"prj AS (UPDATE projects p SET owner_id = $10::bigint, updated_at = now(), version = p.version + 1 "
	"WHERE p.owner_id = $9::bigint AND p.status = 'open' "
	"AND ($12::jsonb IS NULL OR p.account_id IN (SELECT id FROM acc)) AND (SELECT ok FROM go) RETURNING p.id), "
	"bar AS (UPDATE barriers b SET owner_id = $10::bigint, updated_at = now(), version = b.version + 1 "
	"WHERE b.owner_id = $9::bigint AND b.status <> 3 AND b.account_id IN (SELECT id FROM acc) "
	"AND (SELECT ok FROM go) RETURNING b.id), "
	"aud AS (" SQL_AUDIT_INSERT_DETAIL("$7::jsonb || jsonb_build_object("
	"'accounts', (SELECT coalesce(jsonb_agg(name ORDER BY name), '[]') FROM acc), "
	"'projects', (SELECT count(*) FROM prj), 'barriers', (SELECT count(*) FROM bar), "
	"'sessions_revoked', (SELECT count(*) FROM ses), "
	"'reports', (SELECT coalesce(jsonb_agg(username ORDER BY username), '[]') FROM rep))", SQL_AUDIT_ACCOUNT)
	" FROM go WHERE go.ok), "
	"aud_acc AS (" SQL_AUDIT_INSERT_DETAIL("$7::jsonb || jsonb_build_object('owner', acc.owned)", "acc.id")
	" FROM acc) "
	"SELECT v, CASE WHEN v = 'tier' THEN " SQL_NAMES("name", "bad") " ELSE " SQL_NAMES("name", "acc") " END, "
	SQL_NAMES("username", "rep") ", (SELECT count(*) FROM prj), (SELECT count(*) FROM ses) FROM verdict";

/* $1 the user, $2 references (ids or names) as a JSON array: the id of each among the user's accounts, or 0. */
static const char sql_user_accounts[] =
	"SELECT coalesce((SELECT a.id FROM accounts a JOIN account_team t ON t.account_id = a.id "
	"AND t.user_id = $1::bigint "
	"WHERE a.id = CASE WHEN r.ref ~ '^[0-9]{1,18}$' THEN r.ref::bigint END OR a.name = r.ref "
	"ORDER BY a.name = r.ref LIMIT 1), 0) "
	"FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY AS r(ref, n) ORDER BY r.n";

enum { CHURN_HANDOVER, CHURN_USER_ACCOUNTS };

static const struct pg_stmt_def stmts[] = {
	[CHURN_HANDOVER] = { "churn_handover", sql_handover, SQL_AUDIT_NPARAMS + 4 },
	[CHURN_USER_ACCOUNTS] = { "churn_user_accounts", sql_user_accounts, 2 },
};

const struct pg_stmt_set sql_churn_set = { stmts, sizeof(stmts) / sizeof(stmts[0]) };

int sql_split_names(struct kam_arena *a, const char *joined, char sep, const char ***out, size_t *n_out)
{
	size_t n = 1;
	char *copy, *p;
	const char **names;

	*out = NULL;
	*n_out = 0;
	if (!*joined)
		return 0;
	for (p = strchr(joined, sep); p; p = strchr(p + 1, sep))
		n++;
	copy = kam_arena_strdup(a, joined);
	names = kam_arena_alloc(a, n * sizeof(*names));
	if (!copy || !names)
		return KAM_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		names[i] = copy;
		copy = strchr(copy, sep);
		if (copy)
			*copy++ = '\0';
	}
	*out = names;
	*n_out = n;
	return 0;
}

static const struct {
	const char *word;
	enum store_handover_outcome outcome;
} outcomes[] = {
	{ "done", STORE_HANDOVER_DONE },
	{ "tier", STORE_HANDOVER_TIER },
	{ "reports", STORE_HANDOVER_REPORTS },
	{ "inactive", STORE_HANDOVER_INACTIVE },
};

static void handover_done(struct pg_job *job, int err)
{
	const PGresult *r = pg_job_result(job, 0);
	struct store_handover_result res;
	const char *v;
	size_t i;

	memset(&res, 0, sizeof(res));
	if (!err)
		err = pg_job_expect_row(job, 0, 5, KAM_EINTERNAL);
	if (!err) {
		v = pg_get_str(r, 0, 0);
		for (i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]) && strcmp(outcomes[i].word, v) != 0; i++)
			;
		if (i == sizeof(outcomes) / sizeof(outcomes[0]))
			err = KAM_EINTERNAL;
		else
			res.outcome = outcomes[i].outcome;
	}
	if (!err)
		err = sql_split_names(&job->arena, pg_get_str(r, 0, 1), '\n', &res.names, &res.n_names);
	if (!err)
		err = sql_split_names(&job->arena, pg_get_str(r, 0, 2), '\n', &res.reports, &res.n_reports);
	if (!err) {
		res.projects = (uint32_t)pg_get_i64(r, 0, 3);
		res.sessions_revoked = (uint32_t)pg_get_i64(r, 0, 4);
	}
	job->cb.handover(job->arg, err, err ? NULL : &res);
}

int store_handover(struct store *st, const struct store_handover_req *req, const struct audit_entry *audit,
		   store_handover_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!req || !audit || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, handover_done, arg, &job);
	if (err)
		return err;
	job->cb.handover = cb;
	pg_job_stmt(job, &stmts[CHURN_HANDOVER]);
	sql_audit_bind(job, audit);
	pg_job_i64(job, req->from_id);
	pg_job_i64(job, req->to_id);
	pg_job_text(job, req->deactivate ? "true" : "false");
	pg_job_text(job, req->accounts_json);
	return pool_submit(job);
}

int sql_ids(struct pg_job *job, int stmt, int64_t **ids, size_t *n_out)
{
	const PGresult *r = pg_job_result(job, stmt);
	int n = pg_job_rows(job, stmt, 1);

	*ids = NULL;
	*n_out = 0;
	if (n < 0)
		return n;
	if (n > 0 && !(*ids = kam_arena_alloc(&job->arena, (size_t)n * sizeof(**ids))))
		return KAM_ENOMEM;
	for (int i = 0; i < n; i++)
		(*ids)[i] = pg_get_i64(r, i, 0);
	*n_out = (size_t)n;
	return 0;
}

static void user_accounts_done(struct pg_job *job, int err)
{
	int64_t *ids = NULL;
	size_t n = 0;

	if (!err)
		err = sql_ids(job, 0, &ids, &n);
	job->cb.ids(job->arg, err, err ? NULL : ids, err ? 0 : n);
}

int store_user_accounts(struct store *st, int64_t user_id, const char *refs_json, store_ids_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!refs_json || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, user_accounts_done, arg, &job);
	if (err)
		return err;
	job->cb.ids = cb;
	pg_job_stmt(job, &stmts[CHURN_USER_ACCOUNTS]);
	pg_job_i64(job, user_id);
	pg_job_text(job, refs_json);
	return pool_submit(job);
}
