/*
 * The store: every read and write of KAM's data, asynchronous on the event
 * loop (libpq non-blocking + pipeline mode, a small pool of connections).
 * Callers see plain structs only; no PGresult or SQL leaves db/.
 *
 * Every function queues one job and returns 0, or a negative code without
 * calling the callback. The callback runs exactly once, on the loop thread;
 * pointers it receives are valid only during the call. Jobs that carry an
 * audit entry write it in the same transaction as the act: if the audit
 * INSERT fails, the act is rolled back and the callback gets an error.
 *
 * Errors passed to callbacks: KAM_ENOTFOUND, KAM_ECONFLICT (duplicate),
 * KAM_ESTALE (version mismatch), KAM_EINVAL (a database constraint refused a
 * value), KAM_EUNAVAIL (no database connection / connection lost mid-job),
 * KAM_ECANCELED (store shutting down), KAM_EINTERNAL.
 */
#ifndef KAMD_STORE_H
#define KAMD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "audit/chain.h"
#include "err.h"
#include "model.h"
#include "types.h"

struct uv_loop_s;
struct store;

struct store_config {
	const char *conninfo;        /* the serving role (--db) */
	int pool_size;               /* connections kept open */
	int session_idle_s;          /* idle expiry of sessions */
	int session_absolute_s;      /* absolute expiry of sessions */
	uint64_t request_timeout_ms; /* issue 7: a job's wait for a connection and for its answer (0: 5 s) */
	const char *listen_conninfo; /* issue 7: the revocation listener's (NULL: conninfo); its hosts
	                              * must be addresses or socket paths, since nothing looks them up */
};

/* -- faults and scale-out (issue 7) -- */
/*
 * Row-level security: jobs started from now until the current store callback
 * returns act as user_id (0: nobody, and the account tables show nothing to
 * the serving role). Jobs started from a store callback inherit the actor of
 * the job that called back, so svc sets it once per request.
 */
void store_act_as(struct store *st, int64_t user_id);
/*
 * Idempotency keys (deploy/sql/0006_request_keys.sql): the key of the write
 * being served (NULL: none), scoped like the actor, with one difference: the
 * first job that writes an allowed audit entry claims it in its own
 * transaction, and no job after it carries it. If that key was claimed before
 * (a retry of a write that committed), the job fails with KAM_EREPLAYED and
 * changes nothing. key must stay valid until the current callback returns;
 * svc sets it before a handler runs and clears it after.
 */
void store_request_key(struct store *st, const uint8_t *key, size_t len);

/*
 * Revocations heard at once (db/listen.c): one more connection, outside the
 * pool, LISTENs on kam_revoke, which deploy/sql/0007_notify.sql notifies in
 * the transaction that revokes a session or deactivates a user. cb runs on the
 * loop for each one heard. While that connection is down (kamd logs it and
 * reconnects with backoff) nothing is heard and nothing is replayed later:
 * the session check every request makes still refuses, on every instance.
 */
enum store_revoke_kind {
	STORE_REVOKE_SESSION = 1,    /* id: a session revoked (logout, password change, deactivation) */
	STORE_REVOKE_USER,           /* id: a user deactivated */
};
typedef void (*store_revoke_cb)(void *arg, enum store_revoke_kind kind, int64_t id);
struct store_listen;
/* Start listening with st's connection settings; close it before st. */
int store_listen_open(struct store *st, store_revoke_cb cb, void *arg, struct store_listen **out) KAM_MUST_CHECK;
/* Stop listening; the handles close and the memory goes on the loop. Accepts NULL. */
void store_listen_close(struct store_listen *l);

/* -- performance (issue 5): the fast path -- */
struct store_watch_limit;
/*
 * Checks a request needs before its first job can run inside that job, ahead
 * of its statements and in its transaction, instead of taking a round trip
 * and a transaction of their own. Each applies to the next job created (by
 * any store_* call) and only to it; store_guard_clear forgets what no job took.
 * When a guard refuses, that job fails with its code and changes nothing.
 */
/* KAM_ERECHECK unless the session of token_hash is still valid for who (user and role), as
 * store_session_check would find; touches its idle timer like it. */
void store_session_guard(struct store *st, const uint8_t token_hash[KAM_SHA256_LEN],
			 const struct kam_principal *who);
