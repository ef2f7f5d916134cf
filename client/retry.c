/*
 * Which requests kam may send a second time when the connection drops before
 * the answer (issue 7): reads only, whose repetition changes nothing but one
 * more audit row. Writes are never retried here: a dropped write may have
 * been applied, so kam reports it as unavailable (exit 7) and lets the user check.
 */
#include "client.h"

static const bool retryable[KAM_OP__COUNT] = {
	[KAM_OP_WHOAMI] = true,
	[KAM_OP_USER_LIST] = true,
	[KAM_OP_ACCOUNT_LIST] = true,
	[KAM_OP_ACCOUNT_SHOW] = true,
	[KAM_OP_ACCOUNT_LAYERS] = true,
	[KAM_OP_BARRIER_LIST] = true,
	[KAM_OP_PROJECT_LIST] = true,
	[KAM_OP_PROJECT_SHOW] = true,
	[KAM_OP_CONTACT_LIST] = true,
	[KAM_OP_VALUE_LIST] = true,
	[KAM_OP_AGREEMENT_LIST] = true,
	[KAM_OP_REVIEW_ACCOUNT] = true,
	[KAM_OP_REVIEW_TEAM] = true,
	[KAM_OP_AUDIT_LOG] = true,
	[KAM_OP_AUDIT_VERIFY] = true,
	[KAM_OP_AUDIT_ALERTS] = true,
	/* Not KAM_OP_EXPORT: its pages continue a server-side export of this connection. */
};

bool cli_op_retryable(enum kam_op op)
{
	return op > KAM_OP_NONE && op < KAM_OP__COUNT && retryable[op];
}
