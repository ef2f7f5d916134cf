/*
 * The store against a real PostgreSQL: migrations, bootstrap, sessions,
 * users, accounts, list visibility and paging, audit rows, unavailability
 * and reconnects. Needs KAM_TEST_DB (serving role) and KAM_TEST_DB_ADMIN
 * (schema owner) conninfo strings for a throwaway database: every case
 * empties the tables. Without them it exits 77 (skipped).
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "db/migrations.h"
#include "db/store.h"
#include "test.h"

/* Longest a single store call may take in these tests (the queue deadline is 5 s). */
#define WAIT_NS (8ull * 1000 * 1000 * 1000)
#define TIMED_OUT (-1)
#define IDLE_S 900
#define ABSOLUTE_S 3600

static const char *db_serving, *db_admin;
static PGconn *admin;
static uv_loop_t loop;
static struct store *st;

/* What a callback saw, copied out (its pointers die with the call). */
struct res {
	bool done;
	int err;
	int64_t id, session_id, version, next, expires, owner_id;
	int role, tier, stage, strategy, relation;
	bool active, has_info;
	size_t n;
	int64_t ids[64];
	char name[128], owner[64], team[256], text[256];
	struct kam_info info;
};

static void res_reset(struct res *r)
{
	memset(r, 0, sizeof(*r));
}

static void join_team(struct res *r, const char *const *team, size_t n)
{
	r->team[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(r->team, ",");
		strcat(r->team, team[i]);
	}
}

static void done_cb(void *arg, int err)
{
	struct res *r = arg;

	r->err = err;
	r->done = true;
}

static void principal_cb(void *arg, int err, const struct kam_principal *who)
{
	struct res *r = arg;

	if (!err) {
		r->id = who->user_id;
		r->session_id = who->session_id;
		r->role = who->role;
		r->expires = who->expires_at;
		snprintf(r->name, sizeof(r->name), "%s", who->username);
	}
	done_cb(arg, err);
}

static void credentials_cb(void *arg, int err, const struct store_credentials *c)
{
	struct res *r = arg;

	if (!err) {
		r->id = c->user_id;
		r->role = c->role;
		r->active = c->active;
		snprintf(r->name, sizeof(r->name), "%s", c->username);
		snprintf(r->text, sizeof(r->text), "%s", c->password_hash);
	}
	done_cb(arg, err);
}

static void expiry_cb(void *arg, int err, int64_t session_id, int64_t expires_at)
{
	((struct res *)arg)->expires = expires_at;
	((struct res *)arg)->session_id = session_id;
	done_cb(arg, err);
}

static void user_cb(void *arg, int err, const struct kam_user *u)
{
	struct res *r = arg;

	if (!err) {
		r->id = u->id;
		r->role = u->role;
		r->active = u->active;
		snprintf(r->name, sizeof(r->name), "%s", u->username);
		snprintf(r->owner, sizeof(r->owner), "%s", u->reports_to);   /* the manager */
	}
	done_cb(arg, err);
}

static void users_cb(void *arg, int err, const struct kam_user *users, size_t n)
{
	struct res *r = arg;

	r->n = n;
	for (size_t i = 0; !err && i < n; i++) {
		if (i)
			strcat(r->team, ",");
		strcat(r->team, users[i].username);
	}
	done_cb(arg, err);
}

static void access_cb(void *arg, int err, const struct store_access *a)
{
	struct res *r = arg;

	if (!err) {
		r->id = a->account_id;
		r->tier = a->tier;
		r->owner_id = a->owner_id;
		r->relation = a->relation;
		r->version = a->version;
	}
	done_cb(arg, err);
}

static void account_cb(void *arg, int err, const struct kam_account *a)
{
	struct res *r = arg;

	if (!err) {
		r->id = a->id;
		r->version = a->version;
		r->tier = a->tier;
		r->stage = a->stage;
		r->strategy = a->strategy;
		r->has_info = a->has_info;
		r->info = a->info;
		r->info.business = r->info.currency = r->info.suppliers = r->info.notes = NULL;
		snprintf(r->name, sizeof(r->name), "%s", a->name);
		snprintf(r->owner, sizeof(r->owner), "%s", a->owner);
		snprintf(r->text, sizeof(r->text), "%s|%s", a->info.currency ? a->info.currency : "(null)",
			 a->info.notes ? a->info.notes : "(null)");
		join_team(r, a->team, a->n_team);
	}
	done_cb(arg, err);
}

static void accounts_cb(void *arg, int err, const struct kam_account *accs, size_t n, int64_t next)
{
	struct res *r = arg;

	r->n = n;
	r->next = next;
	for (size_t i = 0; !err && i < n && i < 64; i++) {
		r->ids[i] = accs[i].id;
		if (accs[i].has_info)
			r->has_info = true;
		if (i == 0)
			join_team(r, accs[i].team, accs[i].n_team);
	}
	done_cb(arg, err);
}