/* KAM_EWATCH unless the bulk-read watch admits who's read of account_id (counting it). A
 * refusal's flag rolls back with the job: the caller then asks store_watch_admit, whose
 * verdict commits on its own. */
void store_watch_guard(struct store *st, const struct kam_principal *who, const char *client_addr,
		       int64_t account_id, const struct store_watch_limit *lim);
void store_guard_clear(struct store *st);

/* Start connecting the pool (asynchronously; requests queue until a connection is up). */
int store_open(struct uv_loop_s *loop, const struct store_config *cfg, struct store **out) KAM_MUST_CHECK;
/* Fail queued jobs with KAM_ECANCELED, close connections; cb when every handle is closed. */
void store_close(struct store *st, void (*cb)(void *arg), void *arg);
/* Number of jobs queued or running (for drain on SIGTERM). */
size_t store_pending(const struct store *st);

/* Start-up only (before the loop runs; may block): apply migrations with admin_conninfo
 * (or serving_conninfo when admin is NULL), grant the serving role what it needs.
 * On failure *why holds one line for the operator. */
int store_migrate(const char *serving_conninfo, const char *admin_conninfo, char *why, size_t why_len) KAM_MUST_CHECK;
/* The libpq version as "MAJOR.MINOR", for kamd --version. */
const char *store_libpq_version(void);
/* Start-up only: create the first GM if the database has no GM; KAM_ECONFLICT if one exists. */
int store_bootstrap_gm(const char *conninfo, const char *username, const char *password_hash,
		       char *why, size_t why_len) KAM_MUST_CHECK;

/* ---- results ---- */

struct store_credentials {
	int64_t user_id;
	const char *username;
	enum kam_role role;
	bool active;
	const char *password_hash;   /* PHC string */
};

struct store_access {
	int64_t account_id;
	enum kam_tier tier;
	int64_t owner_id;
	enum kam_relation relation;  /* of the asking principal */
	int64_t version;
};

struct store_list_filter {
	enum kam_tier tier;          /* NONE: any */
	enum kam_stage stage;        /* NONE: any */
	int64_t owner_id;            /* 0: any */
	int64_t after_id;
	uint32_t limit;
};

typedef void (*store_done_cb)(void *arg, int err);
typedef void (*store_principal_cb)(void *arg, int err, const struct kam_principal *who);
typedef void (*store_credentials_cb)(void *arg, int err, const struct store_credentials *c);
/* A new session: its id and absolute expiry (unix seconds). */
typedef void (*store_expiry_cb)(void *arg, int err, int64_t session_id, int64_t expires_at);
typedef void (*store_user_cb)(void *arg, int err, const struct kam_user *u);
typedef void (*store_users_cb)(void *arg, int err, const struct kam_user *users, size_t n);
typedef void (*store_access_cb)(void *arg, int err, const struct store_access *acc);
typedef void (*store_account_cb)(void *arg, int err, const struct kam_account *acc);
typedef void (*store_accounts_cb)(void *arg, int err, const struct kam_account *accs, size_t n, int64_t next_after_id);

/* ---- sessions (db/sql_session.c) ---- */

/* Validate a session by token hash and touch its idle timer. KAM_EUNAUTH if missing,
 * expired (idle or absolute), revoked, or its user is inactive. */
int store_session_check(struct store *st, const uint8_t token_hash[KAM_SHA256_LEN],
			store_principal_cb cb, void *arg) KAM_MUST_CHECK;
/* Look up a user for login (no audit: the caller audits the outcome). KAM_ENOTFOUND if unknown. */
int store_login_lookup(struct store *st, const char *username, store_credentials_cb cb, void *arg) KAM_MUST_CHECK;
/* Create a session for user_id; audited. */
int store_session_create(struct store *st, int64_t user_id, const uint8_t token_hash[KAM_SHA256_LEN],
			 const struct audit_entry *audit, store_expiry_cb cb, void *arg) KAM_MUST_CHECK;
/* Revoke one session; audited. */
int store_session_revoke(struct store *st, int64_t session_id, const struct audit_entry *audit,
			 store_done_cb cb, void *arg) KAM_MUST_CHECK;
/* Replace a user's password hash (rehash on login after parameters rose). */
int store_password_update(struct store *st, int64_t user_id, const char *password_hash,
			  store_done_cb cb, void *arg) KAM_MUST_CHECK;

/* ---- audit (db/sql_audit.c) ---- */

