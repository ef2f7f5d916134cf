/*
 * An account with all its layers (the layered account show), the review of one
 * account (layers plus the gaps of its tier) and the review of a team (one row
 * per account a user can see). Visibility and field-level rules come from
 * authz_decide alone; the computing is review_calc.c's. No values parsed here.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "db/store.h"
#include "fields.h"
#include "review_calc.h"
#include "svc_call.h"

/* The layers a team row needs (agreements do not count towards it). */
#define TEAM_LAYERS (KAM_LAYER_BIT(KAM_LAYER_BARRIERS) | KAM_LAYER_BIT(KAM_LAYER_PROJECTS) | \
		     KAM_LAYER_BIT(KAM_LAYER_CONTACTS) | KAM_LAYER_BIT(KAM_LAYER_VALUES))
/* A reporting line longer than this is treated as a loop. */
#define MAX_REPORTING_DEPTH 64

struct review_state {
	int64_t account_id;
	bool sensitive;
	struct kam_account account;        /* account: copied */
	/* team */
	struct kam_principal team;         /* whose team: the accounts this user sees */
	const char *team_name;
	int hops;
	struct kam_account *accounts;      /* the page, copied */
	int64_t *ids;                      /* their ids, ascending */
	size_t n_accounts;
	int64_t next_after_id;
};

static struct review_state *state_new(struct svc_call *c)
{
	struct review_state *rs = c->op_state = kam_arena_alloc(&c->arena, sizeof(*rs));

	if (!rs)
		svc_fail_store(c, KAM_ENOMEM);
	return rs;
}

/* ---- one account: account_layers and review_account ---- */

static void on_account_layers(void *arg, int err, const struct kam_layers *l)
{
	struct svc_call *c = arg;
	struct review_state *rs = c->op_state;
	bool review = c->req.op == KAM_OP_REVIEW_ACCOUNT;
	struct kam_layers *out = review ? &c->resp.u.review.layers : &c->resp.u.layers;

	if (!err)
		err = svc_layers_answer(&c->arena, l, rs->sensitive, out);
	if (!err && review)
		err = svc_review_gaps(&c->arena, &rs->account, out, rs->sensitive, &c->resp.u.review.gaps,
				      &c->resp.u.review.n_gaps);
	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	out->has_account = true;
	out->account = rs->account;
	svc_reply(c);
}

