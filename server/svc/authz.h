/*
 * Authorization: one rule table (authz.c) and one function that decides.
 * Every handler calls authz_decide() before it touches the store.
 */
#ifndef KAMD_AUTHZ_H
#define KAMD_AUTHZ_H

#include "model.h"
#include "types.h"

/* Actions authorization knows; finer than wire ops (one `set` may touch several). */
enum authz_action {
	AZ_SESSION = 0,           /* whoami, logout */
	AZ_USER_ADD,
	AZ_USER_LIST,
	AZ_ACCOUNT_LIST,          /* results filtered by visibility in the store */
	AZ_ACCOUNT_CREATE,        /* with the caller as owner */
	AZ_ACCOUNT_CREATE_FOR,    /* with someone else as owner */
	AZ_ACCOUNT_READ,          /* show; also defines visibility */
	AZ_ACCOUNT_WRITE_INFO,    /* information-layer fields */
	AZ_ACCOUNT_WRITE_PLAN,    /* stage, strategy */
	AZ_ACCOUNT_WRITE_TIER,    /* tier other than strategic */
	AZ_ACCOUNT_SET_STRATEGIC, /* promote to (or create as) the strategic tier */
	AZ_ACCOUNT_ASSIGN,        /* add/remove team members */
	/* -- layers (issue 3) -- */
	/* -- audit and churn (issue 4) -- */
	/* -- hostile clients (issue 6) -- */
	AZ__COUNT
};

enum authz_decision {
	AUTHZ_ALLOW = 0,
	AUTHZ_DENY_FORBIDDEN,     /* visible but not allowed: exit 4 */
	AUTHZ_DENY_NOT_FOUND,     /* not visible: indistinguishable from missing, exit 5 */
};

/* For account-scoped actions pass the relation; for the rest KAM_REL_NONE. */
enum authz_decision authz_decide(enum kam_role role, enum authz_action action, enum kam_relation rel);
const char *authz_action_str(enum authz_action a);

#endif
