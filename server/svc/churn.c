/*
 * kam user deactivate USER --handover-to USER and kam user handover USER --to
 * USER [--account A...]: the GM, or a manager the user reports to. The names
 * are resolved and authorized here; the store moves everything (or nothing)
 * in one statement and says why when it refuses. Never deletes anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "db/store.h"
#include "log.h"
#include "svc_call.h"

/* Room for a list of refused account names in one error line. */
#define NAMES_MAX 600

struct churn_state {
	bool deactivate;
	const char *to_field;           /* how the request names the successor */
	struct kam_user from;           /* copied into the arena */
	struct kam_user to;
	const char *accounts_json;      /* NULL: all */
};

/* "A, B and C", cut short with ", ..." when it does not fit. */
static void join_names(const char *const *names, size_t n, char *out, size_t cap)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && used + 8 < cap; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " and " : ", ";
		int w = snprintf(out + used, cap - used, "%s%s", sep, names[i]);

		if (w < 0 || used + (size_t)w >= cap - 8) {
			snprintf(out + used, cap - used, ", ...");
			return;
		}
		used += (size_t)w;
	}
}

static void on_handed_over(void *arg, int err, const struct store_handover_result *r)
{
	struct svc_call *c = arg;
	struct churn_state *cs = c->op_state;
	struct kam_handover *h = &c->resp.u.handover;
	char names[NAMES_MAX];

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	switch (r->outcome) {
	case STORE_HANDOVER_TIER:
		join_names(r->names, r->n_names, names, sizeof(names));
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, cs->to_field,
				"%s is %s, too junior for %s (a strategic account needs a manager or the GM, a TOP "
				"account a solution rep or above); nothing was handed over",
				cs->to.username, kam_role_str(cs->to.role), names);
		return;
	case STORE_HANDOVER_REPORTS:
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, cs->to_field,
				"people report to %s: hand over to a manager or the GM, who takes them over; "
				"nothing was changed", cs->from.username);
		return;
	case STORE_HANDOVER_INACTIVE:
		svc_reply_error(c, KAM_STATUS_CONFLICT, NULL, "%s or %s was deactivated meanwhile; nothing was changed",
				cs->from.username, cs->to.username);
		return;
	case STORE_HANDOVER_DONE:
		break;
	}
	kam_log(KAM_LOG_INFO, c->peer, "%s %s %s: %zu accounts and %u open projects to %s, %u sessions revoked",
		c->who.username, cs->deactivate ? "deactivated" : "handed over from", cs->from.username, r->n_names,
		r->projects, cs->to.username, r->sessions_revoked);
	*h = (struct kam_handover){
		.user = cs->from,
		.to = cs->to.username,
		.n_accounts = r->n_names,
		.accounts = r->names,
		.projects = r->projects,
		.sessions_revoked = r->sessions_revoked,
		.n_reports = r->n_reports,
		.reports = r->reports,
	};
	if (cs->deactivate)
		h->user.active = false;
	svc_reply(c);
}

static void hand_over(struct svc_call *c)
{
	struct churn_state *cs = c->op_state;
	struct store_handover_req req = {
		.from_id = cs->from.id,
		.to_id = cs->to.id,
		.deactivate = cs->deactivate,
		.accounts_json = cs->accounts_json,
	};
	struct audit_entry *e;
	int rc;

	e = svc_audit_detail(c, 0, json_pack("{s:s, s:I, s:s}", "user", cs->from.username, "user_id",
					     (json_int_t)cs->from.id, "to", cs->to.username));
	if (!e)
		return;
	rc = store_handover(svc_store(), &req, e, on_handed_over, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_accounts(void *arg, int err, const int64_t *ids, size_t n)
{
	struct svc_call *c = arg;
	struct churn_state *cs = c->op_state;
	json_t *arr;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	/* Missing and not on the user's team look the same: a manager learns of no other account. */
	for (size_t i = 0; i < n; i++)
		if (ids[i] == 0) {
			svc_reply_error(c, KAM_STATUS_NOT_FOUND, "accounts", "%s is on no account named %s",
					cs->from.username, c->req.u.handover.accounts[i]);
			return;
		}
	arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, json_integer(ids[i])) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	cs->accounts_json = svc_json_text(c, arr);
	if (!cs->accounts_json) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	hand_over(c);
}

const char *svc_json_text(struct svc_call *c, json_t *v)
{
	char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
	const char *out = text ? kam_arena_strdup(&c->arena, text) : NULL;

	json_decref(v);
	free(text);
	return out;
}

const char *svc_json_strings(struct svc_call *c, const char *const *s, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, json_string(s[i])) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	return svc_json_text(c, arr);
}

static void on_successor(void *arg, int err, const struct kam_user *u)
{
	struct svc_call *c = arg;
	struct churn_state *cs = c->op_state;
	const char *refs;
	int rc;

	if (!svc_user_found(c, err, u, c->req.u.handover.to, cs->to_field, KAM_STATUS_NOT_FOUND, true))
		return;
	if (svc_user_keep(c, u, &cs->to) < 0) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	if (c->req.u.handover.n_accounts == 0) {
		hand_over(c);
		return;
	}
	refs = svc_json_strings(c, c->req.u.handover.accounts, c->req.u.handover.n_accounts);
	rc = refs ? store_user_accounts(svc_store(), cs->from.id, refs, on_accounts, c) : KAM_ENOMEM;
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_leaver(void *arg, int err, const struct store_user_target *t)
{
	struct svc_call *c = arg;
	struct churn_state *cs = c->op_state;
	const char *name = c->req.u.handover.username;
	int rc;

	if (!svc_user_found(c, err, t ? &t->user : NULL, name, "username", KAM_STATUS_NOT_FOUND, false))
		return;
	if (!t->reports_to_caller &&
	    !svc_allow(c, cs->deactivate ? AZ_USER_DEACTIVATE : AZ_USER_HANDOVER, KAM_REL_NONE, 0))
		return;
	if (cs->deactivate && !t->user.active) {
		svc_reply_error(c, KAM_STATUS_CONFLICT, "username", "user %s is already deactivated", name);
		return;
	}
	if (svc_user_keep(c, &t->user, &cs->from) < 0) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	rc = store_user_get(svc_store(), c->req.u.handover.to, on_successor, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

void svc_op_user_deactivate(struct svc_call *c)
{
	struct churn_state *cs;
	bool deactivate = c->req.op == KAM_OP_USER_DEACTIVATE;
	int rc;

	if (!c->req.u.handover.username)
		c->req.u.handover.username = "";
	if (!c->req.u.handover.to)
		c->req.u.handover.to = "";
	/* Reps hand over nobody: refused before anyone is looked up. */
	if (!svc_allow(c, deactivate ? AZ_USER_DEACTIVATE_REPORT : AZ_USER_HANDOVER_REPORT, KAM_REL_NONE, 0))
		return;
	cs = c->op_state = kam_arena_alloc(&c->arena, sizeof(*cs));
	if (!cs) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	cs->deactivate = deactivate;
	cs->to_field = deactivate ? "handover_to" : "to";
	if (strcmp(c->req.u.handover.username, c->req.u.handover.to) == 0) {
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, cs->to_field, "hand over to someone other than %s",
				c->req.u.handover.username);
		return;
	}
	if (deactivate && strcmp(c->req.u.handover.username, c->who.username) == 0) {
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, "username", "you cannot deactivate yourself");
		return;
	}
	rc = store_user_target(svc_store(), &c->who, c->req.u.handover.username, on_leaver, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}
