/*
 * KAM's internal model: the plain structs both sides work with. protobuf-c
 * types never leave msg.c; handlers, the store and the CLI printer see these.
 * Strings are NUL-terminated and owned by whoever owns the struct (usually a
 * kam_arena, or a PGresult for the duration of a store callback).
 */
#ifndef KAM_MODEL_H
#define KAM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"

/* Values match the proto enums (kam.v1.Role etc.), so conversion is a cast after a range check. */
enum kam_role { KAM_ROLE_NONE = 0, KAM_ROLE_JUNIOR, KAM_ROLE_SOLUTION, KAM_ROLE_MANAGER, KAM_ROLE_GM, KAM_ROLE__COUNT };
enum kam_tier { KAM_TIER_NONE = 0, KAM_TIER_STRATEGIC, KAM_TIER_TOP, KAM_TIER_IMPORTANT, KAM_TIER_ORDINARY, KAM_TIER__COUNT };
enum kam_stage { KAM_STAGE_NONE = 0, KAM_STAGE_BREAKTHROUGH, KAM_STAGE_CONSOLIDATION, KAM_STAGE_OCCUPATION, KAM_STAGE__COUNT };
enum kam_strategy { KAM_STRATEGY_NONE = 0, KAM_STRATEGY_ATTACK, KAM_STRATEGY_WATCH, KAM_STRATEGY__COUNT };

/* Wire error codes (kam.v1.ErrorCode). */
enum kam_status {
	KAM_STATUS_OK = 0,
	KAM_STATUS_UNAUTHENTICATED = 3,
	KAM_STATUS_PERMISSION_DENIED = 4,
	KAM_STATUS_NOT_FOUND = 5,
	KAM_STATUS_INVALID_ARGUMENT = 6,
	KAM_STATUS_CONFLICT = 7,
	KAM_STATUS_UNAVAILABLE = 8,
	KAM_STATUS_INTERNAL = 9,
	KAM_STATUS_PROTOCOL = 10,
	KAM_STATUS_BUSY = 11,
};

/* One operation per request message type (the oneof in kam.v1.Request). */
enum kam_op {
	KAM_OP_NONE = 0,
	KAM_OP_LOGIN,
	KAM_OP_LOGOUT,
	KAM_OP_WHOAMI,
	KAM_OP_USER_ADD,
	KAM_OP_USER_LIST,
	KAM_OP_ACCOUNT_ADD,
	KAM_OP_ACCOUNT_LIST,
	KAM_OP_ACCOUNT_SHOW,
	KAM_OP_ACCOUNT_SET,
	KAM_OP_ACCOUNT_ASSIGN,
	KAM_OP_ACCOUNT_UNASSIGN,
	/* -- layers (issue 3) -- */
	KAM_OP_ACCOUNT_LAYERS,
	KAM_OP_BARRIER_ADD,
	KAM_OP_BARRIER_LIST,
	KAM_OP_BARRIER_SET,
	KAM_OP_BARRIER_CLEAR,
	KAM_OP_PROJECT_ADD,
	KAM_OP_PROJECT_LIST,
	KAM_OP_PROJECT_SHOW,
	KAM_OP_PROJECT_ADVANCE,
	KAM_OP_PROJECT_CLOSE,
	KAM_OP_PROJECT_SET,
	KAM_OP_CONTACT_ADD,
	KAM_OP_CONTACT_LIST,
	KAM_OP_CONTACT_SET,
	KAM_OP_VALUE_ADD,
	KAM_OP_VALUE_LIST,
	KAM_OP_AGREEMENT_ADD,
	KAM_OP_AGREEMENT_LIST,
	KAM_OP_REVIEW_ACCOUNT,
	KAM_OP_REVIEW_TEAM,
	/* -- audit and churn (issue 4) -- */
	KAM_OP_AUDIT_LOG,
	KAM_OP_AUDIT_VERIFY,
	KAM_OP_AUDIT_ALERTS,
	KAM_OP_AUDIT_CLEAR,
	KAM_OP_USER_DEACTIVATE,
	KAM_OP_USER_HANDOVER,
	KAM_OP_EXPORT,
	KAM_OP_IMPORT,
	/* -- hostile clients (issue 6) -- */
	KAM_OP_USER_PASSWD,
	KAM_OP_USER_UNLOCK,
	KAM_OP__COUNT
};

