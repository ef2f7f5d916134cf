/*
 * kam audit log (managers: their teams' accounts; the GM: everything; reps:
 * nothing) and kam audit verify (the GM): the chain walked page by page by
 * audit/chain.c against the heads and the latest signed checkpoint. Both are
 * audited. Must not trust the database's word that a row is intact.
 */
#include <jansson.h>

#include "audit/checkpoint.h"
#include "db/store.h"
#include "log.h"
#include "net/session.h"
#include "svc_call.h"

/* Chain rows per store round trip while verifying. */
#define VERIFY_PAGE 1000

/* ---- kam audit log ---- */

static void on_entries(void *arg, int err, const struct kam_audit_entry *e, size_t n, int64_t next_before_id)
{
	struct svc_call *c = arg;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	/* Replied before the store callback returns, while its rows are valid. */
	c->resp.u.audit_log.entries = (struct kam_audit_entry *)e;
	c->resp.u.audit_log.n = n;
	c->resp.u.audit_log.next_before_id = next_before_id;
	svc_reply(c);
}

static void run_log(struct svc_call *c, int64_t account_id)
{
	const struct kam_audit_filter *f = &c->req.u.audit_log;
	struct store_audit_query q = {
		.account_id = account_id,
		.username = f->username,
		.since = f->since,
		.until = f->until,
		.action = f->action,
		.before_id = f->before_id,
		.limit = f->limit,
	};
	struct audit_entry *e;
	int rc;

	json_t *d = json_pack("{s:s*, s:s*, s:s*}", "account", *f->account ? f->account : NULL,
			      "user", *f->username ? f->username : NULL, "action", *f->action ? f->action : NULL);

	/* The filters given, so the trail says who looked at what. */
	if (d && ((f->since && json_object_set_new(d, "since", json_integer(f->since)) < 0) ||
		  (f->until && json_object_set_new(d, "until", json_integer(f->until)) < 0))) {
		json_decref(d);
		d = NULL;
	}
	e = svc_audit_detail(c, account_id, d);
	if (!e)
		return;
	rc = store_audit_log(svc_store(), &c->who, &q, e, on_entries, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_log_account(void *arg, int err, const struct store_access *acc)
{
	struct svc_call *c = arg;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	/* The trail of an account the caller cannot see does not exist for them. */
	if (!svc_allow(c, AZ_ACCOUNT_READ, acc->relation, acc->account_id))
		return;
	run_log(c, acc->account_id);
}

void svc_op_audit_log(struct svc_call *c)
{
	struct kam_audit_filter *f = &c->req.u.audit_log;
	int rc;

	if (!svc_allow(c, AZ_AUDIT_LOG, KAM_REL_NONE, 0))
		return;
	if (!f->account)
		f->account = "";
	if (!f->username)
		f->username = "";
	if (!f->action)
		f->action = "";
	if (f->since && f->until && f->until <= f->since) {
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, "until", "--until must be later than --since");
		return;
	}
	if (!*f->account) {
		run_log(c, 0);
		return;
	}
	c->account_ref = f->account;
	rc = store_account_access(svc_store(), &c->who, f->account, on_log_account, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

/* ---- kam audit verify ---- */

struct verify_state {
	struct audit_verifier v;
	struct audit_checkpoint cp;
	bool has_cp;
	const char *cp_problem;      /* the daemon's own checkpoint file was refused at start */
};

static void on_verify_audited(void *arg, int err)
{
	struct svc_call *c = arg;
	struct verify_state *vs = c->op_state;
	struct kam_audit_verify *out = &c->resp.u.audit_verify;

	/* The verdict is not given unless it is on record. */
	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	*out = (struct kam_audit_verify){
		.intact = !vs->v.broken,
		.entries = vs->v.entries,
		.partitions = AUDIT_PARTS,
		.bad_entry_id = vs->v.bad_id,
		.bad_partition = vs->v.bad_part,
		.bad_seq = vs->v.bad_seq,
		.problem = vs->v.problem,
		.checkpoint_used = vs->has_cp,
		.checkpoint_at = vs->has_cp ? vs->cp.at : 0,
		.checkpoint_entries = vs->has_cp ? vs->cp.entries : 0,
		.checkpoint_key = vs->has_cp ? vs->cp.key_fp : "",
	};
	svc_reply(c);
}

static void verify_done(struct svc_call *c)
{
	struct verify_state *vs = c->op_state;
	struct audit_verifier *v = &vs->v;
	struct audit_entry *e;
	int rc;

	audit_verify_finish(v);
	if (!v->broken && vs->cp_problem) {
		v->broken = true;
		snprintf(v->problem, sizeof(v->problem), "%s", vs->cp_problem);
	}
	if (v->broken)
		kam_log(KAM_LOG_ERROR, c->peer, "audit chain broken: %s", v->problem);
	e = svc_audit_detail(c, 0, json_pack("{s:b, s:I, s:s*, s:I, s:b}", "intact", !v->broken,
					     "entries", (json_int_t)v->entries, "problem", v->broken ? v->problem : NULL,
					     "entry", (json_int_t)v->bad_id, "checkpoint", vs->has_cp));
	if (!e)
		return;
	rc = store_audit_write(svc_store(), e, on_verify_audited, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_chain(void *arg, int err, const struct audit_chain_row *rows, size_t n)
{
	struct svc_call *c = arg;
	struct verify_state *vs = c->op_state;
	int rc;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	rc = audit_verify_rows(&vs->v, rows, n);
	if (rc < 0) {
		svc_fail_store(c, rc);
		return;
	}
	/* Nobody waits for the verdict any more: stop reading. */
	if (!session_is_open(c->session)) {
		svc_fail_store(c, KAM_ECANCELED);
		return;
	}
	if (rc == 0 || n < VERIFY_PAGE) {
		verify_done(c);
		return;
	}
	rc = store_audit_chain(svc_store(), rows[n - 1].part, rows[n - 1].seq, VERIFY_PAGE, on_chain, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_heads(void *arg, int err, const struct audit_head heads[AUDIT_PARTS])
{
	struct svc_call *c = arg;
	struct verify_state *vs = c->op_state;
	int rc;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	audit_verify_init(&vs->v, heads, vs->has_cp ? vs->cp.heads : NULL);
	rc = store_audit_chain(svc_store(), 0, 0, VERIFY_PAGE, on_chain, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

void svc_op_audit_verify(struct svc_call *c)
{
	const char *text = c->req.u.audit_verify.checkpoint;
	const struct audit_checkpoint *latest;
	struct verify_state *vs;
	char why[256];
	int rc;

	if (!svc_allow(c, AZ_AUDIT_VERIFY, KAM_REL_NONE, 0))
		return;
	vs = c->op_state = kam_arena_alloc(&c->arena, sizeof(*vs));
	if (!vs) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	if (text && *text) {
		if (svc_checkpoint_check(text, &vs->cp, why, sizeof(why)) < 0) {
			svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, "checkpoint", "checkpoint: %s", why);
			return;
		}
		vs->has_cp = true;
	} else if ((latest = svc_checkpoint_latest(&vs->cp_problem))) {
		vs->cp = *latest;
		vs->has_cp = true;
	}
	rc = store_audit_heads(svc_store(), on_heads, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}
