/*
 * Login throttling, password changes and unlocks (issue 6): the gate every
 * password check passes (serialised per address and user name by advisory
 * locks, reserving its failure row before the hash), its outcome, and the
 * user lookups behind passwd and unlock. State is in login_failures and
 * login_locks (deploy/sql/0004_auth.sql); no password ever reaches here.
 */
#include <string.h>

#include "db/pool.h"
#include "db/sql.h"

/*
 * The wait after f consecutive failures, with the limits as parameters thr
 * (threshold), first and longest (seconds): doubling per failure past the
 * threshold. The exponent is capped so the power stays finite.
 */
#define SQL_BACKOFF(f, thr, first, longest)                                                    \
	"make_interval(secs => least(" longest "::integer::float8, " first "::integer::float8 * " \
	"power(2::float8, least((" f ") - " thr "::integer, 40))))"
/* The limits every throttled statement binds, in bind_limits' order, from its parameter n. */
#define GATE_BACKOFF(f) SQL_BACKOFF(f, "$3", "$6", "$7")
#define FAIL_BACKOFF(f) SQL_BACKOFF(f, "$11", "$14", "$15")

/* Gates for one address, then one name, run one at a time: the check and its reservation
 * below are then atomic across connections and kamd instances. Always address first. */
static const char sql_gate_lock[] =
	"SELECT pg_advisory_xact_lock(hashtextextended('kam.login.addr:' || $1::text, 0)), "
	"pg_advisory_xact_lock(hashtextextended('kam.login.user:' || $2::text, 0))";

/*
 * $1 name, $2 address, $3 threshold, $4 failures per hour (name), $5 per minute
 * (address), $6 first wait, $7 longest wait. Refused: nothing changes but the
 * clean-up. Allowed: a failure row is reserved and the consecutive count raised
 * now, locking the name already when this check would reach the threshold, so
 * no concurrent check gets past it; a right password undoes both (sql_pass).
 * The user's credentials come along, NULL for an unknown name.
 */
static const char sql_gate[] =
	"WITH old AS (DELETE FROM login_failures WHERE id IN (SELECT id FROM login_failures "
	"WHERE at < now() - interval '1 hour' ORDER BY at LIMIT 16 FOR UPDATE SKIP LOCKED)), "
	"stale AS (DELETE FROM login_locks WHERE username IN (SELECT username FROM login_locks "
	"WHERE updated_at < now() - interval '1 day' AND (locked_until IS NULL OR locked_until < now()) "
	"AND username <> $1::text LIMIT 16 FOR UPDATE SKIP LOCKED)), "
	"st AS (SELECT "
	"(SELECT locked_until FROM login_locks WHERE username = $1::text) AS locked_until, "
	"(SELECT count(*) FROM login_failures WHERE username = $1::text AND at > now() - interval '1 hour') AS hour_n, "
	"(SELECT min(at) FROM login_failures WHERE username = $1::text AND at > now() - interval '1 hour') AS hour_first, "
	"(SELECT count(*) FROM login_failures WHERE addr = $2::text AND NOT pending "
	"AND at > now() - interval '1 minute') AS min_n, "
	"(SELECT min(at) FROM login_failures WHERE addr = $2::text AND NOT pending "
	"AND at > now() - interval '1 minute') AS min_first), "
	"dec AS (SELECT "
	"CASE WHEN locked_until > now() THEN 1 WHEN hour_n >= $4::integer THEN 2 "
	"WHEN min_n >= $5::integer THEN 3 ELSE 0 END AS refused, "
	"CASE WHEN locked_until > now() THEN locked_until "
	"WHEN hour_n >= $4::integer THEN hour_first + interval '1 hour' "
	"WHEN min_n >= $5::integer THEN min_first + interval '1 minute' END AS until FROM st), "
	"res AS (INSERT INTO login_failures (username, addr, pending) SELECT $1::text, $2::text, true FROM dec "
	"WHERE refused = 0 RETURNING id), "
	"cnt AS (INSERT INTO login_locks AS l (username, failures, locked_until) "
	"SELECT $1::text, 1, CASE WHEN 1 >= $3::integer THEN now() + " GATE_BACKOFF("1") " END "
	"FROM dec WHERE refused = 0 "
	"ON CONFLICT (username) DO UPDATE SET failures = l.failures + 1, "
	"locked_until = CASE WHEN l.failures + 1 >= $3::integer THEN now() + " GATE_BACKOFF("l.failures + 1")
	" ELSE l.locked_until END, updated_at = now() RETURNING failures) "
	"SELECT d.refused, COALESCE(ceil(extract(epoch FROM d.until - now()))::bigint, 0), "
	"(SELECT id FROM res), COALESCE((SELECT failures FROM cnt), 0), "
	"u.id, u.username, u.role, u.active, u.password_hash "
	"FROM dec d LEFT JOIN users u ON u.username = $1::text";
