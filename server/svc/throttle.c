/*
 * A throttled password check (throttle.h): gate in the store (limits per
 * name and per address, shared by every kamd instance), argon2id off the
 * loop, then the outcome recorded with its audit rows. Every attempt is
 * audited, refused ones too. Must never log, audit or keep a password.
 */
#include <argon2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "db/store.h"
#include "log.h"
#include "net/session.h"
#include "throttle.h"
#include "work.h"

#define MSG_BUSY "kamd is busy checking passwords; try again"

/*
 * The names with a check running in this kamd, each with the checks waiting
 * for it. The gate reserves a running check as a failure (so concurrent
 * checks across instances cannot pass a limit); serialising checks per name
 * here keeps right passwords entered at once from counting as a burst.
 * Bounded by the checks in flight, which connections bound.
 */
struct pw_turn {
	struct pw_turn *next;
	struct svc_call *head, *tail;      /* waiting, linked through their pwcheck */
	char name[KAM_MAX_USERNAME + 1];
};

static struct pw_turn *turns;

static void gate(struct svc_call *c, struct svc_pwcheck *pc);

static struct store_throttle limits(void)
{
	const struct svc_config *cfg = svc_config();

	return (struct store_throttle){
		.threshold = cfg->lockout_threshold,
		.initial_s = cfg->lockout_initial_s,
		.max_s = cfg->lockout_max_s,
		.per_hour = cfg->failures_per_hour,
		.per_minute = cfg->failures_per_minute,
	};
}

/*
 * The audit entry of an attempt that did not succeed. An authenticated call
 * (user passwd) is the caller's; a login names the claimed user, and who it
 * is when the name exists. Never the password.
 */
static struct audit_entry *attempt_audit(struct svc_call *c, struct svc_pwcheck *pc, json_t *detail)
{
	struct audit_entry *e = &c->audit;

	if (c->who.user_id) {
		e = svc_audit(c, 0, AUDIT_FAILED);
	} else {
		audit_entry_init(e, NULL, c->req.op, 0, AUDIT_FAILED, c->peer);
		e->user_id = pc->known ? pc->user_id : 0;
		e->username = pc->username;
		e->role = pc->known ? pc->role : KAM_ROLE_NONE;
	}
	e->detail = svc_json_detail(c, detail);
	return e;
}

static void refuse(struct svc_call *c, const struct svc_pwcheck *pc, enum kam_status code, const char *msg)
{
	svc_reply_error(c, code, pc->field, "%s", msg);
}

static void on_refusal_audited(void *arg, int err)
{
	struct svc_call *c = arg;
	struct svc_pwcheck *pc = c->op_state;

	if (err < 0)
		kam_log(KAM_LOG_ERROR, c->peer, "cannot audit a refused password check: %s", kam_strerror(err));
	refuse(c, pc, pc->refuse_code, pc->refuse_msg);
}

/* Audit the attempt on its own, then answer; ends the call. */
static void audit_and_refuse(struct svc_call *c, struct svc_pwcheck *pc, json_t *detail, enum kam_status code,
			     const char *msg)
{
	int rc;

	pc->refuse_code = code;
	pc->refuse_msg = msg ? msg : pc->wrong_msg;
	rc = store_audit_write(svc_store(), attempt_audit(c, pc, detail), on_refusal_audited, c);
	if (rc < 0)
		on_refusal_audited(c, rc);
}

void svc_pwcheck_refuse(struct svc_call *c, struct svc_pwcheck *pc, const char *reason, const char *msg)
{
	kam_log(KAM_LOG_INFO, c->peer, "%s as %s failed: %s", kam_op_str(c->req.op), pc->username, reason);
	audit_and_refuse(c, pc, json_pack("{s:s}", "reason", reason), KAM_STATUS_UNAUTHENTICATED, msg);
}

/* ---- the outcome ---- */

static struct pw_turn **turn_slot(const char *name)
{
	struct pw_turn **tp = &turns;

	while (*tp && strcmp((*tp)->name, name) != 0)
		tp = &(*tp)->next;
	return tp;
}

/*
 * The check of pc is over (its outcome is recorded): hand the name's turn to
 * the next waiting check, or forget the name. Before the call ends, since pc
 * lives in its arena.
 */