/* Write one entry on its own (denied attempts, failed logins). */
int store_audit_write(struct store *st, const struct audit_entry *audit, store_done_cb cb, void *arg) KAM_MUST_CHECK;
/* Issue 7 (db/sql_rls.c): whether the acting user claimed this request key in the last 24 h:
 * 0 if so, KAM_ENOTFOUND if not. */
int store_request_key_seen(struct store *st, const uint8_t *key, size_t len, store_done_cb cb,
			   void *arg) KAM_MUST_CHECK;

/* ---- users (db/sql_user.c) ---- */

/* KAM_ENOTFOUND if unknown. Not audited: a lookup that precedes an audited act. */
int store_user_get(struct store *st, const char *username, store_user_cb cb, void *arg) KAM_MUST_CHECK;
/* KAM_ECONFLICT if the username exists; KAM_ENOTFOUND if reports_to is unknown. */
int store_user_add(struct store *st, const char *username, enum kam_role role, const char *reports_to,
		   const char *password_hash, const struct audit_entry *audit,
		   store_user_cb cb, void *arg) KAM_MUST_CHECK;
int store_user_list(struct store *st, const struct audit_entry *audit, store_users_cb cb, void *arg) KAM_MUST_CHECK;

/* ---- accounts (db/sql_account.c) ---- */

/* Resolve "id or exact name" and the principal's relation to it. KAM_ENOTFOUND if no such account. */
int store_account_access(struct store *st, const struct kam_principal *who, const char *account_ref,
			 store_access_cb cb, void *arg) KAM_MUST_CHECK;
/* Create; the owner joins the team. KAM_ECONFLICT on a duplicate name. */
int store_account_add(struct store *st, const char *name, enum kam_tier tier, int64_t owner_id,
		      const struct audit_entry *audit, store_account_cb cb, void *arg) KAM_MUST_CHECK;
/* Full account with team and information; audit may be NULL for an internal pre-read. */
int store_account_get(struct store *st, int64_t account_id, const struct audit_entry *audit,
		      store_account_cb cb, void *arg) KAM_MUST_CHECK;
/* Accounts visible to who (GM: all; manager: own team's and reports' teams'; rep: own teams), keyset-paged by id. */
int store_account_list(struct store *st, const struct kam_principal *who, const struct store_list_filter *f,
		       const struct audit_entry *audit, store_accounts_cb cb, void *arg) KAM_MUST_CHECK;
/* Write tier, stage, strategy and information of `after` (by after->id) if the stored
 * version equals expected_version; bumps version. KAM_ESTALE otherwise. */
int store_account_update(struct store *st, const struct kam_account *after, int64_t expected_version,
			 const struct audit_entry *audit, store_account_cb cb, void *arg) KAM_MUST_CHECK;
/* Add (add=true) or remove a team member. Removing the owner: KAM_EINVAL. Adding a
 * member twice or removing a non-member: KAM_ECONFLICT. */
int store_account_member(struct store *st, int64_t account_id, int64_t user_id, bool add,
			 const struct audit_entry *audit, store_account_cb cb, void *arg) KAM_MUST_CHECK;

/* ---- layers (issue 3): barriers, projects, contacts, values, agreements (db/sql_layers.c) ---- */

typedef void (*store_layers_cb)(void *arg, int err, const struct kam_layers *l);
typedef void (*store_id_cb)(void *arg, int err, int64_t id);

/* One row to write; row is the layer's struct (kam_barrier, kam_project, ...). */
struct store_layer_write {
	enum kam_layer layer;
	const void *row;                 /* add: account_id set; update: id set */
	int64_t by_user;                 /* who writes: created_by, recorded_by, the move's author */
	int64_t expected_version;        /* update: KAM_ESTALE unless the row is still at it */
	bool owner_changed;              /* update: the new owner must be an active team member */
	bool links_changed;              /* contact update: replace the project links */
	enum kam_move move;              /* project update: the move to record; KAM_MOVE_NONE: none */
	enum kam_pstage move_from, move_to;
};

/* The account a barrier, project or contact belongs to (layer picks the table). KAM_ENOTFOUND. */
int store_layer_account(struct store *st, enum kam_layer layer, int64_t id, store_id_cb cb, void *arg) KAM_MUST_CHECK;
/*
 * The rows of the layers in mask (KAM_LAYER_BIT) of the given accounts, ordered
 * by account, then id; projects with their history, contacts with their project
 * links. sensitive false withholds contacts' weight, stance and personal needs in
 * SQL, so they never leave the database. audit (may be NULL) is written in the
 * same transaction. l->has_account is false.
 */
