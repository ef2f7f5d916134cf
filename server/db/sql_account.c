/*
 * Accounts: access (resolve a reference and the asker's relation to it in one
 * statement), add, get, list (visibility decided in SQL, keyset paging),
 * update (optimistic version check) and team membership. Every audited act
 * writes its audit row in the same statement, and only if it changed a row.
 * Results become struct kam_account here; no PGresult leaves this file.
 */
#include <stdlib.h>
#include <string.h>

#include "db/pool.h"
#include "db/sql.h"

/* The relation numbers the access query computes are the enum's values. */
_Static_assert(KAM_REL_NONE == 0 && KAM_REL_MANAGES_MEMBER == 1 && KAM_REL_MEMBER == 2 && KAM_REL_OWNER == 3,
	       "sql_access numbers relations as enum kam_relation does");

/* Up to 18 decimal digits always fit a bigint; a longer reference can only be a name. */
#define ACCOUNT_ID_MAX_DIGITS 18

/*
 * $1 the asker, $2 the reference, $3 the reference as an id (NULL unless all
 * digits). An id match wins over a name match. reports: everyone reporting
 * to the asker, transitively (UNION stops at a cycle).
 */
/* The query itself is deploy/sql/0005_rls.sql's kam_account_access (issue 7): it must see
 * every account, whatever row-level security shows the acting user, to tell "none". */
static const char sql_access[] = "SELECT * FROM kam_account_access($1::bigint, $2::text, $3::bigint)";

/* $9 name, $10 tier, $11 owner; the owner joins the team; the audit row names the new account. */
static const char sql_add[] =
	"WITH ins AS ("
	"INSERT INTO accounts (name, tier, owner_id) VALUES ($9::text, $10::smallint, $11::bigint) "
	"RETURNING *), "
	"team AS (INSERT INTO account_team (account_id, user_id) SELECT id, owner_id FROM ins), "
	"aud AS (" SQL_AUDIT_INSERT("COALESCE(NULLIF($8::bigint, 0), ins.id)") " FROM ins) "
	"SELECT " SQL_ACCOUNT_HEAD("o.username") SQL_ACCOUNT_INFO " FROM ins a" SQL_ACCOUNT_OWNER;

static const char sql_get[] =
	"SELECT " SQL_ACCOUNT_HEAD(SQL_ACCOUNT_TEAM) SQL_ACCOUNT_INFO
	" FROM accounts a" SQL_ACCOUNT_OWNER " WHERE a.id = $1::bigint";

/* As sql_get, audited ($9 the account) when the account exists. */
static const char sql_get_audited[] =
	"WITH r AS (SELECT id FROM accounts WHERE id = $9::bigint), "
	"aud AS (" SQL_AUDIT_INSERT(SQL_AUDIT_ACCOUNT) " FROM r) "
	"SELECT " SQL_ACCOUNT_HEAD(SQL_ACCOUNT_TEAM) SQL_ACCOUNT_INFO
	" FROM accounts a" SQL_ACCOUNT_OWNER " WHERE a.id = $9::bigint";

/*
 * $9 the asker, $10 the asker's role, $11 after this id, $12 tier, $13 stage,
 * $14 owner (NULL: any), $15 rows. Visible: all to a GM; otherwise accounts
 * whose team holds the asker or, for a manager, anyone reporting to them.
 */
#define SQL_LIST(visible)                                                                   \
	"WITH RECURSIVE reports AS ("                                                        \
	"SELECT id FROM users WHERE reports_to = $9::bigint AND $10::smallint = 3 "         \
	"UNION SELECT u.id FROM users u JOIN reports r ON u.reports_to = r.id), "           \
	"aud AS (" SQL_AUDIT_INSERT(SQL_AUDIT_ACCOUNT) ") "                                  \
	"SELECT " SQL_ACCOUNT_HEAD(SQL_ACCOUNT_TEAM) " FROM accounts a" SQL_ACCOUNT_OWNER " " \
	"WHERE a.id > $11::bigint "                                                          \
	"AND ($12::smallint IS NULL OR a.tier = $12::smallint) "                             \
	"AND ($13::smallint IS NULL OR a.stage = $13::smallint) "                            \
	"AND ($14::bigint IS NULL OR a.owner_id = $14::bigint) " visible " "                 \
	"ORDER BY a.id LIMIT $15::bigint"
