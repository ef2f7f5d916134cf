/*
 * user passwd and user unlock (issue 6). One's own password changes only with
 * the current one, checked and throttled like a login; someone else's is set
 * by the GM, or by a manager they report to, as is an unlock. A new password
 * is hashed off the loop; every other session of the user ends. Must not
 * log, audit or keep a password.
 */
#include <string.h>

#include <jansson.h>

#include "db/store.h"
#include "fields.h"
#include "log.h"
#include "passwd.h"
#include "svc_call.h"
#include "throttle.h"

#define MSG_WRONG_OLD "the current password is wrong"

struct passwd_state {
	struct svc_pwcheck pc;          /* first: the check finds itself at c->op_state (own password) */
	struct kam_user user;           /* whose password, strings in the arena */
	bool own;
	char hash[SVC_PHC_MAX];         /* written by the worker */
};

/* ---- user passwd ---- */

static void on_passwd_stored(void *arg, int err, int64_t revoked)
{
	struct svc_call *c = arg;
	struct passwd_state *ps = c->op_state;

	if (err == KAM_ENOTFOUND) {
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, "username", "user %s is deactivated", ps->user.username);
		return;
	}
	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	kam_log(KAM_LOG_INFO, c->peer, "%s set the password of %s; %lld other sessions revoked", c->who.username,
		ps->user.username, (long long)revoked);
	c->resp.u.user_passwd.user = ps->user;
	c->resp.u.user_passwd.sessions_revoked = revoked > UINT32_MAX ? UINT32_MAX : (uint32_t)revoked;
	svc_reply(c);
}

static void hash_done(struct svc_call *c, int rc)
{
	struct passwd_state *ps = c->op_state;
	struct audit_entry *e;

	if (rc < 0) {
		svc_fail_store(c, rc);
		return;
	}
	e = svc_audit_detail(c, 0, json_pack("{s:s, s:s}", "user", ps->user.username,
					     "by", ps->own ? "self" : "reset"));
	if (!e)
		return;
	/* One's own change keeps the session it was made from; a reset ends them all. */
	rc = store_user_passwd(svc_store(), ps->user.id, ps->hash, ps->own ? c->who.session_id : 0, e,
			       on_passwd_stored, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void hash_new_password(struct svc_call *c)
{
	struct passwd_state *ps = c->op_state;
	int rc = svc_hash_password_async(c, c->req.u.user_passwd.new_password, ps->hash, sizeof(ps->hash),
					 hash_done);

	if (rc < 0)
		svc_fail_store(c, rc);
}

/* The current password was right. */
static void own_verified(struct svc_call *c, struct svc_pwcheck *pc)
{
	struct passwd_state *ps = c->op_state;

	ps->user = (struct kam_user){ .id = c->who.user_id, .username = c->who.username, .role = c->who.role,
				      .reports_to = "", .active = true };
	hash_new_password(c);
}

/* Someone else's password: the GM, or a manager the user reports to. */
static void on_passwd_target(void *arg, int err, const struct store_user_target *t)
{
	struct svc_call *c = arg;
	struct passwd_state *ps = c->op_state;
	const char *name = c->req.u.user_passwd.username;

	if (!svc_user_found(c, err, t ? &t->user : NULL, name, "username", KAM_STATUS_NOT_FOUND, false))
		return;
	if (!t->reports_to_caller && !svc_allow(c, AZ_USER_RESET, KAM_REL_NONE, 0))
		return;
	if (!t->user.active) {
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, "username", "user %s is deactivated", name);
		return;
	}
	if (svc_user_keep(c, &t->user, &ps->user) < 0) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	hash_new_password(c);
}

void svc_op_user_passwd(struct svc_call *c)
{
	struct kam_request *r = &c->req;
	struct passwd_state *ps;
	struct svc_invalid why;
	int rc;

	if (!r->u.user_passwd.username)
		r->u.user_passwd.username = "";
	if (!r->u.user_passwd.old_password)
		r->u.user_passwd.old_password = "";
	if (!r->u.user_passwd.new_password)
		r->u.user_passwd.new_password = "";
	ps = kam_arena_alloc(&c->arena, sizeof(*ps));
	if (!ps) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	memset(ps, 0, sizeof(*ps));
	c->op_state = ps;
	ps->own = !*r->u.user_passwd.username || strcmp(r->u.user_passwd.username, c->who.username) == 0;
	if (!svc_allow(c, ps->own ? AZ_USER_PASSWD : AZ_USER_RESET_REPORT, KAM_REL_NONE, 0))
		return;
	if (svc_check_password(r->u.user_passwd.new_password, &why) < 0) {
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, "new_password", "%s", why.message);
		return;
	}
	if (!ps->own) {
		rc = store_user_target(svc_store(), &c->who, r->u.user_passwd.username, on_passwd_target, c);
		if (rc < 0)
			svc_fail_store(c, rc);
		return;
	}
	if (!*r->u.user_passwd.old_password) {
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, "old_password",
				"give your current password to change it");
		return;
	}
	if (strcmp(r->u.user_passwd.old_password, r->u.user_passwd.new_password) == 0) {
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, "new_password",
				"the new password is the current one; choose another");
		return;
	}
	ps->pc = (struct svc_pwcheck){
		.username = c->who.username,
		.password = r->u.user_passwd.old_password,
		.field = "old_password",
		.wrong_msg = MSG_WRONG_OLD,
		.verified = own_verified,
	};
	svc_pwcheck(c, &ps->pc);
}

/* ---- user unlock ---- */

static void on_unlocked(void *arg, int err, int failures, int64_t locked_until)
{
	struct svc_call *c = arg;
	struct kam_user *u = c->op_state;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	kam_log(KAM_LOG_INFO, c->peer, "%s unlocked %s (%d consecutive failed logins forgotten)", c->who.username,
		u->username, failures);
	c->resp.u.user_unlock.user = *u;
	c->resp.u.user_unlock.failures = failures > 0 ? (uint32_t)failures : 0;
	c->resp.u.user_unlock.locked_until = locked_until;
	svc_reply(c);
}

static void on_unlock_target(void *arg, int err, const struct store_user_target *t)
{
	struct svc_call *c = arg;
	const char *name = c->req.u.user_unlock.username;
	struct kam_user *u;
	struct audit_entry *e;
	int rc;

	if (!svc_user_found(c, err, t ? &t->user : NULL, name, "username", KAM_STATUS_NOT_FOUND, false))
		return;
	if (!t->reports_to_caller && !svc_allow(c, AZ_USER_UNLOCK, KAM_REL_NONE, 0))
		return;
	u = kam_arena_alloc(&c->arena, sizeof(*u));
	if (!u || svc_user_keep(c, &t->user, u) < 0) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	c->op_state = u;
	e = svc_audit_detail(c, 0, json_pack("{s:s}", "user", u->username));
	if (!e)
		return;
	rc = store_user_unlock(svc_store(), u->username, e, on_unlocked, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

void svc_op_user_unlock(struct svc_call *c)
{
	int rc;

	if (!c->req.u.user_unlock.username)
		c->req.u.user_unlock.username = "";
	/* Reps may unlock nobody: refused before anyone is looked up. */
	if (!svc_allow(c, AZ_USER_UNLOCK_REPORT, KAM_REL_NONE, 0))
		return;
	rc = store_user_target(svc_store(), &c->who, c->req.u.user_unlock.username, on_unlock_target, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}