#define SQL_GATE_NCOLS 9

/*
 * A wrong password: its reserved row ($16) becomes the failure (no longer pending, so
 * its address counts it); from the threshold on the name waits, measured from now.
 * Audited ($1..$8, always), and every failure after which the name or the address is
 * locked writes a login.lockout row too, with the same who and where. $9 name, $10
 * address, $11..$15 the limits.
 */
static const char sql_fail[] =
	"WITH fail AS (UPDATE login_failures SET pending = false WHERE id = $16::bigint), "
	"upd AS (UPDATE login_locks SET "
	"locked_until = CASE WHEN failures >= $11::integer THEN now() + " FAIL_BACKOFF("failures")
	" ELSE locked_until END, updated_at = now() "
	"WHERE username = $9::text RETURNING failures, locked_until), "
	"aud AS (" SQL_AUDIT_INSERT(SQL_AUDIT_ACCOUNT) "), "
	"hour AS (SELECT count(*) AS n FROM login_failures WHERE username = $9::text "
	"AND at > now() - interval '1 hour'), "
	"minute AS (SELECT count(*) AS n FROM login_failures WHERE addr = $10::text "
	"AND (NOT pending OR id = $16::bigint) AND at > now() - interval '1 minute'), "
	"lockout AS (INSERT INTO audit_log (user_id, username, role, action, result, client_addr, detail) "
	"SELECT NULLIF($1::bigint, 0), $2::text, $3::smallint, 'login.lockout', 'denied', $6::text, l.d "
	"FROM (SELECT jsonb_build_object('reason', 'consecutive failures', 'failures', failures, "
	"'seconds', ceil(extract(epoch FROM locked_until - now()))::bigint) AS d FROM upd "
	"WHERE failures >= $11::integer "
	"UNION ALL SELECT jsonb_build_object('reason', 'failures in the last hour', 'failures', n) FROM hour "
	"WHERE n >= $12::integer "
	"UNION ALL SELECT jsonb_build_object('reason', 'failures from the address in the last minute', "
	"'address', $10::text, 'failures', n) FROM minute WHERE n >= $13::integer) l) "
	"SELECT failures, COALESCE(extract(epoch FROM locked_until)::bigint, 0) FROM upd";

/* A right password: the reservation goes, and so do the consecutive failures. $1 row, $2 name. */
static const char sql_pass[] =
	"WITH res AS (DELETE FROM login_failures WHERE id = $1::bigint) "
	"DELETE FROM login_locks WHERE username = $2::text";

/* A check that never got to the hash (kamd busy): as if it had not been made, but audited.
 * The lock its reservation may have set goes too: the gate let it through, so none was due. */
static const char sql_release[] =
	"WITH res AS (DELETE FROM login_failures WHERE id = $9::bigint RETURNING id), "
	"upd AS (UPDATE login_locks SET failures = greatest(failures - 1, 0), locked_until = NULL "
	"WHERE username = $10::text AND EXISTS (SELECT 1 FROM res)), "
	"aud AS (" SQL_AUDIT_INSERT(SQL_AUDIT_ACCOUNT) ") "
	"SELECT count(*) FROM res";

/* The user passwd and unlock name, with whether they report to $2 (directly or through
 * other managers; the walk stops after 64 levels in case of a cycle). */
static const char sql_target[] =
	"WITH RECURSIVE chain (id, depth) AS ("
	"SELECT reports_to, 1 FROM users WHERE username = $1::text "
	"UNION ALL SELECT u.reports_to, c.depth + 1 FROM users u JOIN chain c ON u.id = c.id "
	"WHERE c.depth < 64) "
	"SELECT u.id, u.username, u.role, COALESCE(m.username, ''), u.active, "
	"extract(epoch FROM u.created_at)::bigint, EXISTS (SELECT 1 FROM chain WHERE id = $2::bigint) "
	"FROM users u LEFT JOIN users m ON m.id = u.reports_to WHERE u.username = $1::text";
#define SQL_TARGET_NCOLS 7

/* Forget $9's consecutive failures and its failures of the hour (the address keeps
 * counting them). Audited whether or not there was anything to forget. */
static const char sql_unlock[] =
	"WITH del AS (DELETE FROM login_locks WHERE username = $9::text RETURNING failures, locked_until), "
	"fail AS (UPDATE login_failures SET username = NULL WHERE username = $9::text), "
	"aud AS (" SQL_AUDIT_INSERT(SQL_AUDIT_ACCOUNT) ") "
	"SELECT COALESCE((SELECT failures FROM del), 0), "
	"COALESCE((SELECT extract(epoch FROM locked_until)::bigint FROM del WHERE locked_until > now()), 0)";

