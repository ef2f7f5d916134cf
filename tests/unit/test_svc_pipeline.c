/*
 * The service pipeline end to end against fakes: an in-memory store (same
 * contract as db/store.h: queued jobs, one callback each), fake sessions that
 * decode what svc sends, and a synchronous work queue. Real codec, real
 * handlers, real authz. Checks replies, audit rows, and that every call ends
 * exactly once (request_done, balanced refs; ASan finds leaks).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "db/store.h"
#include "frame.h"
#include "msg.h"
#include "net/session.h"
#include "svc/authz.h"
#include "svc/passwd.h"
#include "svc/svc.h"
#include "test.h"
#include "work.h"

#define PASSWORD "password-1234"
#define EXPIRES 1700000000
#define MAX_USERS 16
#define MAX_ACCOUNTS 16
#define MAX_TEAM 8
#define MAX_SESSIONS 32
#define MAX_AUDIT 256
#define MAX_JOBS 64

/* Cheap costs: this tests the plumbing, not argon2. */
static const struct svc_config cfg = { .argon2_m_kib = 64, .argon2_t = 1, .argon2_p = 1 };

/* ---- the fake database ---- */

struct fuser {
	int64_t id;
	char name[KAM_MAX_USERNAME + 1];
	enum kam_role role;
	int64_t boss;
	bool active;
	char hash[SVC_PHC_MAX];
};

struct facct {
	int64_t id;
	char name[KAM_MAX_NAME + 1];
	enum kam_tier tier;
	enum kam_stage stage;
	enum kam_strategy strategy;
	int64_t owner;
	int64_t team[MAX_TEAM];
	size_t n_team;
	struct kam_opt_i64 founded, headcount, revenue, budget;
	char business[256], currency[4], suppliers[256], notes[256];
	int64_t version;
};

struct fsession {
	int64_t id, user;
	uint8_t hash[KAM_SHA256_LEN];
	bool revoked;
};

struct faudit {
	int64_t user_id;
	char username[KAM_MAX_USERNAME + 1];
	enum kam_role role;
	char action[32];
	int64_t account_id;
	enum audit_result result;
	char detail[1024];
};

static struct {
	struct fuser users[MAX_USERS];
	size_t n_users;
	struct facct accounts[MAX_ACCOUNTS];
	size_t n_accounts;
	struct fsession sessions[MAX_SESSIONS];
	size_t n_sessions;
	struct faudit audit[MAX_AUDIT];
	size_t n_audit;
	int fail_next;            /* the next job fails with this error */
	bool bump_before_update;  /* someone else writes just before our update */
} db;

static char store_token;
static struct store *const fake_store = (struct store *)&store_token;

static struct fuser *user_by_id(int64_t id)
{
	for (size_t i = 0; i < db.n_users; i++)
		if (db.users[i].id == id)
			return &db.users[i];
	return NULL;
}

static struct fuser *user_by_name(const char *name)
{
	for (size_t i = 0; i < db.n_users; i++)
		if (strcmp(db.users[i].name, name) == 0)
			return &db.users[i];
	return NULL;
}

static struct facct *account_by_id(int64_t id)
{
	for (size_t i = 0; i < db.n_accounts; i++)
		if (db.accounts[i].id == id)
			return &db.accounts[i];
	return NULL;
}

static struct facct *account_by_ref(const char *ref)
{
	if (*ref && strspn(ref, "0123456789") == strlen(ref))
		return account_by_id(atoll(ref));
	for (size_t i = 0; i < db.n_accounts; i++)
		if (strcmp(db.accounts[i].name, ref) == 0)
			return &db.accounts[i];
	return NULL;
}

static struct fuser *add_user(const char *name, enum kam_role role, const char *boss, bool active)
{
	struct fuser *u = &db.users[db.n_users];

	u->id = (int64_t)++db.n_users;
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->role = role;
	u->boss = boss ? user_by_name(boss)->id : 0;
	u->active = active;
	if (svc_password_hash(&cfg, PASSWORD, u->hash, sizeof(u->hash)) < 0)
		abort();
	return u;
}

static struct facct *add_account(const char *name, enum kam_tier tier, const char *owner, const char *member)
{
	struct facct *a = &db.accounts[db.n_accounts];

	memset(a, 0, sizeof(*a));
	a->id = (int64_t)++db.n_accounts;
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->tier = tier;
	a->stage = KAM_STAGE_BREAKTHROUGH;
	a->owner = user_by_name(owner)->id;
	a->team[a->n_team++] = a->owner;
	if (member)
		a->team[a->n_team++] = user_by_name(member)->id;
	a->version = 1;
	return a;
}

static bool on_team(const struct facct *a, int64_t uid)
{
	for (size_t i = 0; i < a->n_team; i++)
		if (a->team[i] == uid)
			return true;
	return false;
}

static bool reports_to(int64_t uid, int64_t boss)
{
	for (struct fuser *u = user_by_id(uid); u && u->boss; u = user_by_id(u->boss))
		if (u->boss == boss)
			return true;
	return false;
}

static enum kam_relation relation(const struct facct *a, int64_t uid)
{
	if (a->owner == uid)
		return KAM_REL_OWNER;
	if (on_team(a, uid))
		return KAM_REL_MEMBER;
	for (size_t i = 0; i < a->n_team; i++)
		if (reports_to(a->team[i], uid))
			return KAM_REL_MANAGES_MEMBER;
	return KAM_REL_NONE;
}

static void record_audit(const struct audit_entry *e)
{
	struct faudit *r = &db.audit[db.n_audit++];

	r->user_id = e->user_id;
	snprintf(r->username, sizeof(r->username), "%s", e->username);
	r->role = e->role;
	snprintf(r->action, sizeof(r->action), "%s", e->action);
	r->account_id = e->account_id;
	r->result = e->result;
	snprintf(r->detail, sizeof(r->detail), "%s", e->detail ? e->detail : "");
}

static const struct faudit *last_audit(void)
{
	return db.n_audit ? &db.audit[db.n_audit - 1] : NULL;
}

/* Views handed to callbacks, valid during the call only (as the real store's). */
static const char *team_names[MAX_TEAM];

static struct kam_account account_view(const struct facct *a)
{
	for (size_t i = 0; i < a->n_team; i++)
		team_names[i] = user_by_id(a->team[i])->name;
	return (struct kam_account){
		.id = a->id, .name = a->name, .tier = a->tier, .stage = a->stage, .strategy = a->strategy,
		.owner = user_by_id(a->owner)->name, .n_team = a->n_team, .team = team_names, .has_info = true,
		.info = { .founded = a->founded, .headcount = a->headcount, .business = a->business,
			  .revenue = a->revenue, .budget = a->budget, .currency = a->currency,
			  .suppliers = a->suppliers, .notes = a->notes },
		.version = a->version,
	};
}

static struct kam_user user_view(const struct fuser *u)
{
	const struct fuser *b = user_by_id(u->boss);

	return (struct kam_user){ .id = u->id, .username = u->name, .role = u->role,
				  .reports_to = b ? b->name : "", .active = u->active };
}

/* ---- jobs: every store call queues one; pump() completes them in order ---- */

typedef void (*fnptr)(void);

struct job {
	void (*run)(struct job *j, int err);
	fnptr cb;       /* the store callback, cast back by run() */
	void *arg;
	struct kam_principal who;
	struct audit_entry audit;
	bool has_audit;
	char s1[KAM_MAX_NAME + 1], s2[SVC_PHC_MAX], s3[KAM_MAX_USERNAME + 1];
	int64_t n1, n2;
	bool flag;
	uint8_t hash[KAM_SHA256_LEN];
	struct kam_account acc;
	struct store_list_filter filter;
	/* Issue 5: the fast path's guards, checked before the job runs as the real store's SQL does. */
	bool guard_session, guard_watch;
	uint8_t guard_token[KAM_SHA256_LEN];
	struct kam_principal guard_who;
	int64_t guard_account;
	uint32_t guard_limit;
};

static struct job *jobs[MAX_JOBS];
static size_t n_jobs;
static struct job pending_guards;   /* what store_*_guard asked of the next job */
static int guard_refusals;          /* jobs a guard failed */
static int session_checks;          /* full session checks (store_session_check) */

static struct job *job_new(void (*run)(struct job *, int), fnptr cb, void *arg, const struct audit_entry *audit)
{
	struct job *j = calloc(1, sizeof(*j));

	j->run = run;
	j->cb = cb;
	j->arg = arg;
	j->guard_session = pending_guards.guard_session;
	j->guard_watch = pending_guards.guard_watch;
	memcpy(j->guard_token, pending_guards.guard_token, KAM_SHA256_LEN);
	j->guard_who = pending_guards.guard_who;
	j->guard_account = pending_guards.guard_account;
	j->guard_limit = pending_guards.guard_limit;
	memset(&pending_guards, 0, sizeof(pending_guards));
	if (audit) {
		/* The entry's strings belong to the caller's call, which outlives the job. */
		j->audit = *audit;
		j->has_audit = true;
	}
	jobs[n_jobs++] = j;
	return j;
}

/* Work items share the queue. */
struct work_job {
	void (*work)(void *);
	void (*done)(void *, int);
	void *arg;
};

static struct work_job works[MAX_JOBS];
static size_t n_works;
static bool fake_work_full;   /* hostile clients (issue 6) */

int work_submit(void (*work)(void *arg), void (*done)(void *arg, int status), void *arg)
{
	if (fake_work_full)   /* hostile clients (issue 6): the hashing queue is full */
		return KAM_EAGAIN;
	works[n_works++] = (struct work_job){ work, done, arg };
	return 0;
}

static int check_guards(struct job *j);

static void pump(void)
{
	while (n_jobs || n_works) {
		if (n_jobs) {
			struct job *j = jobs[0];
			int err = db.fail_next;

			memmove(jobs, jobs + 1, --n_jobs * sizeof(jobs[0]));
			db.fail_next = 0;
			if (!err)
				err = check_guards(j);
			j->run(j, err);
			free(j);
		} else {
			struct work_job w = works[0];

			memmove(works, works + 1, --n_works * sizeof(works[0]));
			w.work(w.arg);
			w.done(w.arg, 0);
		}
	}
}

/* Audit first: if it "fails", nothing else happens (the real store rolls back). */
static void audit_act(struct job *j)
{
	if (j->has_audit)
		record_audit(&j->audit);
}

static void run_session_check(struct job *j, int err)
{
	store_principal_cb cb = (store_principal_cb)j->cb;
	struct kam_principal p = { 0 };

	for (size_t i = 0; !err && i < db.n_sessions; i++) {
		struct fsession *s = &db.sessions[i];
		struct fuser *u = user_by_id(s->user);

		if (memcmp(s->hash, j->hash, KAM_SHA256_LEN) != 0)
			continue;
		if (s->revoked || !u->active)
			break;
		p = (struct kam_principal){ .user_id = u->id, .session_id = s->id, .role = u->role,
					    .expires_at = EXPIRES };
		snprintf(p.username, sizeof(p.username), "%s", u->name);
		cb(j->arg, 0, &p);
		return;
	}
	cb(j->arg, err ? err : KAM_EUNAUTH, NULL);
}

int store_session_check(struct store *st, const uint8_t token_hash[KAM_SHA256_LEN], store_principal_cb cb, void *arg)
{
	struct job *j = job_new(run_session_check, (fnptr)cb, arg, NULL);

	memcpy(j->hash, token_hash, KAM_SHA256_LEN);
	session_checks++;
	return 0;
}

static void run_login_lookup(struct job *j, int err)
{
	store_credentials_cb cb = (store_credentials_cb)j->cb;
	struct fuser *u = err ? NULL : user_by_name(j->s1);
	struct store_credentials c;

	if (!u) {
		cb(j->arg, err ? err : KAM_ENOTFOUND, NULL);
		return;
	}
	c = (struct store_credentials){ u->id, u->name, u->role, u->active, u->hash };
	cb(j->arg, 0, &c);
}

int store_login_lookup(struct store *st, const char *username, store_credentials_cb cb, void *arg)
{
	snprintf(job_new(run_login_lookup, (fnptr)cb, arg, NULL)->s1, KAM_MAX_NAME + 1, "%s", username);
	return 0;
}

static void run_session_create(struct job *j, int err)
{
	store_expiry_cb cb = (store_expiry_cb)j->cb;
	struct fsession *s;

	if (err) {
		cb(j->arg, err, 0, 0);
		return;
	}
	audit_act(j);
	s = &db.sessions[db.n_sessions];
	s->id = (int64_t)++db.n_sessions;
	s->user = j->n1;
	memcpy(s->hash, j->hash, KAM_SHA256_LEN);
	cb(j->arg, 0, s->id, EXPIRES);
}