static void turn_done(struct svc_pwcheck *pc)
{
	struct pw_turn **tp, *t;

	if (!pc->has_turn)
		return;
	pc->has_turn = false;
	tp = turn_slot(pc->username);
	t = *tp;
	if (!t)
		return;
	if (t->head) {
		struct svc_call *w = t->head;
		struct svc_pwcheck *wp = w->op_state;

		t->head = wp->next_waiting;
		if (!t->head)
			t->tail = NULL;
		wp->next_waiting = NULL;
		wp->has_turn = true;
		gate(w, wp);
		return;
	}
	*tp = t->next;
	free(t);
}

static void on_failure_recorded(void *arg, int err, int failures, int64_t locked_until)
{
	struct svc_call *c = arg;
	struct svc_pwcheck *pc = c->op_state;

	if (err < 0)
		kam_log(KAM_LOG_ERROR, c->peer, "cannot record a failed password check: %s", kam_strerror(err));
	else if (locked_until)
		kam_log(KAM_LOG_WARN, c->peer, "%s locked after %d consecutive failed password checks",
			pc->username, failures);
	turn_done(pc);
	refuse(c, pc, KAM_STATUS_UNAUTHENTICATED, pc->wrong_msg);
}

static void on_passed(void *arg, int err)
{
	struct svc_call *c = arg;
	struct svc_pwcheck *pc = c->op_state;

	/* The password was right whatever the bookkeeping says; a failure only keeps the count. */
	if (err < 0)
		kam_log(KAM_LOG_WARN, c->peer, "cannot clear the failed password checks of %s: %s", pc->username,
			kam_strerror(err));
	turn_done(pc);
	pc->verified(c, pc);
}

static void on_released(void *arg, int err)
{
	struct svc_call *c = arg;

	if (err < 0)
		kam_log(KAM_LOG_ERROR, c->peer, "cannot release a password check: %s", kam_strerror(err));
	turn_done(c->op_state);
	svc_reply_error(c, KAM_STATUS_UNAVAILABLE, NULL, MSG_BUSY);
}

/* The hash never ran: undo the reservation, audit the attempt, answer "busy". */
static void release(struct svc_call *c, struct svc_pwcheck *pc)
{
	int rc = store_login_release(svc_store(), pc->reservation, pc->username,
				     attempt_audit(c, pc, json_pack("{s:s}", "reason", "kamd busy")), on_released, c);

	if (rc < 0)
		on_released(c, rc);
}

static void verify_work(void *arg)
{
	struct svc_call *c = arg;
	struct svc_pwcheck *pc = c->op_state;
	int rc;

	/* Always pay for one verification, whether or not the user exists. */
	rc = argon2id_verify(pc->known ? pc->stored_hash : svc_dummy_hash(), pc->password, strlen(pc->password));
	pc->ok = rc == ARGON2_OK && pc->known;
}

static void verify_done(void *arg, int status)
{
	struct svc_call *c = arg;
	struct svc_pwcheck *pc = c->op_state;
	struct store_throttle lim = limits();
	const char *reason;
	int rc;

	if (status < 0) {
		release(c, pc);
		return;
	}
	if (pc->ok) {
		rc = store_login_pass(svc_store(), pc->reservation, pc->username, on_passed, c);
		if (rc < 0)
			on_passed(c, rc);
		return;
	}
	reason = pc->known ? "wrong password" : "unknown user";
	kam_log(KAM_LOG_INFO, c->peer, "%s as %s failed: %s", kam_op_str(c->req.op), pc->username, reason);
	rc = store_login_fail(svc_store(), pc->reservation, pc->username, session_addr(c->session), &lim,
			      attempt_audit(c, pc, json_pack("{s:s, s:i}", "reason", reason, "failures", pc->failures)),
			      on_failure_recorded, c);
	if (rc < 0)
		on_failure_recorded(c, rc, 0, 0);
}

/* ---- the gate ---- */