/* New hash $10 for active user $9; every other session of theirs ends (all but $11), and
 * so does any lockout. Returns the number of sessions revoked; no row: not active. */
static const char sql_passwd[] =
	"WITH upd AS (UPDATE users SET password_hash = $10::text, updated_at = now() "
	"WHERE id = $9::bigint AND active RETURNING id, username), "
	"rev AS (UPDATE sessions SET revoked_at = now() WHERE user_id IN (SELECT id FROM upd) "
	"AND revoked_at IS NULL AND id <> $11::bigint RETURNING id), "
	"lk AS (DELETE FROM login_locks WHERE username IN (SELECT username FROM upd)), "
	"aud AS (" SQL_AUDIT_INSERT(SQL_AUDIT_ACCOUNT) " FROM upd) "
	"SELECT (SELECT count(*) FROM rev) FROM upd";

enum { GATE_LOCK, GATE, FAIL, PASS, RELEASE, TARGET, UNLOCK, PASSWD };

static const struct pg_stmt_def stmts[] = {
	[GATE_LOCK] = { "auth_gate_lock", sql_gate_lock, 2 },
	[GATE] = { "auth_gate", sql_gate, 7 },
	[FAIL] = { "auth_fail", sql_fail, SQL_AUDIT_NPARAMS + 8 },
	[PASS] = { "auth_pass", sql_pass, 2 },
	[RELEASE] = { "auth_release", sql_release, SQL_AUDIT_NPARAMS + 2 },
	[TARGET] = { "auth_target", sql_target, 2 },
	[UNLOCK] = { "auth_unlock", sql_unlock, SQL_AUDIT_NPARAMS + 1 },
	[PASSWD] = { "auth_passwd", sql_passwd, SQL_AUDIT_NPARAMS + 3 },
};

const struct pg_stmt_set sql_auth_set = { stmts, sizeof(stmts) / sizeof(stmts[0]) };

/* ---- the gate ---- */

static void gate_done(struct pg_job *job, int err)
{
	const PGresult *r = pg_job_result(job, 1);
	struct store_gate g;
	int role;

	if (!err)
		err = pg_job_expect_row(job, 1, SQL_GATE_NCOLS, KAM_EINTERNAL);
	if (!err) {
		memset(&g, 0, sizeof(g));
		g.refused = (enum store_refusal)pg_get_i64(r, 0, 0);
		g.retry_after_s = pg_get_i64(r, 0, 1);
		g.reservation = pg_get_i64(r, 0, 2);
		g.failures = (int)pg_get_i64(r, 0, 3);
		g.known = !PQgetisnull(r, 0, 4);
		if (g.refused < STORE_ALLOWED || g.refused > STORE_ADDRESS ||
		    (g.refused == STORE_ALLOWED && g.reservation <= 0))
			err = KAM_EINTERNAL;
		if (g.known) {
			if (!pg_get_enum(r, 0, 6, KAM_ROLE_JUNIOR, KAM_ROLE__COUNT, &role))
				err = KAM_EINTERNAL;
			g.cred = (struct store_credentials){
				.user_id = pg_get_i64(r, 0, 4),
				.username = pg_get_str(r, 0, 5),
				.role = (enum kam_role)role,
				.active = pg_get_bool(r, 0, 7),
				.password_hash = pg_get_str(r, 0, 8),
			};
		}
	}
	job->cb.gate(job->arg, err, err ? NULL : &g);
}

/* The limits, in the order the gate takes them as $3..$7 and the failure as $11..$15. */
static void bind_limits(struct pg_job *job, const struct store_throttle *lim)
{
	pg_job_i64(job, lim->threshold);
	pg_job_i64(job, lim->per_hour);
	pg_job_i64(job, lim->per_minute);
	pg_job_i64(job, lim->initial_s);
	pg_job_i64(job, lim->max_s);
}

int store_login_gate(struct store *st, const char *username, const char *addr, const struct store_throttle *lim,
		     store_gate_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!username || !*username || !addr || !lim || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, gate_done, arg, &job);
	if (err)
		return err;
	job->cb.gate = cb;
	pg_job_stmt(job, &stmts[GATE_LOCK]);
	pg_job_text(job, addr);
	pg_job_text(job, username);
	pg_job_stmt(job, &stmts[GATE]);
	pg_job_text(job, username);
	pg_job_text(job, addr);
	bind_limits(job, lim);
	return pool_submit(job);
}