int store_session_create(struct store *st, int64_t user_id, const uint8_t token_hash[KAM_SHA256_LEN],
			 const struct audit_entry *audit, store_expiry_cb cb, void *arg)
{
	struct job *j = job_new(run_session_create, (fnptr)cb, arg, audit);

	j->n1 = user_id;
	memcpy(j->hash, token_hash, KAM_SHA256_LEN);
	return 0;
}

static void run_session_revoke(struct job *j, int err)
{
	if (!err) {
		audit_act(j);
		db.sessions[j->n1 - 1].revoked = true;
	}
	((store_done_cb)j->cb)(j->arg, err);
}

int store_session_revoke(struct store *st, int64_t session_id, const struct audit_entry *audit,
			 store_done_cb cb, void *arg)
{
	job_new(run_session_revoke, (fnptr)cb, arg, audit)->n1 = session_id;
	return 0;
}

static void run_password_update(struct job *j, int err)
{
	if (!err)
		snprintf(user_by_id(j->n1)->hash, SVC_PHC_MAX, "%s", j->s2);
	((store_done_cb)j->cb)(j->arg, err);
}

int store_password_update(struct store *st, int64_t user_id, const char *password_hash, store_done_cb cb, void *arg)
{
	struct job *j = job_new(run_password_update, (fnptr)cb, arg, NULL);

	j->n1 = user_id;
	snprintf(j->s2, sizeof(j->s2), "%s", password_hash);
	return 0;
}

static void run_audit_write(struct job *j, int err)
{
	if (!err)
		audit_act(j);
	((store_done_cb)j->cb)(j->arg, err);
}

int store_audit_write(struct store *st, const struct audit_entry *audit, store_done_cb cb, void *arg)
{
	job_new(run_audit_write, (fnptr)cb, arg, audit);
	return 0;
}

/* -- faults (issue 7): row-level security and request keys are the database's; the fake keeps none -- */
void store_act_as(struct store *st, int64_t user_id) {}
void store_request_key(struct store *st, const uint8_t *key, size_t len) {}

static void run_key_seen(struct job *j, int err)
{
	((store_done_cb)j->cb)(j->arg, err ? err : KAM_ENOTFOUND);
}

int store_request_key_seen(struct store *st, const uint8_t *key, size_t len, store_done_cb cb, void *arg)
{
	job_new(run_key_seen, (fnptr)cb, arg, NULL);
	return 0;
}

static void run_user_get(struct job *j, int err)
{
	struct fuser *u = err ? NULL : user_by_name(j->s1);
	struct kam_user v;

	if (!u) {
		((store_user_cb)j->cb)(j->arg, err ? err : KAM_ENOTFOUND, NULL);
		return;
	}
	v = user_view(u);
	((store_user_cb)j->cb)(j->arg, 0, &v);
}

int store_user_get(struct store *st, const char *username, store_user_cb cb, void *arg)
{
	snprintf(job_new(run_user_get, (fnptr)cb, arg, NULL)->s1, KAM_MAX_NAME + 1, "%s", username);
	return 0;
}

static void run_user_add(struct job *j, int err)
{
	struct fuser *u, *boss = j->s3[0] ? user_by_name(j->s3) : NULL;
	struct kam_user v;

	if (!err && user_by_name(j->s1))
		err = KAM_ECONFLICT;
	if (!err && j->s3[0] && !boss)
		err = KAM_ENOTFOUND;
	if (err) {
		((store_user_cb)j->cb)(j->arg, err, NULL);
		return;
	}
	audit_act(j);
	u = &db.users[db.n_users];
	u->id = (int64_t)++db.n_users;
	snprintf(u->name, sizeof(u->name), "%.*s", KAM_MAX_USERNAME, j->s1);
	u->role = (enum kam_role)j->n1;
	u->boss = boss ? boss->id : 0;
	u->active = true;
	snprintf(u->hash, sizeof(u->hash), "%s", j->s2);
	v = user_view(u);
	((store_user_cb)j->cb)(j->arg, 0, &v);
}

int store_user_add(struct store *st, const char *username, enum kam_role role, const char *reports_to,
		   const char *password_hash, const struct audit_entry *audit, store_user_cb cb, void *arg)
{
	struct job *j = job_new(run_user_add, (fnptr)cb, arg, audit);

	snprintf(j->s1, sizeof(j->s1), "%s", username);
	snprintf(j->s2, sizeof(j->s2), "%s", password_hash);
	snprintf(j->s3, sizeof(j->s3), "%s", reports_to ? reports_to : "");
	j->n1 = role;
	return 0;
}

static void run_user_list(struct job *j, int err)
{
	struct kam_user v[MAX_USERS];

	if (err) {
		((store_users_cb)j->cb)(j->arg, err, NULL, 0);
		return;
	}
	audit_act(j);
	for (size_t i = 0; i < db.n_users; i++)
		v[i] = user_view(&db.users[i]);
	((store_users_cb)j->cb)(j->arg, 0, v, db.n_users);
}

int store_user_list(struct store *st, const struct audit_entry *audit, store_users_cb cb, void *arg)
{
	job_new(run_user_list, (fnptr)cb, arg, audit);
	return 0;
}

static void run_account_access(struct job *j, int err)
{
	struct facct *a = err ? NULL : account_by_ref(j->s1);
	struct store_access acc;

	if (!a) {
		((store_access_cb)j->cb)(j->arg, err ? err : KAM_ENOTFOUND, NULL);
		return;
	}
	acc = (struct store_access){ a->id, a->tier, a->owner, relation(a, j->who.user_id), a->version };
	((store_access_cb)j->cb)(j->arg, 0, &acc);
}

int store_account_access(struct store *st, const struct kam_principal *who, const char *account_ref,
			 store_access_cb cb, void *arg)
{
	struct job *j = job_new(run_account_access, (fnptr)cb, arg, NULL);

	j->who = *who;
	snprintf(j->s1, sizeof(j->s1), "%s", account_ref);
	return 0;
}

static void reply_account_job(struct job *j, int err, const struct facct *a)
{
	struct kam_account v;

	if (err) {
		((store_account_cb)j->cb)(j->arg, err, NULL);
		return;
	}
	v = account_view(a);
	((store_account_cb)j->cb)(j->arg, 0, &v);
}

static void run_account_add(struct job *j, int err)
{
	struct facct *a = NULL;

	if (!err && account_by_ref(j->s1))
		err = KAM_ECONFLICT;
	if (!err) {
		audit_act(j);
		a = add_account(j->s1, (enum kam_tier)j->n1, user_by_id(j->n2)->name, NULL);
	}
	reply_account_job(j, err, a);
}

int store_account_add(struct store *st, const char *name, enum kam_tier tier, int64_t owner_id,
		      const struct audit_entry *audit, store_account_cb cb, void *arg)
{
	struct job *j = job_new(run_account_add, (fnptr)cb, arg, audit);

	snprintf(j->s1, sizeof(j->s1), "%s", name);
	j->n1 = tier;
	j->n2 = owner_id;
	return 0;
}

static void run_account_get(struct job *j, int err)
{
	struct facct *a = err ? NULL : account_by_id(j->n1);

	if (!err && !a)
		err = KAM_ENOTFOUND;
	if (!err)
		audit_act(j);
	reply_account_job(j, err, a);
}

int store_account_get(struct store *st, int64_t account_id, const struct audit_entry *audit,
		      store_account_cb cb, void *arg)
{
	job_new(run_account_get, (fnptr)cb, arg, audit)->n1 = account_id;
	return 0;
}

static void run_account_list(struct job *j, int err)
{
	struct kam_account v[MAX_ACCOUNTS];
	const char *teams[MAX_ACCOUNTS][MAX_TEAM];
	size_t n = 0;

	if (err) {
		((store_accounts_cb)j->cb)(j->arg, err, NULL, 0, 0);
		return;
	}
	audit_act(j);
	for (size_t i = 0; i < db.n_accounts; i++) {
		struct facct *a = &db.accounts[i];

		if (authz_decide(j->who.role, AZ_ACCOUNT_READ, relation(a, j->who.user_id)) != AUTHZ_ALLOW)
			continue;
		if ((j->filter.tier && a->tier != j->filter.tier) || (j->filter.owner_id && a->owner != j->filter.owner_id))
			continue;
		v[n] = account_view(a);
		memcpy(teams[n], team_names, sizeof(team_names));
		v[n].team = teams[n];
		v[n].has_info = false;
		n++;
	}
	((store_accounts_cb)j->cb)(j->arg, 0, v, n, 0);
}

int store_account_list(struct store *st, const struct kam_principal *who, const struct store_list_filter *f,
		       const struct audit_entry *audit, store_accounts_cb cb, void *arg)
{
	struct job *j = job_new(run_account_list, (fnptr)cb, arg, audit);

	j->who = *who;
	j->filter = *f;
	return 0;
}

static void run_account_update(struct job *j, int err)
{
	struct facct *a = err ? NULL : account_by_id(j->acc.id);

	if (!err && db.bump_before_update) {
		db.bump_before_update = false;
		a->version++;
	}
	if (!err && a->version != j->n1)
		err = KAM_ESTALE;
	if (!err) {
		audit_act(j);
		a->tier = j->acc.tier;
		a->stage = j->acc.stage;
		a->strategy = j->acc.strategy;
		a->founded = j->acc.info.founded;
		a->headcount = j->acc.info.headcount;
		a->revenue = j->acc.info.revenue;
		a->budget = j->acc.info.budget;
		snprintf(a->notes, sizeof(a->notes), "%s", j->s2);
		snprintf(a->currency, sizeof(a->currency), "%.3s", j->s3);
		a->version++;
	}
	reply_account_job(j, err, a);
}

int store_account_update(struct store *st, const struct kam_account *after, int64_t expected_version,
			 const struct audit_entry *audit, store_account_cb cb, void *arg)
{
	struct job *j = job_new(run_account_update, (fnptr)cb, arg, audit);

	j->acc = *after;
	j->n1 = expected_version;
	/* The fake keeps notes and currency of the text fields. */
	snprintf(j->s2, sizeof(j->s2), "%s", after->info.notes);
	snprintf(j->s3, sizeof(j->s3), "%s", after->info.currency);
	return 0;
}

static void run_account_member(struct job *j, int err)
{
	struct facct *a = err ? NULL : account_by_id(j->n1);

	if (!err && !j->flag && a->owner == j->n2)
		err = KAM_EINVAL;
	if (!err && on_team(a, j->n2) == j->flag)
		err = KAM_ECONFLICT;
	if (!err) {
		audit_act(j);
		if (j->flag) {
			a->team[a->n_team++] = j->n2;
		} else {
			for (size_t i = 0; i < a->n_team; i++)
				if (a->team[i] == j->n2)
					a->team[i] = a->team[--a->n_team];
		}
	}
	reply_account_job(j, err, a);
}

int store_account_member(struct store *st, int64_t account_id, int64_t user_id, bool add,
			 const struct audit_entry *audit, store_account_cb cb, void *arg)
{
	struct job *j = job_new(run_account_member, (fnptr)cb, arg, audit);

	j->n1 = account_id;
	j->n2 = user_id;
	j->flag = add;
	return 0;
}

/* ---- hostile clients (issue 6): the throttle, passwd and unlock, in memory ---- */

/* A name locks at FAKE_THRESHOLD consecutive failures; a test may lock one by hand. */
#define FAKE_THRESHOLD 3
#define MAX_THROTTLED 16

static struct {
	struct { char name[KAM_MAX_USERNAME + 1]; int failures; bool locked; } names[MAX_THROTTLED];
	size_t n;
	int64_t next_reservation;
	int gates, fails, passes, releases;      /* calls seen, for the tests */
} thr;

static void hostile_reset(void)
{
	memset(&thr, 0, sizeof(thr));
	fake_work_full = false;
}

static int *fake_failures(const char *name, bool **locked)
{
	size_t i;

	for (i = 0; i < thr.n && strcmp(thr.names[i].name, name) != 0; i++)
		;
	if (i == thr.n) {
		snprintf(thr.names[thr.n].name, sizeof(thr.names[0].name), "%s", name);
		thr.names[thr.n].failures = 0;
		thr.names[thr.n].locked = false;
		thr.n++;
	}
	*locked = &thr.names[i].locked;
	return &thr.names[i].failures;
}