/* Two statements, so each has a plan of its own: the GM's walks the accounts in id order;
 * anyone else's fetches the ids on the teams of the caller and their reports first, as
 * arrays the indexes look up (= ANY), so a rep's thirty accounts among a million cost
 * thirty probes, not a walk through the million (which a semi-join on the account list,
 * with its ORDER BY id LIMIT, turned into: 38 ms at 100k accounts, 3 ms now). */
static const char sql_list_all[] = SQL_LIST("AND $10::smallint = 4");
static const char sql_list[] = SQL_LIST(
	"AND a.id = ANY (ARRAY(SELECT t.account_id FROM account_team t "
	"WHERE t.user_id = ANY (ARRAY(SELECT $9::bigint UNION SELECT id FROM reports))))");

/* $9 the account, $10 the expected version, then the fields. A stale version updates
 * nothing, audits nothing and returns no row. */
static const char sql_update[] =
	"WITH upd AS ("
	"UPDATE accounts SET tier = $11::smallint, stage = $12::smallint, strategy = $13::smallint, "
	"founded = $14::integer, headcount = $15::bigint, business = $16::text, revenue = $17::bigint, "
	"budget = $18::bigint, currency = $19::text, suppliers = $20::text, notes = $21::text, "
	"version = version + 1, updated_at = now() "
	"WHERE id = $9::bigint AND version = $10::bigint RETURNING *), "
	"aud AS (" SQL_AUDIT_INSERT(SQL_AUDIT_ACCOUNT) " FROM upd) "
	"SELECT " SQL_ACCOUNT_HEAD(SQL_ACCOUNT_TEAM) SQL_ACCOUNT_INFO " FROM upd a" SQL_ACCOUNT_OWNER;

/*
 * Team changes ($9 account, $10 user) bump the account's version. Both return
 * one row if the account exists: (the user is its owner, something changed);
 * adding a member twice or removing a non-member or the owner changes nothing.
 */
static const char sql_member_add[] =
	"WITH acc AS (SELECT id FROM accounts WHERE id = $9::bigint), "
	"ins AS (INSERT INTO account_team (account_id, user_id) SELECT id, $10::bigint FROM acc "
	"ON CONFLICT DO NOTHING RETURNING account_id), "
	"upd AS (UPDATE accounts SET version = version + 1, updated_at = now() "
	"WHERE id IN (SELECT account_id FROM ins) RETURNING id), "
	"aud AS (" SQL_AUDIT_INSERT(SQL_AUDIT_ACCOUNT) " FROM upd) "
	"SELECT false, EXISTS (SELECT 1 FROM upd) FROM acc";

static const char sql_member_remove[] =
	"WITH acc AS (SELECT id, owner_id FROM accounts WHERE id = $9::bigint), "
	"del AS (DELETE FROM account_team t USING acc "
	"WHERE t.account_id = acc.id AND t.user_id = $10::bigint AND acc.owner_id <> $10::bigint "
	"RETURNING t.account_id), "
	"upd AS (UPDATE accounts SET version = version + 1, updated_at = now() "
	"WHERE id IN (SELECT account_id FROM del) RETURNING id), "
	"aud AS (" SQL_AUDIT_INSERT(SQL_AUDIT_ACCOUNT) " FROM upd) "
	"SELECT acc.owner_id = $10::bigint, EXISTS (SELECT 1 FROM upd) FROM acc";

enum { ACCOUNT_ACCESS, ACCOUNT_ADD, ACCOUNT_GET, ACCOUNT_GET_AUDITED, ACCOUNT_LIST, ACCOUNT_LIST_ALL, ACCOUNT_UPDATE,
       MEMBER_ADD, MEMBER_REMOVE };