int store_layers_get(struct store *st, const int64_t *account_ids, size_t n, unsigned mask, bool sensitive,
		     const struct audit_entry *audit, store_layers_cb cb, void *arg) KAM_MUST_CHECK;
/* The information layer of the given accounts, in the order of ids (an id with no
 * account is left out); infos[i] belongs to account ids_out[i]. For the team review. */
typedef void (*store_infos_cb)(void *arg, int err, const int64_t *ids_out, const struct kam_info *infos, size_t n);
int store_account_infos(struct store *st, const int64_t *account_ids, size_t n, store_infos_cb cb, void *arg)
	KAM_MUST_CHECK;
/* Insert one row; the answer holds it. KAM_ECONFLICT when the database refused what
 * svc checked (an owner who left the team, a project link to another account). */
int store_layer_add(struct store *st, const struct store_layer_write *w, const struct audit_entry *audit,
		    store_layers_cb cb, void *arg) KAM_MUST_CHECK;
/* Update a barrier, project or contact (all its fields); the answer holds it, a project with
 * its history. KAM_ESTALE when its version moved (or the owner left the team meanwhile). */
int store_layer_update(struct store *st, const struct store_layer_write *w, const struct audit_entry *audit,
		       store_layers_cb cb, void *arg) KAM_MUST_CHECK;

/* ---- hostile clients (issue 6): login throttling, passwords, unlock (db/sql_auth.c) ---- */

/* The throttling limits (kamd.conf: login_lockout_*, login_failures_*). */
struct store_throttle {
	int threshold;               /* consecutive failures before a name waits */
	int initial_s;               /* the first wait, doubling per further failure */
	int max_s;                   /* the longest wait */
	int per_hour;                /* failures evaluated per name and hour */
	int per_minute;              /* failures per client address and minute */
};

enum store_refusal {
	STORE_ALLOWED = 0,
	STORE_LOCKED,                /* the name waits after consecutive failures */
	STORE_HOURLY,                /* the name had per_hour failures in the last hour */
	STORE_ADDRESS,               /* the address had per_minute failures in the last minute */
};

/* A password check's gate: refused, or allowed with a reservation for its outcome. */
struct store_gate {
	enum store_refusal refused;
	int64_t retry_after_s;       /* refused: seconds until the limit lifts */
	int64_t reservation;         /* allowed: hand to store_login_pass or _release */
	int failures;                /* allowed: consecutive failures of the name, this check included */
	bool known;                  /* the user exists: cred holds them */
	struct store_credentials cred;
};

/* A user named by user passwd or unlock, and how they stand to the caller. */
struct store_user_target {
	struct kam_user user;
	bool reports_to_caller;      /* directly or through other managers */
};

typedef void (*store_gate_cb)(void *arg, int err, const struct store_gate *g);
typedef void (*store_target_cb)(void *arg, int err, const struct store_user_target *t);
/* failures: consecutive failures now; locked_until: unix seconds, 0 when not locked. */
typedef void (*store_lock_cb)(void *arg, int err, int failures, int64_t locked_until);
typedef void (*store_count_cb)(void *arg, int err, int64_t n);

/*
 * Before a password is hashed: refuse while username (existing or not) or addr
 * (session_addr) is over a limit; otherwise reserve the check as a failure and
 * return the user's credentials. Every allowed gate ends in exactly one of
 * store_login_fail (nothing to undo: the reservation is the failure),
 * store_login_pass or store_login_release. Not audited: the caller audits.
 */
int store_login_gate(struct store *st, const char *username, const char *addr, const struct store_throttle *lim,
		     store_gate_cb cb, void *arg) KAM_MUST_CHECK;
/* The password was wrong: lock the name per the limits; audit is the failed attempt, and a
 * login.lockout row joins it when the name or the address ends up locked. */
int store_login_fail(struct store *st, int64_t reservation, const char *username, const char *addr,
		     const struct store_throttle *lim, const struct audit_entry *audit, store_lock_cb cb,
		     void *arg) KAM_MUST_CHECK;