static void on_account(void *arg, int err, const struct kam_account *acc)
{
	struct svc_call *c = arg;
	struct review_state *rs = c->op_state;
	int rc;

	if (!err)
		err = svc_account_copy(&c->arena, acc, &rs->account);
	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	rc = store_layers_get(svc_store(), &rs->account_id, 1, KAM_LAYER_ALL, rs->sensitive, NULL, on_account_layers, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

/*
 * -- audit and churn (issue 4) --
 * The show (or review) is audited with the read of the account, in its transaction,
 * naming the layers read (contacts without their sensitive fields, for reps).
 */
static void read_account(struct svc_call *c)
{
	static const char *const all[] = { "information", "barriers", "projects", "contacts", "values", "agreements" };
	static const char *const limited[] = { "information", "barriers", "projects", "contacts (name, title, role)",
					       "values", "agreements" };
	struct review_state *rs = c->op_state;
	struct audit_entry *e = svc_audit_read(c, rs->account_id, rs->sensitive ? all : limited, 6, NULL);
	int rc;

	if (!e)
		return;
	rc = store_account_get(svc_store(), rs->account_id, e, on_account, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_access(void *arg, int err, const struct store_access *acc)
{
	struct svc_call *c = arg;
	struct review_state *rs = c->op_state;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	if (!svc_allow(c, AZ_ACCOUNT_READ, acc->relation, acc->account_id))
		return;
	rs->account_id = acc->account_id;
	rs->sensitive = authz_decide(c->who.role, AZ_CONTACT_SENSITIVE, acc->relation) == AUTHZ_ALLOW;
	/* -- audit and churn (issue 4): a detail read passes the bulk-read watch first -- */
	svc_watch_read(c, acc->account_id, read_account);
}

static void one_account(struct svc_call *c)
{
	int rc;

	if (!state_new(c))
		return;
	c->account_ref = c->req.u.layer_list.account ? c->req.u.layer_list.account : "";
	rc = store_account_access(svc_store(), &c->who, c->account_ref, on_access, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

void svc_op_account_layers(struct svc_call *c)
{
	one_account(c);
}

void svc_op_review_account(struct svc_call *c)
{
	one_account(c);
}

/* ---- a team ---- */

static void on_team_layers(void *arg, int err, const struct kam_layers *l)
{
	struct svc_call *c = arg;
	struct review_state *rs = c->op_state;
	struct kam_team_row *rows = NULL;

	if (!err && rs->n_accounts && !(rows = kam_arena_alloc(&c->arena, rs->n_accounts * sizeof(*rows))))
		err = KAM_ENOMEM;
	for (size_t i = 0; !err && i < rs->n_accounts; i++) {
		struct kam_layers one, answer;

		svc_layers_slice(l, rs->accounts[i].id, &one);
		err = svc_layers_answer(&c->arena, &one, rs->sensitive, &answer);
		if (!err)
			err = svc_review_row(&c->arena, &rs->accounts[i], &answer, rs->sensitive, &rows[i]);
	}
	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	c->resp.u.review_team.rows = rows;
	c->resp.u.review_team.n = rs->n_accounts;
	c->resp.u.review_team.next_after_id = rs->next_after_id;
	svc_reply(c);
}

/* The information layer of each account of the page (list rows come without it), then their layers. */
static void on_team_infos(void *arg, int err, const int64_t *ids, const struct kam_info *infos, size_t n)
{
	struct svc_call *c = arg;
	struct review_state *rs = c->op_state;
	int rc;

	for (size_t i = 0, k = 0; !err && i < rs->n_accounts; i++) {
		struct kam_account *a = &rs->accounts[i];

		while (k < n && ids[k] < a->id)
			k++;
		if (k < n && ids[k] == a->id) {
			a->has_info = true;
			a->info = infos[k];
			err = svc_account_copy(&c->arena, a, a);
		}
	}
	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	rc = store_layers_get(svc_store(), rs->ids, rs->n_accounts, TEAM_LAYERS, rs->sensitive, NULL, on_team_layers, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_team_page(void *arg, int err, const struct kam_account *accs, size_t n, int64_t next_after_id)
{
	struct svc_call *c = arg;
	struct review_state *rs = c->op_state;
	int64_t *ids = NULL;
	int rc;

	if (!err && n && (!(rs->accounts = kam_arena_alloc(&c->arena, n * sizeof(*rs->accounts))) ||
			  !(ids = kam_arena_alloc(&c->arena, n * sizeof(*ids)))))
		err = KAM_ENOMEM;
	for (size_t i = 0; !err && i < n; i++) {
		err = svc_account_copy(&c->arena, &accs[i], &rs->accounts[i]);
		ids[i] = accs[i].id;
	}
	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	rs->n_accounts = n;
	rs->ids = ids;
	rs->next_after_id = next_after_id;
	rc = store_account_infos(svc_store(), ids, n, on_team_infos, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

/* Authorized on the relation to the team's user; then the accounts that user sees. */
static void team_review(struct svc_call *c, enum kam_relation rel)
{
	struct review_state *rs = c->op_state;
	struct store_list_filter f = { .after_id = c->req.u.review_team.after_id, .limit = c->req.u.review_team.limit };
	struct audit_entry *e;
	int rc;

	if (!svc_allow(c, AZ_REVIEW_TEAM, rel, 0))
		return;
	/* Every account of a team the caller may review is one they see at least as a
	 * manager of someone on it: that relation decides what of the contacts shows. */
	rs->sensitive = authz_decide(c->who.role, AZ_CONTACT_SENSITIVE, KAM_REL_MANAGES_MEMBER) == AUTHZ_ALLOW;
	e = svc_audit_detail(c, 0, json_pack("{s:s}", "user", rs->team_name));
	if (!e)
		return;
	rc = store_account_list(svc_store(), &rs->team, &f, e, on_team_page, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

/* Walk up the team user's reporting line: the caller on it makes them the user's manager. */
static void on_line_user(void *arg, int err, const struct kam_user *u)
{
	struct svc_call *c = arg;
	struct review_state *rs = c->op_state;
	int rc;

	if (err == KAM_ENOTFOUND) {
		svc_reply_account_not_found(c);
		return;
	}
	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	if (rs->hops++ == 0) {
		rs->team.user_id = u->id;
		/* Seen with no more reach than the caller's: a GM who reports to a manager must not
		 * show that manager every account. Everyone in the caller's line sees only accounts
		 * the caller sees, as long as they see them as no more than the caller's role would. */
		rs->team.role = u->role > c->who.role ? c->who.role : u->role;
	}
	if (!*u->reports_to || rs->hops > MAX_REPORTING_DEPTH) {
		team_review(c, KAM_REL_NONE);
		return;
	}
	if (strcmp(u->reports_to, c->who.username) == 0) {
		team_review(c, KAM_REL_MANAGES_MEMBER);
		return;
	}
	rc = store_user_get(svc_store(), u->reports_to, on_line_user, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

void svc_op_review_team(struct svc_call *c)
{
	struct review_state *rs = state_new(c);
	const char *user = c->req.u.review_team.user ? c->req.u.review_team.user : "";
	int rc;

	if (!rs)
		return;
	rs->team_name = *user ? user : c->who.username;
	/* A team the caller may not see reads like a user that does not exist. */
	c->msg_not_found = kam_arena_printf(&c->arena, "no team of user %s that you can see", rs->team_name);
	c->field_not_found = "user";
	if (!c->msg_not_found) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	if (!*user || strcmp(user, c->who.username) == 0) {
		rs->team = c->who;
		team_review(c, KAM_REL_OWNER);
		return;
	}
	snprintf(rs->team.username, sizeof(rs->team.username), "%s", user);
	rc = store_user_get(svc_store(), user, on_line_user, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}