static void run_login_gate(struct job *j, int err)
{
	struct fuser *u = user_by_name(j->s1);
	struct store_gate g = { 0 };
	bool *locked;
	int *failures = fake_failures(j->s1, &locked);

	thr.gates++;
	if (err) {
		((store_gate_cb)j->cb)(j->arg, err, NULL);
		return;
	}
	if (*locked) {
		g.refused = STORE_LOCKED;
		g.retry_after_s = 5;
	} else {
		g.reservation = ++thr.next_reservation;
		g.failures = ++*failures;
	}
	g.known = u != NULL;
	if (u)
		g.cred = (struct store_credentials){ u->id, u->name, u->role, u->active, u->hash };
	((store_gate_cb)j->cb)(j->arg, 0, &g);
}

int store_login_gate(struct store *st, const char *username, const char *addr, const struct store_throttle *lim,
		     store_gate_cb cb, void *arg)
{
	snprintf(job_new(run_login_gate, (fnptr)cb, arg, NULL)->s1, KAM_MAX_NAME + 1, "%s", username);
	return 0;
}

static void run_login_fail(struct job *j, int err)
{
	bool *locked;
	int *failures = fake_failures(j->s1, &locked);

	thr.fails++;
	if (!err) {
		audit_act(j);
		*locked = *failures >= FAKE_THRESHOLD;
	}
	((store_lock_cb)j->cb)(j->arg, err, *failures, *locked ? EXPIRES : 0);
}

int store_login_fail(struct store *st, int64_t reservation, const char *username, const char *addr,
		     const struct store_throttle *lim, const struct audit_entry *audit, store_lock_cb cb, void *arg)
{
	snprintf(job_new(run_login_fail, (fnptr)cb, arg, audit)->s1, KAM_MAX_NAME + 1, "%s", username);
	return 0;
}

static void run_login_pass(struct job *j, int err)
{
	bool *locked;

	thr.passes++;
	if (!err)
		*fake_failures(j->s1, &locked) = 0;
	((store_done_cb)j->cb)(j->arg, err);
}

int store_login_pass(struct store *st, int64_t reservation, const char *username, store_done_cb cb, void *arg)
{
	snprintf(job_new(run_login_pass, (fnptr)cb, arg, NULL)->s1, KAM_MAX_NAME + 1, "%s", username);
	return 0;
}

static void run_login_release(struct job *j, int err)
{
	bool *locked;

	thr.releases++;
	if (!err) {
		audit_act(j);
		--*fake_failures(j->s1, &locked);
	}
	((store_done_cb)j->cb)(j->arg, err);
}

int store_login_release(struct store *st, int64_t reservation, const char *username,
			const struct audit_entry *audit, store_done_cb cb, void *arg)
{
	snprintf(job_new(run_login_release, (fnptr)cb, arg, audit)->s1, KAM_MAX_NAME + 1, "%s", username);
	return 0;
}

static void run_user_target(struct job *j, int err)
{
	struct fuser *u = err ? NULL : user_by_name(j->s1);
	struct store_user_target t;

	if (!u) {
		((store_target_cb)j->cb)(j->arg, err ? err : KAM_ENOTFOUND, NULL);
		return;
	}
	t.user = user_view(u);
	t.reports_to_caller = reports_to(u->id, j->who.user_id);
	((store_target_cb)j->cb)(j->arg, 0, &t);
}

int store_user_target(struct store *st, const struct kam_principal *who, const char *username,
		      store_target_cb cb, void *arg)
{
	struct job *j = job_new(run_user_target, (fnptr)cb, arg, NULL);

	j->who = *who;
	snprintf(j->s1, sizeof(j->s1), "%s", username);
	return 0;
}

static void run_user_unlock(struct job *j, int err)
{
	bool *locked;
	int *failures = fake_failures(j->s1, &locked), had = *failures;
	int64_t until = *locked ? EXPIRES : 0;

	if (!err) {
		audit_act(j);
		*failures = 0;
		*locked = false;
	}
	((store_lock_cb)j->cb)(j->arg, err, had, until);
}

int store_user_unlock(struct store *st, const char *username, const struct audit_entry *audit,
		      store_lock_cb cb, void *arg)
{
	snprintf(job_new(run_user_unlock, (fnptr)cb, arg, audit)->s1, KAM_MAX_NAME + 1, "%s", username);
	return 0;
}

static void run_user_passwd(struct job *j, int err)
{
	struct fuser *u = user_by_id(j->n1);
	int64_t revoked = 0;

	if (!err && (!u || !u->active))
		err = KAM_ENOTFOUND;
	if (!err) {
		audit_act(j);
		snprintf(u->hash, SVC_PHC_MAX, "%s", j->s2);
		for (size_t i = 0; i < db.n_sessions; i++) {
			struct fsession *s = &db.sessions[i];

			if (s->user == u->id && !s->revoked && s->id != j->n2) {
				s->revoked = true;
				revoked++;
			}
		}
	}
	((store_count_cb)j->cb)(j->arg, err, revoked);
}

int store_user_passwd(struct store *st, int64_t user_id, const char *password_hash, int64_t keep_session_id,
		      const struct audit_entry *audit, store_count_cb cb, void *arg)
{
	struct job *j = job_new(run_user_passwd, (fnptr)cb, arg, audit);

	j->n1 = user_id;
	j->n2 = keep_session_id;
	snprintf(j->s2, sizeof(j->s2), "%s", password_hash);
	return 0;
}

/* ---- audit and churn (issue 4): the watch, hand-over and the rest, in memory ---- */

#define MAX_WATCHED 16

static struct {
	struct { int64_t user; int64_t read[MAX_ACCOUNTS]; size_t n; bool flagged; } users[MAX_WATCHED];
	size_t n;
	int handovers;            /* store_handover calls seen */
	int64_t handover_from, handover_to;
} aud4;

static void audit4_reset(void)
{
	memset(&aud4, 0, sizeof(aud4));
}

static size_t watched(int64_t user)
{
	size_t i;

	for (i = 0; i < aud4.n && aud4.users[i].user != user; i++)
		;
	if (i == aud4.n)
		aud4.users[aud4.n++].user = user;
	return i;
}

static void run_watch_admit(struct job *j, int err)
{
	size_t u = watched(j->who.user_id), k;
	struct store_watch w = { STORE_WATCH_OK, 0, 0 };

	if (err) {
		((store_watch_cb)j->cb)(j->arg, err, NULL);
		return;
	}
	for (k = 0; k < aud4.users[u].n && aud4.users[u].read[k] != j->n1; k++)
		;
	if (aud4.users[u].flagged) {
		w.verdict = STORE_WATCH_FLAGGED;
	} else if (k == aud4.users[u].n && aud4.users[u].n >= (size_t)j->n2) {
		aud4.users[u].flagged = true;
		w.verdict = STORE_WATCH_FLAGGED_NOW;
	} else if (k == aud4.users[u].n) {
		aud4.users[u].read[aud4.users[u].n++] = j->n1;
	}
	w.reads = (uint32_t)aud4.users[u].n + (w.verdict != STORE_WATCH_OK);
	((store_watch_cb)j->cb)(j->arg, 0, &w);
}

int store_watch_admit(struct store *st, const struct kam_principal *who, const char *client_addr,
		      int64_t account_id, const struct store_watch_limit *lim, store_watch_cb cb, void *arg)
{
	struct job *j = job_new(run_watch_admit, (fnptr)cb, arg, NULL);

	j->who = *who;
	j->n1 = account_id;
	j->n2 = lim->limit;
	return 0;
}

/* ---- performance (issue 5): the fast path's guards ---- */

void store_session_guard(struct store *st, const uint8_t token_hash[KAM_SHA256_LEN],
			 const struct kam_principal *who)
{
	pending_guards.guard_session = true;
	memcpy(pending_guards.guard_token, token_hash, KAM_SHA256_LEN);
	pending_guards.guard_who = *who;
}

void store_watch_guard(struct store *st, const struct kam_principal *who, const char *client_addr,
		       int64_t account_id, const struct store_watch_limit *lim)
{
	pending_guards.guard_watch = true;
	pending_guards.guard_who = *who;
	pending_guards.guard_account = account_id;
	pending_guards.guard_limit = lim->limit;
}

void store_guard_clear(struct store *st)
{
	memset(&pending_guards, 0, sizeof(pending_guards));
}

/* As 0008_fast_path.sql: KAM_ERECHECK, KAM_EWATCH (a refusal changes nothing: it rolls back), or 0. */
static int check_guards(struct job *j)
{
	int err = 0;

	if (j->guard_session) {
		err = KAM_ERECHECK;
		for (size_t i = 0; i < db.n_sessions; i++) {
			struct fsession *s = &db.sessions[i];
			struct fuser *u = user_by_id(s->user);

			if (memcmp(s->hash, j->guard_token, KAM_SHA256_LEN) == 0 && !s->revoked && u->active &&
			    u->id == j->guard_who.user_id && u->role == j->guard_who.role)
				err = 0;
		}
	}
	if (!err && j->guard_watch) {
		size_t u = watched(j->guard_who.user_id), k;

		for (k = 0; k < aud4.users[u].n && aud4.users[u].read[k] != j->guard_account; k++)
			;
		if (aud4.users[u].flagged || (k == aud4.users[u].n && aud4.users[u].n >= j->guard_limit))
			err = KAM_EWATCH;
		else if (k == aud4.users[u].n)
			aud4.users[u].read[aud4.users[u].n++] = j->guard_account;
	}
	if (err)
		guard_refusals++;
	return err;
}

static void run_watch_alerts(struct job *j, int err)
{
	struct kam_alert al[MAX_WATCHED];
	size_t n = 0;

	if (!err)
		audit_act(j);
	for (size_t i = 0; !err && i < aud4.n; i++) {
		struct fuser *u = user_by_id(aud4.users[i].user);

		if (aud4.users[i].flagged && (j->who.role == KAM_ROLE_GM || reports_to(u->id, j->who.user_id)))
			al[n++] = (struct kam_alert){ .username = u->name, .reports_to = user_view(u).reports_to,
						      .reads = (uint32_t)aud4.users[i].n + 1 };
	}
	((store_alerts_cb)j->cb)(j->arg, err, al, n);
}

int store_watch_alerts(struct store *st, const struct kam_principal *who, const struct audit_entry *audit,
		       store_alerts_cb cb, void *arg)
{
	job_new(run_watch_alerts, (fnptr)cb, arg, audit)->who = *who;
	return 0;
}

static void run_watch_clear(struct job *j, int err)
{
	size_t u = watched(j->n1);

	if (!err && !aud4.users[u].flagged)
		err = KAM_ENOTFOUND;
	if (!err) {
		audit_act(j);
		aud4.users[u].flagged = false;
		aud4.users[u].n = 0;
	}
	((store_count_cb)j->cb)(j->arg, err, err ? 0 : 1);
}

int store_watch_clear(struct store *st, int64_t user_id, const struct audit_entry *audit,
		      store_count_cb cb, void *arg)
{
	job_new(run_watch_clear, (fnptr)cb, arg, audit)->n1 = user_id;
	return 0;
}

/* Hands over nothing but says it did, and deactivates: the pipeline's part is the rules. */
static void run_handover(struct job *j, int err)
{
	struct store_handover_result r = { .outcome = STORE_HANDOVER_DONE };

	if (!err) {
		audit_act(j);
		aud4.handovers++;
		aud4.handover_from = j->n1;
		aud4.handover_to = j->n2;
		if (j->flag)
			user_by_id(j->n1)->active = false;
	}
	((store_handover_cb)j->cb)(j->arg, err, err ? NULL : &r);
}

int store_handover(struct store *st, const struct store_handover_req *req, const struct audit_entry *audit,
		   store_handover_cb cb, void *arg)
{
	struct job *j = job_new(run_handover, (fnptr)cb, arg, audit);

	j->n1 = req->from_id;
	j->n2 = req->to_id;
	j->flag = req->deactivate;
	return 0;
}

static void run_empty(struct job *j, int err)
{
	if (!err)
		audit_act(j);
	((store_entries_cb)j->cb)(j->arg, err, NULL, 0, 0);
}

int store_audit_log(struct store *st, const struct kam_principal *who, const struct store_audit_query *q,
		    const struct audit_entry *audit, store_entries_cb cb, void *arg)
{
	job_new(run_empty, (fnptr)cb, arg, audit);
	return 0;
}