static const struct pg_stmt_def stmts[] = {
	[ACCOUNT_ACCESS] = { "account_access", sql_access, 3 },
	[ACCOUNT_ADD] = { "account_add", sql_add, SQL_AUDIT_NPARAMS + 3 },
	[ACCOUNT_GET] = { "account_get", sql_get, 1 },
	[ACCOUNT_GET_AUDITED] = { "account_get_audited", sql_get_audited, SQL_AUDIT_NPARAMS + 1 },
	[ACCOUNT_LIST] = { "account_list", sql_list, SQL_AUDIT_NPARAMS + 7 },
	[ACCOUNT_LIST_ALL] = { "account_list_all", sql_list_all, SQL_AUDIT_NPARAMS + 7 },
	[ACCOUNT_UPDATE] = { "account_update", sql_update, SQL_AUDIT_NPARAMS + 13 },
	[MEMBER_ADD] = { "account_member_add", sql_member_add, SQL_AUDIT_NPARAMS + 2 },
	[MEMBER_REMOVE] = { "account_member_remove", sql_member_remove, SQL_AUDIT_NPARAMS + 2 },
};

const struct pg_stmt_set sql_account_set = { stmts, sizeof(stmts) / sizeof(stmts[0]) };

/* Split the comma-joined team into an arena array. */
static int team_split(struct kam_arena *arena, const char *list, struct kam_account *a)
{
	return sql_split_names(arena, list, ',', &a->team, &a->n_team);
}

int sql_account_from_row(struct pg_job *job, const PGresult *r, int row, bool with_info, struct kam_account *a)
{
	int tier, stage, strategy;

	memset(a, 0, sizeof(*a));
	if (!pg_get_enum(r, row, ACC_COL_TIER, KAM_TIER_STRATEGIC, KAM_TIER__COUNT, &tier) ||
	    !pg_get_enum(r, row, ACC_COL_STAGE, KAM_STAGE_BREAKTHROUGH, KAM_STAGE__COUNT, &stage) ||
	    !pg_get_enum(r, row, ACC_COL_STRATEGY, KAM_STRATEGY_NONE, KAM_STRATEGY__COUNT, &strategy))
		return KAM_EINTERNAL;
	a->id = pg_get_i64(r, row, ACC_COL_ID);
	a->name = pg_get_str(r, row, ACC_COL_NAME);
	a->tier = (enum kam_tier)tier;
	a->stage = (enum kam_stage)stage;
	a->strategy = (enum kam_strategy)strategy;
	a->owner = pg_get_str(r, row, ACC_COL_OWNER);
	a->created_at = pg_get_i64(r, row, ACC_COL_CREATED);
	a->updated_at = pg_get_i64(r, row, ACC_COL_UPDATED);
	a->version = pg_get_i64(r, row, ACC_COL_VERSION);
	if (with_info) {
		a->has_info = true;
		a->info.founded = pg_get_opt_i64(r, row, ACC_COL_FOUNDED);
		a->info.headcount = pg_get_opt_i64(r, row, ACC_COL_HEADCOUNT);
		a->info.business = pg_get_str(r, row, ACC_COL_BUSINESS);
		a->info.revenue = pg_get_opt_i64(r, row, ACC_COL_REVENUE);
		a->info.budget = pg_get_opt_i64(r, row, ACC_COL_BUDGET);
		a->info.currency = pg_get_str(r, row, ACC_COL_CURRENCY);
		a->info.suppliers = pg_get_str(r, row, ACC_COL_SUPPLIERS);
		a->info.notes = pg_get_str(r, row, ACC_COL_NOTES);
	}
	return team_split(&job->arena, pg_get_str(r, row, ACC_COL_TEAM), a);
}

/* Hand the caller the full account in statement `stmt`; no row: empty_err. */
static void account_deliver(struct pg_job *job, int err, int stmt, int empty_err)
{
	struct kam_account a;

	if (!err)
		err = pg_job_expect_row(job, stmt, ACCOUNT_NCOLS, empty_err);
	if (!err)
		err = sql_account_from_row(job, pg_job_result(job, stmt), 0, true, &a);
	job->cb.account(job->arg, err, err ? NULL : &a);
}

/* Jobs whose first statement returns the account; job->aux is the error for no row. */
static void account_done(struct pg_job *job, int err)
{
	account_deliver(job, err, 0, (int)job->aux);
}