/* ---- outcomes ---- */

static void lock_done(struct pg_job *job, int err)
{
	const PGresult *r = pg_job_result(job, 0);
	int n = err ? 0 : pg_job_rows(job, 0, 2);

	if (n < 0)
		err = n;
	/* No row: the name was unlocked meanwhile, so it has no failures now. */
	job->cb.lock(job->arg, err, n > 0 ? (int)pg_get_i64(r, 0, 0) : 0, n > 0 ? pg_get_i64(r, 0, 1) : 0);
}

int store_login_fail(struct store *st, int64_t reservation, const char *username, const char *addr,
		     const struct store_throttle *lim, const struct audit_entry *audit, store_lock_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!username || !addr || !lim || !audit || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, lock_done, arg, &job);
	if (err)
		return err;
	job->cb.lock = cb;
	pg_job_stmt(job, &stmts[FAIL]);
	sql_audit_bind(job, audit);
	pg_job_text(job, username);
	pg_job_text(job, addr);
	bind_limits(job, lim);
	pg_job_i64(job, reservation);
	return pool_submit(job);
}

static void done_done(struct pg_job *job, int err)
{
	job->cb.done(job->arg, err);
}

int store_login_pass(struct store *st, int64_t reservation, const char *username, store_done_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!username || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, done_done, arg, &job);
	if (err)
		return err;
	job->cb.done = cb;
	pg_job_stmt(job, &stmts[PASS]);
	pg_job_i64(job, reservation);
	pg_job_text(job, username);
	return pool_submit(job);
}

int store_login_release(struct store *st, int64_t reservation, const char *username,
			const struct audit_entry *audit, store_done_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!username || !audit || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, done_done, arg, &job);
	if (err)
		return err;
	job->cb.done = cb;
	pg_job_stmt(job, &stmts[RELEASE]);
	sql_audit_bind(job, audit);
	pg_job_i64(job, reservation);
	pg_job_text(job, username);
	return pool_submit(job);
}

/* ---- user passwd and unlock ---- */

static void target_done(struct pg_job *job, int err)
{
	const PGresult *r = pg_job_result(job, 0);
	struct store_user_target t;
	int role;

	if (!err)
		err = pg_job_expect_row(job, 0, SQL_TARGET_NCOLS, KAM_ENOTFOUND);
	if (!err && !pg_get_enum(r, 0, 2, KAM_ROLE_JUNIOR, KAM_ROLE__COUNT, &role))
		err = KAM_EINTERNAL;
	if (!err) {
		t.user = (struct kam_user){
			.id = pg_get_i64(r, 0, 0),
			.username = pg_get_str(r, 0, 1),
			.role = (enum kam_role)role,
			.reports_to = pg_get_str(r, 0, 3),
			.active = pg_get_bool(r, 0, 4),
			.created_at = pg_get_i64(r, 0, 5),
		};
		t.reports_to_caller = pg_get_bool(r, 0, 6);
	}
	job->cb.target(job->arg, err, err ? NULL : &t);
}

int store_user_target(struct store *st, const struct kam_principal *who, const char *username,
		      store_target_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!who || !username || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, target_done, arg, &job);
	if (err)
		return err;
	job->cb.target = cb;
	pg_job_stmt(job, &stmts[TARGET]);
	pg_job_text(job, username);
	pg_job_i64(job, who->user_id);
	return pool_submit(job);
}

int store_user_unlock(struct store *st, const char *username, const struct audit_entry *audit,
		      store_lock_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!username || !audit || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, lock_done, arg, &job);
	if (err)
		return err;
	job->cb.lock = cb;
	pg_job_stmt(job, &stmts[UNLOCK]);
	sql_audit_bind(job, audit);
	pg_job_text(job, username);
	return pool_submit(job);
}

static void passwd_done(struct pg_job *job, int err)
{
	/* No row: the user was deactivated meanwhile. */
	if (!err)
		err = pg_job_expect_row(job, 0, 1, KAM_ENOTFOUND);
	job->cb.count(job->arg, err, err ? 0 : pg_get_i64(pg_job_result(job, 0), 0, 0));
}

int store_user_passwd(struct store *st, int64_t user_id, const char *password_hash, int64_t keep_session_id,
		      const struct audit_entry *audit, store_count_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!password_hash || !audit || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, passwd_done, arg, &job);
	if (err)
		return err;
	job->cb.count = cb;
	pg_job_stmt(job, &stmts[PASSWD]);
	sql_audit_bind(job, audit);
	pg_job_i64(job, user_id);
	pg_job_text(job, password_hash);
	pg_job_i64(job, keep_session_id);
	return pool_submit(job);
}
