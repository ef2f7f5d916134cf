/*
 * Keywords of the model (model.h) as data: one table per enum, read both
 * ways by the same two helpers. The spellings are contract.md's and must not
 * change; out-of-range values print as "" (or "unknown"), never crash.
 */
#include <strings.h>

#include "err.h"
#include "model.h"

#define COUNT(t) (sizeof(t) / sizeof((t)[0]))

static const char *const role_kw[] = { "", "junior", "solution", "manager", "gm" };
static const char *const tier_kw[] = { "", "strategic", "top", "important", "ordinary" };
static const char *const stage_kw[] = { "", "breakthrough", "consolidation", "occupation" };
static const char *const strategy_kw[] = { "", "attack", "watch" };

static const char *const op_kw[] = {
	[KAM_OP_NONE] = "none",
	[KAM_OP_LOGIN] = "login",
	[KAM_OP_LOGOUT] = "logout",
	[KAM_OP_WHOAMI] = "whoami",
	[KAM_OP_USER_ADD] = "user.add",
	[KAM_OP_USER_LIST] = "user.list",
	[KAM_OP_ACCOUNT_ADD] = "account.add",
	[KAM_OP_ACCOUNT_LIST] = "account.list",
	[KAM_OP_ACCOUNT_SHOW] = "account.show",
	[KAM_OP_ACCOUNT_SET] = "account.set",
	[KAM_OP_ACCOUNT_ASSIGN] = "account.assign",
	[KAM_OP_ACCOUNT_UNASSIGN] = "account.unassign",
	/* -- layers (issue 3) -- */
	/* The layered show is the same act as account.show, and audited as such. */
	[KAM_OP_ACCOUNT_LAYERS] = "account.show",
	[KAM_OP_BARRIER_ADD] = "barrier.add",
	[KAM_OP_BARRIER_LIST] = "barrier.list",
	[KAM_OP_BARRIER_SET] = "barrier.set",
	[KAM_OP_BARRIER_CLEAR] = "barrier.clear",
	[KAM_OP_PROJECT_ADD] = "project.add",
	[KAM_OP_PROJECT_LIST] = "project.list",
	[KAM_OP_PROJECT_SHOW] = "project.show",
	[KAM_OP_PROJECT_ADVANCE] = "project.advance",
	[KAM_OP_PROJECT_CLOSE] = "project.close",
	[KAM_OP_PROJECT_SET] = "project.set",
	[KAM_OP_CONTACT_ADD] = "contact.add",
	[KAM_OP_CONTACT_LIST] = "contact.list",
	[KAM_OP_CONTACT_SET] = "contact.set",
	[KAM_OP_VALUE_ADD] = "value.add",
	[KAM_OP_VALUE_LIST] = "value.list",
	[KAM_OP_AGREEMENT_ADD] = "agreement.add",
	[KAM_OP_AGREEMENT_LIST] = "agreement.list",
	[KAM_OP_REVIEW_ACCOUNT] = "review.account",
	[KAM_OP_REVIEW_TEAM] = "review.team",
	/* -- audit and churn (issue 4) -- */
	[KAM_OP_AUDIT_LOG] = "audit.log",
	[KAM_OP_AUDIT_VERIFY] = "audit.verify",
	[KAM_OP_AUDIT_ALERTS] = "audit.alerts",
	[KAM_OP_AUDIT_CLEAR] = "audit.clear",
	[KAM_OP_USER_DEACTIVATE] = "user.deactivate",
	[KAM_OP_USER_HANDOVER] = "user.handover",
	[KAM_OP_EXPORT] = "export",
	[KAM_OP_IMPORT] = "import",
	/* -- hostile clients (issue 6) -- */
	[KAM_OP_USER_PASSWD] = "user.passwd",
	[KAM_OP_USER_UNLOCK] = "user.unlock",
};

/* The wire codes are sparse (1 and 2 are unused), so both tables leave holes as NULL/0. */
static const struct {
	const char *name;
	int exit_code;
} status_tab[] = {
	[KAM_STATUS_OK] = { "ok", 0 },
	[KAM_STATUS_UNAUTHENTICATED] = { "unauthenticated", 3 },
	[KAM_STATUS_PERMISSION_DENIED] = { "permission_denied", 4 },
	[KAM_STATUS_NOT_FOUND] = { "not_found", 5 },
	[KAM_STATUS_INVALID_ARGUMENT] = { "invalid_argument", 6 },
	[KAM_STATUS_CONFLICT] = { "conflict", 6 },
	[KAM_STATUS_UNAVAILABLE] = { "unavailable", 7 },
	[KAM_STATUS_INTERNAL] = { "internal", 7 },
	[KAM_STATUS_PROTOCOL] = { "protocol", 7 },
	[KAM_STATUS_BUSY] = { "busy", 7 },
};

/* Exit code for a status this client does not know (a newer daemon): treat as a server failure. */
#define EXIT_UNKNOWN_STATUS 7

_Static_assert(COUNT(role_kw) == KAM_ROLE__COUNT, "role keywords");
_Static_assert(COUNT(tier_kw) == KAM_TIER__COUNT, "tier keywords");
_Static_assert(COUNT(stage_kw) == KAM_STAGE__COUNT, "stage keywords");
_Static_assert(COUNT(strategy_kw) == KAM_STRATEGY__COUNT, "strategy keywords");
_Static_assert(COUNT(op_kw) == KAM_OP__COUNT, "op keywords");

