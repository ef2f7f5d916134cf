/*
 * The request pipeline every operation follows, in one order: decode ->
 * authenticate -> the op's handler (authorize -> store with audit) -> reply.
 * A call owns everything of one request and call_end() is its only exit, for
 * success, error and denial alike. Store errors map to wire statuses only in
 * svc_fail_store(). Must not include uv.h or libpq-fe.h, nor log secrets.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "db/store.h"
#include "fields.h"
#include "hash.h"
#include "log.h"
#include "msg.h"
#include "net/session.h"
#include "passwd.h"
#include "svc_call.h"

#define MSG_NOT_LOGGED_IN "not logged in"
#define MSG_SESSION_GONE "session expired or revoked"
#define MSG_DB_DOWN "database unavailable; try again"
#define MSG_INTERNAL "internal error in kamd; its log has the details"

/* One line of error text: the longest account name (200 bytes) plus the wording. */
#define SVC_MSG_MAX 1024

struct svc_op {
	enum kam_op op;
	void (*handler)(struct svc_call *c);
	bool needs_auth;        /* everything but login runs as an authenticated principal */
};

/* The dispatch table: one row per operation, indexed by enum kam_op. */
static const struct svc_op svc_ops[KAM_OP__COUNT] = {
	[KAM_OP_LOGIN]            = { KAM_OP_LOGIN,            svc_op_login,          false },
	[KAM_OP_LOGOUT]           = { KAM_OP_LOGOUT,           svc_op_logout,         true },
	[KAM_OP_WHOAMI]           = { KAM_OP_WHOAMI,           svc_op_whoami,         true },
	[KAM_OP_USER_ADD]         = { KAM_OP_USER_ADD,         svc_op_user_add,       true },
	[KAM_OP_USER_LIST]        = { KAM_OP_USER_LIST,        svc_op_user_list,      true },
	[KAM_OP_ACCOUNT_ADD]      = { KAM_OP_ACCOUNT_ADD,      svc_op_account_add,    true },
	[KAM_OP_ACCOUNT_LIST]     = { KAM_OP_ACCOUNT_LIST,     svc_op_account_list,   true },
	[KAM_OP_ACCOUNT_SHOW]     = { KAM_OP_ACCOUNT_SHOW,     svc_op_account_show,   true },
	[KAM_OP_ACCOUNT_SET]      = { KAM_OP_ACCOUNT_SET,      svc_op_account_set,    true },
	[KAM_OP_ACCOUNT_ASSIGN]   = { KAM_OP_ACCOUNT_ASSIGN,   svc_op_account_member, true },
	[KAM_OP_ACCOUNT_UNASSIGN] = { KAM_OP_ACCOUNT_UNASSIGN, svc_op_account_member, true },
	/* -- layers (issue 3) -- */
	[KAM_OP_ACCOUNT_LAYERS]   = { KAM_OP_ACCOUNT_LAYERS,   svc_op_account_layers, true },
	[KAM_OP_BARRIER_ADD]      = { KAM_OP_BARRIER_ADD,      svc_op_layer_add,      true },
	[KAM_OP_BARRIER_LIST]     = { KAM_OP_BARRIER_LIST,     svc_op_layer_list,     true },
	[KAM_OP_BARRIER_SET]      = { KAM_OP_BARRIER_SET,      svc_op_layer_item,     true },
	[KAM_OP_BARRIER_CLEAR]    = { KAM_OP_BARRIER_CLEAR,    svc_op_layer_item,     true },
	[KAM_OP_PROJECT_ADD]      = { KAM_OP_PROJECT_ADD,      svc_op_layer_add,      true },
	[KAM_OP_PROJECT_LIST]     = { KAM_OP_PROJECT_LIST,     svc_op_layer_list,     true },
	[KAM_OP_PROJECT_SHOW]     = { KAM_OP_PROJECT_SHOW,     svc_op_layer_item,     true },
	[KAM_OP_PROJECT_ADVANCE]  = { KAM_OP_PROJECT_ADVANCE,  svc_op_layer_item,     true },
	[KAM_OP_PROJECT_CLOSE]    = { KAM_OP_PROJECT_CLOSE,    svc_op_layer_item,     true },
	[KAM_OP_PROJECT_SET]      = { KAM_OP_PROJECT_SET,      svc_op_layer_item,     true },
	[KAM_OP_CONTACT_ADD]      = { KAM_OP_CONTACT_ADD,      svc_op_layer_add,      true },
	[KAM_OP_CONTACT_LIST]     = { KAM_OP_CONTACT_LIST,     svc_op_layer_list,     true },
	[KAM_OP_CONTACT_SET]      = { KAM_OP_CONTACT_SET,      svc_op_layer_item,     true },
	[KAM_OP_VALUE_ADD]        = { KAM_OP_VALUE_ADD,        svc_op_layer_add,      true },
	[KAM_OP_VALUE_LIST]       = { KAM_OP_VALUE_LIST,       svc_op_layer_list,     true },
	[KAM_OP_AGREEMENT_ADD]    = { KAM_OP_AGREEMENT_ADD,    svc_op_layer_add,      true },
	[KAM_OP_AGREEMENT_LIST]   = { KAM_OP_AGREEMENT_LIST,   svc_op_layer_list,     true },
	[KAM_OP_REVIEW_ACCOUNT]   = { KAM_OP_REVIEW_ACCOUNT,   svc_op_review_account, true },
	[KAM_OP_REVIEW_TEAM]      = { KAM_OP_REVIEW_TEAM,      svc_op_review_team,    true },
	/* -- audit and churn (issue 4) -- */
	[KAM_OP_AUDIT_LOG]        = { KAM_OP_AUDIT_LOG,        svc_op_audit_log,      true },
	[KAM_OP_AUDIT_VERIFY]     = { KAM_OP_AUDIT_VERIFY,     svc_op_audit_verify,   true },
	[KAM_OP_AUDIT_ALERTS]     = { KAM_OP_AUDIT_ALERTS,     svc_op_audit_alerts,   true },
	[KAM_OP_AUDIT_CLEAR]      = { KAM_OP_AUDIT_CLEAR,      svc_op_audit_clear,    true },
	[KAM_OP_USER_DEACTIVATE]  = { KAM_OP_USER_DEACTIVATE,  svc_op_user_deactivate, true },
	[KAM_OP_USER_HANDOVER]    = { KAM_OP_USER_HANDOVER,    svc_op_user_deactivate, true },
	[KAM_OP_EXPORT]           = { KAM_OP_EXPORT,           svc_op_export,         true },
	[KAM_OP_IMPORT]           = { KAM_OP_IMPORT,           svc_op_import,         true },
	/* -- hostile clients (issue 6) -- */
	[KAM_OP_USER_PASSWD]      = { KAM_OP_USER_PASSWD,      svc_op_user_passwd,    true },
	[KAM_OP_USER_UNLOCK]      = { KAM_OP_USER_UNLOCK,      svc_op_user_unlock,    true },
};

