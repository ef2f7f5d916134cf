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
	AZ_BARRIER_WRITE,         /* barrier add, set, clear */
	AZ_PROJECT_WRITE,         /* project add, advance, close, set */
	AZ_CONTACT_WRITE,         /* contact add, set */
	AZ_CONTACT_SENSITIVE,     /* see contacts' weight, stance, personal needs (and support balances) */
	AZ_VALUE_WRITE,           /* value add */
	AZ_AGREEMENT_WRITE,       /* agreement add */
	AZ_REVIEW_TEAM,           /* review --team; the relation is to the user whose team it is */
	/* -- audit and churn (issue 4) -- */
	AZ_AUDIT_LOG,             /* kam audit log (the store shows a manager only their teams' accounts) */
	AZ_AUDIT_VERIFY,          /* kam audit verify */
	AZ_AUDIT_ALERTS,          /* kam audit alerts (a manager sees only their reports') */
	AZ_AUDIT_CLEAR_REPORT,    /* clear the bulk-read flag of someone who reports to the caller */
	AZ_AUDIT_CLEAR,           /* clear anyone's bulk-read flag */
	AZ_USER_DEACTIVATE_REPORT, /* deactivate (and hand over) someone who reports to the caller */
	AZ_USER_DEACTIVATE,       /* deactivate anyone */
	AZ_USER_HANDOVER_REPORT,  /* hand over the accounts of someone who reports to the caller */
	AZ_USER_HANDOVER,         /* hand over anyone's accounts */
	AZ_EXPORT,                /* kam export: every account with every layer */
	AZ_IMPORT,                /* kam import (each row also needs account.create or create_for, and set_strategic) */
	/* -- hostile clients (issue 6) -- */
	AZ_USER_PASSWD,           /* change one's own password (with the current one) */
	AZ_USER_RESET_REPORT,     /* set the password of someone who reports to the caller */
	AZ_USER_RESET,            /* set anyone's password */
	AZ_USER_UNLOCK_REPORT,    /* forget the failed logins of someone who reports to the caller */
	AZ_USER_UNLOCK,           /* forget anyone's failed logins */
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
