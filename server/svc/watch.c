/*
 * The bulk-read watch: every detail read is admitted (or refused) by the
 * store before it runs; a refusal is audited as denied and answered with
 * PERMISSION_DENIED. Also kam audit alerts and kam audit clear, and the audit
 * record of a read (which layers). Must not read anything itself.
 */
#include <jansson.h>

#include "db/store.h"
#include "log.h"
#include "svc_call.h"

/* Minutes are how people say the window; seconds when it is not whole minutes. */
#define WINDOW_UNIT(s) ((s) % 60 == 0 ? (s) / 60 : (s))
#define WINDOW_WORD(s) ((s) % 60 == 0 ? "minutes" : "seconds")

struct audit_entry *svc_audit_read(struct svc_call *c, int64_t account_id, const char *const *layers, size_t n,
				   json_t *extra)
{
	json_t *arr = json_array(), *d = extra ? extra : json_object();

	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, json_string(layers[i])) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	if (!arr || !d || json_object_set_new(d, "layers", arr) < 0) {
		json_decref(d);
		d = NULL;
	}
	return svc_audit_detail(c, account_id, d);
}

static uint32_t limit_of(enum kam_role role)
{
	const struct svc_config *cfg = svc_config();

	switch (role) {
	case KAM_ROLE_JUNIOR:
	case KAM_ROLE_SOLUTION:
		return cfg->bulk_read_limit;
	case KAM_ROLE_MANAGER:
		return cfg->bulk_read_limit_manager;
	default:
		return 0;   /* the GM reads (and exports) everything anyway */
	}
}

static void on_refusal_audited(void *arg, int err)
{
	struct svc_call *c = arg;
	const struct svc_config *cfg = svc_config();
	uint32_t limit = limit_of(c->who.role), win = cfg->bulk_read_window_s;

	if (err < 0)
		kam_log(KAM_LOG_ERROR, c->peer, "cannot audit the bulk-read refusal of %s: %s", c->who.username,
			kam_strerror(err));
	svc_reply_error(c, KAM_STATUS_PERMISSION_DENIED, NULL,
			"reading refused: %s read more than %u accounts within %u %s and is flagged; "
			"a manager or the GM must clear it (kam audit clear %s)",
			c->who.username, limit, WINDOW_UNIT(win), WINDOW_WORD(win), c->who.username);
}

static void on_admitted(void *arg, int err, const struct store_watch *w)
{
	struct svc_call *c = arg;
	const struct svc_config *cfg = svc_config();
	struct audit_entry *e;
	int rc;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	if (w->verdict == STORE_WATCH_OK) {
		c->watch_next(c);
		return;
	}
	if (w->verdict == STORE_WATCH_FLAGGED_NOW)
		kam_log(KAM_LOG_WARN, c->peer, "bulk read: %s read %u distinct accounts within %u s; flagged",
			c->who.username, w->reads, cfg->bulk_read_window_s);
	/* The refused read is a denied attempt like any other. */
	e = svc_audit(c, c->watch_account_id, AUDIT_DENIED);
	e->detail = svc_json_detail(c, json_pack("{s:s, s:i, s:i, s:i, s:b}", "denied", "bulk_read",
						 "reads", (json_int_t)w->reads, "limit", (json_int_t)limit_of(c->who.role),
						 "window_s", (json_int_t)cfg->bulk_read_window_s,
						 "flagged_now", w->verdict == STORE_WATCH_FLAGGED_NOW));
	rc = store_audit_write(svc_store(), e, on_refusal_audited, c);
	if (rc < 0)
		on_refusal_audited(c, rc);
}

void svc_watch_read(struct svc_call *c, int64_t account_id, void (*next)(struct svc_call *c))
{
	struct store_watch_limit lim = { limit_of(c->who.role), svc_config()->bulk_read_window_s };

	c->watch_next = next;
	c->watch_account_id = account_id;
	if (lim.limit == 0 || lim.window_s == 0) {
		next(c);
		return;
	}
	/* Issue 5: admitted inside the read's own job; a refusal comes back as KAM_EWATCH. */
	store_watch_guard(svc_store(), &c->who, c->peer, account_id, &lim);
	next(c);
	store_guard_clear(svc_store());
}

void svc_watch_recheck(struct svc_call *c)
{
	struct store_watch_limit lim = { limit_of(c->who.role), svc_config()->bulk_read_window_s };
	int rc;

	/* On its own, so a refusal's flag commits; if it admits now, the read runs unguarded. */
	rc = store_watch_admit(svc_store(), &c->who, c->peer, c->watch_account_id, &lim, on_admitted, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

/* ---- kam audit alerts ---- */

static void on_alerts(void *arg, int err, const struct kam_alert *alerts, size_t n)
{
	struct svc_call *c = arg;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	/* Replied before the store callback returns, while its rows are valid. */
	c->resp.u.audit_alerts.alerts = (struct kam_alert *)alerts;
	c->resp.u.audit_alerts.n = n;
	svc_reply(c);
}

void svc_op_audit_alerts(struct svc_call *c)
{
	int rc;

	if (!svc_allow(c, AZ_AUDIT_ALERTS, KAM_REL_NONE, 0))
		return;
	rc = store_watch_alerts(svc_store(), &c->who, svc_audit(c, 0, AUDIT_ALLOWED), on_alerts, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

/* ---- kam audit clear ---- */

static void on_cleared(void *arg, int err, int64_t reads)
{
	struct svc_call *c = arg;
	struct kam_alert *al = c->op_state;

	if (err == KAM_ENOTFOUND) {
		svc_reply_error(c, KAM_STATUS_NOT_FOUND, "username", "%s is not flagged for bulk reading", al->username);
		return;
	}
	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	al->reads = reads > 0 ? (uint32_t)reads : 0;
	kam_log(KAM_LOG_INFO, c->peer, "%s cleared the bulk-read flag of %s", c->who.username, al->username);
	c->resp.u.alert = *al;
	svc_reply(c);
}

static void on_clear_target(void *arg, int err, const struct store_user_target *t)
{
	struct svc_call *c = arg;
	const char *name = c->req.u.audit_clear.username;
	struct kam_alert *al;
	struct audit_entry *e;
	int rc;

	if (!svc_user_found(c, err, t ? &t->user : NULL, name, "username", KAM_STATUS_NOT_FOUND, false))
		return;
	if (!t->reports_to_caller && !svc_allow(c, AZ_AUDIT_CLEAR, KAM_REL_NONE, 0))
		return;
	al = c->op_state = kam_arena_alloc(&c->arena, sizeof(*al));
	if (!al || !(al->username = kam_arena_strdup(&c->arena, t->user.username)) ||
	    !(al->reports_to = kam_arena_strdup(&c->arena, t->user.reports_to ? t->user.reports_to : ""))) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	e = svc_audit_detail(c, 0, json_pack("{s:s, s:I}", "subject", al->username, "subject_id",
					     (json_int_t)t->user.id));
	if (!e)
		return;
	rc = store_watch_clear(svc_store(), t->user.id, e, on_cleared, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

void svc_op_audit_clear(struct svc_call *c)
{
	int rc;

	if (!c->req.u.audit_clear.username)
		c->req.u.audit_clear.username = "";
	/* Reps clear nobody: refused before anyone is looked up. */
	if (!svc_allow(c, AZ_AUDIT_CLEAR_REPORT, KAM_REL_NONE, 0))
		return;
	rc = store_user_target(svc_store(), &c->who, c->req.u.audit_clear.username, on_clear_target, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}