/*
 * Issue 5: operations that may take the fast path once the connection's
 * session was checked in full: the session is checked again by a guard at the
 * head of the request's first job instead of a job of its own. Only those
 * whose handler starts a job before answering anything but an input error,
 * since a request that never reaches the database would not be checked.
 */
static const bool fast_auth[KAM_OP__COUNT] = {
	[KAM_OP_ACCOUNT_LIST] = true,
	[KAM_OP_ACCOUNT_SHOW] = true,
	[KAM_OP_ACCOUNT_SET] = true,
	[KAM_OP_ACCOUNT_LAYERS] = true,
	[KAM_OP_BARRIER_LIST] = true,
	[KAM_OP_PROJECT_LIST] = true,
	[KAM_OP_PROJECT_SHOW] = true,
	[KAM_OP_CONTACT_LIST] = true,
	[KAM_OP_VALUE_LIST] = true,
	[KAM_OP_AGREEMENT_LIST] = true,
	[KAM_OP_REVIEW_ACCOUNT] = true,
};

static void authenticate(struct svc_call *c);

/* What a refusal says the caller may not do (after "a ROLE may not"). */
static const char *const action_phrase[AZ__COUNT] = {
	[AZ_SESSION] = "use a session",
	[AZ_USER_ADD] = "add users (the GM does)",
	[AZ_USER_LIST] = "list users",
	[AZ_ACCOUNT_LIST] = "list accounts",
	[AZ_ACCOUNT_CREATE] = "create accounts",
	[AZ_ACCOUNT_CREATE_FOR] = "create accounts owned by someone else",
	[AZ_ACCOUNT_READ] = "read this account",
	[AZ_ACCOUNT_WRITE_INFO] = "change the information layer",
	[AZ_ACCOUNT_WRITE_PLAN] = "change the stage or strategy",
	[AZ_ACCOUNT_WRITE_TIER] = "change the tier",
	[AZ_ACCOUNT_SET_STRATEGIC] = "move an account into or out of the strategic tier (the GM does)",
	[AZ_ACCOUNT_ASSIGN] = "change the team",
	/* -- layers (issue 3) -- */
	[AZ_BARRIER_WRITE] = "change barriers",
	[AZ_PROJECT_WRITE] = "change projects (solution reps and above do)",
	[AZ_CONTACT_WRITE] = "change contacts (managers and the GM do)",
	[AZ_CONTACT_SENSITIVE] = "see contacts' weight, stance or personal needs",
	[AZ_VALUE_WRITE] = "add value propositions (managers and the GM do)",
	[AZ_AGREEMENT_WRITE] = "record strategic agreements (the GM does)",
	[AZ_REVIEW_TEAM] = "review a team (managers and the GM do)",
	/* -- audit and churn (issue 4) -- */
	[AZ_AUDIT_LOG] = "read the audit trail (managers and the GM do)",
	[AZ_AUDIT_VERIFY] = "verify the audit chain (the GM does)",
	[AZ_AUDIT_ALERTS] = "see bulk-read alerts (managers and the GM do)",
	[AZ_AUDIT_CLEAR_REPORT] = "clear bulk-read flags (the GM and the reader's managers do)",
	[AZ_AUDIT_CLEAR] = "clear the flag of someone who does not report to them (the GM does)",
	[AZ_USER_DEACTIVATE_REPORT] = "deactivate users (the GM and their managers do)",
	[AZ_USER_DEACTIVATE] = "deactivate someone who does not report to them (the GM does)",
	[AZ_USER_HANDOVER_REPORT] = "hand over accounts (the GM and the user's managers do)",
	[AZ_USER_HANDOVER] = "hand over the accounts of someone who does not report to them (the GM does)",
	[AZ_EXPORT] = "export accounts (the GM does)",
	[AZ_IMPORT] = "import accounts (managers and the GM do)",
	/* -- hostile clients (issue 6) -- */
	[AZ_USER_PASSWD] = "change their password",
	[AZ_USER_RESET_REPORT] = "set other users' passwords (the GM and their managers do)",
	[AZ_USER_RESET] = "set the password of someone who does not report to them (the GM does)",
	[AZ_USER_UNLOCK_REPORT] = "unlock users (the GM and their managers do)",
	[AZ_USER_UNLOCK] = "unlock someone who does not report to them (the GM does)",
};