/* Limits every decoded message is checked against (bytes, excluding the NUL). */
#define KAM_MAX_USERNAME 63       /* fits a fixed buffer in session state */
#define KAM_MIN_PASSWORD 12
#define KAM_MAX_PASSWORD 1024
#define KAM_MAX_NAME 200          /* account names */
#define KAM_MAX_TEXT 8192         /* free-text fields: notes, business, suppliers */
#define KAM_MAX_FIELD_NAME 32
#define KAM_MAX_REPEATED 1000     /* any repeated field */
#define KAM_LIST_DEFAULT 100
#define KAM_LIST_MAX 1000
/* Issue 7: idempotency keys. 16 random bytes make a collision negligible; 64 leaves room for
 * a client's own scheme (a UUID and a counter) without letting keys bloat the database. */
#define KAM_REQUEST_KEY_MIN 16
#define KAM_REQUEST_KEY_MAX 64

struct kam_user {
	int64_t id;
	const char *username;
	enum kam_role role;
	const char *reports_to;   /* "" for none */
	bool active;
	int64_t created_at;
};

/* An optional integer: `has` false means unknown. */
struct kam_opt_i64 {
	bool has;
	int64_t value;
};

struct kam_info {
	struct kam_opt_i64 founded;
	struct kam_opt_i64 headcount;
	const char *business;
	struct kam_opt_i64 revenue;    /* minor units of currency */
	struct kam_opt_i64 budget;     /* minor units of currency */
	const char *currency;          /* ISO 4217 or "" */
	const char *suppliers;
	const char *notes;
};

struct kam_account {
	int64_t id;
	const char *name;
	enum kam_tier tier;
	enum kam_stage stage;
	enum kam_strategy strategy;
	const char *owner;
	size_t n_team;
	const char **team;
	bool has_info;                 /* false in list results */
	struct kam_info info;
	int64_t created_at;
	int64_t updated_at;
	int64_t version;
};

struct kam_field {
	const char *name;
	const char *value;
};

/* -- layers (issue 3): barriers, projects, contacts, values, agreements, review -- */
#include "model_layers.h"
/* -- audit and churn (issue 4): audit entries, alerts, hand-overs, export and import -- */
#include "model_audit.h"

struct kam_request {
	uint64_t id;
	bool has_token;
	uint8_t token[KAM_TOKEN_LEN];
	/* -- faults (issue 7): the write's idempotency key; key_len 0 for none -- */
	size_t key_len;
	uint8_t key[KAM_REQUEST_KEY_MAX];
	enum kam_op op;
	union {
		struct { const char *username; const char *password; } login;
		struct { const char *username; enum kam_role role; const char *reports_to; const char *password; } user_add;
		struct { const char *name; enum kam_tier tier; const char *owner; } account_add;
		struct { enum kam_tier tier; enum kam_stage stage; const char *owner; int64_t after_id; uint32_t limit; } account_list;
		struct { const char *account; } account_show;
		struct { const char *account; size_t n_fields; struct kam_field *fields; int64_t if_version; } account_set;
		/* account_assign and account_unassign */
		struct { const char *account; const char *username; } account_member;
		/* -- layers (issue 3) -- */
		/* account_layers, barrier/project/contact/value/agreement_list, review_account */
		struct { const char *account; } layer_list;
		/* barrier/project/contact/value/agreement_add */
		struct { const char *account; size_t n_fields; struct kam_field *fields; } layer_add;
		/* barrier_set/clear, project_show/advance/close/set, contact_set */
		struct { int64_t id; size_t n_fields; struct kam_field *fields; } layer_item;
		struct { const char *user; int64_t after_id; uint32_t limit; } review_team;
		/* -- audit and churn (issue 4) -- */
		struct kam_audit_filter audit_log;
		struct { const char *checkpoint; } audit_verify;
		struct { const char *username; } audit_clear;
		/* user_deactivate (n_accounts 0) and user_handover */
		struct { const char *username; const char *to; size_t n_accounts; const char **accounts; } handover;
		struct { int64_t export_id; int64_t after_id; } export_page;
		struct { size_t n_rows; struct kam_import_row *rows; } import;
		/* -- hostile clients (issue 6) -- */
		/* username "" (or the caller's own): change one's own password with old_password */
		struct { const char *username; const char *old_password; const char *new_password; } user_passwd;
		struct { const char *username; } user_unlock;
	} u;
};

