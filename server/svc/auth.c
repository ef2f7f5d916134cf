/*
 * login, logout, whoami. Login verifies argon2id off the loop, against a dummy
 * hash for unknown users so timing does not reveal who exists, audits every
 * outcome, and stores only the SHA-256 of the new token. Must never log,
 * audit or keep a password or token.
 */
#include <argon2.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "db/store.h"
#include "log.h"
#include "net/session.h"
#include "passwd.h"
#include "svc_call.h"
#include "work.h"

#define MSG_BAD_LOGIN "wrong user name or password"

struct login_state {
	bool known;                     /* the user exists */
	int64_t user_id;
	const char *username;           /* as stored */
	enum kam_role role;
	bool active;
	const char *stored_hash;        /* PHC string */
	bool verified;                  /* written by the worker */
	char new_hash[SVC_PHC_MAX];     /* rehash-on-login, written by the worker */
	int rehash_rc;
	const char *fail_reason;        /* for the audit detail */
	const char *fail_msg;           /* for the user */
};

static void principal_user(const struct kam_principal *p, struct kam_user *u)
{
	*u = (struct kam_user){
		.id = p->user_id,
		.username = p->username,
		.role = p->role,
		.reports_to = "",
		.active = true,
	};
}

static void on_session_created(void *arg, int err, int64_t expires_at)
{
	struct svc_call *c = arg;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	c->who.expires_at = expires_at;
	principal_user(&c->who, &c->resp.u.login.user);
	c->resp.u.login.expires_at = expires_at;
	/* The peer proved a password: lift the pre-login frame limit now, so its next
	 * request may already be large. */
	if (session_is_open(c->session))
		session_set_authenticated(c->session, true);
	kam_log(KAM_LOG_INFO, c->peer, "%s logged in", c->who.username);
	svc_reply(c);
}

