/*
 * Building audit entries: who did what, from where, with what result. Only
 * fills structs; the store writes them (db/sql_audit.c). Never puts a
 * password or token into an entry.
 */
#include <stddef.h>

#include "audit.h"

const char *audit_result_str(enum audit_result r)
{
	switch (r) {
	case AUDIT_ALLOWED:
		return "allowed";
	case AUDIT_DENIED:
		return "denied";
	case AUDIT_FAILED:
		return "failed";
	}
	return "failed";
}

void audit_entry_init(struct audit_entry *e, const struct kam_principal *who, enum kam_op op,
		      int64_t account_id, enum audit_result result, const char *client_addr)
{
	*e = (struct audit_entry){
		.user_id = who ? who->user_id : 0,
		.username = who ? who->username : "",
		.role = who ? who->role : KAM_ROLE_NONE,
		.action = kam_op_str(op),
		.account_id = account_id,
		.result = result,
		.client_addr = client_addr ? client_addr : "",
		.detail = NULL,
	};
}
