/*
 * Audit entries: who did what to which account, and whether it was allowed.
 * svc builds an entry for every request; the store writes it in the same
 * transaction as the act (db/sql_audit.c owns the INSERT). Passwords and
 * tokens never go into an entry.
 */
#ifndef KAMD_AUDIT_H
#define KAMD_AUDIT_H

#include <stdint.h>

#include "arena.h"
#include "types.h"

enum audit_result {
	AUDIT_ALLOWED = 0,    /* the act happened */
	AUDIT_DENIED,         /* authorization refused it */
	AUDIT_FAILED,         /* authentication failed (bad password, unknown user) */
};

struct audit_entry {
	int64_t user_id;          /* 0 when unknown (e.g. login as a nonexistent user) */
	const char *username;     /* as authenticated or as claimed; never NULL */
	enum kam_role role;       /* KAM_ROLE_NONE when unknown */
	const char *action;       /* kam_op_str() of the operation, e.g. "account.show" */
	int64_t account_id;       /* 0: the act concerns no single account */
	enum audit_result result;
	const char *client_addr;  /* "ip:port" */
	const char *detail;       /* a JSON object as text, or NULL */
};

const char *audit_result_str(enum audit_result r);

/* Fill an entry for a principal's request. detail may be NULL. */
void audit_entry_init(struct audit_entry *e, const struct kam_principal *who, enum kam_op op,
		      int64_t account_id, enum audit_result result, const char *client_addr);

#endif