static const char *const role_noun[KAM_ROLE__COUNT] = {
	[KAM_ROLE_NONE] = "a user without a role",
	[KAM_ROLE_JUNIOR] = "a junior rep",
	[KAM_ROLE_SOLUTION] = "a solution rep",
	[KAM_ROLE_MANAGER] = "a manager",
	[KAM_ROLE_GM] = "the GM",
};

static struct {
	struct store *st;                /* NULL: not initialised */
	struct svc_config cfg;
	char dummy_hash[SVC_PHC_MAX];
} svc;

struct store *svc_store(void)
{
	return svc.st;
}

const struct svc_config *svc_config(void)
{
	return &svc.cfg;
}

const char *svc_dummy_hash(void)
{
	return svc.dummy_hash;
}

int svc_init(const struct svc_config *cfg, struct store *st)
{
	uint8_t random[32];
	char password[2 * sizeof(random) + 1];
	int rc;

	if (!cfg || !st)
		return KAM_EINVAL;
	svc.cfg = *cfg;
	/* Unknown users are verified against this, so they cost what known users cost. */
	rc = kam_random_bytes(random, sizeof(random));
	if (rc == 0) {
		kam_hex_encode(random, sizeof(random), password);
		rc = svc_password_hash(&svc.cfg, password, svc.dummy_hash, sizeof(svc.dummy_hash));
	}
	explicit_bzero(random, sizeof(random));
	explicit_bzero(password, sizeof(password));
	if (rc < 0)
		return rc;
	svc.st = st;
	return 0;
}