/* The password was right: the reservation and the name's consecutive failures go. */
int store_login_pass(struct store *st, int64_t reservation, const char *username, store_done_cb cb,
		     void *arg) KAM_MUST_CHECK;
/* The check never ran (kamd busy): undo the reservation; audit records the attempt. */
int store_login_release(struct store *st, int64_t reservation, const char *username,
			const struct audit_entry *audit, store_done_cb cb, void *arg) KAM_MUST_CHECK;
/* A user by name with their relation to who. KAM_ENOTFOUND if unknown. Not audited. */
int store_user_target(struct store *st, const struct kam_principal *who, const char *username,
		      store_target_cb cb, void *arg) KAM_MUST_CHECK;
/* Forget username's consecutive failures and those of the last hour; audited. The callback
 * gets what was forgotten: the failures and the end of the lock (0: none). */
int store_user_unlock(struct store *st, const char *username, const struct audit_entry *audit,
		      store_lock_cb cb, void *arg) KAM_MUST_CHECK;
/* Set an active user's password hash, revoke their sessions but keep_session_id (0: all),
 * clear their lock; audited. n: sessions revoked. KAM_ENOTFOUND if not active. */
int store_user_passwd(struct store *st, int64_t user_id, const char *password_hash, int64_t keep_session_id,
		      const struct audit_entry *audit, store_count_cb cb, void *arg) KAM_MUST_CHECK;

/* ---- audit and churn (issue 4): db/sql_audit_trail.c, sql_churn.c, sql_transfer.c ---- */

/* kam audit log, with the account resolved: 0 and NULL mean any. */
struct store_audit_query {
	int64_t account_id;
	const char *username;        /* who acted */
	int64_t since, until;        /* unix seconds */
	const char *action;          /* exact, or a prefix ending in '*' */
	int64_t before_id;
	uint32_t limit;
};

/* What the bulk-read watch says to a detail read. */
enum store_watch_verdict {
	STORE_WATCH_OK = 0,          /* counted; go on */
	STORE_WATCH_FLAGGED_NOW,     /* this read went over the limit: refused, user flagged, watch.flag written */
	STORE_WATCH_FLAGGED,         /* already flagged: refused until cleared */
};
struct store_watch {
	enum store_watch_verdict verdict;
	uint32_t reads;              /* distinct accounts in the window, this one included */
	int64_t flagged_at;          /* unix seconds; 0 when not flagged */
};
struct store_watch_limit {
	uint32_t limit;              /* distinct accounts; 0: not watched */
	uint32_t window_s;
};

/* A hand-over (and, with deactivate, the deactivation) as one statement. */
struct store_handover_req {
	int64_t from_id;
	int64_t to_id;
	bool deactivate;
	const char *accounts_json;   /* JSON array of account ids; NULL: all of from's accounts */
};
/* Why the store refused a hand-over (nothing changed), or STORE_HANDOVER_DONE. */
enum store_handover_outcome {
	STORE_HANDOVER_DONE = 0,
	STORE_HANDOVER_TIER,         /* `to` is too junior for the accounts in names */
	STORE_HANDOVER_REPORTS,      /* from has reports and `to` is not a manager or the GM */
	STORE_HANDOVER_INACTIVE,     /* from (when deactivating) or `to` is not active */
};
struct store_handover_result {
	enum store_handover_outcome outcome;
	size_t n_names;              /* accounts refused (TIER) or moved (DONE), by name */
	const char **names;
	size_t n_reports;            /* users who now report to `to` */
	const char **reports;
	uint32_t projects;           /* open projects moved */
	uint32_t sessions_revoked;
};

typedef void (*store_entries_cb)(void *arg, int err, const struct kam_audit_entry *e, size_t n, int64_t next_before_id);
typedef void (*store_heads_cb)(void *arg, int err, const struct audit_head heads[AUDIT_PARTS]);
typedef void (*store_heads_at_cb)(void *arg, int err, const struct audit_head heads[AUDIT_PARTS],
				  const struct audit_head at[AUDIT_PARTS]);