/* What the pipeline tests do not reach answers "unavailable". */
int store_audit_heads(struct store *st, store_heads_cb cb, void *arg) { return KAM_EUNAVAIL; }
int store_audit_heads_at(struct store *st, const struct audit_head at[AUDIT_PARTS], store_heads_at_cb cb, void *arg)
{
	return KAM_EUNAVAIL;
}
int store_audit_chain(struct store *st, uint32_t after_part, int64_t after_seq, uint32_t limit,
		      store_chain_cb cb, void *arg) { return KAM_EUNAVAIL; }
int store_user_accounts(struct store *st, int64_t user_id, const char *refs_json, store_ids_cb cb, void *arg)
{
	return KAM_EUNAVAIL;
}
int store_export_begin(struct store *st, const struct audit_entry *audit, store_export_cb cb, void *arg)
{
	return KAM_EUNAVAIL;
}
int store_export_page(struct store *st, int64_t user_id, int64_t export_id, int64_t after_id, uint32_t limit,
		      store_export_page_cb cb, void *arg) { return KAM_EUNAVAIL; }
int store_import_check(struct store *st, const char *owners_json, const char *names_json,
		       store_import_check_cb cb, void *arg) { return KAM_EUNAVAIL; }
int store_import(struct store *st, const char *rows_json, size_t rows, const struct audit_entry *audit,
		 store_ids_cb cb, void *arg) { return KAM_EUNAVAIL; }

/* ---- layers (issue 3): barriers in memory; the other layers are always empty ---- */

#define MAX_BARRIERS 16

static struct fbarrier {
	struct kam_barrier b;
	char description[64], owner[KAM_MAX_USERNAME + 1];
} fbarriers[MAX_BARRIERS];
static size_t n_fbarriers;

static void run_layer_account(struct job *j, int err)
{
	for (size_t i = 0; !err && i < n_fbarriers; i++)
		if (fbarriers[i].b.id == j->n2 && j->n1 == KAM_LAYER_BARRIERS) {
			((store_id_cb)j->cb)(j->arg, 0, fbarriers[i].b.account_id);
			return;
		}
	((store_id_cb)j->cb)(j->arg, err ? err : KAM_ENOTFOUND, 0);
}

int store_layer_account(struct store *st, enum kam_layer layer, int64_t id, store_id_cb cb, void *arg)
{
	struct job *j = job_new(run_layer_account, (fnptr)cb, arg, NULL);

	j->n1 = layer;
	j->n2 = id;
	return 0;
}

/* n1: the account; flag: barriers asked for; n2 (writes): the one barrier to answer with. */
static void run_layers(struct job *j, int err)
{
	struct kam_barrier v[MAX_BARRIERS];
	struct kam_layers l = { .barriers = v };

	if (err) {
		((store_layers_cb)j->cb)(j->arg, err, NULL);
		return;
	}
	audit_act(j);
	for (size_t i = 0; j->flag && i < n_fbarriers; i++)
		if (j->n2 ? fbarriers[i].b.id == j->n2 : fbarriers[i].b.account_id == j->n1)
			v[l.n_barriers++] = fbarriers[i].b;
	((store_layers_cb)j->cb)(j->arg, 0, &l);
}

int store_layers_get(struct store *st, const int64_t *account_ids, size_t n, unsigned mask, bool sensitive,
		     const struct audit_entry *audit, store_layers_cb cb, void *arg)
{
	struct job *j = job_new(run_layers, (fnptr)cb, arg, audit);

	j->n1 = n ? account_ids[0] : 0;
	j->flag = mask & KAM_LAYER_BIT(KAM_LAYER_BARRIERS);
	return 0;
}

static void run_infos(struct job *j, int err)
{
	((store_infos_cb)j->cb)(j->arg, err, NULL, NULL, 0);
}

int store_account_infos(struct store *st, const int64_t *account_ids, size_t n, store_infos_cb cb, void *arg)
{
	job_new(run_infos, (fnptr)cb, arg, NULL);
	return 0;
}

static struct fbarrier *fbarrier_put(const struct kam_barrier *b, struct fbarrier *f)
{
	f->b = *b;
	snprintf(f->description, sizeof(f->description), "%s", b->description);
	snprintf(f->owner, sizeof(f->owner), "%s", b->owner);
	f->b.description = f->description;
	f->b.owner = f->owner;
	f->b.breakthrough = f->b.due = "";
	f->b.version++;
	return f;
}

int store_layer_add(struct store *st, const struct store_layer_write *w, const struct audit_entry *audit,
		    store_layers_cb cb, void *arg)
{
	struct job *j = job_new(run_layers, (fnptr)cb, arg, audit);

	if (w->layer == KAM_LAYER_BARRIERS && n_fbarriers < MAX_BARRIERS) {
		struct fbarrier *f = fbarrier_put(w->row, &fbarriers[n_fbarriers]);

		f->b.id = (int64_t)++n_fbarriers;
		j->n2 = f->b.id;
		j->flag = true;
	}
	return 0;
}

int store_layer_update(struct store *st, const struct store_layer_write *w, const struct audit_entry *audit,
		       store_layers_cb cb, void *arg)
{
	struct job *j = job_new(run_layers, (fnptr)cb, arg, audit);
	const struct kam_barrier *b = w->row;

	for (size_t i = 0; w->layer == KAM_LAYER_BARRIERS && i < n_fbarriers; i++)
		if (fbarriers[i].b.id == b->id && fbarriers[i].b.version == w->expected_version) {
			fbarrier_put(b, &fbarriers[i]);
			j->n2 = b->id;
			j->flag = true;
		}
	return 0;
}

/* ---- fake sessions: decode what svc sends ---- */

struct kam_session {
	int refs;
	bool open;
	bool authenticated;
	bool remembered;                   /* issue 5: session_remember */
	uint8_t principal_token[KAM_SHA256_LEN];
	struct kam_principal principal;
	int frames, done, sent;
	struct kam_arena arena;
	struct kam_response last;
	uint8_t token[KAM_TOKEN_LEN];
	bool has_token;
	uint64_t next_id;
};

void session_ref(struct kam_session *s)
{
	s->refs++;
}

void session_unref(struct kam_session *s)
{
	s->refs--;
}

bool session_is_open(const struct kam_session *s)
{
	return s->open;
}

const char *session_peer(const struct kam_session *s)
{
	return "192.0.2.1:40000";
}

int session_send(struct kam_session *s, const struct kam_response *resp)
{
	struct kam_buf b;
	int rc;

	kam_buf_init(&b);
	rc = msg_response_encode_frame(resp, &b);
	if (rc == 0)
		rc = msg_response_decode(b.data + KAM_FRAME_HEADER_LEN, b.len - KAM_FRAME_HEADER_LEN, &s->arena, &s->last);
	kam_buf_free(&b);
	s->sent++;
	return rc;
}

void session_send_and_close(struct kam_session *s, const struct kam_response *resp, const char *reason)
{
	if (resp && s->open && session_send(s, resp) < 0)
		abort();
	s->open = false;
}

void session_set_authenticated(struct kam_session *s, bool yes)
{
	s->authenticated = yes;
}

void session_request_done(struct kam_session *s)
{
	s->done++;
}

/* -- performance (issue 5) -- */
void session_remember(struct kam_session *s, const uint8_t token_hash[KAM_SHA256_LEN],
		      const struct kam_principal *who)
{
	s->remembered = true;
	memcpy(s->principal_token, token_hash, KAM_SHA256_LEN);
	s->principal = *who;
}

bool session_recall(const struct kam_session *s, const uint8_t token_hash[KAM_SHA256_LEN],
		    struct kam_principal *who)
{
	if (!s->remembered || memcmp(s->principal_token, token_hash, KAM_SHA256_LEN) != 0)
		return false;
	*who = s->principal;
	return true;
}

void session_forget(struct kam_session *s)
{
	s->remembered = false;
}

/* -- hostile clients (issue 6) -- */
bool session_is_authenticated(const struct kam_session *s)
{
	return s->authenticated;
}

const char *session_addr(const struct kam_session *s)
{
	return "192.0.2.1";
}

/* ---- driving requests ---- */

static struct kam_session *sess_new(void)
{
	struct kam_session *s = calloc(1, sizeof(*s));

	s->refs = 1;
	s->open = true;
	kam_arena_init(&s->arena);
	return s;
}

static void sess_free(struct kam_session *s)
{
	kam_arena_free(&s->arena);
	free(s);
}

static void submit(struct kam_session *s, struct kam_request *r)
{
	struct kam_buf b;

	r->id = ++s->next_id;
	if (s->has_token && r->op != KAM_OP_LOGIN) {
		r->has_token = true;
		memcpy(r->token, s->token, KAM_TOKEN_LEN);
	}
	kam_buf_init(&b);
	if (msg_request_encode(r, &b) < 0)
		abort();
	s->frames++;
	svc_on_frame(s, b.data, b.len);
	kam_buf_free(&b);
}

/* Send one request, run everything it queued, and return the one reply. */
static const struct kam_response *call(struct kam_session *s, struct kam_request r)
{
	int sent = s->sent;

	submit(s, &r);
	pump();
	if (s->sent != sent + 1 || s->done != s->frames || s->refs != 1) {
		fprintf(stderr, "  lifecycle: sent %d->%d, done %d of %d frames, refs %d\n", sent, s->sent,
			s->done, s->frames, s->refs);
		abort();
	}
	return &s->last;
}

static enum kam_status login(struct kam_session *s, const char *user, const char *password)
{
	const struct kam_response *r = call(s, (struct kam_request){
		.op = KAM_OP_LOGIN, .u.login = { user, password } });

	if (r->error.code == KAM_STATUS_OK) {
		memcpy(s->token, r->u.login.token, KAM_TOKEN_LEN);
		s->has_token = true;
	}
	return r->error.code;
}

static struct kam_session *as(const char *user)
{
	struct kam_session *s = sess_new();

	if (login(s, user, PASSWORD) != KAM_STATUS_OK)
		abort();
	return s;
}

#define SHOW(ref) ((struct kam_request){ .op = KAM_OP_ACCOUNT_SHOW, .u.account_show = { (ref) } })
#define MEMBER(op_, acct, user) ((struct kam_request){ .op = (op_), .u.account_member = { (acct), (user) } })

static struct kam_request set_req(const char *acct, int64_t if_version, size_t n, struct kam_field *f)
{
	return (struct kam_request){ .op = KAM_OP_ACCOUNT_SET,
				     .u.account_set = { .account = acct, .n_fields = n, .fields = f, .if_version = if_version } };
}

/*
 * The world: gm; mgr and mgr2 report to gm; sol and jun report to mgr; jun2 to mgr2;
 * old (deactivated) to mgr. ACME (important, sol + jun), Globex (top, mgr2 + jun2),
 * Initech (strategic, gm).
 */
static void hostile_reset(void);   /* issue 6's fakes */

static void setup(void)
{
	memset(&db, 0, sizeof(db));
	hostile_reset();
	audit4_reset();   /* issue 4 */
	add_user("gm", KAM_ROLE_GM, NULL, true);
	add_user("mgr", KAM_ROLE_MANAGER, "gm", true);
	add_user("mgr2", KAM_ROLE_MANAGER, "gm", true);
	add_user("sol", KAM_ROLE_SOLUTION, "mgr", true);
	add_user("jun", KAM_ROLE_JUNIOR, "mgr", true);
	add_user("jun2", KAM_ROLE_JUNIOR, "mgr2", true);
	add_user("old", KAM_ROLE_JUNIOR, "mgr", false);
	add_account("ACME", KAM_TIER_IMPORTANT, "sol", "jun");
	add_account("Globex", KAM_TIER_TOP, "mgr2", "jun2");
	add_account("Initech", KAM_TIER_STRATEGIC, "gm", NULL);
	svc_shutdown();
	if (svc_init(&cfg, fake_store) < 0)
		abort();
}

#define ASSERT_STATUS(r, st) ASSERT_EQ((r)->error.code, (st))

/* ---- cases ---- */

TEST(not_logged_in)
{
	struct kam_session *s;
	const struct kam_response *r;

	setup();
	s = sess_new();
	r = call(s, (struct kam_request){ .op = KAM_OP_WHOAMI });
	ASSERT_STATUS(r, KAM_STATUS_UNAUTHENTICATED);
	ASSERT_STR_EQ(r->error.message, "not logged in: only a login, or a request with a session token, may come first");
	ASSERT_EQ(r->id, 1);
	/* Before login only a login or a hello (a request with a token) is taken (issue 6). */
	ASSERT(!s->open);
	sess_free(s);
	s = sess_new();
	s->has_token = true;
	memset(s->token, 7, sizeof(s->token));
	r = call(s, (struct kam_request){ .op = KAM_OP_WHOAMI });
	ASSERT_STATUS(r, KAM_STATUS_UNAUTHENTICATED);
	ASSERT_STR_EQ(r->error.message, "session expired or revoked");
	ASSERT(!s->authenticated);
	ASSERT(s->open);
	ASSERT_EQ(db.n_audit, 0);
	sess_free(s);
}