/* The dummy hash stays: a worker may still be verifying against it, and it is no secret. */
void svc_shutdown(void)
{
	svc.st = NULL;
}

/* Passwords and tokens must not outlive the call in freed memory. */
static void wipe_secrets(struct svc_call *c)
{
	char *pw = NULL;

	explicit_bzero(c->req.token, sizeof(c->req.token));
	if (c->req.op == KAM_OP_LOGIN) {
		pw = (char *)c->req.u.login.password;
		explicit_bzero(c->resp.u.login.token, sizeof(c->resp.u.login.token));
	} else if (c->req.op == KAM_OP_USER_ADD) {
		pw = (char *)c->req.u.user_add.password;
	} else if (c->req.op == KAM_OP_USER_PASSWD) {   /* hostile clients (issue 6) */
		if (c->req.u.user_passwd.old_password)
			explicit_bzero((char *)c->req.u.user_passwd.old_password,
				       strlen(c->req.u.user_passwd.old_password));
		pw = (char *)c->req.u.user_passwd.new_password;
	}
	if (pw)
		explicit_bzero(pw, strlen(pw));
}

static void send_reply(struct svc_call *c)
{
	struct kam_response fallback;
	int rc;

	if (c->close_after) {
		session_send_and_close(c->session, &c->resp, c->resp.error.message);
		return;
	}
	rc = session_send(c->session, &c->resp);
	if (rc == 0)
		return;
	kam_log(KAM_LOG_ERROR, c->peer, "cannot send the reply to %s #%llu: %s",
		kam_op_str(c->req.op), (unsigned long long)c->req.id, kam_strerror(rc));
	fallback = (struct kam_response){
		.id = c->req.id,
		.op = KAM_OP_NONE,
		.error = { KAM_STATUS_INTERNAL, MSG_INTERNAL, "" },
	};
	if (session_send(c->session, &fallback) < 0)
		session_send_and_close(c->session, NULL, "reply could not be sent");
}

/* The one way a call ends: reply if anyone is listening, then release everything. */
static void call_end(struct svc_call *c)
{
	kam_log(KAM_LOG_DEBUG, c->peer, "%s %s #%llu -> %s", c->who.username[0] ? c->who.username : "-",
		kam_op_str(c->req.op), (unsigned long long)c->req.id,
		c->resp.error.code ? kam_status_str(c->resp.error.code) : c->resp.replayed ? "replayed" : "ok");
	if (session_is_open(c->session))
		send_reply(c);
	wipe_secrets(c);
	session_request_done(c->session);
	session_unref(c->session);
	kam_arena_free(&c->arena);
	free(c);
}

void svc_reply(struct svc_call *c)
{
	c->resp.id = c->req.id;
	c->resp.op = c->req.op;
	c->resp.error = (struct kam_error){ KAM_STATUS_OK, "", "" };
	call_end(c);
}