static void create_session(struct svc_call *c)
{
	struct login_state *ls = c->op_state;
	int rc;

	c->who = (struct kam_principal){ .user_id = ls->user_id, .role = ls->role };
	snprintf(c->who.username, sizeof(c->who.username), "%s", ls->username);
	rc = kam_random_bytes(c->resp.u.login.token, KAM_TOKEN_LEN);
	if (rc < 0) {
		svc_fail_store(c, rc);
		return;
	}
	kam_sha256(c->resp.u.login.token, KAM_TOKEN_LEN, c->token_hash);
	rc = store_session_create(svc_store(), ls->user_id, c->token_hash, svc_audit(c, 0, AUDIT_ALLOWED),
				  on_session_created, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_rehash_stored(void *arg, int err)
{
	struct svc_call *c = arg;

	if (err < 0)
		kam_log(KAM_LOG_WARN, c->peer, "cannot store the rehashed password of %s: %s",
			c->req.u.login.username, kam_strerror(err));
	create_session(c);
}

static void rehash_work(void *arg)
{
	struct svc_call *c = arg;
	struct login_state *ls = c->op_state;

	ls->rehash_rc = svc_password_hash(svc_config(), c->req.u.login.password, ls->new_hash,
					  sizeof(ls->new_hash));
}

/* A failed rehash only costs the upgrade; the login goes on. */
static void rehash_done(void *arg, int status)
{
	struct svc_call *c = arg;
	struct login_state *ls = c->op_state;
	int rc = status < 0 ? status : ls->rehash_rc;

	if (rc == 0)
		rc = store_password_update(svc_store(), ls->user_id, ls->new_hash, on_rehash_stored, c);
	if (rc == 0)
		return;
	kam_log(KAM_LOG_WARN, c->peer, "cannot rehash the password of %s: %s", c->req.u.login.username,
		kam_strerror(rc));
	create_session(c);
}

static void on_failure_audited(void *arg, int err)
{
	struct svc_call *c = arg;
	struct login_state *ls = c->op_state;

	if (err < 0)
		kam_log(KAM_LOG_ERROR, c->peer, "cannot audit a failed login: %s", kam_strerror(err));
	svc_reply_error(c, KAM_STATUS_UNAUTHENTICATED, NULL, "%s", ls->fail_msg);
}

static void login_failed(struct svc_call *c, const char *reason, const char *msg)
{
	struct login_state *ls = c->op_state;
	struct audit_entry *e = &c->audit;
	int rc;

	ls->fail_reason = reason;
	ls->fail_msg = msg ? msg : MSG_BAD_LOGIN;
	kam_log(KAM_LOG_INFO, c->peer, "login as %s failed: %s", c->req.u.login.username, reason);
	/* The claimed name and, when the user exists, who it is; never the password. */
	audit_entry_init(e, NULL, KAM_OP_LOGIN, 0, AUDIT_FAILED, c->peer);
	e->user_id = ls->known ? ls->user_id : 0;
	e->username = c->req.u.login.username;
	e->role = ls->known ? ls->role : KAM_ROLE_NONE;
	e->detail = svc_json_detail(c, json_pack("{s:s}", "reason", reason));
	rc = store_audit_write(svc_store(), e, on_failure_audited, c);
	if (rc < 0)
		on_failure_audited(c, rc);
}

static void verify_work(void *arg)
{
	struct svc_call *c = arg;
	struct login_state *ls = c->op_state;
	const char *pw = c->req.u.login.password;
	int rc;

	/* Always pay for one verification, whether or not the user exists. */
	rc = argon2id_verify(ls->known ? ls->stored_hash : svc_dummy_hash(), pw, strlen(pw));
	ls->verified = rc == ARGON2_OK && ls->known;
}

static void verify_done(void *arg, int status)
{
	struct svc_call *c = arg;
	struct login_state *ls = c->op_state;
	int rc;

	if (status < 0) {
		svc_fail_store(c, status);
		return;
	}
	if (!ls->verified) {
		login_failed(c, ls->known ? "wrong password" : "unknown user", MSG_BAD_LOGIN);
		return;
	}
	/* Only someone who knows the password learns that the user is deactivated. */
	if (!ls->active) {
		login_failed(c, "deactivated",
			     kam_arena_printf(&c->arena, "user %s is deactivated", c->req.u.login.username));
		return;
	}
	if (svc_phc_needs_rehash(ls->stored_hash, svc_config())) {
		rc = work_submit(rehash_work, rehash_done, c);
		if (rc == 0)
			return;
		kam_log(KAM_LOG_WARN, c->peer, "cannot queue the rehash of %s: %s", ls->username, kam_strerror(rc));
	}
	create_session(c);
}

static void on_credentials(void *arg, int err, const struct store_credentials *cred)
{
	struct svc_call *c = arg;
	struct login_state *ls = c->op_state;
	int rc;

	if (err < 0 && err != KAM_ENOTFOUND) {
		svc_fail_store(c, err);
		return;
	}
	if (err == 0) {
		ls->known = true;
		ls->user_id = cred->user_id;
		ls->role = cred->role;
		ls->active = cred->active;
		ls->username = kam_arena_strdup(&c->arena, cred->username ? cred->username : "");
		ls->stored_hash = kam_arena_strdup(&c->arena, cred->password_hash ? cred->password_hash : "");
		if (!ls->username || !ls->stored_hash) {
			svc_fail_store(c, KAM_ENOMEM);
			return;
		}
	}
	rc = work_submit(verify_work, verify_done, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

void svc_op_login(struct svc_call *c)
{
	int rc;

	if (!c->req.u.login.username)
		c->req.u.login.username = "";
	if (!c->req.u.login.password)
		c->req.u.login.password = "";
	c->op_state = kam_arena_alloc(&c->arena, sizeof(struct login_state));
	if (!c->op_state) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	rc = store_login_lookup(svc_store(), c->req.u.login.username, on_credentials, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_revoked(void *arg, int err)
{
	struct svc_call *c = arg;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	if (session_is_open(c->session))
		session_set_authenticated(c->session, false);
	svc_reply(c);
}

void svc_op_logout(struct svc_call *c)
{
	int rc;

	if (!svc_allow(c, AZ_SESSION, KAM_REL_NONE, 0))
		return;
	rc = store_session_revoke(svc_store(), c->who.session_id, svc_audit(c, 0, AUDIT_ALLOWED), on_revoked, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

void svc_op_whoami(struct svc_call *c)
{
	if (!svc_allow(c, AZ_SESSION, KAM_REL_NONE, 0))
		return;
	principal_user(&c->who, &c->resp.u.whoami.user);
	c->resp.u.whoami.expires_at = c->who.expires_at;
	svc_reply(c);
}