static void member_done(struct pg_job *job, int err)
{
	const PGresult *r = pg_job_result(job, 0);

	if (!err)
		err = pg_job_expect_row(job, 0, 2, KAM_ENOTFOUND);
	if (!err && pg_get_bool(r, 0, 0))
		err = KAM_EINVAL;          /* the owner stays on the team */
	else if (!err && !pg_get_bool(r, 0, 1))
		err = KAM_ECONFLICT;       /* already a member, or not one */
	account_deliver(job, err, 1, KAM_ENOTFOUND);
}

/* A new job for an account callback, failing with empty_err when its statement returns no row. */
static int account_job(struct store *st, pg_finish_fn finish, int empty_err, store_account_cb cb, void *arg,
		       struct pg_job **out)
{
	int err;

	if (!cb)
		return KAM_EINVAL;
	err = pg_job_new(st, finish, arg, out);
	if (err)
		return err;
	(*out)->cb.account = cb;
	(*out)->aux = empty_err;
	return 0;
}

static void access_done(struct pg_job *job, int err)
{
	struct store_access acc;
	const PGresult *r = pg_job_result(job, 0);
	int tier, rel;

	if (!err)
		err = pg_job_expect_row(job, 0, 5, KAM_ENOTFOUND);
	if (!err && (!pg_get_enum(r, 0, 1, KAM_TIER_STRATEGIC, KAM_TIER__COUNT, &tier) ||
		     !pg_get_enum(r, 0, 4, KAM_REL_NONE, KAM_REL__COUNT, &rel)))
		err = KAM_EINTERNAL;
	if (!err) {
		acc.account_id = pg_get_i64(r, 0, 0);
		acc.tier = (enum kam_tier)tier;
		acc.owner_id = pg_get_i64(r, 0, 2);
		acc.version = pg_get_i64(r, 0, 3);
		acc.relation = (enum kam_relation)rel;
	}
	job->cb.access(job->arg, err, err ? NULL : &acc);
}

int store_account_access(struct store *st, const struct kam_principal *who, const char *account_ref,
			 store_access_cb cb, void *arg)
{
	struct kam_opt_i64 id = { false, 0 };
	struct pg_job *job;
	size_t digits;
	int err;

	if (!who || !account_ref || !cb)
		return KAM_EINVAL;
	digits = strspn(account_ref, "0123456789");
	if (digits > 0 && digits <= ACCOUNT_ID_MAX_DIGITS && account_ref[digits] == '\0') {
		id.has = true;
		id.value = strtoll(account_ref, NULL, 10);
	}
	err = pg_job_new(st, access_done, arg, &job);
	if (err)
		return err;
	job->cb.access = cb;
	pg_job_stmt(job, &stmts[ACCOUNT_ACCESS]);
	pg_job_i64(job, who->user_id);
	pg_job_text(job, account_ref);
	pg_job_opt_i64(job, id);
	return pool_submit(job);
}

int store_account_add(struct store *st, const char *name, enum kam_tier tier, int64_t owner_id,
		      const struct audit_entry *audit, store_account_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!name || !audit)
		return KAM_EINVAL;
	err = account_job(st, account_done, KAM_EINTERNAL, cb, arg, &job);
	if (err)
		return err;
	pg_job_stmt(job, &stmts[ACCOUNT_ADD]);
	sql_audit_bind(job, audit);
	pg_job_text(job, name);
	pg_job_i64(job, tier);
	pg_job_i64(job, owner_id);
	return pool_submit(job);
}

int store_account_get(struct store *st, int64_t account_id, const struct audit_entry *audit,
		      store_account_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	err = account_job(st, account_done, KAM_ENOTFOUND, cb, arg, &job);
	if (err)
		return err;
	if (audit) {
		pg_job_stmt(job, &stmts[ACCOUNT_GET_AUDITED]);
		sql_audit_bind(job, audit);
	} else {
		pg_job_stmt(job, &stmts[ACCOUNT_GET]);
	}
	pg_job_i64(job, account_id);
	return pool_submit(job);
}