/* ---- issue 7: a keyed write applied before is answered "replayed" ---- */

/* The answer to a write whose request key was used before: success, no body, nothing changed now. */
static void reply_replayed(struct svc_call *c)
{
	kam_log(KAM_LOG_INFO, c->peer, "%s #%llu by %s: already applied under its request key",
		kam_op_str(c->req.op), (unsigned long long)c->req.id, c->who.username);
	c->resp.id = c->req.id;
	c->resp.op = KAM_OP_NONE;
	c->resp.error = (struct kam_error){ KAM_STATUS_OK, "", "" };
	c->resp.replayed = true;
	call_end(c);
}

/* A write that carries a request key, from an authenticated caller: its key is the store's business. */
static bool keyed_write(const struct svc_call *c)
{
	return c->req.key_len > 0 && kam_op_kind(c->req.op) == KAM_OP_KIND_WRITE && c->who.user_id > 0;
}

/*
 * A retry may be refused by what its first attempt changed (a version that
 * moved on, a barrier already cleared, a team the caller left) before its
 * write, and so before its key is claimed. A keyed write refused that way asks
 * the store whether its key was claimed: if so it was applied, and the answer
 * is "replayed", not the refusal. Statuses that say nothing about it
 * (unavailable, internal) stand as they are.
 */
static bool refusal_may_be_replay(const struct svc_call *c, enum kam_status code)
{
	return keyed_write(c) && (code == KAM_STATUS_CONFLICT || code == KAM_STATUS_NOT_FOUND ||
				  code == KAM_STATUS_INVALID_ARGUMENT || code == KAM_STATUS_PERMISSION_DENIED);
}

static void on_refused_key_seen(void *arg, int err)
{
	struct svc_call *c = arg;

	if (err == 0) {
		reply_replayed(c);
		return;
	}
	if (err != KAM_ENOTFOUND)
		kam_log(KAM_LOG_WARN, c->peer, "cannot check the request key of refused %s #%llu: %s",
			kam_op_str(c->req.op), (unsigned long long)c->req.id, kam_strerror(err));
	call_end(c);   /* the refusal in c->resp stands */
}

void svc_reply_error(struct svc_call *c, enum kam_status code, const char *field, const char *fmt, ...)
{
	char line[SVC_MSG_MAX];
	const char *msg;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	msg = kam_arena_strdup(&c->arena, line);
	c->resp.id = c->req.id;
	c->resp.op = KAM_OP_NONE;
	c->resp.error = (struct kam_error){ code, msg ? msg : MSG_INTERNAL, field ? field : "" };
	if (refusal_may_be_replay(c, code) && session_is_open(c->session)) {
		rc = store_request_key_seen(svc.st, c->req.key, c->req.key_len, on_refused_key_seen, c);
		if (rc == 0)
			return;
		on_refused_key_seen(c, rc);
		return;
	}
	call_end(c);
}

void svc_reply_account_not_found(struct svc_call *c)
{
	const char *ref = c->account_ref ? c->account_ref : "";

	/* -- layers (issue 3): a barrier, project, contact or team names itself -- */
	if (c->msg_not_found) {
		svc_reply_error(c, KAM_STATUS_NOT_FOUND, c->field_not_found, "%s", c->msg_not_found);
		return;
	}
	/* Used for missing and for invisible accounts alike: nothing may differ. */
	if (svc_ref_is_id(ref))
		svc_reply_error(c, KAM_STATUS_NOT_FOUND, "account", "no account %s", ref);
	else
		svc_reply_error(c, KAM_STATUS_NOT_FOUND, "account", "no account named %s", ref);
}

