/*
 * Sessions and logins: the session check every request makes (one UPDATE
 * that validates and touches), login lookup, session create and revoke,
 * password rehash. Tokens arrive hashed; no token or password leaves here
 * except the stored PHC hash handed to the login check.
 */
#include <string.h>

#include "db/pool.h"
#include "db/sql.h"

/* Valid only if the hash matches, not revoked, before absolute expiry, used within the
 * idle window ($2 s) and the user still active. A valid check restarts the idle window,
 * but writes last_seen_at only once it is a tenth of the window old: most checks then
 * stay read-only transactions and cost no commit flush. So a session expires after
 * 90-100 % of the idle timeout without use. */
static const char sql_check[] =
	"WITH s AS ("
	"SELECT s.id, s.last_seen_at, u.id AS user_id, u.username, u.role, "
	"extract(epoch FROM s.expires_at)::bigint AS expires "
	"FROM sessions s JOIN users u ON u.id = s.user_id "
	"WHERE s.token_hash = $1::bytea "
	"AND s.revoked_at IS NULL AND s.expires_at > now() "
	"AND s.last_seen_at > now() - $2::integer * interval '1 second' "
	"AND u.active), "
	"touch AS (UPDATE sessions t SET last_seen_at = now() FROM s "
	"WHERE t.id = s.id AND s.last_seen_at < now() - $2::integer * interval '100 milliseconds') "
	"SELECT id, user_id, username, role, expires FROM s";

static const char sql_login_lookup[] =
	"SELECT id, username, role, active, password_hash FROM users WHERE username = $1::text";

/* Only for a user still active when the session is written ($9 user, $10 token hash, $11 lifetime s). */
static const char sql_create[] =
	"WITH ins AS ("
	"INSERT INTO sessions (user_id, token_hash, expires_at) "
	"SELECT id, $10::bytea, now() + $11::integer * interval '1 second' FROM users "
	"WHERE id = $9::bigint AND active "
	"RETURNING id, expires_at), "
	"aud AS (" SQL_AUDIT_INSERT(SQL_AUDIT_ACCOUNT) " FROM ins) "
	"SELECT id, extract(epoch FROM expires_at)::bigint FROM ins";

static const char sql_revoke[] =
	"WITH upd AS ("
	"UPDATE sessions SET revoked_at = now() WHERE id = $9::bigint AND revoked_at IS NULL RETURNING id), "
	"aud AS (" SQL_AUDIT_INSERT(SQL_AUDIT_ACCOUNT) " FROM upd) "
	"SELECT id FROM upd";

static const char sql_password[] =
	"UPDATE users SET password_hash = $2::text, updated_at = now() WHERE id = $1::bigint RETURNING id";

enum { SESSION_CHECK, LOGIN_LOOKUP, SESSION_CREATE, SESSION_REVOKE, PASSWORD_UPDATE };

static const struct pg_stmt_def stmts[] = {
	[SESSION_CHECK] = { "session_check", sql_check, 2 },
	[LOGIN_LOOKUP] = { "login_lookup", sql_login_lookup, 1 },
	[SESSION_CREATE] = { "session_create", sql_create, SQL_AUDIT_NPARAMS + 3 },
	[SESSION_REVOKE] = { "session_revoke", sql_revoke, SQL_AUDIT_NPARAMS + 1 },
	[PASSWORD_UPDATE] = { "password_update", sql_password, 2 },
};

const struct pg_stmt_set sql_session_set = { stmts, sizeof(stmts) / sizeof(stmts[0]) };

static void check_done(struct pg_job *job, int err)
{
	struct kam_principal who;
	const PGresult *r = pg_job_result(job, 0);
	const char *name;
	int role;

	if (!err)
		err = pg_job_expect_row(job, 0, 5, KAM_EUNAUTH);
	if (!err) {
		memset(&who, 0, sizeof(who));
		who.session_id = pg_get_i64(r, 0, 0);
		who.user_id = pg_get_i64(r, 0, 1);
		name = pg_get_str(r, 0, 2);
		who.expires_at = pg_get_i64(r, 0, 4);
		if (strlen(name) > KAM_MAX_USERNAME || !pg_get_enum(r, 0, 3, KAM_ROLE_JUNIOR, KAM_ROLE__COUNT, &role)) {
			err = KAM_EINTERNAL;
		} else {
			memcpy(who.username, name, strlen(name) + 1);
			who.role = (enum kam_role)role;
		}
	}
	job->cb.principal(job->arg, err, err ? NULL : &who);
}

