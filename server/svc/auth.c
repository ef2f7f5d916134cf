/*
 * login, logout, whoami. Login is a throttled password check (throttle.c:
 * argon2id off the loop, against a dummy hash for unknown users so timing
 * does not reveal who exists, every outcome audited), then a session of which
 * only the SHA-256 of the token is stored. Must never log, audit or keep a
 * password or token.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "db/store.h"
#include "log.h"
#include "net/session.h"
#include "passwd.h"
#include "svc_call.h"
#include "throttle.h"
#include "work.h"

#define MSG_BAD_LOGIN "wrong user name or password"

struct login_state {
	struct svc_pwcheck pc;          /* first: the check finds itself at c->op_state */
	char new_hash[SVC_PHC_MAX];     /* rehash-on-login, written by the worker */
	int rehash_rc;
};

/* The user as the principal knows it: all but the manager and the creation time. */
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

/* The answer of login and whoami carries the whole user record (manager and creation time
 * too): the principal holds only what every request needs, so it is read here. */
static void on_own_user(void *arg, int err, const struct kam_user *u)
{
	struct svc_call *c = arg;
	bool login = c->req.op == KAM_OP_LOGIN;
	struct kam_user *out = login ? &c->resp.u.login.user : &c->resp.u.whoami.user;

	if (err < 0 && !login) {
		svc_fail_store(c, err);
		return;
	}
	/* A login whose session exists is not undone for want of the details. */
	if (err < 0)
		principal_user(&c->who, out);
	else
		*out = *u;   /* valid while this callback runs; svc_reply sends it now */
	svc_reply(c);
}

static void reply_own_user(struct svc_call *c)
{
	int rc = store_user_get(svc_store(), c->who.username, on_own_user, c);

	if (rc < 0)
		on_own_user(c, rc, NULL);
}

static void on_session_created(void *arg, int err, int64_t session_id, int64_t expires_at)
{
	struct svc_call *c = arg;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	c->who.session_id = session_id;
	c->who.expires_at = expires_at;
	c->resp.u.login.expires_at = expires_at;
	/* The peer proved a password: lift the pre-login frame limit now, so its next
	 * request may already be large. */
	if (session_is_open(c->session)) {
		session_set_authenticated(c->session, true);
		/* Issues 5 and 7: the fast path for its next requests, and closed when its session
		 * is revoked or its user deactivated. */
		session_remember(c->session, c->token_hash, &c->who);
	}
	kam_log(KAM_LOG_INFO, c->peer, "%s logged in", c->who.username);
	reply_own_user(c);
}

static void create_session(struct svc_call *c)
{
	struct login_state *ls = c->op_state;
	int rc;

	c->who = (struct kam_principal){ .user_id = ls->pc.user_id, .role = ls->pc.role };
	snprintf(c->who.username, sizeof(c->who.username), "%s", ls->pc.stored_name);
	rc = kam_random_bytes(c->resp.u.login.token, KAM_TOKEN_LEN);
	if (rc < 0) {
		svc_fail_store(c, rc);
		return;
	}
	kam_sha256(c->resp.u.login.token, KAM_TOKEN_LEN, c->token_hash);
	rc = store_session_create(svc_store(), ls->pc.user_id, c->token_hash, svc_audit(c, 0, AUDIT_ALLOWED),
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
		rc = store_password_update(svc_store(), ls->pc.user_id, ls->new_hash, on_rehash_stored, c);
	if (rc == 0)
		return;
	kam_log(KAM_LOG_WARN, c->peer, "cannot rehash the password of %s: %s", c->req.u.login.username,
		kam_strerror(rc));
	create_session(c);
}

/* The password is right (and its failures forgotten): the user must still be active. */
static void login_verified(struct svc_call *c, struct svc_pwcheck *pc)
{
	int rc;

	/* Only someone who knows the password learns that the user is deactivated. */
	if (!pc->active) {
		svc_pwcheck_refuse(c, pc, "deactivated",
				   kam_arena_printf(&c->arena, "user %s is deactivated", c->req.u.login.username));
		return;
	}
	if (svc_phc_needs_rehash(pc->stored_hash, svc_config())) {
		rc = work_submit(rehash_work, rehash_done, c);
		if (rc == 0)
			return;
		kam_log(KAM_LOG_WARN, c->peer, "cannot queue the rehash of %s: %s", pc->stored_name, kam_strerror(rc));
	}
	create_session(c);
}

void svc_op_login(struct svc_call *c)
{
	struct login_state *ls;

	if (!c->req.u.login.username)
		c->req.u.login.username = "";
	if (!c->req.u.login.password)
		c->req.u.login.password = "";
	ls = kam_arena_alloc(&c->arena, sizeof(*ls));
	if (!ls) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	memset(ls, 0, sizeof(*ls));
	ls->pc = (struct svc_pwcheck){
		.username = c->req.u.login.username,
		.password = c->req.u.login.password,
		.wrong_msg = MSG_BAD_LOGIN,
		.verified = login_verified,
	};
	c->op_state = ls;
	svc_pwcheck(c, &ls->pc);
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
	if (session_is_open(c->session))
		session_forget(c->session);   /* issue 7: its own logout does not close it */
	rc = store_session_revoke(svc_store(), c->who.session_id, svc_audit(c, 0, AUDIT_ALLOWED), on_revoked, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

void svc_op_whoami(struct svc_call *c)
{
	if (!svc_allow(c, AZ_SESSION, KAM_REL_NONE, 0))
		return;
	c->resp.u.whoami.expires_at = c->who.expires_at;
	reply_own_user(c);
}