void svc_fail_store(struct svc_call *c, int err)
{
	const char *ref = c->account_ref ? c->account_ref : "";

	switch (err) {
	case KAM_ENOTFOUND:
		if (c->account_ref)
			svc_reply_account_not_found(c);
		else
			svc_reply_error(c, KAM_STATUS_NOT_FOUND, NULL, "not found");
		return;
	case KAM_ECONFLICT:
		svc_reply_error(c, KAM_STATUS_CONFLICT, NULL, "%s",
				c->msg_conflict ? c->msg_conflict : "conflicts with existing data");
		return;
	case KAM_ESTALE:
		if (c->stale_version > 0)
			svc_reply_error(c, KAM_STATUS_CONFLICT, NULL,
					"account %s was changed by someone else (now version %lld); show it and retry",
					ref, (long long)c->stale_version);
		else
			svc_reply_error(c, KAM_STATUS_CONFLICT, NULL,
					"account %s was changed by someone else; show it and retry", ref);
		return;
	case KAM_EINVAL:
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, c->field_invalid, "%s",
				c->msg_invalid ? c->msg_invalid : "the database refused a value");
		return;
	case KAM_EUNAVAIL:
	case KAM_ECANCELED:
		svc_reply_error(c, KAM_STATUS_UNAVAILABLE, NULL, MSG_DB_DOWN);
		return;
	case KAM_EAGAIN:   /* the hashing queue is full (work.h) */
		svc_reply_error(c, KAM_STATUS_UNAVAILABLE, NULL, "kamd is busy; try again");
		return;
	case KAM_EUNAUTH:
		svc_reply_error(c, KAM_STATUS_UNAUTHENTICATED, NULL, MSG_SESSION_GONE);
		return;
	case KAM_EREPLAYED:   /* issue 7: the write's request key was claimed before */
		reply_replayed(c);
		return;
	/* -- performance (issue 5): a fast-path guard refused; nothing changed, take the full path -- */
	case KAM_ERECHECK:
		session_forget(c->session);
		authenticate(c);
		return;
	case KAM_EWATCH:
		if (c->watch_next) {
			svc_watch_recheck(c);
			return;
		}
		/* A watch refusal with no read waiting is a bug. */
		__attribute__((fallthrough));
	default:
		kam_log(KAM_LOG_ERROR, c->peer, "%s #%llu failed: %s", kam_op_str(c->req.op),
			(unsigned long long)c->req.id, kam_strerror(err));
		svc_reply_error(c, KAM_STATUS_INTERNAL, NULL, MSG_INTERNAL);
		return;
	}
}

bool svc_user_found(struct svc_call *c, int err, const struct kam_user *u, const char *username,
		    const char *field, enum kam_status missing, bool need_active)
{
	if (err == KAM_ENOTFOUND) {
		svc_reply_error(c, missing, field, "no user named %s", username);
		return false;
	}
	if (err < 0) {
		svc_fail_store(c, err);
		return false;
	}
	if (need_active && !u->active) {
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, field, "user %s is deactivated", username);
		return false;
	}
	return true;
}

struct audit_entry *svc_audit(struct svc_call *c, int64_t account_id, enum audit_result result)
{
	audit_entry_init(&c->audit, &c->who, c->req.op, account_id, result, c->peer);
	return &c->audit;
}

int svc_user_keep(struct svc_call *c, const struct kam_user *src, struct kam_user *dst)
{
	*dst = *src;
	dst->username = kam_arena_strdup(&c->arena, src->username ? src->username : "");
	dst->reports_to = kam_arena_strdup(&c->arena, src->reports_to ? src->reports_to : "");
	return dst->username && dst->reports_to ? 0 : KAM_ENOMEM;
}

const char *svc_json_detail(struct svc_call *c, json_t *obj)
{
	char *text;
	const char *out;

	if (!obj)
		goto fail;
	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!text)
		goto fail;
	out = kam_arena_strdup(&c->arena, text);
	free(text);
	if (!out)
		goto fail;
	return out;
fail:
	kam_log(KAM_LOG_ERROR, c->peer, "cannot build the audit detail of %s: out of memory",
		kam_op_str(c->req.op));
	return NULL;
}