typedef void (*store_chain_cb)(void *arg, int err, const struct audit_chain_row *rows, size_t n);
typedef void (*store_watch_cb)(void *arg, int err, const struct store_watch *w);
typedef void (*store_alerts_cb)(void *arg, int err, const struct kam_alert *alerts, size_t n);
typedef void (*store_handover_cb)(void *arg, int err, const struct store_handover_result *r);
/* The export's audit entry: its id, how many accounts it covers, the last id among them. */
typedef void (*store_export_cb)(void *arg, int err, int64_t export_id, int64_t total, int64_t until_id);
typedef void (*store_export_page_cb)(void *arg, int err, const struct kam_export_item *items, size_t n);
typedef void (*store_import_check_cb)(void *arg, int err, const struct kam_user *owners, size_t n_owners,
				      const char *const *taken, size_t n_taken);
typedef void (*store_ids_cb)(void *arg, int err, const int64_t *ids, size_t n);

/* Entries visible to who (GM: all; manager: entries of accounts whose team holds them or a
 * report of theirs), newest first, audited as one audit.log entry. */
int store_audit_log(struct store *st, const struct kam_principal *who, const struct store_audit_query *q,
		    const struct audit_entry *audit, store_entries_cb cb, void *arg) KAM_MUST_CHECK;
/* The chain heads (partition 0..AUDIT_PARTS-1). */
int store_audit_heads(struct store *st, store_heads_cb cb, void *arg) KAM_MUST_CHECK;
/* The heads now and, from the same snapshot, the hash of the entry at each (partition,
 * at[p].seq): at[p] with the hash, seq -1 when that entry is gone; seq 0 answers the
 * partition's genesis. For checkpoint continuity: the heads signed are the ones checked. */
int store_audit_heads_at(struct store *st, const struct audit_head at[AUDIT_PARTS], store_heads_at_cb cb,
			 void *arg) KAM_MUST_CHECK;
/* Up to limit chain rows after (part, seq), in (part, seq) order. */
int store_audit_chain(struct store *st, uint32_t after_part, int64_t after_seq, uint32_t limit,
		      store_chain_cb cb, void *arg) KAM_MUST_CHECK;

/* Count a detail read of account_id by who against lim (see enum store_watch_verdict). */
int store_watch_admit(struct store *st, const struct kam_principal *who, const char *client_addr,
		      int64_t account_id, const struct store_watch_limit *lim, store_watch_cb cb, void *arg) KAM_MUST_CHECK;
/* Open bulk-read flags of users who report to who (all for the GM); audited. */
int store_watch_alerts(struct store *st, const struct kam_principal *who, const struct audit_entry *audit,
		       store_alerts_cb cb, void *arg) KAM_MUST_CHECK;
/* Clear user_id's flag (audited); n: the reads counted at the flag. KAM_ENOTFOUND when not flagged. */
int store_watch_clear(struct store *st, int64_t user_id, const struct audit_entry *audit,
		      store_count_cb cb, void *arg) KAM_MUST_CHECK;

/* Move accounts, team places and open projects from one user to another, and with
 * deactivate also deactivate `from`, revoke their sessions and move their reports,
 * in one transaction; audit carries the action (one entry, plus one per account). */
int store_handover(struct store *st, const struct store_handover_req *req, const struct audit_entry *audit,
		   store_handover_cb cb, void *arg) KAM_MUST_CHECK;
/* Resolve account references (ids or names, as a JSON array) among the accounts user_id
 * is on: ids in the same order, 0 for a reference that names none of them. */
int store_user_accounts(struct store *st, int64_t user_id, const char *refs_json, store_ids_cb cb,
			void *arg) KAM_MUST_CHECK;

/* Start an export: its audit entry (the count goes into its detail). */
int store_export_begin(struct store *st, const struct audit_entry *audit, store_export_cb cb, void *arg) KAM_MUST_CHECK;
/* Accounts after after_id with every layer, under export export_id of user_id (written in
 * the last hour): KAM_ENOTFOUND otherwise. */
int store_export_page(struct store *st, int64_t user_id, int64_t export_id, int64_t after_id, uint32_t limit,
		      store_export_page_cb cb, void *arg) KAM_MUST_CHECK;
/* For an import: the users named as owners, and which of the names are taken (JSON arrays of strings). */
int store_import_check(struct store *st, const char *owners_json, const char *names_json,
		       store_import_check_cb cb, void *arg) KAM_MUST_CHECK;
/* Insert every row (a JSON array of `rows` objects, see sql_transfer.c) or none; one audit
 * entry per account; ids in row order. */
int store_import(struct store *st, const char *rows_json, size_t rows, const struct audit_entry *audit,
		 store_ids_cb cb, void *arg) KAM_MUST_CHECK;

#endif
