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
};

static struct job *jobs[MAX_JOBS];
static size_t n_jobs;

static struct job *job_new(void (*run)(struct job *, int), fnptr cb, void *arg, const struct audit_entry *audit)
{
	struct job *j = calloc(1, sizeof(*j));

	j->run = run;
	j->cb = cb;
	j->arg = arg;
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

int work_submit(void (*work)(void *arg), void (*done)(void *arg, int status), void *arg)
{
	works[n_works++] = (struct work_job){ work, done, arg };
	return 0;
}

static void pump(void)
{
	while (n_jobs || n_works) {
		if (n_jobs) {
			struct job *j = jobs[0];
			int err = db.fail_next;

			memmove(jobs, jobs + 1, --n_jobs * sizeof(jobs[0]));
			db.fail_next = 0;
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
		cb(j->arg, err, 0);
		return;
	}
	audit_act(j);
	s = &db.sessions[db.n_sessions];
	s->id = (int64_t)++db.n_sessions;
	s->user = j->n1;
	memcpy(s->hash, j->hash, KAM_SHA256_LEN);
	cb(j->arg, 0, EXPIRES);
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

/* ---- fake sessions: decode what svc sends ---- */

struct kam_session {
	int refs;
	bool open;
	bool authenticated;
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
static void setup(void)
{
	memset(&db, 0, sizeof(db));
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
	ASSERT_STR_EQ(r->error.message, "not logged in");
	ASSERT_EQ(r->id, 1);
	s->has_token = true;
	memset(s->token, 7, sizeof(s->token));
	r = call(s, (struct kam_request){ .op = KAM_OP_WHOAMI });
	ASSERT_STATUS(r, KAM_STATUS_UNAUTHENTICATED);
	ASSERT_STR_EQ(r->error.message, "session expired or revoked");
	ASSERT(!s->authenticated);
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

TEST(shutdown)
{
	svc_shutdown();
}

TEST_MAIN(TEST_ENTRY(not_logged_in), TEST_ENTRY(login_whoami_logout), TEST_ENTRY(login_failures_look_alike),
	  TEST_ENTRY(rehash_on_login), TEST_ENTRY(show_visible_invisible_missing),
	  TEST_ENTRY(set_fields_and_authorization), TEST_ENTRY(set_stale), TEST_ENTRY(assign_unassign),
	  TEST_ENTRY(account_add), TEST_ENTRY(users), TEST_ENTRY(list), TEST_ENTRY(protocol_error_closes),
	  TEST_ENTRY(invalid_request_keeps_connection), TEST_ENTRY(database_unavailable),
	  TEST_ENTRY(closed_mid_request), TEST_ENTRY(shutdown))
