/*
 * Authorization as data: one row per action, one cell per role, each cell a
 * requirement on the caller's relation to the account. authz_decide() is the
 * only place that reads the table. docs/authorization.md is this table in
 * prose; change both together. Must not look at anything but role/action/rel.
 */
#include <stdbool.h>

#include "authz.h"

/* What a cell demands of the caller's relation to the account. */
enum authz_req {
	REQ_NEVER = 0,          /* no relation is enough (also the default of an unset cell) */
	REQ_ANY,                /* allowed whatever the relation */
	REQ_TEAM,               /* on the account's team: member or owner */
	REQ_TEAM_OR_REPORTS,    /* on the team, or someone on it reports to the caller */
};

struct authz_rule {
	const char *name;             /* for logs and the audit detail */
	bool account_scoped;          /* visibility (AZ_ACCOUNT_READ) is checked first */
	enum authz_req cell[KAM_ROLE__COUNT];
};

#define ROLES(junior, solution, manager, gm) \
	{ [KAM_ROLE_NONE] = REQ_NEVER, [KAM_ROLE_JUNIOR] = junior, [KAM_ROLE_SOLUTION] = solution, \
	  [KAM_ROLE_MANAGER] = manager, [KAM_ROLE_GM] = gm }

/*                                                       junior     solution   manager              gm */
static const struct authz_rule authz_rules[AZ__COUNT] = {
	[AZ_SESSION]               = { "session",              false, ROLES(REQ_ANY,   REQ_ANY,   REQ_ANY,             REQ_ANY) },
	[AZ_USER_ADD]              = { "user.add",             false, ROLES(REQ_NEVER, REQ_NEVER, REQ_NEVER,           REQ_ANY) },
	[AZ_USER_LIST]             = { "user.list",            false, ROLES(REQ_NEVER, REQ_NEVER, REQ_ANY,             REQ_ANY) },
	[AZ_ACCOUNT_LIST]          = { "account.list",         false, ROLES(REQ_ANY,   REQ_ANY,   REQ_ANY,             REQ_ANY) },
	[AZ_ACCOUNT_CREATE]        = { "account.create",       false, ROLES(REQ_ANY,   REQ_ANY,   REQ_ANY,             REQ_ANY) },
	[AZ_ACCOUNT_CREATE_FOR]    = { "account.create_for",   false, ROLES(REQ_NEVER, REQ_NEVER, REQ_ANY,             REQ_ANY) },
	[AZ_ACCOUNT_READ]          = { "account.read",         true,  ROLES(REQ_TEAM,  REQ_TEAM,  REQ_TEAM_OR_REPORTS, REQ_ANY) },
	[AZ_ACCOUNT_WRITE_INFO]    = { "account.write_info",   true,  ROLES(REQ_TEAM,  REQ_TEAM,  REQ_TEAM_OR_REPORTS, REQ_ANY) },
	[AZ_ACCOUNT_WRITE_PLAN]    = { "account.write_plan",   true,  ROLES(REQ_NEVER, REQ_TEAM,  REQ_TEAM_OR_REPORTS, REQ_ANY) },
	[AZ_ACCOUNT_WRITE_TIER]    = { "account.write_tier",   true,  ROLES(REQ_NEVER, REQ_NEVER, REQ_TEAM_OR_REPORTS, REQ_ANY) },
	[AZ_ACCOUNT_SET_STRATEGIC] = { "account.set_strategic", true, ROLES(REQ_NEVER, REQ_NEVER, REQ_NEVER,           REQ_ANY) },
	[AZ_ACCOUNT_ASSIGN]        = { "account.assign",       true,  ROLES(REQ_NEVER, REQ_NEVER, REQ_TEAM_OR_REPORTS, REQ_ANY) },	/* -- layers (issue 3) -- */
	[AZ_BARRIER_WRITE]         = { "barrier.write",        true,  ROLES(REQ_TEAM,  REQ_TEAM,  REQ_TEAM_OR_REPORTS, REQ_ANY) },
	[AZ_PROJECT_WRITE]         = { "project.write",        true,  ROLES(REQ_NEVER, REQ_TEAM,  REQ_TEAM_OR_REPORTS, REQ_ANY) },
	[AZ_CONTACT_WRITE]         = { "contact.write",        true,  ROLES(REQ_NEVER, REQ_NEVER, REQ_TEAM_OR_REPORTS, REQ_ANY) },
	[AZ_CONTACT_SENSITIVE]     = { "contact.read_sensitive", true, ROLES(REQ_NEVER, REQ_NEVER, REQ_TEAM_OR_REPORTS, REQ_ANY) },
	[AZ_VALUE_WRITE]           = { "value.write",          true,  ROLES(REQ_NEVER, REQ_NEVER, REQ_TEAM_OR_REPORTS, REQ_ANY) },
	[AZ_AGREEMENT_WRITE]       = { "agreement.write",      true,  ROLES(REQ_NEVER, REQ_NEVER, REQ_NEVER,           REQ_ANY) },
	[AZ_REVIEW_TEAM]           = { "review.team",          true,  ROLES(REQ_NEVER, REQ_NEVER, REQ_TEAM_OR_REPORTS, REQ_ANY) },
	/* -- audit and churn (issue 4) -- */
	[AZ_AUDIT_LOG]             = { "audit.log",            false, ROLES(REQ_NEVER, REQ_NEVER, REQ_ANY,             REQ_ANY) },
	[AZ_AUDIT_VERIFY]          = { "audit.verify",         false, ROLES(REQ_NEVER, REQ_NEVER, REQ_NEVER,           REQ_ANY) },
	[AZ_AUDIT_ALERTS]          = { "audit.alerts",         false, ROLES(REQ_NEVER, REQ_NEVER, REQ_ANY,             REQ_ANY) },
	[AZ_AUDIT_CLEAR_REPORT]    = { "audit.clear_report",   false, ROLES(REQ_NEVER, REQ_NEVER, REQ_ANY,             REQ_ANY) },
	[AZ_AUDIT_CLEAR]           = { "audit.clear",          false, ROLES(REQ_NEVER, REQ_NEVER, REQ_NEVER,           REQ_ANY) },
	[AZ_USER_DEACTIVATE_REPORT] = { "user.deactivate_report", false, ROLES(REQ_NEVER, REQ_NEVER, REQ_ANY,          REQ_ANY) },
	[AZ_USER_DEACTIVATE]       = { "user.deactivate",      false, ROLES(REQ_NEVER, REQ_NEVER, REQ_NEVER,           REQ_ANY) },
	[AZ_USER_HANDOVER_REPORT]  = { "user.handover_report", false, ROLES(REQ_NEVER, REQ_NEVER, REQ_ANY,             REQ_ANY) },
	[AZ_USER_HANDOVER]         = { "user.handover",        false, ROLES(REQ_NEVER, REQ_NEVER, REQ_NEVER,           REQ_ANY) },
	[AZ_EXPORT]                = { "export",               false, ROLES(REQ_NEVER, REQ_NEVER, REQ_NEVER,           REQ_ANY) },
	[AZ_IMPORT]                = { "import",               false, ROLES(REQ_NEVER, REQ_NEVER, REQ_ANY,             REQ_ANY) },
	/* -- hostile clients (issue 6) -- */
	[AZ_USER_PASSWD]           = { "user.passwd",          false, ROLES(REQ_ANY,   REQ_ANY,   REQ_ANY,             REQ_ANY) },
	[AZ_USER_RESET_REPORT]     = { "user.reset_report",    false, ROLES(REQ_NEVER, REQ_NEVER, REQ_ANY,             REQ_ANY) },
	[AZ_USER_RESET]            = { "user.reset",           false, ROLES(REQ_NEVER, REQ_NEVER, REQ_NEVER,           REQ_ANY) },
	[AZ_USER_UNLOCK_REPORT]    = { "user.unlock_report",   false, ROLES(REQ_NEVER, REQ_NEVER, REQ_ANY,             REQ_ANY) },
	[AZ_USER_UNLOCK]           = { "user.unlock",          false, ROLES(REQ_NEVER, REQ_NEVER, REQ_NEVER,           REQ_ANY) },
};