struct audit_entry *svc_audit_detail(struct svc_call *c, int64_t account_id, json_t *obj)
{
	struct audit_entry *e = svc_audit(c, account_id, AUDIT_ALLOWED);

	e->detail = svc_json_detail(c, obj);
	if (!e->detail) {
		svc_fail_store(c, KAM_ENOMEM);
		return NULL;
	}
	return e;
}

static void deny_reply(struct svc_call *c)
{
	const char *role = (unsigned)c->who.role < KAM_ROLE__COUNT ? role_noun[c->who.role] : role_noun[0];
	const char *what = (unsigned)c->denied_action < AZ__COUNT ? action_phrase[c->denied_action] : "do that";

	if (c->denied == AUTHZ_DENY_NOT_FOUND) {
		svc_reply_account_not_found(c);
		return;
	}
	if (c->account_ref)
		svc_reply_error(c, KAM_STATUS_PERMISSION_DENIED, NULL, "permission denied: %s may not %s (account %s)",
				role, what, c->account_ref);
	else
		svc_reply_error(c, KAM_STATUS_PERMISSION_DENIED, NULL, "permission denied: %s may not %s",
				role, what);
}

static void on_denial_audited(void *arg, int err)
{
	struct svc_call *c = arg;

	if (err == KAM_ERECHECK) {   /* issue 5: the session guard refused: check it, then decide again */
		svc_fail_store(c, err);
		return;
	}
	/* The refusal stands whether or not its record could be written. */
	if (err < 0)
		kam_log(KAM_LOG_ERROR, c->peer, "cannot audit the denial of %s to %s: %s",
			authz_action_str(c->denied_action), c->who.username, kam_strerror(err));
	deny_reply(c);
}

bool svc_authorize(struct svc_call *c, const enum authz_action *actions, size_t n,
		   enum kam_relation rel, int64_t account_id)
{
	struct audit_entry *e;
	int rc;

	for (size_t i = 0; i < n; i++) {
		enum authz_decision d = authz_decide(c->who.role, actions[i], rel);

		if (d == AUTHZ_ALLOW)
			continue;
		c->denied = d;
		c->denied_action = actions[i];
		kam_log(KAM_LOG_INFO, c->peer, "denied %s to %s (%s, %s)", authz_action_str(actions[i]),
			c->who.username, kam_role_str(c->who.role), kam_relation_str(rel));
		e = svc_audit(c, account_id, AUDIT_DENIED);
		/* The relation only means something for an act on one account. */
		e->detail = svc_json_detail(c, json_pack("{s:s, s:s*}", "denied", authz_action_str(actions[i]),
							  "relation", account_id ? kam_relation_str(rel) : NULL));
		rc = store_audit_write(svc.st, e, on_denial_audited, c);
		if (rc < 0)
			on_denial_audited(c, rc);
		return false;
	}
	return true;
}

static void run_handler(struct svc_call *c)
{
	/* Nobody is waiting for the answer: start no work on their behalf. */
	if (!session_is_open(c->session)) {
		call_end(c);
		return;
	}
	c->handler(c);
}

/* The handler, as c->who: what its jobs carry for that principal goes to the store first. */
/*
 * What the jobs started from here on carry for c's principal (issue 7): its user, for
 * row-level security, and a write's request key (a key on a read means nothing). c may
 * be gone once the handler returns: the key is the store's only until principal_end.
 */
static void principal_begin(const struct svc_call *c)
{
	store_act_as(svc.st, c->who.user_id);
	store_request_key(svc.st, keyed_write(c) ? c->req.key : NULL, c->req.key_len);
}

/* Outside a store callback nothing restores them: forget them. */
static void principal_end(void)
{
	store_request_key(svc.st, NULL, 0);
	store_act_as(svc.st, 0);
}

void svc_resume(struct svc_call *c, svc_hashed_fn next, int rc)
{
	principal_begin(c);
	next(c, rc);
	principal_end();
}

