/*
 * Server-wide plain types shared by the layers (net, svc, db, audit).
 * No libuv, no libpq, no protobuf here.
 */
#ifndef KAMD_TYPES_H
#define KAMD_TYPES_H

#include <stdint.h>

#include "model.h"

/* Who is asking: the result of the auth gate. */
struct kam_principal {
	int64_t user_id;
	int64_t session_id;
	char username[KAM_MAX_USERNAME + 1];
	enum kam_role role;
	int64_t expires_at;     /* absolute session expiry, unix seconds */
};

/*
 * How a user stands to an account; what authorization decides on.
 * Ordered: a higher value includes the rights of the lower ones is NOT implied;
 * authz.c treats each explicitly.
 */
enum kam_relation {
	KAM_REL_NONE = 0,            /* not on the team, no report on the team */
	KAM_REL_MANAGES_MEMBER,      /* someone on the team reports (transitively) to the user */
	KAM_REL_MEMBER,              /* on the account's team (not owner) */
	KAM_REL_OWNER,               /* owns the account (and is on its team) */
	KAM_REL__COUNT
};

const char *kam_relation_str(enum kam_relation r);

#endif
