/*
 * Internal to svc/: the call that carries one request through the pipeline,
 * and the helpers every handler finishes with. A handler is entered with the
 * request decoded and (except login) the caller authenticated; it must end
 * every path in exactly one of svc_reply, svc_reply_error, svc_fail_store,
 * svc_reply_account_not_found, or a false svc_authorize / svc_user_found,
 * after which the call is gone and must not be touched.
 */
#ifndef KAMD_SVC_CALL_H
#define KAMD_SVC_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "audit/audit.h"
#include "authz.h"
#include "model.h"
#include "svc.h"
#include "types.h"

struct json_t;

struct svc_call {
	struct kam_arena arena;         /* owns every string of req, resp and op_state */
	struct kam_request req;
	struct kam_response resp;       /* the handler fills resp.u, then svc_reply */
	struct kam_principal who;       /* valid once authenticated */
	struct kam_session *session;    /* referenced until the call ends */
	const char *peer;               /* "ip:port", in the arena: the log prefix */
	void (*handler)(struct svc_call *c);
	bool close_after;               /* protocol error: send, then close the connection */
	/* What the store is handed lives here, not on a stack, so the store may keep
	 * pointers to it until its callback runs. */
	struct audit_entry audit;
	uint8_t token_hash[KAM_SHA256_LEN];
	/* The refusal svc_authorize is answering, while its audit write runs. */
	enum authz_action denied_action;
	enum authz_decision denied;
	/* Wording of store errors that depends on the request (see svc_fail_store). */
	const char *account_ref;        /* the account as the caller named it */
	int64_t stale_version;          /* its current version for a stale message; 0: unknown */
	const char *msg_conflict;       /* KAM_ECONFLICT */
	const char *msg_invalid;        /* KAM_EINVAL */
	const char *field_invalid;
	void *op_state;                 /* handler-private, in the arena */
	/* -- layers (issue 3) -- */
	const char *msg_not_found;      /* set: NOT_FOUND says this instead of "no account X" */
	const char *field_not_found;
	/* -- audit and churn (issue 4): a detail read waiting for the bulk-read watch -- */
	void (*watch_next)(struct svc_call *c);
	int64_t watch_account_id;
};

/* The service's shared state (svc.c). */
struct store *svc_store(void);
const struct svc_config *svc_config(void);
/* A hash of a random password with the configured costs: unknown users verify against it. */
const char *svc_dummy_hash(void);

/* Send c->resp (body filled by the handler) and end the call. Synchronous: resp may
 * point into a store callback's memory when called from that callback. */
