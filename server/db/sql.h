/*
 * Internal to db/: the statement tables of the sql_<aggregate>.c files (every
 * connection prepares their union) and the SQL they share. Shared SQL is
 * string literals joined at compile time, never formatted at run time.
 */
#ifndef KAMD_DB_SQL_H
#define KAMD_DB_SQL_H

#include "audit/audit.h"
#include "db/job.h"

extern const struct pg_stmt_set sql_session_set;
extern const struct pg_stmt_set sql_user_set;
extern const struct pg_stmt_set sql_account_set;
extern const struct pg_stmt_set sql_audit_set;
extern const struct pg_stmt_set sql_layers_set;   /* layers (issue 3) */
/* -- audit and churn (issue 4) -- */
extern const struct pg_stmt_set sql_audit_trail_set;   /* sql_audit_trail.c: log, chain, watch */
extern const struct pg_stmt_set sql_churn_set;         /* sql_churn.c: deactivate, hand-over */
extern const struct pg_stmt_set sql_transfer_set;      /* sql_transfer.c: export, import */
extern const struct pg_stmt_set sql_auth_set;   /* hostile clients (issue 6): throttling, passwd, unlock */
/* -- faults and scale-out (issue 7) -- */
extern const struct pg_stmt_set sql_rls_set;    /* sql_rls.c: the acting user for row-level security */
#define SQL_ACT_AS_STMT "kam_act_as"
/* The job's actor as the text kam_act_as binds. */
void sql_actor_text(const struct pg_job *job, char *buf, size_t len);

/* -- performance (issue 5) -- */
extern const struct pg_stmt_set sql_guard_set;   /* sql_guard.c: the fast path's guards */
/* "ip:port" of a client, bracketed IPv6 included, with its NUL. */
#define SQL_GUARD_ADDR_LEN 64
/* Checks svc asked the next job to run first (store_session_guard, store_watch_guard). */
struct sql_guards {
	bool session, watch;
	uint8_t token_hash[KAM_SHA256_LEN];
	struct kam_principal who;
	char addr[SQL_GUARD_ADDR_LEN];
	int64_t account_id;
	uint32_t limit, window_s;
};
/* Put the pending guards ahead of a new job's statements, and forget them. */
void sql_guard_attach(struct pg_job *job);

/*
 * The one audit INSERT. Statements that carry an audit entry take it as
 * $1..$8 (sql_audit_bind) and their own parameters from $9. It is an
 * INSERT ... SELECT so an act can write it as a data-modifying CTE that reads
 * the act's RETURNING rows: when the act changes nothing, nothing is audited.
 * account_expr is normally SQL_AUDIT_ACCOUNT; an insert names its new row.
 */
#define SQL_AUDIT_NPARAMS 8
#define SQL_AUDIT_ACCOUNT "NULLIF($8::bigint, 0)"
#define SQL_AUDIT_INSERT(account_expr) SQL_AUDIT_INSERT_DETAIL("$7::jsonb", account_expr)
/* The same, with the detail computed per row from $7 (e.g. "$7::jsonb || jsonb_build_object(...)"). */
#define SQL_AUDIT_INSERT_DETAIL(detail_expr, account_expr)                                      \
	"INSERT INTO audit_log (user_id, username, role, action, result, client_addr, detail, account_id) " \
	"SELECT NULLIF($1::bigint, 0), $2::text, $3::smallint, $4::text, $5::text, $6::text, " detail_expr ", " \
	account_expr

/* The audit INSERT on its own (store_audit_write, store_bootstrap_gm). */
extern const char sql_audit_insert[];

/* An entry's eight parameters as text, in $1..$8 order; buffers live in the struct. */
struct sql_audit_values {
	char user_id[24];
	char role[8];
	char account_id[24];
	const char *v[SQL_AUDIT_NPARAMS];
};

/* KAM_EINVAL if the entry lacks its username or action. */
int sql_audit_values(const struct audit_entry *e, struct sql_audit_values *out) KAM_MUST_CHECK;
/* Bind an entry as the current statement's $1..$8. */
void sql_audit_bind(struct pg_job *job, const struct audit_entry *e);

/*
 * An account row (sql_account.c, and the export): accounts a joined with its
 * owner o. The head is what a list shows; SQL_ACCOUNT_INFO adds the
 * information layer. team is an expression giving the usernames joined by
 * commas, owner first (a username cannot hold a comma: users.username's CHECK).
 */
#define SQL_ACCOUNT_HEAD(team)                                                            \
	"a.id, a.name, a.tier, a.stage, a.strategy, o.username, " team ", "               \
	"extract(epoch FROM a.created_at)::bigint, extract(epoch FROM a.updated_at)::bigint, a.version"
#define SQL_ACCOUNT_INFO \
	", a.founded, a.headcount, a.business, a.revenue, a.budget, a.currency, a.suppliers, a.notes"
#define SQL_ACCOUNT_TEAM                                                                  \
	"(SELECT string_agg(u.username, ',' ORDER BY u.id <> a.owner_id, u.username) "   \
	"FROM account_team t JOIN users u ON u.id = t.user_id WHERE t.account_id = a.id)"
#define SQL_ACCOUNT_OWNER " JOIN users o ON o.id = a.owner_id"

enum {
	ACC_COL_ID, ACC_COL_NAME, ACC_COL_TIER, ACC_COL_STAGE, ACC_COL_STRATEGY, ACC_COL_OWNER, ACC_COL_TEAM, ACC_COL_CREATED, ACC_COL_UPDATED,
	ACC_COL_VERSION, ACCOUNT_HEAD_NCOLS,
	ACC_COL_FOUNDED = ACCOUNT_HEAD_NCOLS, ACC_COL_HEADCOUNT, ACC_COL_BUSINESS, ACC_COL_REVENUE, ACC_COL_BUDGET, ACC_COL_CURRENCY,
	ACC_COL_SUPPLIERS, ACC_COL_NOTES, ACCOUNT_NCOLS
};

/* Split names joined by sep (which no name may hold) into an arena array (db/sql_churn.c). */
int sql_split_names(struct kam_arena *a, const char *joined, char sep, const char ***out, size_t *n_out) KAM_MUST_CHECK;
/* The one bigint column of statement stmt as an arena array (db/sql_churn.c). */
int sql_ids(struct pg_job *job, int stmt, int64_t **ids, size_t *n) KAM_MUST_CHECK;
/* One account from row `row` of r (columns as above); team names go into the job's arena. */
int sql_account_from_row(struct pg_job *job, const PGresult *r, int row, bool with_info, struct kam_account *a) KAM_MUST_CHECK;

#endif
