/*
 * Pure checks and transforms of request values, internal to svc/: the
 * FIELD=VALUE language of `kam account set`, user and account names,
 * passwords, owner seniority, and the change record for the audit trail.
 * No store, no session, no I/O: tests/unit/test_svc_fields.c tests it alone.
 */
#ifndef KAMD_SVC_FIELDS_H
#define KAMD_SVC_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "authz.h"
#include "err.h"
#include "model.h"

struct json_t;

/* Why a value was refused: one line for the user and the field it concerns. */
struct svc_invalid {
	const char *message;
	const char *field;            /* "" when about no single field */
};

/* The fields `account set` knows. */
enum svc_field {
	SVC_F_FOUNDED = 0,
	SVC_F_HEADCOUNT,
	SVC_F_BUSINESS,
	SVC_F_REVENUE,
	SVC_F_BUDGET,
	SVC_F_CURRENCY,
	SVC_F_SUPPLIERS,
	SVC_F_NOTES,
	SVC_F_TIER,
	SVC_F_STAGE,
	SVC_F_STRATEGY,
	SVC_F__COUNT
};

#define SVC_F_BIT(f) (1u << (f))

/* Parsed FIELD=VALUEs: values holds the new value of every field whose bit is in set. */
struct svc_changes {
	unsigned set;
	struct kam_account values;
};

/* At most one of each: write_info, write_plan, write_tier, set_strategic. */
#define SVC_MAX_ACTIONS 4

/*
 * Parse and validate every FIELD=VALUE before anything else happens. Strings
 * in out point into the fields (or a). KAM_EINVAL with *why on the first bad
 * field: unknown name, given twice, or a value out of its domain.
 */
int svc_changes_parse(struct kam_arena *a, const struct kam_field *fields, size_t n,
		      struct svc_changes *out, struct svc_invalid *why) KAM_MUST_CHECK;
/* The actions applying ch to an account now in current_tier needs; returns how many. */
size_t svc_changes_actions(const struct svc_changes *ch, enum kam_tier current_tier,
			   enum authz_action out[SVC_MAX_ACTIONS]);
/* after = before with ch applied (strings are shared, not copied). */
void svc_changes_apply(const struct kam_account *before, const struct svc_changes *ch,
		       struct kam_account *after);
/* {"changes": {FIELD: {"before": V, "after": V}}} for each field that differs; NULL when out of memory. */
struct json_t *svc_changes_json(const struct kam_account *before, const struct kam_account *after);

/* 0 if a user of role may own an account of tier; else KAM_EINVAL and *why (field "owner"). */
int svc_owner_fits_tier(enum kam_tier tier, enum kam_role role, struct svc_invalid *why) KAM_MUST_CHECK;
/* The users.username rule of the schema (field "username"). */
int svc_check_username(const char *name, struct svc_invalid *why) KAM_MUST_CHECK;
/* 1..KAM_MAX_NAME bytes of UTF-8, no control characters, no surrounding blanks, not all digits. */
int svc_check_account_name(const char *name, struct svc_invalid *why) KAM_MUST_CHECK;
/* At least KAM_MIN_PASSWORD characters (code points), valid UTF-8 (field "password"). */
int svc_check_password(const char *password, struct svc_invalid *why) KAM_MUST_CHECK;

/* -- layers (issue 3): value rules shared with layer_fields.c -- */
/* Fill *why (message NULL: out of memory describing it) and return KAM_EINVAL. */
int svc_invalid_set(struct svc_invalid *why, const char *field, const char *message);
/* Strict decimal integer (optional '-', digits only, no overflow); KAM_EINVAL. */
int svc_parse_int(const char *s, int64_t *out) KAM_MUST_CHECK;
/* ^[A-Z]{3}$ */
bool svc_is_currency(const char *v);
/* At most max bytes of UTF-8 without control characters (tab, newline and CR allowed when
 * layout); KAM_EINVAL with *why naming `name` otherwise. */
int svc_check_text(struct kam_arena *a, const char *name, const char *v, size_t max, bool layout,
		   struct svc_invalid *why) KAM_MUST_CHECK;

/* True when an ACCOUNT reference reads as an id (decimal digits only). */
bool svc_ref_is_id(const char *ref);
/* Deep copy of src into a (NULL strings become ""); KAM_ENOMEM. */
int svc_account_copy(struct kam_arena *a, const struct kam_account *src, struct kam_account *dst) KAM_MUST_CHECK;

#endif
