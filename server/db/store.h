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
};

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
typedef void (*store_expiry_cb)(void *arg, int err, int64_t expires_at);
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

#endif
