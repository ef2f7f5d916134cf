/*
 * user add (GM only) and user list (managers and the GM). A new user's
 * password is checked, hashed off the loop and wiped; only the PHC string
 * reaches the store. Must not log, audit or keep the password.
 */
#include <string.h>

#include <jansson.h>

#include "db/store.h"
#include "fields.h"
#include "passwd.h"
#include "svc_call.h"

struct user_add_state {
	char hash[SVC_PHC_MAX];     /* written by the worker */
};

static void on_user_added(void *arg, int err, const struct kam_user *u)
{
	struct svc_call *c = arg;
	const char *boss = c->req.u.user_add.reports_to;

	/* KAM_ENOTFOUND: the manager vanished between our check and the insert. */
	if (!svc_user_found(c, err, u, boss, "reports_to", KAM_STATUS_INVALID_ARGUMENT, false))
		return;
	c->resp.u.user = *u;
	svc_reply(c);
}

static void hash_done(struct svc_call *c, int rc)
{
	struct user_add_state *us = c->op_state;
	const struct kam_request *r = &c->req;
	const char *boss = r->u.user_add.reports_to;
	struct audit_entry *e;

	explicit_bzero((char *)r->u.user_add.password, strlen(r->u.user_add.password));
	if (rc < 0) {
		svc_fail_store(c, rc);
		return;
	}
	e = svc_audit_detail(c, 0, json_pack("{s:s, s:s, s:s?}", "username", r->u.user_add.username,
					     "role", kam_role_str(r->u.user_add.role),
					     "reports_to", *boss ? boss : NULL));
	if (!e)
		return;
	c->msg_conflict = kam_arena_printf(&c->arena, "user %s already exists", r->u.user_add.username);
	rc = store_user_add(svc_store(), r->u.user_add.username, r->u.user_add.role, *boss ? boss : NULL,
			    us->hash, e, on_user_added, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void hash_password(struct svc_call *c)
{
	struct user_add_state *us = c->op_state;
	int rc = svc_hash_password_async(c, c->req.u.user_add.password, us->hash, sizeof(us->hash), hash_done);

	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_manager(void *arg, int err, const struct kam_user *u)
{
	struct svc_call *c = arg;
	const char *boss = c->req.u.user_add.reports_to;

	if (!svc_user_found(c, err, u, boss, "reports_to", KAM_STATUS_INVALID_ARGUMENT, true))
		return;
	if (u->role != KAM_ROLE_MANAGER && u->role != KAM_ROLE_GM) {
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, "reports_to",
				"%s is %s, not a manager or the GM, so nobody can report to them", boss,
				kam_role_str(u->role));
		return;
	}
	hash_password(c);
}

void svc_op_user_add(struct svc_call *c)
{
	struct kam_request *r = &c->req;
	struct svc_invalid why;
	int rc;

	if (!svc_allow(c, AZ_USER_ADD, KAM_REL_NONE, 0))
		return;
	if (!r->u.user_add.username)
		r->u.user_add.username = "";
	if (!r->u.user_add.password)
		r->u.user_add.password = "";
	if (!r->u.user_add.reports_to)
		r->u.user_add.reports_to = "";
	if (svc_check_username(r->u.user_add.username, &why) < 0 ||
	    svc_check_password(r->u.user_add.password, &why) < 0) {
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, why.field, "%s", why.message);
		return;
	}
	if (r->u.user_add.role <= KAM_ROLE_NONE || r->u.user_add.role >= KAM_ROLE__COUNT) {
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, "role", "give the role: junior, solution, manager or gm");
		return;
	}
	c->op_state = kam_arena_alloc(&c->arena, sizeof(struct user_add_state));
	if (!c->op_state) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	if (!*r->u.user_add.reports_to) {
		hash_password(c);
		return;
	}
	rc = store_user_get(svc_store(), r->u.user_add.reports_to, on_manager, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_users(void *arg, int err, const struct kam_user *users, size_t n)
{
	struct svc_call *c = arg;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	/* Replied before this callback returns, while the store's rows are valid. */
	c->resp.u.user_list.n = n;
	c->resp.u.user_list.users = (struct kam_user *)users;
	svc_reply(c);
}

void svc_op_user_list(struct svc_call *c)
{
	int rc;

	if (!svc_allow(c, AZ_USER_LIST, KAM_REL_NONE, 0))
		return;
	rc = store_user_list(svc_store(), svc_audit(c, 0, AUDIT_ALLOWED), on_users, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}