static void on_session_checked(void *arg, int err, const struct kam_principal *who)
{
	struct svc_call *c = arg;

	if (err == KAM_EUNAUTH || err == KAM_ENOTFOUND) {
		svc_reply_error(c, KAM_STATUS_UNAUTHENTICATED, NULL, MSG_SESSION_GONE);
		return;
	}
	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	c->who = *who;
	c->who.username[KAM_MAX_USERNAME] = '\0';
	if (session_is_open(c->session)) {
		session_set_authenticated(c->session, true);
		session_remember(c->session, c->token_hash, &c->who);   /* issue 5: the fast path */
	}
	principal_begin(c);
	run_handler(c);
	principal_end();
}

static void authenticate(struct svc_call *c)
{
	int rc;

	if (!c->req.has_token) {
		svc_reply_error(c, KAM_STATUS_UNAUTHENTICATED, NULL, MSG_NOT_LOGGED_IN);
		return;
	}
	/* Only the hash of a token is ever stored or compared. */
	kam_sha256(c->req.token, KAM_TOKEN_LEN, c->token_hash);
	/* Issue 5: checked in full before on this connection: check again inside the first job. */
	if (fast_auth[c->req.op] && session_recall(c->session, c->token_hash, &c->who)) {
		store_session_guard(svc.st, c->token_hash, &c->who);
		principal_begin(c);
		run_handler(c);
		store_guard_clear(svc.st);
		principal_end();
		return;
	}
	rc = store_session_check(svc.st, c->token_hash, on_session_checked, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

/*
 * Before a connection authenticates, only a login, or a request with a token
 * (which acts as the hello), is accepted; anything else is answered once and
 * the connection closed (issue 6). Afterwards everything is.
 */
static bool hello_or_login(const struct svc_call *c)
{
	return session_is_authenticated(c->session) || c->req.op == KAM_OP_LOGIN || c->req.has_token;
}

void svc_on_frame(struct kam_session *s, const uint8_t *payload, size_t len)
{
	struct svc_call *c = calloc(1, sizeof(*c));
	const struct svc_op *op;
	const char *why = NULL, *field = NULL;
	int rc;

	if (!c) {
		/* Not even an error reply can be built: drop the connection. */
		kam_log(KAM_LOG_ERROR, session_peer(s), "out of memory for a request; closing");
		session_send_and_close(s, NULL, "out of memory");
		session_request_done(s);
		return;
	}
	kam_arena_init(&c->arena);
	session_ref(s);
	c->session = s;
	c->peer = kam_arena_strdup(&c->arena, session_peer(s));
	if (!c->peer)
		c->peer = "?";

	rc = msg_request_decode(payload, len, &c->arena, &c->req, &why, &field);
	if (rc == KAM_EPROTO) {
		/* Never resynchronise after garbage: one error frame (id 0), then close. */
		c->req.id = 0;
		c->close_after = true;
		svc_reply_error(c, KAM_STATUS_PROTOCOL, NULL, "malformed request");
		return;
	}
	if (rc == KAM_EINVAL) {
		c->close_after = !hello_or_login(c);
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, field, "%s", why ? why : "invalid request");
		return;
	}
	if (rc < 0) {
		svc_fail_store(c, rc);
		return;
	}
	if (!svc.st) {
		svc_reply_error(c, KAM_STATUS_UNAVAILABLE, NULL, "kamd is not ready; try again");
		return;
	}
	op = (unsigned)c->req.op < KAM_OP__COUNT ? &svc_ops[c->req.op] : NULL;
	if (!op || !op->handler) {
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, NULL, "the request names no known operation");
		return;
	}
	c->handler = op->handler;
	if (!hello_or_login(c)) {
		c->close_after = true;
		svc_reply_error(c, KAM_STATUS_UNAUTHENTICATED, NULL, "%s: only a login, or a request with a session "
				"token, may come first", MSG_NOT_LOGGED_IN);
		return;
	}
	if (op->needs_auth)
		authenticate(c);
	else
		run_handler(c);
}