static const char *refusal_msg(struct svc_call *c, const struct svc_pwcheck *pc, const struct store_gate *g)
{
	long long wait = g->retry_after_s > 0 ? (long long)g->retry_after_s : 1;

	switch (g->refused) {
	case STORE_LOCKED:
		return kam_arena_printf(&c->arena, "too many failed logins for %s; try again in %lld s",
					pc->username, wait);
	case STORE_HOURLY:
		return kam_arena_printf(&c->arena, "too many failed logins for %s in the last hour; "
					"try again in %lld s", pc->username, wait);
	case STORE_ADDRESS:
		return kam_arena_printf(&c->arena, "too many failed logins from your address; try again in %lld s",
					wait);
	case STORE_ALLOWED:
		break;
	}
	return NULL;
}

static const char *const refusal_name[] = {
	[STORE_ALLOWED] = "allowed",
	[STORE_LOCKED] = "locked",
	[STORE_HOURLY] = "hourly limit",
	[STORE_ADDRESS] = "address limit",
};

/* Copy what the gate found into the call: the store's strings die with the callback. */
static int take_user(struct svc_call *c, struct svc_pwcheck *pc, const struct store_gate *g)
{
	pc->reservation = g->reservation;
	pc->failures = g->failures;
	pc->known = g->known;
	if (!g->known)
		return 0;
	pc->user_id = g->cred.user_id;
	pc->role = g->cred.role;
	pc->active = g->cred.active;
	pc->stored_name = kam_arena_strdup(&c->arena, g->cred.username ? g->cred.username : "");
	pc->stored_hash = kam_arena_strdup(&c->arena, g->cred.password_hash ? g->cred.password_hash : "");
	return pc->stored_name && pc->stored_hash ? 0 : KAM_ENOMEM;
}

static void on_gate(void *arg, int err, const struct store_gate *g)
{
	struct svc_call *c = arg;
	struct svc_pwcheck *pc = c->op_state;
	const char *msg;
	int rc;

	if (err < 0) {
		turn_done(pc);
		svc_fail_store(c, err);
		return;
	}
	if (g->refused != STORE_ALLOWED) {
		turn_done(pc);
		pc->known = g->known;
		pc->user_id = g->known ? g->cred.user_id : 0;
		pc->role = g->known ? g->cred.role : KAM_ROLE_NONE;
		msg = refusal_msg(c, pc, g);
		kam_log(KAM_LOG_INFO, c->peer, "%s as %s refused: %s", kam_op_str(c->req.op), pc->username,
			refusal_name[g->refused]);
		audit_and_refuse(c, pc, json_pack("{s:s, s:s, s:I}", "reason", "throttled", "limit",
						  refusal_name[g->refused], "retry_after", (json_int_t)g->retry_after_s),
				 KAM_STATUS_UNAUTHENTICATED, msg ? msg : pc->wrong_msg);
		return;
	}
	rc = take_user(c, pc, g);
	if (rc == 0)
		rc = work_submit(verify_work, verify_done, c);
	if (rc < 0) {
		if (rc != KAM_EAGAIN)
			kam_log(KAM_LOG_ERROR, c->peer, "cannot check a password: %s", kam_strerror(rc));
		release(c, pc);
	}
}

/* Ask the store's gate; c holds its name's turn. Whoever waited this long may be gone. */
static void gate(struct svc_call *c, struct svc_pwcheck *pc)
{
	struct store_throttle lim = limits();
	int rc = KAM_ECANCELED;

	if (session_is_open(c->session))
		rc = store_login_gate(svc_store(), pc->username, session_addr(c->session), &lim, on_gate, c);
	if (rc == 0)
		return;
	turn_done(pc);
	svc_fail_store(c, rc);
}

void svc_pwcheck(struct svc_call *c, struct svc_pwcheck *pc)
{
	struct pw_turn **tp, *t;

	if (c->op_state != pc || !pc->username || !pc->password || !pc->verified || !pc->wrong_msg) {
		svc_fail_store(c, KAM_EINTERNAL);
		return;
	}
	tp = turn_slot(pc->username);
	if (*tp) {
		/* Another check of this name runs here: wait for it. */
		t = *tp;
		pc->next_waiting = NULL;
		if (t->tail)
			((struct svc_pwcheck *)t->tail->op_state)->next_waiting = c;
		else
			t->head = c;
		t->tail = c;
		return;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	snprintf(t->name, sizeof(t->name), "%s", pc->username);
	*tp = t;
	pc->has_turn = true;
	gate(c, pc);
}