static const char *kw_str(const char *const *tab, size_t n, int v)
{
	return v >= 0 && (size_t)v < n ? tab[v] : "";
}

/* Index 0 is "none" and never parses; case is ignored since users type these. */
static int kw_parse(const char *const *tab, size_t n, const char *s, int *out)
{
	for (size_t i = 1; s && *s && i < n; i++) {
		if (strcasecmp(s, tab[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	return KAM_EINVAL;
}

const char *kam_role_str(enum kam_role r) { return kw_str(role_kw, COUNT(role_kw), (int)r); }
const char *kam_tier_str(enum kam_tier t) { return kw_str(tier_kw, COUNT(tier_kw), (int)t); }
const char *kam_stage_str(enum kam_stage s) { return kw_str(stage_kw, COUNT(stage_kw), (int)s); }
const char *kam_strategy_str(enum kam_strategy s) { return kw_str(strategy_kw, COUNT(strategy_kw), (int)s); }
const char *kam_op_str(enum kam_op op) { return kw_str(op_kw, COUNT(op_kw), (int)op); }

const char *kam_status_str(enum kam_status s)
{
	if ((int)s < 0 || (size_t)s >= COUNT(status_tab) || !status_tab[s].name)
		return "unknown";
	return status_tab[s].name;
}

int kam_status_exit_code(enum kam_status s)
{
	if ((int)s < 0 || (size_t)s >= COUNT(status_tab) || !status_tab[s].name)
		return EXIT_UNKNOWN_STATUS;
	return status_tab[s].exit_code;
}

/* One typed wrapper per enum: the int round trip keeps the enum's storage out of kw_parse. */
#define KW_PARSE(fn, type, tab)                                 \
	int fn(const char *s, type *out)                        \
	{                                                       \
		int v, rc = kw_parse(tab, COUNT(tab), s, &v);   \
		if (rc == 0)                                    \
			*out = (type)v;                         \
		return rc;                                      \
	}

KW_PARSE(kam_role_parse, enum kam_role, role_kw)
KW_PARSE(kam_tier_parse, enum kam_tier, tier_kw)
KW_PARSE(kam_stage_parse, enum kam_stage, stage_kw)
KW_PARSE(kam_strategy_parse, enum kam_strategy, strategy_kw)

/* ---- layers (issue 3): the keywords of model_layers.h, contract.md's spellings ---- */

static const char *const barrier_kind_kw[] = { "", "prequalification", "certification", "references", "clearance",
					       "requirement", "habit", "competitor", "relationship", "other" };
static const char *const barrier_status_kw[] = { "", "open", "working", "cleared" };
static const char *const pstage_kw[] = { "", "situation", "problem", "need", "solution", "budget", "procurement",
					 "contract", "delivery", "acceptance" };
static const char *const pstatus_kw[] = { "", "open", "won", "lost" };
static const char *const move_kw[] = { "", "start", "forward", "skip", "back", "won", "lost" };
static const char *const stance_kw[] = { "", "support", "neutral", "oppose" };
static const char *const value_level_kw[] = { "", "business", "relationship", "strategic" };

_Static_assert(COUNT(barrier_kind_kw) == KAM_BARRIER__COUNT, "barrier kind keywords");
_Static_assert(COUNT(barrier_status_kw) == KAM_BSTATUS__COUNT, "barrier status keywords");
_Static_assert(COUNT(pstage_kw) == KAM_PSTAGE__COUNT, "project stage keywords");
_Static_assert(COUNT(pstatus_kw) == KAM_PSTATUS__COUNT, "project status keywords");
_Static_assert(COUNT(move_kw) == KAM_MOVE__COUNT, "move keywords");
_Static_assert(COUNT(stance_kw) == KAM_STANCE__COUNT, "stance keywords");
_Static_assert(COUNT(value_level_kw) == KAM_VLEVEL__COUNT, "value level keywords");

#define KW_STR(fn, type, tab) \
	const char *fn(type v) { return kw_str(tab, COUNT(tab), (int)v); }

KW_STR(kam_barrier_kind_str, enum kam_barrier_kind, barrier_kind_kw)
KW_STR(kam_barrier_status_str, enum kam_barrier_status, barrier_status_kw)
KW_STR(kam_pstage_str, enum kam_pstage, pstage_kw)
KW_STR(kam_pstatus_str, enum kam_pstatus, pstatus_kw)
KW_STR(kam_move_str, enum kam_move, move_kw)
KW_STR(kam_stance_str, enum kam_stance, stance_kw)
KW_STR(kam_value_level_str, enum kam_value_level, value_level_kw)

KW_PARSE(kam_barrier_kind_parse, enum kam_barrier_kind, barrier_kind_kw)
KW_PARSE(kam_barrier_status_parse, enum kam_barrier_status, barrier_status_kw)
KW_PARSE(kam_pstage_parse, enum kam_pstage, pstage_kw)
KW_PARSE(kam_pstatus_parse, enum kam_pstatus, pstatus_kw)
KW_PARSE(kam_stance_parse, enum kam_stance, stance_kw)
KW_PARSE(kam_value_level_parse, enum kam_value_level, value_level_kw)
