/*
 * account add, list, show, set, assign and unassign. Each handler resolves the
 * account and the caller's relation to it, authorizes every action the request
 * needs (an invisible account answers exactly like a missing one), then acts
 * in the store with its audit entry. Value rules live in fields.c; this file
 * must not parse values itself.
 */
#include <string.h>

#include <jansson.h>

#include "db/store.h"
#include "fields.h"
#include "layer_fields.h"
#include "svc_call.h"

#define MSG_OWNER_STAYS "cannot remove the owner from the team; hand the account over first"

/* ---- shared steps ---- */

static void reply_account(struct svc_call *c, int err, const struct kam_account *acc)
{
	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	/* Replied before the store callback returns, while acc is valid. */
	c->resp.u.account = *acc;
	svc_reply(c);
}

static void on_account(void *arg, int err, const struct kam_account *acc)
{
	reply_account(arg, err, acc);
}

static void reply_invalid(struct svc_call *c, const struct svc_invalid *why)
{
	svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, why->field, "%s", why->message);
}

/* Resolve c->account_ref and the caller's relation to it, then next(c, access). */
static void resolve_account(struct svc_call *c, const char *ref, store_access_cb next)
{
	int rc;

	c->account_ref = ref ? ref : "";
	rc = store_account_access(svc_store(), &c->who, c->account_ref, next, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

/* Look up a user the request names, then next(c, user). */
static void lookup_user(struct svc_call *c, const char *username, store_user_cb next)
{
	int rc = store_user_get(svc_store(), username, next, c);

	if (rc < 0)
		svc_fail_store(c, rc);
}

/* ---- add ---- */

struct add_state {
	int64_t owner_id;
	enum kam_role owner_role;
};

static void create_account(struct svc_call *c)
{
	const struct kam_request *r = &c->req;
	struct add_state *as = c->op_state;
	const char *owner = *r->u.account_add.owner ? r->u.account_add.owner : c->who.username;
	struct svc_invalid why;
	struct audit_entry *e;
	int rc;

	if (svc_owner_fits_tier(r->u.account_add.tier, as->owner_role, &why) < 0) {
		reply_invalid(c, &why);
		return;
	}
	e = svc_audit_detail(c, 0, json_pack("{s:s, s:s, s:s}", "name", r->u.account_add.name,
					     "tier", kam_tier_str(r->u.account_add.tier), "owner", owner));
	if (!e)
		return;
	c->msg_conflict = kam_arena_printf(&c->arena, "an account named %s already exists", r->u.account_add.name);
	rc = store_account_add(svc_store(), r->u.account_add.name, r->u.account_add.tier, as->owner_id, e,
			       on_account, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_add_owner(void *arg, int err, const struct kam_user *u)
{
	struct svc_call *c = arg;
	struct add_state *as = c->op_state;

	if (!svc_user_found(c, err, u, c->req.u.account_add.owner, "owner", KAM_STATUS_INVALID_ARGUMENT, true))
		return;
	as->owner_id = u->id;
	as->owner_role = u->role;
	create_account(c);
}

void svc_op_account_add(struct svc_call *c)
{
	struct kam_request *r = &c->req;
	enum authz_action actions[2];
	struct add_state *as;
	struct svc_invalid why;
	size_t n = 0;
	bool self;

	if (!r->u.account_add.name)
		r->u.account_add.name = "";
	if (!r->u.account_add.owner)
		r->u.account_add.owner = "";
	if (svc_check_account_name(r->u.account_add.name, &why) < 0) {
		reply_invalid(c, &why);
		return;
	}
	if (r->u.account_add.tier <= KAM_TIER_NONE || r->u.account_add.tier >= KAM_TIER__COUNT) {
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, "tier",
				"give the tier: strategic, top, important or ordinary");
		return;
	}
	self = !*r->u.account_add.owner || strcmp(r->u.account_add.owner, c->who.username) == 0;
	actions[n++] = self ? AZ_ACCOUNT_CREATE : AZ_ACCOUNT_CREATE_FOR;
	if (r->u.account_add.tier == KAM_TIER_STRATEGIC)
		actions[n++] = AZ_ACCOUNT_SET_STRATEGIC;
	/* The account does not exist yet: the creator stands to it as its owner would, so
	 * only the role decides (see docs/authorization.md). */
	if (!svc_authorize(c, actions, n, KAM_REL_OWNER, 0))
		return;
	as = c->op_state = kam_arena_alloc(&c->arena, sizeof(*as));
	if (!as) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	if (self) {
		as->owner_id = c->who.user_id;
		as->owner_role = c->who.role;
		create_account(c);
		return;
	}
	lookup_user(c, r->u.account_add.owner, on_add_owner);
}

/* ---- list ---- */

static void on_list(void *arg, int err, const struct kam_account *accs, size_t n, int64_t next_after_id)
{
	struct svc_call *c = arg;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	/* Replied before the store callback returns, while its rows are valid. */
	c->resp.u.account_list.n = n;
	c->resp.u.account_list.accounts = (struct kam_account *)accs;
	c->resp.u.account_list.next_after_id = next_after_id;
	svc_reply(c);
}

static void run_list(struct svc_call *c)
{
	const struct kam_request *r = &c->req;
	struct store_list_filter *f = c->op_state;
	struct audit_entry *e;
	int rc;

	/* Only the filters given ("s*" leaves out a NULL). */
	e = svc_audit_detail(c, 0, json_pack("{s:s*, s:s*, s:s*}",
					     "tier", f->tier ? kam_tier_str(f->tier) : NULL,
					     "stage", f->stage ? kam_stage_str(f->stage) : NULL,
					     "owner", *r->u.account_list.owner ? r->u.account_list.owner : NULL));
	if (!e)
		return;
	rc = store_account_list(svc_store(), &c->who, f, e, on_list, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_list_owner(void *arg, int err, const struct kam_user *u)
{
	struct svc_call *c = arg;
	struct store_list_filter *f = c->op_state;

	/* Listing what a deactivated user owned is allowed (it should be nothing after hand-over). */
	if (!svc_user_found(c, err, u, c->req.u.account_list.owner, "owner", KAM_STATUS_INVALID_ARGUMENT, false))
		return;
	f->owner_id = u->id;
	run_list(c);
}

void svc_op_account_list(struct svc_call *c)
{
	struct kam_request *r = &c->req;
	struct store_list_filter *f;

	if (!svc_allow(c, AZ_ACCOUNT_LIST, KAM_REL_NONE, 0))
		return;
	f = c->op_state = kam_arena_alloc(&c->arena, sizeof(*f));
	if (!f) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	if (!r->u.account_list.owner)
		r->u.account_list.owner = "";
	f->tier = r->u.account_list.tier;
	f->stage = r->u.account_list.stage;
	f->after_id = r->u.account_list.after_id > 0 ? r->u.account_list.after_id : 0;
	f->limit = r->u.account_list.limit ? r->u.account_list.limit : KAM_LIST_DEFAULT;
	if (f->limit > KAM_LIST_MAX)
		f->limit = KAM_LIST_MAX;
	if (*r->u.account_list.owner)
		lookup_user(c, r->u.account_list.owner, on_list_owner);
	else
		run_list(c);
}

/* ---- show ---- */

/* A detail read the bulk-read watch let through; the audit entry names the layer read. */
static void show_read(struct svc_call *c)
{
	static const char *const layers[] = { "information" };
	struct audit_entry *e = svc_audit_read(c, c->watch_account_id, layers, 1, NULL);
	int rc;

	if (!e)
		return;
	rc = store_account_get(svc_store(), c->watch_account_id, e, on_account, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_show_access(void *arg, int err, const struct store_access *acc)
{
	struct svc_call *c = arg;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	if (!svc_allow(c, AZ_ACCOUNT_READ, acc->relation, acc->account_id))
		return;
	svc_watch_read(c, acc->account_id, show_read);   /* audit and churn (issue 4) */
}

void svc_op_account_show(struct svc_call *c)
{
	resolve_account(c, c->req.u.account_show.account, on_show_access);
}

/* ---- set ---- */

struct set_state {
	struct svc_changes ch;
	int64_t account_id;
	struct kam_account current;     /* copied into the arena */
	struct kam_account after;
};

static void on_stale_reread(void *arg, int err, const struct kam_account *acc)
{
	struct svc_call *c = arg;

	if (err == 0)
		c->stale_version = acc->version;
	svc_fail_store(c, KAM_ESTALE);
}

static void on_updated(void *arg, int err, const struct kam_account *acc)
{
	struct svc_call *c = arg;
	struct set_state *ss = c->op_state;
	int rc;

	/* Someone wrote between our read and our write: find out which version is current. */
	if (err == KAM_ESTALE) {
		rc = store_account_get(svc_store(), ss->account_id, NULL, on_stale_reread, c);
		if (rc < 0)
			svc_fail_store(c, KAM_ESTALE);
		return;
	}
	reply_account(c, err, acc);
}

static void update_account(struct svc_call *c)
{
	struct set_state *ss = c->op_state;
	struct svc_invalid why;
	struct audit_entry *e;
	int rc;

	svc_changes_apply(&ss->current, &ss->ch, &ss->after);
	/* -- layers (issue 3): amounts are minor units of a currency, so they need one -- */
	if (svc_info_check(&c->arena, &ss->after.info, svc_this_year(), &why) < 0) {
		reply_invalid(c, &why);
		return;
	}
	e = svc_audit_detail(c, ss->account_id, svc_changes_json(&ss->current, &ss->after));
	if (!e)
		return;
	rc = store_account_update(svc_store(), &ss->after, ss->current.version, e, on_updated, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_set_owner(void *arg, int err, const struct kam_user *u)
{
	struct svc_call *c = arg;
	struct set_state *ss = c->op_state;
	struct svc_invalid why;

	if (err < 0) {
		/* The owner row must exist; anything else is the store's trouble, not the caller's. */
		svc_fail_store(c, err == KAM_ENOTFOUND ? KAM_EINTERNAL : err);
		return;
	}
	if (svc_owner_fits_tier(ss->ch.values.tier, u->role, &why) < 0) {
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, "tier", "%s; its owner %s is %s: hand the account over first",
				why.message, u->username, kam_role_str(u->role));
		return;
	}
	update_account(c);
}

static void on_set_current(void *arg, int err, const struct kam_account *acc)
{
	struct svc_call *c = arg;
	struct set_state *ss = c->op_state;
	int64_t if_version = c->req.u.account_set.if_version;
	int rc;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	rc = svc_account_copy(&c->arena, acc, &ss->current);
	if (rc < 0) {
		svc_fail_store(c, rc);
		return;
	}
	if (if_version && ss->current.version != if_version) {
		c->stale_version = ss->current.version;
		svc_fail_store(c, KAM_ESTALE);
		return;
	}
	/* A tier with a seniority floor must still fit the owner. */
	if ((ss->ch.set & SVC_F_BIT(SVC_F_TIER)) && ss->ch.values.tier != ss->current.tier &&
	    (ss->ch.values.tier == KAM_TIER_STRATEGIC || ss->ch.values.tier == KAM_TIER_TOP)) {
		lookup_user(c, ss->current.owner, on_set_owner);
		return;
	}
	update_account(c);
}

static void on_set_access(void *arg, int err, const struct store_access *acc)
{
	struct svc_call *c = arg;
	struct set_state *ss = c->op_state;
	enum authz_action actions[SVC_MAX_ACTIONS];
	size_t n;
	int rc;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	n = svc_changes_actions(&ss->ch, acc->tier, actions);
	if (!svc_authorize(c, actions, n, acc->relation, acc->account_id))
		return;
	ss->account_id = acc->account_id;
	rc = store_account_get(svc_store(), acc->account_id, NULL, on_set_current, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

void svc_op_account_set(struct svc_call *c)
{
	const struct kam_request *r = &c->req;
	struct set_state *ss;
	struct svc_invalid why;

	ss = c->op_state = kam_arena_alloc(&c->arena, sizeof(*ss));
	if (!ss) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	/* Every FIELD=VALUE is checked before anything is looked up or authorized. */
	if (svc_changes_parse(&c->arena, r->u.account_set.fields, r->u.account_set.n_fields, &ss->ch, &why) < 0) {
		reply_invalid(c, &why);
		return;
	}
	resolve_account(c, r->u.account_set.account, on_set_access);
}

/* ---- assign / unassign ---- */

struct member_state {
	bool add;
	int64_t account_id;
	int64_t owner_id;
};

static void on_member_user(void *arg, int err, const struct kam_user *u)
{
	struct svc_call *c = arg;
	struct member_state *ms = c->op_state;
	const char *username = c->req.u.account_member.username;
	struct audit_entry *e;
	int rc;

	/* Only active users join a team; a deactivated one may still be taken off it. */
	if (!svc_user_found(c, err, u, username, "username", KAM_STATUS_NOT_FOUND, ms->add))
		return;
	if (!ms->add && u->id == ms->owner_id) {
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, "username", MSG_OWNER_STAYS);
		return;
	}
	e = svc_audit_detail(c, ms->account_id, json_pack("{s:s}", "username", username));
	if (!e)
		return;
	c->msg_conflict = kam_arena_printf(&c->arena, ms->add ? "%s is already on the team of account %s"
							       : "%s is not on the team of account %s",
					   username, c->account_ref);
	/* The store refuses it too, should the owner change in between. */
	c->msg_invalid = MSG_OWNER_STAYS;
	c->field_invalid = "username";
	rc = store_account_member(svc_store(), ms->account_id, u->id, ms->add, e, on_account, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_member_access(void *arg, int err, const struct store_access *acc)
{
	struct svc_call *c = arg;
	struct member_state *ms = c->op_state;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	if (!svc_allow(c, AZ_ACCOUNT_ASSIGN, acc->relation, acc->account_id))
		return;
	ms->account_id = acc->account_id;
	ms->owner_id = acc->owner_id;
	lookup_user(c, c->req.u.account_member.username, on_member_user);
}

void svc_op_account_member(struct svc_call *c)
{
	struct member_state *ms;

	ms = c->op_state = kam_arena_alloc(&c->arena, sizeof(*ms));
	if (!ms) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	ms->add = c->req.op == KAM_OP_ACCOUNT_ASSIGN;
	if (!c->req.u.account_member.username)
		c->req.u.account_member.username = "";
	resolve_account(c, c->req.u.account_member.account, on_member_access);
}
