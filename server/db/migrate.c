/*
 * Start-up only, before the event loop runs: apply the embedded migrations
 * (db/migrations.h) and create the first GM. This is the one place in kamd
 * where blocking libpq calls (PQconnectdbParams, PQexec) are allowed; nothing
 * here may be called once the loop is running.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/job.h"
#include "db/migrations.h"
#include "db/sql.h"
#include "db/store.h"
#include "log.h"

/* Serialises migrations between kamd instances starting at once ("KAM" in ASCII). */
#define MIGRATE_LOCK_KEY "4931917"
/* PostgreSQL role names are at most NAMEDATALEN - 1 = 63 bytes. */
#define ROLE_NAME_MAX 64

static const char sql_migrations_table[] =
	"CREATE TABLE IF NOT EXISTS kam_schema_migrations ("
	"version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())";

static void why_set(char *why, size_t why_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !why_len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

static PGconn *connect_blocking(const char *conninfo, char *why, size_t why_len)
{
	const char *kw[PG_CONN_NPARAMS], *val[PG_CONN_NPARAMS];
	char line[256];
	PGconn *c;

	pg_conn_params(conninfo, NULL, kw, val);
	c = PQconnectdbParams(kw, val, 1);
	if (!c) {
		why_set(why, why_len, "cannot connect to PostgreSQL: out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		why_set(why, why_len, "cannot connect to PostgreSQL: %s",
			pg_first_line(PQerrorMessage(c), line, sizeof(line)));
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, pg_notice_log, "db");
	return c;
}

/*
 * Run one command (several when nparams is 0 and there are no values). On
 * success *out (if given) holds the result; on failure *why says what failed
 * and the return value is the mapped KAM_E* code.
 */
static int run(PGconn *c, const char *sql, int nparams, const char *const *values, PGresult **out,
	       const char *what, char *why, size_t why_len)
{
	PGresult *r = values ? PQexecParams(c, sql, nparams, NULL, values, NULL, NULL, 0) : PQexec(c, sql);
	ExecStatusType s = PQresultStatus(r);
	char line[256];
	int err;

	if (r && (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)) {
		if (out)
			*out = r;
		else
			PQclear(r);
		return 0;
	}
	err = r ? pg_sqlstate_error(PQresultErrorField(r, PG_DIAG_SQLSTATE)) : KAM_ENOMEM;
	why_set(why, why_len, "%s: %s", what, pg_first_line(r ? PQresultErrorMessage(r) : PQerrorMessage(c),
							     line, sizeof(line)));
	PQclear(r);
	return err;
}

/* SELECT current_user into name. */
static int current_role(PGconn *c, char name[ROLE_NAME_MAX], char *why, size_t why_len)
{
	PGresult *r = NULL;
	int err = run(c, "SELECT current_user", 0, NULL, &r, "cannot read the role name", why, why_len);

	if (err)
		return err;
	snprintf(name, ROLE_NAME_MAX, "%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return 0;
}

static void rollback(PGconn *c)
{
	PQclear(PQexec(c, "ROLLBACK"));
}

/* Apply one migration and record it, in one transaction. */
static int apply(PGconn *c, const struct kam_migration *m, char *why, size_t why_len)
{
	char version[16], what[128];
	const char *values[2] = { version, m->name };
	int err;

	snprintf(version, sizeof(version), "%d", m->version);
	snprintf(what, sizeof(what), "migration %s failed", m->name);
	err = run(c, "BEGIN", 0, NULL, NULL, what, why, why_len);
	if (!err)
		err = run(c, m->sql, 0, NULL, NULL, what, why, why_len);
	if (!err)
		err = run(c, "INSERT INTO kam_schema_migrations (version, name) VALUES ($1::integer, $2::text)",
			  2, values, NULL, what, why, why_len);
	if (!err)
		err = run(c, "COMMIT", 0, NULL, NULL, what, why, why_len);
	if (err)
		rollback(c);
	else
		log_info("db: applied migration %s", m->name);
	return err;
}

static int apply_pending(PGconn *c, char *why, size_t why_len)
{
	PGresult *r = NULL;
	char version[16];
	const char *values[1] = { version };
	int err = 0;

	for (int i = 0; !err && i < kam_migrations_count; i++) {
		snprintf(version, sizeof(version), "%d", kam_migrations[i].version);
		err = run(c, "SELECT 1 FROM kam_schema_migrations WHERE version = $1::integer", 1, values, &r,
			  "cannot read the applied migrations", why, why_len);
		if (err)
			break;
		if (PQntuples(r) == 0)
			err = apply(c, &kam_migrations[i], why, why_len);
		PQclear(r);
		r = NULL;
	}
	return err;
}

const char *store_libpq_version(void)
{
	static char text[32];
	int v = PQlibVersion();

	snprintf(text, sizeof(text), "%d.%d", v / 10000, v % 10000);
	return text;
}

int store_migrate(const char *serving_conninfo, const char *admin_conninfo, char *why, size_t why_len)
{
	const char *lock[1] = { MIGRATE_LOCK_KEY };
	char serving_role[ROLE_NAME_MAX], admin_role[ROLE_NAME_MAX];
	const char *grant[1] = { serving_role };
	PGconn *sc = NULL, *ac = NULL, *owner;
	int err;

	if (!serving_conninfo) {
		why_set(why, why_len, "no database given");
		return KAM_EINVAL;
	}
	why_set(why, why_len, "%s", "");
	sc = connect_blocking(serving_conninfo, why, why_len);
	if (!sc) {
		err = KAM_EUNAVAIL;
		goto fail;
	}
	err = current_role(sc, serving_role, why, why_len);
	if (err)
		goto fail;
	if (admin_conninfo) {
		ac = connect_blocking(admin_conninfo, why, why_len);
		if (!ac) {
			err = KAM_EUNAVAIL;
			goto fail;
		}
	}
	owner = ac ? ac : sc;
	err = run(owner, "SELECT pg_advisory_lock($1::bigint)", 1, lock, NULL, "cannot lock for migrations",
		  why, why_len);
	if (!err)
		err = run(owner, sql_migrations_table, 0, NULL, NULL, "cannot create kam_schema_migrations",
			  why, why_len);
	if (!err)
		err = apply_pending(owner, why, why_len);
	if (!err && ac)
		err = current_role(ac, admin_role, why, why_len);
	/* The schema owner grants the serving role what serving needs, every start: migrations add tables. */
	if (!err && ac && strcmp(admin_role, serving_role) != 0)
		err = run(ac, "SELECT kam_grant_serving($1::text)", 1, grant, NULL,
			  "cannot grant the serving role its privileges", why, why_len);
	/* The advisory lock is a session lock: PQfinish releases it. */
fail:
	PQfinish(ac);
	PQfinish(sc);
	return err;
}

int store_bootstrap_gm(const char *conninfo, const char *username, const char *password_hash,
		       char *why, size_t why_len)
{
	const char *user[2] = { username, password_hash };
	struct audit_entry entry;
	struct sql_audit_values av;
	PGresult *r = NULL;
	PGconn *c = NULL;
	int err;

	if (!conninfo || !username || !password_hash) {
		why_set(why, why_len, "missing database, user name or password");
		return KAM_EINVAL;
	}
	c = connect_blocking(conninfo, why, why_len);
	if (!c)
		return KAM_EUNAVAIL;
	err = run(c, "BEGIN", 0, NULL, NULL, "cannot begin", why, why_len);
	/* Self-conflicting: two bootstraps at once cannot both see "no GM". */
	if (!err)
		err = run(c, "LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE", 0, NULL, NULL, "cannot lock users",
			  why, why_len);
	if (!err)
		err = run(c, "SELECT username FROM users WHERE role = 4 AND active LIMIT 1", 0, NULL, &r,
			  "cannot look for a GM", why, why_len);
	if (!err && PQntuples(r) > 0) {
		why_set(why, why_len, "the database already has a GM (%s)", PQgetvalue(r, 0, 0));
		err = KAM_ECONFLICT;
	}
	PQclear(r);
	r = NULL;
	if (!err)
		err = run(c, "INSERT INTO users (username, role, password_hash) VALUES ($1::text, 4, $2::text) "
			  "RETURNING id", 2, user, &r, "cannot create the GM", why, why_len);
	if (!err) {
		entry = (struct audit_entry){
			.user_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10),
			.username = username,
			.role = KAM_ROLE_GM,
			.action = "user.bootstrap",
			.account_id = 0,
			.result = AUDIT_ALLOWED,
			.client_addr = "",
			.detail = NULL,
		};
		err = sql_audit_values(&entry, &av);
	}
	PQclear(r);
	r = NULL;
	if (!err)
		err = run(c, sql_audit_insert, SQL_AUDIT_NPARAMS, av.v, NULL, "cannot write the audit row",
			  why, why_len);
	if (!err)
		err = run(c, "COMMIT", 0, NULL, NULL, "cannot commit", why, why_len);
	if (err)
		rollback(c);
	PQfinish(c);
	return err;
}