struct kam_error {
	enum kam_status code;      /* KAM_STATUS_OK: no error */
	const char *message;
	const char *field;         /* "" or the offending field */
};

struct kam_response {
	uint64_t id;
	enum kam_op op;            /* which body; KAM_OP_NONE with an error */
	struct kam_error error;
	bool replayed;             /* issue 7: a keyed write applied before; no error, no body */
	union {
		struct { uint8_t token[KAM_TOKEN_LEN]; struct kam_user user; int64_t expires_at; } login;
		struct { struct kam_user user; int64_t expires_at; } whoami;
		struct kam_user user;                                               /* user_add */
		struct { size_t n; struct kam_user *users; } user_list;
		struct kam_account account;                                         /* account add/show/set/assign/unassign */
		struct { size_t n; struct kam_account *accounts; int64_t next_after_id; } account_list;
		/* -- layers (issue 3) -- */
		struct kam_layers layers;                                           /* every layer op but review */
		struct { struct kam_layers layers; size_t n_gaps; struct kam_gap *gaps; } review;
		struct { size_t n; struct kam_team_row *rows; int64_t next_after_id; } review_team;
		/* -- audit and churn (issue 4) -- */
		struct { size_t n; struct kam_audit_entry *entries; int64_t next_before_id; } audit_log;
		struct kam_audit_verify audit_verify;
		struct { size_t n; struct kam_alert *alerts; } audit_alerts;
		struct kam_alert alert;                                             /* audit_clear */
		struct kam_handover handover;                                       /* user_deactivate, user_handover */
		struct { int64_t export_id; int64_t total; size_t n; struct kam_export_item *items; int64_t next_after_id; } export_page;
		struct { uint32_t imported; size_t n_ids; int64_t *ids; } import;
		/* -- hostile clients (issue 6) -- */
		struct { struct kam_user user; uint32_t sessions_revoked; } user_passwd;
		/* locked_until: unix seconds, 0 when the user was not locked */
		struct { struct kam_user user; uint32_t failures; int64_t locked_until; } user_unlock;
	} u;
};

/* Keywords as typed on the command line and shown in --json (contract.md). */
const char *kam_role_str(enum kam_role r);         /* "junior" ... ; "" for NONE */
const char *kam_tier_str(enum kam_tier t);
const char *kam_stage_str(enum kam_stage s);
const char *kam_strategy_str(enum kam_strategy s);
const char *kam_op_str(enum kam_op op);            /* "account.show" etc., for logs and audit */
const char *kam_status_str(enum kam_status s);     /* "not_found" etc., for --json errors */
/* Parse a keyword; 0 or KAM_EINVAL. */
int kam_role_parse(const char *s, enum kam_role *out);
int kam_tier_parse(const char *s, enum kam_tier *out);
int kam_stage_parse(const char *s, enum kam_stage *out);
int kam_strategy_parse(const char *s, enum kam_strategy *out);

/* The exit code of `kam` for a wire status (contract.md). */
int kam_status_exit_code(enum kam_status s);

/*
 * Issue 7: what sending an operation twice does (msg.c's op table holds it
 * for both sides). READ: nothing but one more audit row, so a client may
 * repeat it. WRITE: it changes something, so a client sends it with a
 * request key and repeats it only with the same key, which kamd applies once.
 * ONCE: never repeated (see the table for why each is).
 */
enum kam_op_kind { KAM_OP_KIND_NONE = 0, KAM_OP_KIND_READ, KAM_OP_KIND_WRITE, KAM_OP_KIND_ONCE };
enum kam_op_kind kam_op_kind(enum kam_op op);   /* NONE for an op out of range */

#endif