TEST(login_whoami_logout)
{
	struct kam_session *s;
	const struct kam_response *r;

	setup();
	s = sess_new();
	ASSERT_EQ(login(s, "mgr", PASSWORD), KAM_STATUS_OK);
	ASSERT(s->authenticated);
	ASSERT_STR_EQ(s->last.u.login.user.username, "mgr");
	ASSERT_STR_EQ(s->last.u.login.user.reports_to, "gm");   /* the whole user record */
	ASSERT_EQ(s->last.u.login.expires_at, EXPIRES);
	/* Only the token's hash is kept, and the login is audited. */
	ASSERT_EQ(db.n_sessions, 1);
	ASSERT(memcmp(db.sessions[0].hash, s->token, KAM_TOKEN_LEN) != 0);
	ASSERT_STR_EQ(last_audit()->action, "login");
	ASSERT_EQ(last_audit()->result, AUDIT_ALLOWED);
	ASSERT_EQ(last_audit()->user_id, 2);

	r = call(s, (struct kam_request){ .op = KAM_OP_WHOAMI });
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_EQ(r->op, KAM_OP_WHOAMI);
	ASSERT_STR_EQ(r->u.whoami.user.username, "mgr");
	ASSERT_EQ(r->u.whoami.user.role, KAM_ROLE_MANAGER);
	ASSERT_STR_EQ(r->u.whoami.user.reports_to, "gm");

	r = call(s, (struct kam_request){ .op = KAM_OP_LOGOUT });
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT(db.sessions[0].revoked);
	ASSERT_STR_EQ(last_audit()->action, "logout");
	r = call(s, (struct kam_request){ .op = KAM_OP_WHOAMI });
	ASSERT_STATUS(r, KAM_STATUS_UNAUTHENTICATED);
	ASSERT_STR_EQ(r->error.message, "session expired or revoked");
	sess_free(s);
}

TEST(login_failures_look_alike)
{
	struct kam_session *s;

	setup();
	s = sess_new();
	ASSERT_EQ(login(s, "mgr", "wrong-password-1"), KAM_STATUS_UNAUTHENTICATED);
	ASSERT_STR_EQ(s->last.error.message, "wrong user name or password");
	ASSERT_EQ(last_audit()->result, AUDIT_FAILED);
	ASSERT_EQ(last_audit()->user_id, 2);
	ASSERT_STR_EQ(last_audit()->username, "mgr");

	ASSERT_EQ(login(s, "nobody", PASSWORD), KAM_STATUS_UNAUTHENTICATED);
	ASSERT_STR_EQ(s->last.error.message, "wrong user name or password");
	ASSERT_EQ(last_audit()->result, AUDIT_FAILED);
	ASSERT_EQ(last_audit()->user_id, 0);
	ASSERT_STR_EQ(last_audit()->username, "nobody");

	/* Deactivated: only the right password learns it. */
	ASSERT_EQ(login(s, "old", "wrong-password-1"), KAM_STATUS_UNAUTHENTICATED);
	ASSERT_STR_EQ(s->last.error.message, "wrong user name or password");
	ASSERT_EQ(login(s, "old", PASSWORD), KAM_STATUS_UNAUTHENTICATED);
	ASSERT_STR_EQ(s->last.error.message, "user old is deactivated");
	ASSERT_EQ(last_audit()->result, AUDIT_FAILED);
	ASSERT(strstr(last_audit()->detail, "deactivated"));
	ASSERT_EQ(db.n_sessions, 0);
	ASSERT(!s->authenticated);
	/* Nothing audited carries the password. */
	for (size_t i = 0; i < db.n_audit; i++)
		ASSERT(!strstr(db.audit[i].detail, PASSWORD) && !strstr(db.audit[i].detail, "wrong-password"));
	sess_free(s);
}

TEST(rehash_on_login)
{
	struct kam_session *s;
	struct svc_config weak = cfg;
	struct fuser *u;
	uint32_t m, t, p;

	setup();
	u = user_by_name("sol");
	weak.argon2_m_kib = 32;
	ASSERT_EQ(svc_password_hash(&weak, PASSWORD, u->hash, sizeof(u->hash)), 0);
	s = sess_new();
	ASSERT_EQ(login(s, "sol", PASSWORD), KAM_STATUS_OK);
	ASSERT_EQ(svc_phc_params(u->hash, &m, &t, &p), 0);
	ASSERT_EQ(m, cfg.argon2_m_kib);
	sess_free(s);
}

TEST(show_visible_invisible_missing)
{
	struct kam_session *jun, *mgr, *gm;
	const struct kam_response *r;
	char invisible[256], missing[256];
	size_t audits;

	setup();
	jun = as("jun");
	mgr = as("mgr");
	gm = as("gm");

	r = call(jun, SHOW("ACME"));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_STR_EQ(r->u.account.name, "ACME");
	ASSERT_EQ(r->u.account.n_team, 2);
	ASSERT_STR_EQ(last_audit()->action, "account.show");
	ASSERT_EQ(last_audit()->account_id, 1);
	ASSERT_EQ(last_audit()->result, AUDIT_ALLOWED);

	/* Invisible and missing: same status, same message shape, field for field. */
	audits = db.n_audit;
	r = call(jun, SHOW("Globex"));
	ASSERT_STATUS(r, KAM_STATUS_NOT_FOUND);
	snprintf(invisible, sizeof(invisible), "%s|%s", r->error.message, r->error.field);
	ASSERT_EQ(db.n_audit, audits + 1);
	ASSERT_EQ(last_audit()->result, AUDIT_DENIED);
	ASSERT_EQ(last_audit()->account_id, 2);
	r = call(jun, SHOW("Nosuch"));
	ASSERT_STATUS(r, KAM_STATUS_NOT_FOUND);
	snprintf(missing, sizeof(missing), "%s|%s", r->error.message, r->error.field);
	ASSERT_STR_EQ(invisible, "no account named Globex|account");
	ASSERT_STR_EQ(missing, "no account named Nosuch|account");
	r = call(jun, SHOW("2"));
	ASSERT_STR_EQ(r->error.message, "no account 2");
	r = call(jun, SHOW("99"));
	ASSERT_STR_EQ(r->error.message, "no account 99");

	/* A manager sees the accounts of the people reporting to them; the GM everything. */
	ASSERT_STATUS(call(mgr, SHOW("ACME")), KAM_STATUS_OK);
	ASSERT_STATUS(call(mgr, SHOW("Globex")), KAM_STATUS_NOT_FOUND);
	ASSERT_STATUS(call(gm, SHOW("Globex")), KAM_STATUS_OK);
	sess_free(jun);
	sess_free(mgr);
	sess_free(gm);
}

