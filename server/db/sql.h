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

/*
 * The one audit INSERT. Statements that carry an audit entry take it as
 * $1..$8 (sql_audit_bind) and their own parameters from $9. It is an
 * INSERT ... SELECT so an act can write it as a data-modifying CTE that reads
 * the act's RETURNING rows: when the act changes nothing, nothing is audited.
 * account_expr is normally SQL_AUDIT_ACCOUNT; an insert names its new row.
 */
#define SQL_AUDIT_NPARAMS 8
#define SQL_AUDIT_ACCOUNT "NULLIF($8::bigint, 0)"
#define SQL_AUDIT_INSERT(account_expr)                                                          \
	"INSERT INTO audit_log (user_id, username, role, action, result, client_addr, detail, account_id) " \
	"SELECT NULLIF($1::bigint, 0), $2::text, $3::smallint, $4::text, $5::text, $6::text, $7::jsonb, " \
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

#endif