void svc_reply(struct svc_call *c);
/* Reply with an error and end the call. field may be NULL. */
void svc_reply_error(struct svc_call *c, enum kam_status code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Map a store (or work) error to its wire status and message, reply, end the call. */
void svc_fail_store(struct svc_call *c, int err);
/* The reply for an account that is missing or not visible: the two must be identical. */
void svc_reply_account_not_found(struct svc_call *c);

/*
 * Decide every action for the caller. True: all allowed, carry on. False: the
 * first refusal has been audited (AUDIT_DENIED) and answered — PERMISSION_DENIED,
 * or NOT_FOUND exactly as for a missing account — and the call is over.
 */
bool svc_authorize(struct svc_call *c, const enum authz_action *actions, size_t n,
		   enum kam_relation rel, int64_t account_id);
static inline bool svc_allow(struct svc_call *c, enum authz_action action, enum kam_relation rel,
			     int64_t account_id)
{
	return svc_authorize(c, &action, 1, rel, account_id);
}

/*
 * After a store_user_get for a user the request names: true if the user exists
 * (and is active, when need_active). Otherwise replies — "no user named X" with
 * status missing, "user X is deactivated", or the store error — and the call is over.
 */
bool svc_user_found(struct svc_call *c, int err, const struct kam_user *u, const char *username,
		    const char *field, enum kam_status missing, bool need_active);

/* Fill c->audit for the caller's request (detail NULL) and return it. */
struct audit_entry *svc_audit(struct svc_call *c, int64_t account_id, enum audit_result result);
/* Serialize obj (reference stolen) into the arena for audit_entry.detail; NULL if that fails (logged). */
const char *svc_json_detail(struct svc_call *c, struct json_t *obj);
/* Copy a store-owned user (valid only during a callback) into the call's arena. */
int svc_user_keep(struct svc_call *c, const struct kam_user *src, struct kam_user *dst) KAM_MUST_CHECK;
/* c->audit for an allowed act with obj (reference stolen) as its detail. NULL when the
 * detail cannot be built: an act must not go unrecorded, so the call has been answered
 * (INTERNAL) and is over. */
struct audit_entry *svc_audit_detail(struct svc_call *c, int64_t account_id, struct json_t *obj);

/* Handlers, one per operation (auth.c, user.c, account.c). */
void svc_op_login(struct svc_call *c);
void svc_op_logout(struct svc_call *c);
void svc_op_whoami(struct svc_call *c);
void svc_op_user_add(struct svc_call *c);
void svc_op_user_list(struct svc_call *c);
void svc_op_account_add(struct svc_call *c);
void svc_op_account_list(struct svc_call *c);
void svc_op_account_show(struct svc_call *c);
void svc_op_account_set(struct svc_call *c);
void svc_op_account_member(struct svc_call *c);   /* assign and unassign */
/* -- layers (issue 3): layers.c and review.c -- */
void svc_op_account_layers(struct svc_call *c);
void svc_op_layer_add(struct svc_call *c);
void svc_op_layer_list(struct svc_call *c);
void svc_op_layer_item(struct svc_call *c);       /* set, clear, show, advance, close */
void svc_op_review_account(struct svc_call *c);
void svc_op_review_team(struct svc_call *c);
/* The current year (UTC), for the information layer's founding year. */
int svc_this_year(void);
/* -- audit and churn (issue 4): audit_ops.c, watch.c, churn.c, transfer.c -- */
void svc_op_audit_log(struct svc_call *c);
void svc_op_audit_verify(struct svc_call *c);
void svc_op_audit_alerts(struct svc_call *c);
void svc_op_audit_clear(struct svc_call *c);
void svc_op_user_deactivate(struct svc_call *c);   /* and user handover */
void svc_op_export(struct svc_call *c);
void svc_op_import(struct svc_call *c);
/*
 * Before a detail read of account_id (show, and every read of a layer): count it
 * against the caller's bulk-read limit, then next(c). Over the limit, or already
 * flagged: the refusal is audited and answered (PERMISSION_DENIED), the call is over.
 */
void svc_watch_read(struct svc_call *c, int64_t account_id, void (*next)(struct svc_call *c));
/* Issue 5: the read's watch guard refused (KAM_EWATCH): ask the watch on its own, then refuse or read. */
void svc_watch_recheck(struct svc_call *c);
/* churn.c: v (reference stolen; NULL allowed) as compact JSON text in the arena, and strings as a
 * JSON array's text; NULL when out of memory. For the store's JSON parameters. */
const char *svc_json_text(struct svc_call *c, struct json_t *v);
const char *svc_json_strings(struct svc_call *c, const char *const *s, size_t n);
/* checkpoint.c: the latest checkpoint written or found at start (NULL: none; *problem says why
 * the file found at start was refused, or NULL), and checking one given as text. */
struct audit_checkpoint;
const struct audit_checkpoint *svc_checkpoint_latest(const char **problem);
int svc_checkpoint_check(const char *text, struct audit_checkpoint *out, char *why, size_t why_len) KAM_MUST_CHECK;
/* c->audit for an allowed read of account_id naming the layers read (n of them), with the keys
 * of extra (may be NULL; reference stolen) besides. NULL: the call has been answered. */
struct audit_entry *svc_audit_read(struct svc_call *c, int64_t account_id, const char *const *layers, size_t n,
				   struct json_t *extra);
/* -- hostile clients (issue 6): credentials.c -- */
void svc_op_user_passwd(struct svc_call *c);
void svc_op_user_unlock(struct svc_call *c);

#endif