/* Run the loop until the callback has run; a store call that failed at once never calls it. */
static int run_wait(struct res *r, int rc)
{
	uint64_t start = uv_hrtime();

	if (rc)
		return rc;
	while (!r->done && uv_hrtime() - start < WAIT_NS)
		uv_run(&loop, UV_RUN_ONCE);
	return r->done ? r->err : TIMED_OUT;
}

#define RUN(r, call) (res_reset(&(r)), run_wait(&(r), (call)))

/* ---- the database, directly (as the schema owner) ---- */

static int64_t admin_i64(const char *sql, const char *p1)
{
	const char *v[1] = { p1 };
	PGresult *res = PQexecParams(admin, sql, p1 ? 1 : 0, NULL, p1 ? v : NULL, NULL, NULL, 0);
	int64_t n = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fprintf(stderr, "  admin: %s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	return n;
}

static int admin_exec(const char *sql)
{
	PGresult *res = PQexec(admin, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "  admin: %s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	return ok ? 0 : -1;
}

static int64_t audit_rows(const char *action, const char *result)
{
	const char *v[2] = { action, result };
	PGresult *res = PQexecParams(admin, "SELECT count(*) FROM audit_log WHERE action = $1 AND result = $2",
				     2, NULL, v, NULL, NULL, 0);
	int64_t n = PQresultStatus(res) == PGRES_TUPLES_OK ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;

	PQclear(res);
	return n;
}

static struct audit_entry entry(int64_t user_id, const char *username, enum kam_role role, const char *action,
				int64_t account_id)
{
	return (struct audit_entry){
		.user_id = user_id, .username = username, .role = role, .action = action,
		.account_id = account_id, .result = AUDIT_ALLOWED, .client_addr = "127.0.0.1:1", .detail = NULL,
	};
}

static struct kam_principal principal(int64_t id, const char *username, enum kam_role role)
{
	struct kam_principal p;

	memset(&p, 0, sizeof(p));
	p.user_id = id;
	p.role = role;
	snprintf(p.username, sizeof(p.username), "%s", username);
	return p;
}

/* ---- fixture ---- */

/* Migrate and empty the tables; exits 77 without a database to test against. */
static int db_setup(void)
{
	char why[256];

	db_serving = getenv("KAM_TEST_DB");
	db_admin = getenv("KAM_TEST_DB_ADMIN");
	if (!db_serving || !*db_serving || !db_admin || !*db_admin) {
		printf("skipped: set KAM_TEST_DB and KAM_TEST_DB_ADMIN\n");
		exit(77);
	}
	if (store_migrate(db_serving, db_admin, why, sizeof(why)) != 0) {
		fprintf(stderr, "  migrate: %s\n", why);
		return -1;
	}
	if (!admin) {
		admin = PQconnectdb(db_admin);
		if (PQstatus(admin) != CONNECTION_OK)
			return -1;
	}
	/* CASCADE: the layers (issue 3) and later tables refer to accounts and users. */
	return admin_exec("TRUNCATE audit_log, account_team, accounts, sessions, users RESTART IDENTITY CASCADE");
}

static int store_up(const char *conninfo, int pool_size)
{
	struct store_config cfg = {
		.conninfo = conninfo, .pool_size = pool_size,
		.session_idle_s = IDLE_S, .session_absolute_s = ABSOLUTE_S,
	};

	if (uv_loop_init(&loop) != 0)
		return -1;
	return store_open(&loop, &cfg, &st);
}

static void closed_cb(void *arg)
{
	*(bool *)arg = true;
}

/* Close the store, run the loop dry; 0 when every handle is closed. */
static int store_down(void)
{
	bool closed = false;

	store_close(st, closed_cb, &closed);
	st = NULL;
	while (!closed)
		uv_run(&loop, UV_RUN_ONCE);
	uv_run(&loop, UV_RUN_DEFAULT);
	return uv_loop_close(&loop);
}

/* Add a user as the (fictional) system; returns its id or a negative error. */
static int64_t add_user(const char *name, enum kam_role role, const char *reports_to)
{
	struct audit_entry e = entry(0, "system", KAM_ROLE_NONE, "user.add", 0);
	struct res r;
	int err = RUN(r, store_user_add(st, name, role, reports_to, "$argon2id$test", &e, user_cb, &r));

	return err ? err : r.id;
}

static int64_t add_account(const char *name, enum kam_tier tier, int64_t owner)
{
	struct audit_entry e = entry(owner, "someone", KAM_ROLE_MANAGER, "account.add", 0);
	struct res r;
	int err = RUN(r, store_account_add(st, name, tier, owner, &e, account_cb, &r));

	return err ? err : r.id;
}

/* One value from a query run as the serving role, on a connection of its own. */
static int64_t serving_i64(const char *sql)
{
	PGconn *c = PQconnectdb(db_serving);
	PGresult *res = PQexec(c, sql);
	int64_t n = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		fprintf(stderr, "  serving: %s", PQerrorMessage(c));
	PQclear(res);
	PQfinish(c);
	return n;
}

/* ---- cases ---- */

TEST(migrate)
{
	char why[256];

	ASSERT_EQ(db_setup(), 0);
	/* A second run applies nothing and still succeeds. */
	ASSERT_EQ(store_migrate(db_serving, db_admin, why, sizeof(why)), 0);
	ASSERT_EQ(admin_i64("SELECT count(*) FROM kam_schema_migrations", NULL), kam_migrations_count);
	/* The serving role (unless it owns the schema) may add audit rows, never change them. */
	ASSERT_EQ(serving_i64("SELECT CASE WHEN tableowner = current_user THEN 1 "
			      "ELSE (has_table_privilege('audit_log', 'INSERT') AND "
			      "NOT has_table_privilege('audit_log', 'UPDATE') AND "
			      "NOT has_table_privilege('audit_log', 'DELETE'))::int END "
			      "FROM pg_tables WHERE tablename = 'audit_log'"), 1);
	ASSERT_EQ(store_migrate("host=/nonexistent-kam-dir dbname=kam", NULL, why, sizeof(why)), KAM_EUNAVAIL);
	ASSERT(strncmp(why, "cannot connect to PostgreSQL: ", 30) == 0);
	ASSERT(strchr(why, '\n') == NULL);
}

TEST(bootstrap_gm)
{
	char why[256];

	ASSERT_EQ(db_setup(), 0);
	ASSERT_EQ(store_bootstrap_gm(db_serving, "boss", "$argon2id$x", why, sizeof(why)), 0);
	ASSERT_EQ(store_bootstrap_gm(db_serving, "boss2", "$argon2id$y", why, sizeof(why)), KAM_ECONFLICT);
	ASSERT(strstr(why, "boss") != NULL);
	ASSERT_EQ(admin_i64("SELECT count(*) FROM users WHERE role = 4", NULL), 1);
	ASSERT_EQ(audit_rows("user.bootstrap", "allowed"), 1);
	ASSERT_EQ(admin_i64("SELECT count(*) FROM audit_log WHERE user_id = 1 AND role = 4", NULL), 1);
}

TEST(sessions)
{
	uint8_t tok[4][KAM_SHA256_LEN];
	struct audit_entry e;
	struct res r;
	int64_t rita, sid, now = (int64_t)time(NULL);
	char id[24];

	ASSERT_EQ(db_setup(), 0);
	ASSERT_EQ(store_up(db_serving, 2), 0);
	for (int i = 0; i < 4; i++)
		memset(tok[i], 0x10 + i, sizeof(tok[i]));
	rita = add_user("rita", KAM_ROLE_JUNIOR, NULL);
	ASSERT(rita > 0);
	e = entry(rita, "rita", KAM_ROLE_JUNIOR, "login", 0);

	/* Login: lookup, then a session. */
	ASSERT_EQ(RUN(r, store_login_lookup(st, "rita", credentials_cb, &r)), 0);
	ASSERT_EQ(r.id, rita);
	ASSERT_STR_EQ(r.text, "$argon2id$test");
	ASSERT(r.active);
	ASSERT_EQ(RUN(r, store_login_lookup(st, "nobody", credentials_cb, &r)), KAM_ENOTFOUND);
	ASSERT_EQ(RUN(r, store_session_create(st, rita, tok[0], &e, expiry_cb, &r)), 0);
	ASSERT(r.expires >= now + ABSOLUTE_S - 2 && r.expires <= now + ABSOLUTE_S + 2);
	sid = r.session_id;
	ASSERT(sid > 0);

	ASSERT_EQ(RUN(r, store_session_check(st, tok[0], principal_cb, &r)), 0);
	ASSERT_EQ(r.id, rita);
	ASSERT_STR_EQ(r.name, "rita");
	ASSERT_EQ(r.role, KAM_ROLE_JUNIOR);
	ASSERT_EQ(r.session_id, sid);   /* the check names the session the login created */
	ASSERT_EQ(RUN(r, store_session_check(st, tok[3], principal_cb, &r)), KAM_EUNAUTH);

	/* Idle expiry. */
	snprintf(id, sizeof(id), "%lld", (long long)sid);
	admin_i64("UPDATE sessions SET last_seen_at = now() - interval '1 hour' WHERE id = $1", id);
	ASSERT_EQ(RUN(r, store_session_check(st, tok[0], principal_cb, &r)), KAM_EUNAUTH);

	/* Absolute expiry, even while in use. */
	ASSERT_EQ(RUN(r, store_session_create(st, rita, tok[1], &e, expiry_cb, &r)), 0);
	ASSERT_EQ(RUN(r, store_session_check(st, tok[1], principal_cb, &r)), 0);
	snprintf(id, sizeof(id), "%lld", (long long)r.session_id);
	admin_i64("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1", id);
	ASSERT_EQ(RUN(r, store_session_check(st, tok[1], principal_cb, &r)), KAM_EUNAUTH);

	/* Revoke: once. */
	ASSERT_EQ(RUN(r, store_session_create(st, rita, tok[2], &e, expiry_cb, &r)), 0);
	ASSERT_EQ(RUN(r, store_session_check(st, tok[2], principal_cb, &r)), 0);
	sid = r.session_id;
	e = entry(rita, "rita", KAM_ROLE_JUNIOR, "logout", 0);
	ASSERT_EQ(RUN(r, store_session_revoke(st, sid, &e, done_cb, &r)), 0);
	ASSERT_EQ(RUN(r, store_session_revoke(st, sid, &e, done_cb, &r)), KAM_ENOTFOUND);
	ASSERT_EQ(RUN(r, store_session_check(st, tok[2], principal_cb, &r)), KAM_EUNAUTH);
	ASSERT_EQ(audit_rows("logout", "allowed"), 1);

	/* A duplicate token is a conflict, and audits nothing. */
	e = entry(rita, "rita", KAM_ROLE_JUNIOR, "login", 0);
	ASSERT_EQ(RUN(r, store_session_create(st, rita, tok[2], &e, expiry_cb, &r)), KAM_ECONFLICT);
	ASSERT_EQ(audit_rows("login", "allowed"), 3);

	/* Password rehash. */
	ASSERT_EQ(RUN(r, store_password_update(st, rita, "$argon2id$new", done_cb, &r)), 0);
	ASSERT_EQ(RUN(r, store_login_lookup(st, "rita", credentials_cb, &r)), 0);
	ASSERT_STR_EQ(r.text, "$argon2id$new");
	ASSERT_EQ(RUN(r, store_password_update(st, 999999, "$argon2id$x", done_cb, &r)), KAM_ENOTFOUND);

	/* A deactivated user's sessions stop working, and no new ones start. */
	ASSERT_EQ(RUN(r, store_session_create(st, rita, tok[3], &e, expiry_cb, &r)), 0);
	ASSERT_EQ(RUN(r, store_session_check(st, tok[3], principal_cb, &r)), 0);
	admin_i64("UPDATE users SET active = false WHERE username = 'rita'", NULL);
	ASSERT_EQ(RUN(r, store_session_check(st, tok[3], principal_cb, &r)), KAM_EUNAUTH);
	memset(tok[0], 0x55, sizeof(tok[0]));
	ASSERT_EQ(RUN(r, store_session_create(st, rita, tok[0], &e, expiry_cb, &r)), KAM_EUNAUTH);
	ASSERT_EQ(RUN(r, store_login_lookup(st, "rita", credentials_cb, &r)), 0);
	ASSERT(!r.active);

	/* Standalone audit rows. */
	e = entry(0, "mallory", KAM_ROLE_NONE, "login", 0);
	e.result = AUDIT_FAILED;
	ASSERT_EQ(RUN(r, store_audit_write(st, &e, done_cb, &r)), 0);
	ASSERT_EQ(audit_rows("login", "failed"), 1);
	ASSERT_EQ(admin_i64("SELECT count(*) FROM audit_log WHERE user_id IS NULL AND username = 'mallory'", NULL), 1);
	e.detail = "not json";
	ASSERT_EQ(RUN(r, store_audit_write(st, &e, done_cb, &r)), KAM_EINVAL);

	ASSERT_EQ(store_pending(st), 0);
	ASSERT_EQ(store_down(), 0);
}

TEST(users)
{
	struct audit_entry e = entry(1, "gm1", KAM_ROLE_GM, "user.list", 0);
	struct res r;

	ASSERT_EQ(db_setup(), 0);
	ASSERT_EQ(store_up(db_serving, 1), 0);
	ASSERT(add_user("gm1", KAM_ROLE_GM, NULL) > 0);
	ASSERT(add_user("mgr", KAM_ROLE_MANAGER, "gm1") > 0);
	ASSERT_EQ(add_user("mgr", KAM_ROLE_JUNIOR, NULL), KAM_ECONFLICT);
	ASSERT_EQ(add_user("x", KAM_ROLE_JUNIOR, "nobody"), KAM_ENOTFOUND);
	ASSERT_EQ(add_user("bad name!", KAM_ROLE_JUNIOR, NULL), KAM_EINVAL);
	ASSERT_EQ(add_user("y", KAM_ROLE_NONE, NULL), KAM_EINVAL);
	/* Only the two that happened are in the audit. */
	ASSERT_EQ(audit_rows("user.add", "allowed"), 2);

	ASSERT_EQ(RUN(r, store_user_get(st, "mgr", user_cb, &r)), 0);
	ASSERT_STR_EQ(r.name, "mgr");
	ASSERT_STR_EQ(r.owner, "gm1");
	ASSERT_EQ(r.role, KAM_ROLE_MANAGER);
	ASSERT(r.active);
	ASSERT_EQ(RUN(r, store_user_get(st, "gm1", user_cb, &r)), 0);
	ASSERT_STR_EQ(r.owner, "");
	ASSERT_EQ(RUN(r, store_user_get(st, "nobody", user_cb, &r)), KAM_ENOTFOUND);

	ASSERT_EQ(RUN(r, store_user_list(st, &e, users_cb, &r)), 0);
	ASSERT_EQ(r.n, 2);
	ASSERT_STR_EQ(r.team, "gm1,mgr");
	ASSERT_EQ(audit_rows("user.list", "allowed"), 1);
	ASSERT_EQ(store_down(), 0);
}

TEST(accounts)
{
	struct kam_principal who;
	struct kam_account after;
	struct audit_entry e;
	struct res r;
	int64_t gm, mgr, own, mem, aaa, acme, other, ver;
	char ref[32];

	ASSERT_EQ(db_setup(), 0);
	ASSERT_EQ(store_up(db_serving, 2), 0);
	gm = add_user("gm", KAM_ROLE_GM, NULL);
	mgr = add_user("mgr", KAM_ROLE_MANAGER, "gm");
	own = add_user("own", KAM_ROLE_SOLUTION, "mgr");
	mem = add_user("mem", KAM_ROLE_JUNIOR, NULL);
	aaa = add_user("aaa", KAM_ROLE_JUNIOR, NULL);
	ASSERT(gm > 0 && mgr > 0 && own > 0 && mem > 0 && aaa > 0);
	store_act_as(st, gm);   /* row-level security (issue 7): these cases check the SQL, as the GM */

	/* Add: the owner joins the team; the audit row names the new account. */
	e = entry(own, "own", KAM_ROLE_SOLUTION, "account.add", 0);
	ASSERT_EQ(RUN(r, store_account_add(st, "Acme", KAM_TIER_TOP, own, &e, account_cb, &r)), 0);
	acme = r.id;
	ASSERT_EQ(r.version, 1);
	ASSERT_STR_EQ(r.owner, "own");
	ASSERT_STR_EQ(r.team, "own");
	ASSERT_EQ(r.tier, KAM_TIER_TOP);
	ASSERT_EQ(r.stage, KAM_STAGE_BREAKTHROUGH);
	ASSERT(r.has_info);
	ASSERT(!r.info.founded.has);
	snprintf(ref, sizeof(ref), "%lld", (long long)acme);
	ASSERT_EQ(admin_i64("SELECT count(*) FROM audit_log WHERE action = 'account.add' AND account_id = $1", ref), 1);
	ASSERT_EQ(RUN(r, store_account_add(st, "Acme", KAM_TIER_TOP, own, &e, account_cb, &r)), KAM_ECONFLICT);
	ASSERT_EQ(RUN(r, store_account_add(st, "Ghost", KAM_TIER_TOP, 999999, &e, account_cb, &r)), KAM_ENOTFOUND);
	ASSERT_EQ(audit_rows("account.add", "allowed"), 1);

	/* Get, audited and not. */
	e = entry(own, "own", KAM_ROLE_SOLUTION, "account.show", acme);
	ASSERT_EQ(RUN(r, store_account_get(st, acme, &e, account_cb, &r)), 0);
	ASSERT_STR_EQ(r.name, "Acme");
	ASSERT_STR_EQ(r.text, "|");
	ASSERT_EQ(RUN(r, store_account_get(st, acme, NULL, account_cb, &r)), 0);
	ASSERT_EQ(RUN(r, store_account_get(st, 999999, &e, account_cb, &r)), KAM_ENOTFOUND);
	ASSERT_EQ(audit_rows("account.show", "allowed"), 1);

	/* Update with the right version, then a stale one: refused and not audited. */
	memset(&after, 0, sizeof(after));
	after.id = acme;
	after.tier = KAM_TIER_IMPORTANT;
	after.stage = KAM_STAGE_CONSOLIDATION;
	after.strategy = KAM_STRATEGY_ATTACK;
	after.info.founded = (struct kam_opt_i64){ true, 1999 };
	after.info.revenue = (struct kam_opt_i64){ true, 123456 };
	after.info.currency = "EUR";
	after.info.notes = "decides in Q3";
	e = entry(own, "own", KAM_ROLE_SOLUTION, "account.set", acme);
	ASSERT_EQ(RUN(r, store_account_update(st, &after, 1, &e, account_cb, &r)), 0);
	ASSERT_EQ(r.version, 2);
	ASSERT_EQ(r.tier, KAM_TIER_IMPORTANT);
	ASSERT_EQ(r.stage, KAM_STAGE_CONSOLIDATION);
	ASSERT_EQ(r.strategy, KAM_STRATEGY_ATTACK);
	ASSERT(r.info.founded.has && r.info.founded.value == 1999);
	ASSERT(r.info.revenue.has && r.info.revenue.value == 123456);
	ASSERT(!r.info.budget.has);
	ASSERT_STR_EQ(r.text, "EUR|decides in Q3");
	ASSERT_STR_EQ(r.team, "own");
	ASSERT_EQ(RUN(r, store_account_update(st, &after, 1, &e, account_cb, &r)), KAM_ESTALE);
	ASSERT_EQ(audit_rows("account.set", "allowed"), 1);
	after.info.founded.value = 3000;
	ASSERT_EQ(RUN(r, store_account_update(st, &after, 2, &e, account_cb, &r)), KAM_EINVAL);
	after.info.founded.value = 1999;
	after.info.currency = "eur";
	ASSERT_EQ(RUN(r, store_account_update(st, &after, 2, &e, account_cb, &r)), KAM_EINVAL);
	ASSERT_EQ(audit_rows("account.set", "allowed"), 1);
	ASSERT_EQ(RUN(r, store_account_get(st, acme, NULL, account_cb, &r)), 0);
	ASSERT_EQ(r.version, 2);

	/* Team: owner first, then by username; each change bumps the version. */
	e = entry(own, "own", KAM_ROLE_SOLUTION, "account.assign", acme);
	ASSERT_EQ(RUN(r, store_account_member(st, acme, mem, true, &e, account_cb, &r)), 0);
	ASSERT_STR_EQ(r.team, "own,mem");
	ASSERT_EQ(r.version, 3);
	ASSERT_EQ(RUN(r, store_account_member(st, acme, aaa, true, &e, account_cb, &r)), 0);
	ASSERT_STR_EQ(r.team, "own,aaa,mem");
	ASSERT_EQ(RUN(r, store_account_member(st, acme, mem, true, &e, account_cb, &r)), KAM_ECONFLICT);
	ASSERT_EQ(RUN(r, store_account_member(st, acme, 999999, true, &e, account_cb, &r)), KAM_ENOTFOUND);
	ASSERT_EQ(RUN(r, store_account_member(st, 999999, mem, true, &e, account_cb, &r)), KAM_ENOTFOUND);
	ASSERT_EQ(audit_rows("account.assign", "allowed"), 2);
	e = entry(own, "own", KAM_ROLE_SOLUTION, "account.unassign", acme);
	ASSERT_EQ(RUN(r, store_account_member(st, acme, own, false, &e, account_cb, &r)), KAM_EINVAL);
	ASSERT_EQ(RUN(r, store_account_member(st, acme, aaa, false, &e, account_cb, &r)), 0);
	ASSERT_STR_EQ(r.team, "own,mem");
	ASSERT_EQ(r.version, 5);
	ver = r.version;
	ASSERT_EQ(RUN(r, store_account_member(st, acme, aaa, false, &e, account_cb, &r)), KAM_ECONFLICT);
	ASSERT_EQ(audit_rows("account.unassign", "allowed"), 1);

	/* Access: by id or name, with the asker's relation. */
	who = principal(own, "own", KAM_ROLE_SOLUTION);
	ASSERT_EQ(RUN(r, store_account_access(st, &who, ref, access_cb, &r)), 0);
	ASSERT_EQ(r.id, acme);
	ASSERT_EQ(r.relation, KAM_REL_OWNER);
	ASSERT_EQ(r.owner_id, own);
	ASSERT_EQ(r.tier, KAM_TIER_IMPORTANT);
	ASSERT_EQ(r.version, ver);
	who = principal(mem, "mem", KAM_ROLE_JUNIOR);
	ASSERT_EQ(RUN(r, store_account_access(st, &who, "Acme", access_cb, &r)), 0);
	ASSERT_EQ(r.id, acme);
	ASSERT_EQ(r.relation, KAM_REL_MEMBER);
	who = principal(gm, "gm", KAM_ROLE_GM);   /* own reports to mgr, mgr to gm */
	ASSERT_EQ(RUN(r, store_account_access(st, &who, "Acme", access_cb, &r)), 0);
	ASSERT_EQ(r.relation, KAM_REL_MANAGES_MEMBER);
	who = principal(aaa, "aaa", KAM_ROLE_JUNIOR);
	ASSERT_EQ(RUN(r, store_account_access(st, &who, "Acme", access_cb, &r)), 0);
	ASSERT_EQ(r.relation, KAM_REL_NONE);
	ASSERT_EQ(RUN(r, store_account_access(st, &who, "Nope", access_cb, &r)), KAM_ENOTFOUND);
	ASSERT_EQ(RUN(r, store_account_access(st, &who, "99999999999999999999", access_cb, &r)), KAM_ENOTFOUND);
	/* An all-digit name: the id wins where both match, else the name is found. */
	other = add_account(ref, KAM_TIER_ORDINARY, mem);
	ASSERT(other > 0);
	ASSERT_EQ(RUN(r, store_account_access(st, &who, ref, access_cb, &r)), 0);
	ASSERT_EQ(r.id, acme);
	ASSERT(add_account("777", KAM_TIER_ORDINARY, mem) > 0);
	ASSERT_EQ(RUN(r, store_account_access(st, &who, "777", access_cb, &r)), 0);
	ASSERT_NE(r.id, 777);
	ASSERT_EQ(r.owner_id, mem);

	ASSERT_EQ(store_down(), 0);
}

/* Collect every page of a list; returns the error, fills ids (up to cap) and the count. */
static int list_all(const struct kam_principal *who, struct store_list_filter f, int64_t *ids, size_t cap,
		    size_t *n, int *pages)
{
	struct audit_entry e = entry(who->user_id, who->username, who->role, "account.list", 0);
	struct res r;
	int err;

	*n = 0;
	*pages = 0;
	do {
		err = RUN(r, store_account_list(st, who, &f, &e, accounts_cb, &r));
		if (err)
			return err;
		if (r.has_info)
			return KAM_EINTERNAL;   /* lists carry no information layer */
		for (size_t i = 0; i < r.n && *n < cap; i++)
			ids[(*n)++] = r.ids[i];
		(*pages)++;
		f.after_id = r.next;
	} while (r.next);
	return 0;
}

TEST(list)
{
	struct store_list_filter f = { .limit = 2 };
	struct kam_principal who;
	struct res r;
	int64_t gm, mgr, sub, rep1, rep2, a[8], ids[32];
	size_t n;
	int pages;

	ASSERT_EQ(db_setup(), 0);
	ASSERT_EQ(store_up(db_serving, 3), 0);
	gm = add_user("gm", KAM_ROLE_GM, NULL);
	mgr = add_user("mgr", KAM_ROLE_MANAGER, "gm");
	sub = add_user("sub", KAM_ROLE_MANAGER, "mgr");
	rep1 = add_user("rep1", KAM_ROLE_JUNIOR, "sub");
	rep2 = add_user("rep2", KAM_ROLE_SOLUTION, NULL);
	ASSERT(gm > 0 && mgr > 0 && sub > 0 && rep1 > 0 && rep2 > 0);
	store_act_as(st, gm);   /* row-level security (issue 7): these cases check the SQL, as the GM */
	a[0] = add_account("A0", KAM_TIER_TOP, rep1);
	a[1] = add_account("A1", KAM_TIER_TOP, rep2);
	a[2] = add_account("A2", KAM_TIER_IMPORTANT, rep2);
	a[3] = add_account("A3", KAM_TIER_STRATEGIC, mgr);
	a[4] = add_account("A4", KAM_TIER_ORDINARY, rep2);
	a[5] = add_account("A5", KAM_TIER_ORDINARY, rep2);
	a[6] = add_account("A6", KAM_TIER_ORDINARY, gm);
	{
		struct audit_entry e = entry(rep2, "rep2", KAM_ROLE_SOLUTION, "account.assign", a[2]);

		ASSERT_EQ(RUN(r, store_account_member(st, a[2], rep1, true, &e, account_cb, &r)), 0);
	}

	/* The GM sees everything, two at a time. */
	who = principal(gm, "gm", KAM_ROLE_GM);
	ASSERT_EQ(list_all(&who, f, ids, 32, &n, &pages), 0);
	ASSERT_EQ(n, 7);
	ASSERT_EQ(pages, 4);
	for (size_t i = 0; i < n; i++)
		ASSERT_EQ(ids[i], a[i]);

	/* A rep: the accounts whose team holds them. */
	who = principal(rep1, "rep1", KAM_ROLE_JUNIOR);
	ASSERT_EQ(list_all(&who, f, ids, 32, &n, &pages), 0);
	ASSERT_EQ(n, 2);
	ASSERT_EQ(ids[0], a[0]);
	ASSERT_EQ(ids[1], a[2]);

	/* A manager: their own and their reports', transitively (rep1 reports to sub, sub to mgr). */
	who = principal(mgr, "mgr", KAM_ROLE_MANAGER);
	ASSERT_EQ(list_all(&who, f, ids, 32, &n, &pages), 0);
	ASSERT_EQ(n, 3);
	ASSERT_EQ(ids[0], a[0]);
	ASSERT_EQ(ids[1], a[2]);
	ASSERT_EQ(ids[2], a[3]);

	/* Filters. */
	who = principal(rep2, "rep2", KAM_ROLE_SOLUTION);
	f.tier = KAM_TIER_ORDINARY;
	ASSERT_EQ(list_all(&who, f, ids, 32, &n, &pages), 0);
	ASSERT_EQ(n, 2);
	ASSERT_EQ(ids[0], a[4]);
	f.tier = KAM_TIER_NONE;
	f.owner_id = rep1;
	ASSERT_EQ(list_all(&who, f, ids, 32, &n, &pages), 0);
	ASSERT_EQ(n, 0);
	who = principal(gm, "gm", KAM_ROLE_GM);
	ASSERT_EQ(list_all(&who, f, ids, 32, &n, &pages), 0);
	ASSERT_EQ(n, 1);
	f.owner_id = 0;
	f.stage = KAM_STAGE_OCCUPATION;
	ASSERT_EQ(list_all(&who, f, ids, 32, &n, &pages), 0);
	ASSERT_EQ(n, 0);

	/* The default page size takes everything; teams come along. */
	f = (struct store_list_filter){ .limit = 0 };
	{
		struct audit_entry e = entry(gm, "gm", KAM_ROLE_GM, "account.list", 0);

		ASSERT_EQ(RUN(r, store_account_list(st, &who, &f, &e, accounts_cb, &r)), 0);
	}
	ASSERT_EQ(r.n, 7);
	ASSERT_EQ(r.next, 0);
	ASSERT_STR_EQ(r.team, "rep1");
	ASSERT_EQ(audit_rows("account.list", "allowed"), 4 + 1 + 2 + 1 + 1 + 1 + 1 + 1);
	ASSERT_EQ(store_down(), 0);
}

/* Many jobs at once on few connections: pipelined, all answered. */
TEST(pipeline)
{
	enum { N = 40 };
	struct res r[N];
	uint8_t tok[KAM_SHA256_LEN];
	uint64_t start;
	int done;

	ASSERT_EQ(db_setup(), 0);
	ASSERT_EQ(store_up(db_serving, 2), 0);
	memset(tok, 0x77, sizeof(tok));
	for (int i = 0; i < N; i++) {
		res_reset(&r[i]);
		ASSERT_EQ(store_session_check(st, tok, principal_cb, &r[i]), 0);
	}
	ASSERT_EQ(store_pending(st), N);
	start = uv_hrtime();
	do {
		uv_run(&loop, UV_RUN_ONCE);
		done = 0;
		for (int i = 0; i < N; i++)
			done += r[i].done;
	} while (done < N && uv_hrtime() - start < WAIT_NS);
	ASSERT_EQ(done, N);
	for (int i = 0; i < N; i++)
		ASSERT_EQ(r[i].err, KAM_EUNAUTH);
	ASSERT_EQ(store_pending(st), 0);
	ASSERT_EQ(store_down(), 0);
}

/* No database: jobs wait for the deadline, then fail; closing cancels what waits. */
TEST(unavailable)
{
	struct res r, r2;
	uint64_t start;

	ASSERT_EQ(store_up("host=/nonexistent-kam-dir dbname=kam", 1), 0);
	start = uv_hrtime();
	ASSERT_EQ(RUN(r, store_user_get(st, "x", user_cb, &r)), KAM_EUNAVAIL);
	ASSERT(uv_hrtime() - start >= 4500ull * 1000 * 1000);
	res_reset(&r2);
	ASSERT_EQ(store_user_get(st, "x", user_cb, &r2), 0);
	ASSERT_EQ(store_pending(st), 1);
	uv_run(&loop, UV_RUN_NOWAIT);
	ASSERT(!r2.done);
	ASSERT_EQ(store_down(), 0);
	ASSERT(r2.done);
	ASSERT_EQ(r2.err, KAM_ECANCELED);
	ASSERT_EQ(store_open(NULL, NULL, &st), KAM_EINVAL);
}

/* The server drops kamd's connections: at worst the next request fails, then the pool is back. */
TEST(reconnect)
{
	struct res r;
	int err;

	ASSERT_EQ(db_setup(), 0);
	ASSERT_EQ(store_up(db_serving, 2), 0);
	ASSERT(add_user("u1", KAM_ROLE_JUNIOR, NULL) > 0);
	if (admin_i64("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
		      "WHERE application_name = 'kamd' AND datname = current_database()", NULL) < 1) {
		printf("  (cannot terminate backends here: grant pg_signal_backend to the admin role)\n");
		ASSERT_EQ(store_down(), 0);
		return;
	}
	/* A request already on a dropped connection fails (never a false success); later ones wait for
	 * the reconnect. Which connection noticed first is up to the scheduler, hence a few tries. */
	for (int i = 0; i < 3; i++) {
		err = RUN(r, store_user_get(st, "u1", user_cb, &r));
		ASSERT(err == 0 || err == KAM_EUNAVAIL);
		if (!err)
			break;
	}
	ASSERT_EQ(err, 0);
	ASSERT_STR_EQ(r.name, "u1");
	ASSERT_EQ(admin_i64("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'kamd' "
			    "AND datname = current_database()", NULL) >= 1, 1);
	ASSERT_EQ(store_down(), 0);
}

TEST_MAIN(TEST_ENTRY(migrate), TEST_ENTRY(bootstrap_gm), TEST_ENTRY(sessions), TEST_ENTRY(users),
	  TEST_ENTRY(accounts), TEST_ENTRY(list), TEST_ENTRY(pipeline), TEST_ENTRY(unavailable),
	  TEST_ENTRY(reconnect))