static bool req_met(enum authz_req req, enum kam_relation rel)
{
	switch (req) {
	case REQ_ANY:
		return true;
	case REQ_TEAM:
		return rel == KAM_REL_MEMBER || rel == KAM_REL_OWNER;
	case REQ_TEAM_OR_REPORTS:
		return rel == KAM_REL_MEMBER || rel == KAM_REL_OWNER || rel == KAM_REL_MANAGES_MEMBER;
	case REQ_NEVER:
		break;
	}
	return false;
}

enum authz_decision authz_decide(enum kam_role role, enum authz_action action, enum kam_relation rel)
{
	const struct authz_rule *rule;

	/* Fail closed on anything outside the table. */
	if ((unsigned)action >= AZ__COUNT)
		return AUTHZ_DENY_FORBIDDEN;
	rule = &authz_rules[action];
	if ((unsigned)role >= KAM_ROLE__COUNT)
		return rule->account_scoped ? AUTHZ_DENY_NOT_FOUND : AUTHZ_DENY_FORBIDDEN;
	if ((unsigned)rel >= KAM_REL__COUNT)
		rel = KAM_REL_NONE;

	/* An account the caller may not see must look exactly like a missing one. */
	if (rule->account_scoped && !req_met(authz_rules[AZ_ACCOUNT_READ].cell[role], rel))
		return AUTHZ_DENY_NOT_FOUND;
	/* Actions on no single account ignore rel: only ANY/NEVER can decide them. */
	if (!rule->account_scoped)
		rel = KAM_REL_NONE;
	return req_met(rule->cell[role], rel) ? AUTHZ_ALLOW : AUTHZ_DENY_FORBIDDEN;
}

const char *authz_action_str(enum authz_action a)
{
	if ((unsigned)a >= AZ__COUNT)
		return "unknown";
	return authz_rules[a].name;
}

const char *kam_relation_str(enum kam_relation r)
{
	static const char *const names[KAM_REL__COUNT] = {
		[KAM_REL_NONE] = "none",
		[KAM_REL_MANAGES_MEMBER] = "manages_member",
		[KAM_REL_MEMBER] = "member",
		[KAM_REL_OWNER] = "owner",
	};

	if ((unsigned)r >= KAM_REL__COUNT)
		return "unknown";
	return names[r];
}