static void list_done(struct pg_job *job, int err)
{
	const PGresult *r = pg_job_result(job, 0);
	struct kam_account *accs = NULL;
	int64_t next = 0;
	int n = 0;

	if (!err) {
		n = pg_job_rows(job, 0, ACCOUNT_HEAD_NCOLS);
		err = n < 0 ? n : 0;
	}
	/* One row more than asked for says there is another page, after the last one shown. */
	if (!err && n > job->aux) {
		n = (int)job->aux;
		next = pg_get_i64(r, n - 1, ACC_COL_ID);
	}
	if (!err && n > 0 && !(accs = kam_arena_alloc(&job->arena, (size_t)n * sizeof(*accs))))
		err = KAM_ENOMEM;
	for (int i = 0; !err && i < n; i++)
		err = sql_account_from_row(job, r, i, false, &accs[i]);
	job->cb.accounts(job->arg, err, err ? NULL : accs, err ? 0 : (size_t)n, err ? 0 : next);
}

int store_account_list(struct store *st, const struct kam_principal *who, const struct store_list_filter *f,
		       const struct audit_entry *audit, store_accounts_cb cb, void *arg)
{
	struct kam_opt_i64 tier = { false, 0 }, stage = { false, 0 }, owner = { false, 0 };
	struct pg_job *job;
	uint32_t limit;
	int err;

	if (!who || !f || !audit || !cb)
		return KAM_EINVAL;
	limit = f->limit == 0 ? KAM_LIST_DEFAULT : f->limit > KAM_LIST_MAX ? KAM_LIST_MAX : f->limit;
	tier = (struct kam_opt_i64){ f->tier != KAM_TIER_NONE, f->tier };
	stage = (struct kam_opt_i64){ f->stage != KAM_STAGE_NONE, f->stage };
	owner = (struct kam_opt_i64){ f->owner_id != 0, f->owner_id };
	err = pg_job_new(st, list_done, arg, &job);
	if (err)
		return err;
	job->cb.accounts = cb;
	job->aux = limit;
	pg_job_stmt(job, &stmts[who->role == KAM_ROLE_GM ? ACCOUNT_LIST_ALL : ACCOUNT_LIST]);
	sql_audit_bind(job, audit);
	pg_job_i64(job, who->user_id);
	pg_job_i64(job, who->role);
	pg_job_i64(job, f->after_id);
	pg_job_opt_i64(job, tier);
	pg_job_opt_i64(job, stage);
	pg_job_opt_i64(job, owner);
	pg_job_i64(job, (int64_t)limit + 1);
	return pool_submit(job);
}

static const char *text_or_empty(const char *s)
{
	return s ? s : "";
}

int store_account_update(struct store *st, const struct kam_account *after, int64_t expected_version,
			 const struct audit_entry *audit, store_account_cb cb, void *arg)
{
	const struct kam_info *in;
	struct pg_job *job;
	int err;

	if (!after || !audit)
		return KAM_EINVAL;
	err = account_job(st, account_done, KAM_ESTALE, cb, arg, &job);
	if (err)
		return err;
	in = &after->info;
	pg_job_stmt(job, &stmts[ACCOUNT_UPDATE]);
	sql_audit_bind(job, audit);
	pg_job_i64(job, after->id);
	pg_job_i64(job, expected_version);
	pg_job_i64(job, after->tier);
	pg_job_i64(job, after->stage);
	pg_job_i64(job, after->strategy);
	pg_job_opt_i64(job, in->founded);
	pg_job_opt_i64(job, in->headcount);
	pg_job_text(job, text_or_empty(in->business));
	pg_job_opt_i64(job, in->revenue);
	pg_job_opt_i64(job, in->budget);
	pg_job_text(job, text_or_empty(in->currency));
	pg_job_text(job, text_or_empty(in->suppliers));
	pg_job_text(job, text_or_empty(in->notes));
	return pool_submit(job);
}

int store_account_member(struct store *st, int64_t account_id, int64_t user_id, bool add,
			 const struct audit_entry *audit, store_account_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!audit)
		return KAM_EINVAL;
	err = account_job(st, member_done, KAM_ENOTFOUND, cb, arg, &job);
	if (err)
		return err;
	/* The change, then the account as it now is, in one transaction. */
	pg_job_stmt(job, &stmts[add ? MEMBER_ADD : MEMBER_REMOVE]);
	sql_audit_bind(job, audit);
	pg_job_i64(job, account_id);
	pg_job_i64(job, user_id);
	pg_job_stmt(job, &stmts[ACCOUNT_GET]);
	pg_job_i64(job, account_id);
	return pool_submit(job);
}