TEST(set_fields_and_authorization)
{
	struct kam_session *jun, *sol, *mgr, *gm;
	const struct kam_response *r;
	struct kam_field notes[] = { { "notes", "met the CTO" } };
	struct kam_field plan[] = { { "stage", "consolidation" }, { "notes", "x" } };
	struct kam_field tier_top[] = { { "tier", "top" } };
	struct kam_field tier_strategic[] = { { "tier", "strategic" } };
	struct kam_field bad[] = { { "colour", "red" } };
	struct facct *acme;

	setup();
	acme = account_by_id(1);
	jun = as("jun");
	sol = as("sol");
	mgr = as("mgr");
	gm = as("gm");

	r = call(jun, set_req("ACME", 0, 1, notes));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_STR_EQ(r->u.account.info.notes, "met the CTO");
	ASSERT_EQ(r->u.account.version, 2);
	ASSERT_STR_EQ(last_audit()->action, "account.set");
	ASSERT_STR_EQ(last_audit()->detail, "{\"changes\":{\"notes\":{\"before\":\"\",\"after\":\"met the CTO\"}}}");

	/* A junior may not touch the plan; the whole request is refused and audited. */
	r = call(jun, set_req("ACME", 0, 2, plan));
	ASSERT_STATUS(r, KAM_STATUS_PERMISSION_DENIED);
	ASSERT_EQ(last_audit()->result, AUDIT_DENIED);
	ASSERT(strstr(last_audit()->detail, "account.write_plan"));
	ASSERT_STR_EQ(acme->notes, "met the CTO");
	ASSERT_EQ(acme->version, 2);

	r = call(sol, set_req("ACME", 0, 2, plan));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_EQ(r->u.account.stage, KAM_STAGE_CONSOLIDATION);

	/* Tier: not a solution rep's call; a manager's; strategic only the GM's. */
	ASSERT_STATUS(call(sol, set_req("ACME", 0, 1, tier_top)), KAM_STATUS_PERMISSION_DENIED);
	ASSERT_STATUS(call(mgr, set_req("ACME", 0, 1, tier_top)), KAM_STATUS_OK);
	ASSERT_EQ(acme->tier, KAM_TIER_TOP);
	r = call(mgr, set_req("ACME", 0, 1, tier_strategic));
	ASSERT_STATUS(r, KAM_STATUS_PERMISSION_DENIED);
	ASSERT(strstr(r->error.message, "strategic"));
	/* The GM may, but the owner (a solution rep) is too junior for a strategic account. */
	r = call(gm, set_req("ACME", 0, 1, tier_strategic));
	ASSERT_STATUS(r, KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STR_EQ(r->error.field, "tier");
	ASSERT_EQ(acme->tier, KAM_TIER_TOP);

	/* Invisible beats everything: not found, not forbidden. */
	ASSERT_STATUS(call(jun, set_req("Globex", 0, 1, tier_top)), KAM_STATUS_NOT_FOUND);
	r = call(jun, set_req("ACME", 0, 1, bad));
	ASSERT_STATUS(r, KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STR_EQ(r->error.field, "colour");
	sess_free(jun);
	sess_free(sol);
	sess_free(mgr);
	sess_free(gm);
}

TEST(set_stale)
{
	struct kam_session *sol;
	const struct kam_response *r;
	struct kam_field notes[] = { { "notes", "v" } };

	setup();
	sol = as("sol");
	r = call(sol, set_req("ACME", 5, 1, notes));
	ASSERT_STATUS(r, KAM_STATUS_CONFLICT);
	ASSERT_STR_EQ(r->error.message, "account ACME was changed by someone else (now version 1); show it and retry");
	ASSERT_STATUS(call(sol, set_req("ACME", 1, 1, notes)), KAM_STATUS_OK);
	/* Lost the race between our read and our write. */
	db.bump_before_update = true;
	r = call(sol, set_req("ACME", 0, 1, notes));
	ASSERT_STATUS(r, KAM_STATUS_CONFLICT);
	ASSERT_STR_EQ(r->error.message, "account ACME was changed by someone else (now version 3); show it and retry");
	sess_free(sol);
}

TEST(assign_unassign)
{
	struct kam_session *jun, *mgr;
	const struct kam_response *r;

	setup();
	jun = as("jun");
	mgr = as("mgr");
	r = call(mgr, MEMBER(KAM_OP_ACCOUNT_ASSIGN, "ACME", "jun2"));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_EQ(r->u.account.n_team, 3);
	ASSERT(strstr(last_audit()->detail, "jun2"));
	r = call(mgr, MEMBER(KAM_OP_ACCOUNT_ASSIGN, "ACME", "jun2"));
	ASSERT_STATUS(r, KAM_STATUS_CONFLICT);
	ASSERT_STR_EQ(r->error.message, "jun2 is already on the team of account ACME");
	r = call(mgr, MEMBER(KAM_OP_ACCOUNT_UNASSIGN, "ACME", "sol"));
	ASSERT_STATUS(r, KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STR_EQ(r->error.message, "cannot remove the owner from the team; hand the account over first");
	ASSERT_STATUS(call(mgr, MEMBER(KAM_OP_ACCOUNT_ASSIGN, "ACME", "old")), KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STATUS(call(mgr, MEMBER(KAM_OP_ACCOUNT_ASSIGN, "ACME", "ghost")), KAM_STATUS_NOT_FOUND);
	ASSERT_STATUS(call(jun, MEMBER(KAM_OP_ACCOUNT_ASSIGN, "ACME", "gm")), KAM_STATUS_PERMISSION_DENIED);
	ASSERT_STATUS(call(mgr, MEMBER(KAM_OP_ACCOUNT_ASSIGN, "Globex", "jun")), KAM_STATUS_NOT_FOUND);
	r = call(mgr, MEMBER(KAM_OP_ACCOUNT_UNASSIGN, "ACME", "jun2"));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_EQ(r->u.account.n_team, 2);
	sess_free(jun);
	sess_free(mgr);
}

#define ADD(name, tier, owner) ((struct kam_request){ .op = KAM_OP_ACCOUNT_ADD, .u.account_add = { (name), (tier), (owner) } })

TEST(account_add)
{
	struct kam_session *jun, *mgr, *gm;
	const struct kam_response *r;

	setup();
	jun = as("jun");
	mgr = as("mgr");
	gm = as("gm");
	r = call(jun, ADD("NewCo", KAM_TIER_IMPORTANT, ""));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_STR_EQ(r->u.account.owner, "jun");
	ASSERT(strstr(last_audit()->detail, "NewCo"));
	r = call(jun, ADD("TopCo", KAM_TIER_TOP, ""));
	ASSERT_STATUS(r, KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STR_EQ(r->error.message, "a TOP account must be owned by a solution rep or above");
	ASSERT_STATUS(call(jun, ADD("ForSol", KAM_TIER_ORDINARY, "sol")), KAM_STATUS_PERMISSION_DENIED);
	ASSERT_STATUS(call(mgr, ADD("ForSol", KAM_TIER_TOP, "sol")), KAM_STATUS_OK);
	ASSERT_STATUS(call(mgr, ADD("BigCo", KAM_TIER_STRATEGIC, "")), KAM_STATUS_PERMISSION_DENIED);
	ASSERT_STATUS(call(gm, ADD("BigCo", KAM_TIER_STRATEGIC, "mgr")), KAM_STATUS_OK);
	r = call(gm, ADD("BigCo", KAM_TIER_ORDINARY, ""));
	ASSERT_STATUS(r, KAM_STATUS_CONFLICT);
	ASSERT_STR_EQ(r->error.message, "an account named BigCo already exists");
	ASSERT_STATUS(call(gm, ADD("12345", KAM_TIER_ORDINARY, "")), KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STATUS(call(gm, ADD("X", KAM_TIER_ORDINARY, "old")), KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STATUS(call(gm, ADD("X", KAM_TIER_ORDINARY, "ghost")), KAM_STATUS_INVALID_ARGUMENT);
	sess_free(jun);
	sess_free(mgr);
	sess_free(gm);
}

#define USER_ADD(name, role, boss, pw) \
	((struct kam_request){ .op = KAM_OP_USER_ADD, .u.user_add = { (name), (role), (boss), (pw) } })

TEST(users)
{
	struct kam_session *mgr, *gm, *s;
	const struct kam_response *r;
	size_t audits;

	setup();
	mgr = as("mgr");
	gm = as("gm");
	ASSERT_STATUS(call(mgr, USER_ADD("newbie", KAM_ROLE_JUNIOR, "", PASSWORD)), KAM_STATUS_PERMISSION_DENIED);
	r = call(gm, USER_ADD("newbie", KAM_ROLE_JUNIOR, "", "éééééé"));
	ASSERT_STATUS(r, KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STR_EQ(r->error.field, "password");
	r = call(gm, USER_ADD("newbie", KAM_ROLE_JUNIOR, "jun", PASSWORD));
	ASSERT_STATUS(r, KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STR_EQ(r->error.field, "reports_to");
	ASSERT_STATUS(call(gm, USER_ADD("newbie", KAM_ROLE_JUNIOR, "ghost", PASSWORD)), KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STATUS(call(gm, USER_ADD("new bie", KAM_ROLE_JUNIOR, "", PASSWORD)), KAM_STATUS_INVALID_ARGUMENT);
	audits = db.n_audit;
	r = call(gm, USER_ADD("newbie", KAM_ROLE_JUNIOR, "mgr", PASSWORD));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_STR_EQ(r->u.user.username, "newbie");
	ASSERT_STR_EQ(r->u.user.reports_to, "mgr");
	ASSERT_EQ(db.n_audit, audits + 1);
	ASSERT(!strstr(last_audit()->detail, PASSWORD));
	r = call(gm, USER_ADD("newbie", KAM_ROLE_JUNIOR, "", PASSWORD));
	ASSERT_STATUS(r, KAM_STATUS_CONFLICT);
	ASSERT_STR_EQ(r->error.message, "user newbie already exists");
	/* The new user can log in with the password given. */
	s = as("newbie");
	ASSERT_STATUS(call(s, (struct kam_request){ .op = KAM_OP_USER_LIST }), KAM_STATUS_PERMISSION_DENIED);
	r = call(mgr, (struct kam_request){ .op = KAM_OP_USER_LIST });
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_EQ(r->u.user_list.n, db.n_users);
	sess_free(s);
	sess_free(mgr);
	sess_free(gm);
}

#define LIST(who) ((struct kam_request){ .op = KAM_OP_ACCOUNT_LIST, .u.account_list = { .owner = (who) } })

TEST(list)
{
	struct kam_session *jun, *mgr, *gm;
	const struct kam_response *r;

	setup();
	jun = as("jun");
	mgr = as("mgr");
	gm = as("gm");
	r = call(jun, LIST(""));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_EQ(r->u.account_list.n, 1);
	ASSERT_STR_EQ(last_audit()->action, "account.list");
	ASSERT_EQ(call(mgr, LIST(""))->u.account_list.n, 1);
	ASSERT_EQ(call(gm, LIST(""))->u.account_list.n, 3);
	ASSERT_EQ(call(gm, LIST("mgr2"))->u.account_list.n, 1);
	r = call(gm, LIST("ghost"));
	ASSERT_STATUS(r, KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STR_EQ(r->error.field, "owner");
	sess_free(jun);
	sess_free(mgr);
	sess_free(gm);
}

TEST(protocol_error_closes)
{
	struct kam_session *s;
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };

	setup();
	s = sess_new();
	s->frames++;
	svc_on_frame(s, garbage, sizeof(garbage));
	pump();
	ASSERT_EQ(s->sent, 1);
	ASSERT_EQ(s->done, 1);
	ASSERT_EQ(s->refs, 1);
	ASSERT(!s->open);
	ASSERT_STATUS(&s->last, KAM_STATUS_PROTOCOL);
	ASSERT_EQ(s->last.id, 0);
	sess_free(s);
}

TEST(invalid_request_keeps_connection)
{
	struct kam_session *s;
	const struct kam_response *r;

	setup();
	s = as("gm");
	/* The codec refuses an empty account reference; the connection stays. */
	r = call(s, SHOW(""));
	ASSERT_STATUS(r, KAM_STATUS_INVALID_ARGUMENT);
	ASSERT(s->open);
	ASSERT_EQ(r->id, s->next_id);
	sess_free(s);
}

TEST(database_unavailable)
{
	struct kam_session *s;
	const struct kam_response *r;

	setup();
	s = as("gm");
	db.fail_next = KAM_EUNAVAIL;
	r = call(s, SHOW("ACME"));
	ASSERT_STATUS(r, KAM_STATUS_UNAVAILABLE);
	ASSERT_STR_EQ(r->error.message, "database unavailable; try again");
	db.fail_next = KAM_EINTERNAL;
	r = call(s, SHOW("ACME"));
	ASSERT_STATUS(r, KAM_STATUS_INTERNAL);
	sess_free(s);
}

/* A connection that goes away mid-request gets no reply, and the call still ends once. */
TEST(closed_mid_request)
{
	struct kam_session *s;
	struct kam_request r = SHOW("ACME");
	int sent;

	setup();
	s = as("gm");
	sent = s->sent;
	submit(s, &r);
	s->open = false;
	pump();
	ASSERT_EQ(s->sent, sent);
	ASSERT_EQ(s->done, s->frames);
	ASSERT_EQ(s->refs, 1);
	sess_free(s);
}

/* ---- hostile clients (issue 6) ---- */

#define PASSWD(user, old, new_) \
	((struct kam_request){ .op = KAM_OP_USER_PASSWD, .u.user_passwd = { (user), (old), (new_) } })
#define UNLOCK(user) ((struct kam_request){ .op = KAM_OP_USER_UNLOCK, .u.user_unlock = { (user) } })
#define NEW_PASSWORD "another password 42"

/* Only a login or a hello first; a bad login stays answerable, anything else closes. */
TEST(prelogin_gate)
{
	struct kam_session *s;
	const struct kam_response *r;

	setup();
	s = sess_new();
	r = call(s, SHOW("ACME"));
	ASSERT_STATUS(r, KAM_STATUS_UNAUTHENTICATED);
	ASSERT(!s->open);
	sess_free(s);
	/* An invalid request that is no login closes too ... */
	s = sess_new();
	ASSERT_STATUS(call(s, SHOW("")), KAM_STATUS_INVALID_ARGUMENT);
	ASSERT(!s->open);
	sess_free(s);
	/* ... an invalid login does not, and the next login works. */
	s = sess_new();
	ASSERT_STATUS(call(s, (struct kam_request){ .op = KAM_OP_LOGIN, .u.login = { "", PASSWORD } }),
		      KAM_STATUS_INVALID_ARGUMENT);
	ASSERT(s->open);
	ASSERT_EQ(login(s, "gm", PASSWORD), KAM_STATUS_OK);
	/* Once authenticated, anything goes, a tokenless request too (it is refused, not closed). */
	s->has_token = false;
	ASSERT_STATUS(call(s, SHOW("ACME")), KAM_STATUS_UNAUTHENTICATED);
	ASSERT(s->open);
	sess_free(s);
}

TEST(throttled_login)
{
	struct kam_session *s;
	size_t works_before;
	int i;

	setup();
	s = sess_new();
	/* Failures are recorded through the store and audited with their count. */
	for (i = 1; i <= FAKE_THRESHOLD; i++) {
		ASSERT_EQ(login(s, "mgr", "wrong-password-1"), KAM_STATUS_UNAUTHENTICATED);
		ASSERT_STR_EQ(s->last.error.message, "wrong user name or password");
		ASSERT_EQ(thr.fails, i);
		ASSERT_EQ(last_audit()->result, AUDIT_FAILED);
		ASSERT(strstr(last_audit()->detail, "\"failures\":"));
	}
	/* Locked: refused before any hash, even with the right password, and audited. */
	works_before = n_works;
	ASSERT_EQ(login(s, "mgr", PASSWORD), KAM_STATUS_UNAUTHENTICATED);
	ASSERT_STR_EQ(s->last.error.message, "too many failed logins for mgr; try again in 5 s");
	ASSERT_EQ(n_works, works_before);
	ASSERT_EQ(thr.fails, FAKE_THRESHOLD);
	ASSERT_STR_EQ(last_audit()->action, "login");
	ASSERT_EQ(last_audit()->user_id, 2);
	ASSERT(strstr(last_audit()->detail, "throttled"));
	/* An unknown name is throttled the same way, with the same words. */
	for (i = 0; i < FAKE_THRESHOLD; i++)
		ASSERT_EQ(login(s, "nobody", PASSWORD), KAM_STATUS_UNAUTHENTICATED);
	ASSERT_EQ(login(s, "nobody", PASSWORD), KAM_STATUS_UNAUTHENTICATED);
	ASSERT_STR_EQ(s->last.error.message, "too many failed logins for nobody; try again in 5 s");
	/* A right password forgets the failures of a name that is not locked. */
	ASSERT_EQ(login(s, "sol", "wrong-password-1"), KAM_STATUS_UNAUTHENTICATED);
	ASSERT_EQ(login(s, "sol", PASSWORD), KAM_STATUS_OK);
	ASSERT_EQ(thr.passes, 1);
	for (i = 0; i < FAKE_THRESHOLD - 1; i++)
		ASSERT_EQ(login(s, "sol", "wrong-password-1"), KAM_STATUS_UNAUTHENTICATED);
	ASSERT_EQ(login(s, "sol", PASSWORD), KAM_STATUS_OK);
	/* No row carries a password. */
	for (size_t k = 0; k < db.n_audit; k++)
		ASSERT(!strstr(db.audit[k].detail, PASSWORD) && !strstr(db.audit[k].detail, "wrong-password"));
	sess_free(s);
}

TEST(hashing_queue_full)
{
	struct kam_session *s;
	const struct kam_response *r;

	setup();
	s = sess_new();
	fake_work_full = true;
	ASSERT_EQ(login(s, "mgr", PASSWORD), KAM_STATUS_UNAVAILABLE);
	ASSERT_STR_EQ(s->last.error.message, "kamd is busy checking passwords; try again");
	/* The check was released (it counts as no failure) and the attempt audited. */
	ASSERT_EQ(thr.releases, 1);
	ASSERT_EQ(thr.names[0].failures, 0);
	ASSERT(strstr(last_audit()->detail, "kamd busy"));
	ASSERT(s->open);
	fake_work_full = false;
	ASSERT_EQ(login(s, "mgr", PASSWORD), KAM_STATUS_OK);
	/* user add hashes too: a full queue is "busy", not an internal error. */
	fake_work_full = true;
	r = call(s, USER_ADD("queued", KAM_ROLE_JUNIOR, "", PASSWORD));
	ASSERT_STATUS(r, KAM_STATUS_PERMISSION_DENIED);
	sess_free(s);
	fake_work_full = false;
	s = as("gm");
	fake_work_full = true;
	r = call(s, USER_ADD("queued", KAM_ROLE_JUNIOR, "", PASSWORD));
	ASSERT_STATUS(r, KAM_STATUS_UNAVAILABLE);
	ASSERT_STR_EQ(r->error.message, "kamd is busy; try again");
	sess_free(s);
}

TEST(passwd_own)
{
	struct kam_session *s, *other;
	const struct kam_response *r;
	struct fuser *u;
	char before[SVC_PHC_MAX];

	setup();
	s = as("jun");
	other = as("jun");
	u = user_by_name("jun");
	snprintf(before, sizeof(before), "%s", u->hash);
	/* A wrong current password: unauthenticated on old_password, counted, and the session stays. */
	r = call(s, PASSWD("", "wrong-password-1", NEW_PASSWORD));
	ASSERT_STATUS(r, KAM_STATUS_UNAUTHENTICATED);
	ASSERT_STR_EQ(r->error.field, "old_password");
	ASSERT_STR_EQ(r->error.message, "the current password is wrong");
	ASSERT_EQ(thr.fails, 1);
	ASSERT_STR_EQ(last_audit()->action, "user.passwd");
	ASSERT_EQ(last_audit()->result, AUDIT_FAILED);
	ASSERT_EQ(last_audit()->user_id, u->id);
	ASSERT_STATUS(call(s, (struct kam_request){ .op = KAM_OP_WHOAMI }), KAM_STATUS_OK);
	/* Rules on the new one. */
	r = call(s, PASSWD("", PASSWORD, "éééééééééé"));   /* 20 bytes, 10 characters */
	ASSERT_STATUS(r, KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STR_EQ(r->error.field, "new_password");
	r = call(s, PASSWD("", PASSWORD, PASSWORD));
	ASSERT_STATUS(r, KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STR_EQ(r->error.field, "new_password");
	r = call(s, PASSWD("jun", "", NEW_PASSWORD));   /* naming oneself is one's own change */
	ASSERT_STATUS(r, KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STR_EQ(r->error.field, "old_password");
	/* The right one: changed, this session kept, the other one ended. */
	r = call(s, PASSWD("", PASSWORD, NEW_PASSWORD));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_STR_EQ(r->u.user_passwd.user.username, "jun");
	ASSERT_EQ(r->u.user_passwd.sessions_revoked, 1);
	ASSERT(strcmp(u->hash, before) != 0);
	ASSERT_STR_EQ(last_audit()->action, "user.passwd");
	ASSERT_EQ(last_audit()->result, AUDIT_ALLOWED);
	ASSERT(strstr(last_audit()->detail, "\"by\":\"self\""));
	ASSERT(!strstr(last_audit()->detail, NEW_PASSWORD));
	ASSERT_STATUS(call(s, (struct kam_request){ .op = KAM_OP_WHOAMI }), KAM_STATUS_OK);
	ASSERT_STATUS(call(other, (struct kam_request){ .op = KAM_OP_WHOAMI }), KAM_STATUS_UNAUTHENTICATED);
	ASSERT_EQ(login(other, "jun", PASSWORD), KAM_STATUS_UNAUTHENTICATED);
	ASSERT_EQ(login(other, "jun", NEW_PASSWORD), KAM_STATUS_OK);
	sess_free(s);
	sess_free(other);
}

TEST(passwd_reset_and_unlock_rules)
{
	struct kam_session *gm, *mgr, *sol, *jun2;
	const struct kam_response *r;

	setup();
	gm = as("gm");
	mgr = as("mgr");
	sol = as("sol");
	jun2 = as("jun2");
	/* Reps may set nobody's password and unlock nobody: refused before any lookup. */
	r = call(sol, PASSWD("jun", "", NEW_PASSWORD));
	ASSERT_STATUS(r, KAM_STATUS_PERMISSION_DENIED);
	ASSERT_STR_EQ(r->error.message, "permission denied: a solution rep may not set other users' passwords "
					"(the GM and their managers do)");
	ASSERT_STR_EQ(last_audit()->action, "user.passwd");
	ASSERT_EQ(last_audit()->result, AUDIT_DENIED);
	ASSERT(strstr(last_audit()->detail, "user.reset_report"));
	ASSERT_STATUS(call(sol, UNLOCK("jun")), KAM_STATUS_PERMISSION_DENIED);
	/* A manager: their reports only. */
	r = call(mgr, PASSWD("jun2", "", NEW_PASSWORD));
	ASSERT_STATUS(r, KAM_STATUS_PERMISSION_DENIED);
	ASSERT(strstr(last_audit()->detail, "user.reset\""));
	ASSERT_STATUS(call(mgr, UNLOCK("jun2")), KAM_STATUS_PERMISSION_DENIED);
	ASSERT_STATUS(call(mgr, UNLOCK("mgr")), KAM_STATUS_PERMISSION_DENIED);
	r = call(mgr, PASSWD("ghost", "", NEW_PASSWORD));
	ASSERT_STATUS(r, KAM_STATUS_NOT_FOUND);
	ASSERT_STR_EQ(r->error.message, "no user named ghost");
	r = call(mgr, PASSWD("old", "", NEW_PASSWORD));
	ASSERT_STATUS(r, KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STR_EQ(r->error.message, "user old is deactivated");
	r = call(mgr, PASSWD("jun", "", NEW_PASSWORD));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_STR_EQ(r->u.user_passwd.user.username, "jun");
	ASSERT(strstr(last_audit()->detail, "\"by\":\"reset\""));
	/* The GM: anyone; a reset ends every session of the user. */
	r = call(gm, PASSWD("jun2", "", NEW_PASSWORD));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_EQ(r->u.user_passwd.sessions_revoked, 1);
	ASSERT_STATUS(call(jun2, (struct kam_request){ .op = KAM_OP_WHOAMI }), KAM_STATUS_UNAUTHENTICATED);
	/* Unlock: the manager of a locked report, the GM anyone; what was forgotten comes back. */
	thr.n = 1;
	snprintf(thr.names[0].name, sizeof(thr.names[0].name), "sol");
	thr.names[0].failures = 7;
	thr.names[0].locked = true;
	r = call(mgr, UNLOCK("sol"));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_EQ(r->u.user_unlock.failures, 7);
	ASSERT_EQ(r->u.user_unlock.locked_until, EXPIRES);
	ASSERT_STR_EQ(last_audit()->action, "user.unlock");
	ASSERT(strstr(last_audit()->detail, "\"user\":\"sol\""));
	ASSERT(!thr.names[0].locked);
	r = call(gm, UNLOCK("mgr2"));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_EQ(r->u.user_unlock.failures, 0);
	ASSERT_EQ(r->u.user_unlock.locked_until, 0);
	ASSERT_STATUS(call(gm, UNLOCK("ghost")), KAM_STATUS_NOT_FOUND);
	sess_free(gm);
	sess_free(mgr);
	sess_free(sol);
	sess_free(jun2);
}

/* ---- audit and churn (issue 4) ---- */

/* With a bulk-read limit of 1 for reps: jun may read one account, the second is refused. */
TEST(bulk_read_watch)
{
	struct svc_config c4 = cfg;
	struct kam_session *jun, *mgr, *mgr2, *gm;
	const struct kam_response *r;
	const struct faudit *a;

	setup();
	c4.bulk_read_limit = 1;
	c4.bulk_read_window_s = 600;
	svc_shutdown();
	ASSERT_EQ(svc_init(&c4, fake_store), 0);
	add_account("Hooli", KAM_TIER_ORDINARY, "jun", NULL);
	jun = as("jun");
	mgr = as("mgr");
	mgr2 = as("mgr2");
	gm = as("gm");
	r = call(jun, SHOW("ACME"));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_STR_EQ(last_audit()->detail, "{\"layers\":[\"information\"]}");
	/* The same account again is not a new one. */
	ASSERT_STATUS(call(jun, SHOW("ACME")), KAM_STATUS_OK);
	r = call(jun, SHOW("Hooli"));
	ASSERT_STATUS(r, KAM_STATUS_PERMISSION_DENIED);
	ASSERT(strstr(r->error.message, "kam audit clear jun") != NULL);
	a = last_audit();
	ASSERT_EQ(a->result, AUDIT_DENIED);
	ASSERT_STR_EQ(a->action, "account.show");
	ASSERT(strstr(a->detail, "\"bulk_read\"") != NULL);
	/* Flagged: even the account read before is refused now. */
	ASSERT_STATUS(call(jun, SHOW("ACME")), KAM_STATUS_PERMISSION_DENIED);
	/* Listing shows names only and goes on. */
	ASSERT_STATUS(call(jun, ((struct kam_request){ .op = KAM_OP_ACCOUNT_LIST })), KAM_STATUS_OK);
	/* Alerts: jun's manager sees it, another manager does not, a rep may not look. */
	r = call(mgr, ((struct kam_request){ .op = KAM_OP_AUDIT_ALERTS }));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_EQ(r->u.audit_alerts.n, 1);
	ASSERT_STR_EQ(r->u.audit_alerts.alerts[0].username, "jun");
	r = call(mgr2, ((struct kam_request){ .op = KAM_OP_AUDIT_ALERTS }));
	ASSERT_EQ(r->u.audit_alerts.n, 0);
	ASSERT_STATUS(call(jun, ((struct kam_request){ .op = KAM_OP_AUDIT_ALERTS })), KAM_STATUS_PERMISSION_DENIED);
	/* Clearing: not by a rep, not by another team's manager; by jun's manager. */
	ASSERT_STATUS(call(jun, ((struct kam_request){ .op = KAM_OP_AUDIT_CLEAR, .u.audit_clear = { "jun" } })),
		      KAM_STATUS_PERMISSION_DENIED);
	ASSERT_STATUS(call(mgr2, ((struct kam_request){ .op = KAM_OP_AUDIT_CLEAR, .u.audit_clear = { "jun" } })),
		      KAM_STATUS_PERMISSION_DENIED);
	ASSERT_EQ(last_audit()->result, AUDIT_DENIED);
	r = call(mgr, ((struct kam_request){ .op = KAM_OP_AUDIT_CLEAR, .u.audit_clear = { "jun" } }));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_STR_EQ(last_audit()->action, "audit.clear");
	ASSERT_STATUS(call(mgr, ((struct kam_request){ .op = KAM_OP_AUDIT_CLEAR, .u.audit_clear = { "jun" } })),
		      KAM_STATUS_NOT_FOUND);
	ASSERT_STATUS(call(jun, SHOW("Hooli")), KAM_STATUS_OK);
	/* The GM is never limited. */
	ASSERT_STATUS(call(gm, SHOW("ACME")), KAM_STATUS_OK);
	ASSERT_STATUS(call(gm, SHOW("Globex")), KAM_STATUS_OK);
	ASSERT_STATUS(call(gm, SHOW("Initech")), KAM_STATUS_OK);
	sess_free(jun);
	sess_free(mgr);
	sess_free(mgr2);
	sess_free(gm);
	svc_shutdown();
	ASSERT_EQ(svc_init(&cfg, fake_store), 0);
}

#define DEACTIVATE(who_, to_) ((struct kam_request){ .op = KAM_OP_USER_DEACTIVATE, .u.handover = { (who_), (to_), 0, NULL } })

/*
 * Issue 5's fast path: after the login or one full check a connection's reads are
 * checked by a guard inside their first job; a revoked session, a changed role or a
 * deactivated user fails the guard, changes nothing, and the full check decides.
 */
TEST(fast_path_session_guard)
{
	struct kam_session *jun;
	const struct kam_response *r;
	size_t audits;
	int checks, refusals;
	struct fuser *u;

	setup();
	jun = as("jun");
	checks = session_checks;
	refusals = guard_refusals;
	ASSERT_STATUS(call(jun, SHOW("ACME")), KAM_STATUS_OK);
	ASSERT_STATUS(call(jun, SHOW("ACME")), KAM_STATUS_OK);
	ASSERT_STATUS(call(jun, ((struct kam_request){ .op = KAM_OP_ACCOUNT_LIST })), KAM_STATUS_OK);
	ASSERT_EQ(session_checks, checks);   /* all on the fast path the login opened */
	ASSERT_EQ(guard_refusals, refusals);
	/* Not every operation may take it: whoami never reaches the database otherwise. */
	ASSERT_STATUS(call(jun, ((struct kam_request){ .op = KAM_OP_WHOAMI })), KAM_STATUS_OK);
	ASSERT_EQ(session_checks, checks + 1);

	/* The role changed since: the guard refuses, the full check sees the new role. */
	u = user_by_id(db.sessions[db.n_sessions - 1].user);
	u->role = KAM_ROLE_SOLUTION;
	ASSERT_STATUS(call(jun, SHOW("ACME")), KAM_STATUS_OK);
	ASSERT_EQ(guard_refusals, refusals + 1);
	ASSERT_EQ(session_checks, checks + 2);
	r = call(jun, ((struct kam_request){ .op = KAM_OP_WHOAMI }));
	ASSERT_EQ(r->u.whoami.user.role, KAM_ROLE_SOLUTION);

	/* Revoked: the read is refused as unauthenticated and not audited (its job rolled back). */
	ASSERT_STATUS(call(jun, SHOW("ACME")), KAM_STATUS_OK);   /* fast path again */
	db.sessions[db.n_sessions - 1].revoked = true;
	audits = db.n_audit;
	r = call(jun, SHOW("ACME"));
	ASSERT_STATUS(r, KAM_STATUS_UNAUTHENTICATED);
	ASSERT_EQ(guard_refusals, refusals + 2);
	ASSERT_EQ(db.n_audit, audits);
	sess_free(jun);

	/* Deactivated between two reads on one connection: the same. */
	jun = as("jun");
	ASSERT_STATUS(call(jun, SHOW("ACME")), KAM_STATUS_OK);
	user_by_id(db.sessions[db.n_sessions - 1].user)->active = false;
	ASSERT_STATUS(call(jun, SHOW("ACME")), KAM_STATUS_UNAUTHENTICATED);
	ASSERT_EQ(guard_refusals, refusals + 3);
	sess_free(jun);
}

TEST(deactivate_rules)
{
	struct kam_session *jun, *mgr, *mgr2, *gm;
	const struct kam_response *r;

	setup();
	jun = as("jun");
	mgr = as("mgr");
	mgr2 = as("mgr2");
	gm = as("gm");
	/* Reps deactivate nobody: refused before anyone is looked up, and audited. */
	ASSERT_STATUS(call(jun, DEACTIVATE("sol", "mgr")), KAM_STATUS_PERMISSION_DENIED);
	ASSERT_STR_EQ(last_audit()->action, "user.deactivate");
	ASSERT_EQ(last_audit()->result, AUDIT_DENIED);
	/* A manager only for people who report to them. */
	ASSERT_STATUS(call(mgr2, DEACTIVATE("jun", "sol")), KAM_STATUS_PERMISSION_DENIED);
	ASSERT(strstr(last_audit()->detail, "user.deactivate") != NULL);
	ASSERT_STATUS(call(mgr, DEACTIVATE("mgr", "sol")), KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STATUS(call(mgr, DEACTIVATE("jun", "jun")), KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STATUS(call(mgr, DEACTIVATE("nobody", "sol")), KAM_STATUS_NOT_FOUND);
	ASSERT_STATUS(call(mgr, DEACTIVATE("jun", "nobody")), KAM_STATUS_NOT_FOUND);
	ASSERT_STATUS(call(mgr, DEACTIVATE("jun", "old")), KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_EQ(aud4.handovers, 0);
	r = call(mgr, DEACTIVATE("jun", "sol"));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_EQ(aud4.handovers, 1);
	ASSERT_STR_EQ(r->u.handover.user.username, "jun");
	ASSERT(!r->u.handover.user.active);
	ASSERT_STR_EQ(r->u.handover.to, "sol");
	ASSERT_STR_EQ(last_audit()->action, "user.deactivate");
	ASSERT_EQ(last_audit()->result, AUDIT_ALLOWED);
	/* Deactivated: the leaver's next request is unauthenticated. */
	ASSERT_STATUS(call(jun, ((struct kam_request){ .op = KAM_OP_WHOAMI })), KAM_STATUS_UNAUTHENTICATED);
	ASSERT_STATUS(call(gm, DEACTIVATE("jun", "sol")), KAM_STATUS_CONFLICT);
	/* The GM may deactivate anyone (but themselves). */
	ASSERT_STATUS(call(gm, DEACTIVATE("gm", "mgr")), KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STATUS(call(gm, DEACTIVATE("jun2", "mgr2")), KAM_STATUS_OK);
	sess_free(jun);
	sess_free(mgr);
	sess_free(mgr2);
	sess_free(gm);
}

TEST(audit_trail_rules)
{
	struct kam_session *sol, *mgr, *gm;

	setup();
	sol = as("sol");
	mgr = as("mgr");
	gm = as("gm");
	ASSERT_STATUS(call(sol, ((struct kam_request){ .op = KAM_OP_AUDIT_LOG })), KAM_STATUS_PERMISSION_DENIED);
	ASSERT_STATUS(call(mgr, ((struct kam_request){ .op = KAM_OP_AUDIT_LOG })), KAM_STATUS_OK);
	ASSERT_STR_EQ(last_audit()->action, "audit.log");
	/* A manager asking for an account they cannot see gets "not found", as for a missing one. */
	ASSERT_STATUS(call(mgr, ((struct kam_request){ .op = KAM_OP_AUDIT_LOG, .u.audit_log = { .account = "Globex" } })),
		      KAM_STATUS_NOT_FOUND);
	ASSERT_STATUS(call(mgr, ((struct kam_request){ .op = KAM_OP_AUDIT_VERIFY })), KAM_STATUS_PERMISSION_DENIED);
	ASSERT_STATUS(call(mgr, ((struct kam_request){ .op = KAM_OP_EXPORT })), KAM_STATUS_PERMISSION_DENIED);
	ASSERT_STATUS(call(sol, ((struct kam_request){ .op = KAM_OP_IMPORT, .u.import = { 0, NULL } })),
		      KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STATUS(call(gm, ((struct kam_request){ .op = KAM_OP_AUDIT_LOG, .u.audit_log = { .since = 10, .until = 5 } })),
		      KAM_STATUS_INVALID_ARGUMENT);
	sess_free(sol);
	sess_free(mgr);
	sess_free(gm);
}

TEST(shutdown)
{
	svc_shutdown();
}

/* ---- layers (issue 3) ---- */

#define LAYER_ADD(op_, acct, n, f) ((struct kam_request){ .op = (op_), .u.layer_add = { (acct), (n), (f) } })
#define LAYER_ITEM(op_, id_, n, f) ((struct kam_request){ .op = (op_), .u.layer_item = { (id_), (n), (f) } })

TEST(layer_add_set_and_audit)
{
	struct kam_field add[] = { { "kind", "competitor" }, { "description", "Initrode is entrenched" } };
	struct kam_field set[] = { { "status", "working" } };
	struct kam_session *jun;
	const struct kam_response *r;

	setup();
	n_fbarriers = 0;
	jun = as("jun");
	/* A junior on the team records a barrier and works it by default. */
	r = call(jun, LAYER_ADD(KAM_OP_BARRIER_ADD, "ACME", 2, add));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_EQ(r->u.layers.n_barriers, 1);
	ASSERT_EQ(r->u.layers.barriers[0].kind, KAM_BARRIER_COMPETITOR);
	ASSERT_STR_EQ(r->u.layers.barriers[0].owner, "jun");
	ASSERT_STR_EQ(last_audit()->action, "barrier.add");
	ASSERT_EQ(last_audit()->result, AUDIT_ALLOWED);
	ASSERT(strstr(last_audit()->detail, "\"kind\":{\"before\":null,\"after\":\"competitor\"}"));
	r = call(jun, LAYER_ITEM(KAM_OP_BARRIER_SET, 1, 1, set));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_EQ(r->u.layers.barriers[0].status, KAM_BSTATUS_WORKING);
	ASSERT_STR_EQ(last_audit()->action, "barrier.set");
	ASSERT(strstr(last_audit()->detail, "\"barrier\":1"));
	r = call(jun, LAYER_ITEM(KAM_OP_BARRIER_CLEAR, 1, 0, NULL));
	ASSERT_STATUS(r, KAM_STATUS_OK);
	ASSERT_EQ(fbarriers[0].b.status, KAM_BSTATUS_CLEARED);
	r = call(jun, LAYER_ITEM(KAM_OP_BARRIER_CLEAR, 1, 0, NULL));
	ASSERT_STATUS(r, KAM_STATUS_INVALID_ARGUMENT);
	sess_free(jun);
}

TEST(layer_denials_change_nothing)
{
	struct kam_field add[] = { { "kind", "habit" }, { "description", "buys from friends" } };
	struct kam_field value[] = { { "level", "business" }, { "text", "cuts downtime" } };
	struct kam_field bad[] = { { "kind", "luck" }, { "description", "x" } };
	struct kam_session *jun, *sol;
	const struct kam_response *r;
	size_t audits;

	setup();
	n_fbarriers = 0;
	jun = as("jun");
	sol = as("sol");
	/* Invisible: exactly like a missing account, and audited as a denial. */
	r = call(jun, LAYER_ADD(KAM_OP_BARRIER_ADD, "Globex", 2, add));
	ASSERT_STATUS(r, KAM_STATUS_NOT_FOUND);
	ASSERT_STR_EQ(r->error.message, "no account named Globex");
	ASSERT_EQ(last_audit()->result, AUDIT_DENIED);
	/* Visible but not theirs to change: a solution rep adds no value proposition. */
	r = call(sol, LAYER_ADD(KAM_OP_VALUE_ADD, "ACME", 2, value));
	ASSERT_STATUS(r, KAM_STATUS_PERMISSION_DENIED);
	ASSERT(strstr(r->error.message, "value propositions"));
	ASSERT_EQ(n_fbarriers, 0);
	/* A bad value is refused before anything is looked up or audited. */
	audits = db.n_audit;
	r = call(jun, LAYER_ADD(KAM_OP_BARRIER_ADD, "ACME", 2, bad));
	ASSERT_STATUS(r, KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STR_EQ(r->error.field, "kind");
	ASSERT_EQ(db.n_audit, audits);
	/* A row that does not exist names itself. */
	r = call(jun, LAYER_ITEM(KAM_OP_BARRIER_CLEAR, 99, 0, NULL));
	ASSERT_STATUS(r, KAM_STATUS_NOT_FOUND);
	ASSERT_STR_EQ(r->error.message, "no barrier 99");
	sess_free(jun);
	sess_free(sol);
}

TEST_MAIN(TEST_ENTRY(not_logged_in), TEST_ENTRY(login_whoami_logout), TEST_ENTRY(login_failures_look_alike),
	  TEST_ENTRY(rehash_on_login), TEST_ENTRY(show_visible_invisible_missing),
	  TEST_ENTRY(set_fields_and_authorization), TEST_ENTRY(set_stale), TEST_ENTRY(assign_unassign),
	  TEST_ENTRY(account_add), TEST_ENTRY(users), TEST_ENTRY(list), TEST_ENTRY(protocol_error_closes),
	  TEST_ENTRY(invalid_request_keeps_connection), TEST_ENTRY(database_unavailable),
	  TEST_ENTRY(closed_mid_request),
	  /* -- layers (issue 3) -- */
	  TEST_ENTRY(layer_add_set_and_audit), TEST_ENTRY(layer_denials_change_nothing),
	  /* -- hostile clients (issue 6) -- */
	  TEST_ENTRY(prelogin_gate), TEST_ENTRY(throttled_login), TEST_ENTRY(hashing_queue_full),
	  TEST_ENTRY(passwd_own), TEST_ENTRY(passwd_reset_and_unlock_rules),
	  /* -- audit and churn (issue 4) -- */
	  TEST_ENTRY(bulk_read_watch), TEST_ENTRY(fast_path_session_guard), TEST_ENTRY(deactivate_rules),
	  TEST_ENTRY(audit_trail_rules),
	  TEST_ENTRY(shutdown))