int store_session_check(struct store *st, const uint8_t token_hash[KAM_SHA256_LEN],
			store_principal_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!token_hash || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, check_done, arg, &job);
	if (err)
		return err;
	job->cb.principal = cb;
	pg_job_stmt(job, &stmts[SESSION_CHECK]);
	pg_job_bytes(job, token_hash, KAM_SHA256_LEN);
	pg_job_i64(job, st->session_idle_s);
	return pool_submit(job);
}

static void login_lookup_done(struct pg_job *job, int err)
{
	struct store_credentials c;
	const PGresult *r = pg_job_result(job, 0);
	int role;

	if (!err)
		err = pg_job_expect_row(job, 0, 5, KAM_ENOTFOUND);
	if (!err && !pg_get_enum(r, 0, 2, KAM_ROLE_JUNIOR, KAM_ROLE__COUNT, &role))
		err = KAM_EINTERNAL;
	if (!err) {
		c.user_id = pg_get_i64(r, 0, 0);
		c.username = pg_get_str(r, 0, 1);
		c.role = (enum kam_role)role;
		c.active = pg_get_bool(r, 0, 3);
		c.password_hash = pg_get_str(r, 0, 4);
	}
	job->cb.credentials(job->arg, err, err ? NULL : &c);
}

int store_login_lookup(struct store *st, const char *username, store_credentials_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!username || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, login_lookup_done, arg, &job);
	if (err)
		return err;
	job->cb.credentials = cb;
	pg_job_stmt(job, &stmts[LOGIN_LOOKUP]);
	pg_job_text(job, username);
	return pool_submit(job);
}

static void create_done(struct pg_job *job, int err)
{
	/* No row: the user was deactivated between the password check and now. */
	if (!err)
		err = pg_job_expect_row(job, 0, 2, KAM_EUNAUTH);
	job->cb.expiry(job->arg, err, err ? 0 : pg_get_i64(pg_job_result(job, 0), 0, 0),
		       err ? 0 : pg_get_i64(pg_job_result(job, 0), 0, 1));
}

int store_session_create(struct store *st, int64_t user_id, const uint8_t token_hash[KAM_SHA256_LEN],
			 const struct audit_entry *audit, store_expiry_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!token_hash || !audit || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, create_done, arg, &job);
	if (err)
		return err;
	job->cb.expiry = cb;
	pg_job_stmt(job, &stmts[SESSION_CREATE]);
	sql_audit_bind(job, audit);
	pg_job_i64(job, user_id);
	pg_job_bytes(job, token_hash, KAM_SHA256_LEN);
	pg_job_i64(job, st->session_absolute_s);
	return pool_submit(job);
}

/* Done for statements that return the row they changed: none means not found. */
static void changed_done(struct pg_job *job, int err)
{
	if (!err)
		err = pg_job_expect_row(job, 0, 1, KAM_ENOTFOUND);
	job->cb.done(job->arg, err);
}

int store_session_revoke(struct store *st, int64_t session_id, const struct audit_entry *audit,
			 store_done_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!audit || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, changed_done, arg, &job);
	if (err)
		return err;
	job->cb.done = cb;
	pg_job_stmt(job, &stmts[SESSION_REVOKE]);
	sql_audit_bind(job, audit);
	pg_job_i64(job, session_id);
	return pool_submit(job);
}

int store_password_update(struct store *st, int64_t user_id, const char *password_hash,
			  store_done_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!password_hash || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, changed_done, arg, &job);
	if (err)
		return err;
	job->cb.done = cb;
	pg_job_stmt(job, &stmts[PASSWORD_UPDATE]);
	pg_job_i64(job, user_id);
	pg_job_text(job, password_hash);
	return pool_submit(job);
}
