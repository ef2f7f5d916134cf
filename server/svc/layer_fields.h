/*
 * Pure value rules of the layers, internal to svc/: the FIELD=VALUE language
 * of barriers, projects, contacts, values and agreements (one table per
 * layer), the project's stage moves, and the change record for the audit.
 * No store, no session, no I/O: tests/unit/test_layer_fields.c tests it alone.
 */
#ifndef KAMD_SVC_LAYER_FIELDS_H
#define KAMD_SVC_LAYER_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "fields.h"
#include "model.h"

struct json_t;

/* What a request does with a row: which fields it may and must carry. */
enum svc_use {
	SVC_USE_ADD = 1u << 0,       /* barrier/project/contact/value/agreement add */
	SVC_USE_SET = 1u << 1,       /* barrier/project/contact set */
	SVC_USE_ADVANCE = 1u << 2,   /* project advance: stage */
	SVC_USE_CLOSE = 1u << 3,     /* project close: result, reason */
};

/* One row of any layer. */
union svc_row {
	struct kam_barrier barrier;
	struct kam_project project;
	struct kam_contact contact;
	struct kam_value value;
	struct kam_agreement agreement;
};

/* Parsed FIELD=VALUEs: values holds the new value of every field whose bit is in set. */
struct svc_row_changes {
	enum kam_layer layer;
	unsigned set;
	union svc_row values;
};

/* The most links a contact may have to projects. */
#define SVC_MAX_LINKS 100
/* Rows of one layer per account, and moves per project: an account with all its layers
 * must fit one response frame (1 MiB), and no real account comes near either number. */
#define SVC_MAX_LAYER_ROWS 200
#define SVC_MAX_MOVES 100

/* A new row of the layer before any field is applied: empty strings, barriers open,
 * projects open at the situation stage. */
void svc_row_defaults(enum kam_layer layer, union svc_row *row);
/*
 * Parse and validate every FIELD=VALUE for `use` before anything else happens:
 * unknown names, names given twice or not allowed for this use, values out of
 * their domain, required fields missing. Strings in out point into the fields or
 * a. KAM_EINVAL with *why naming the field.
 */
int svc_row_parse(struct kam_arena *a, enum kam_layer layer, enum svc_use use, const struct kam_field *fields,
		  size_t n, struct svc_row_changes *out, struct svc_invalid *why) KAM_MUST_CHECK;
/* True when the field named name is among the changes. */
bool svc_row_has(const struct svc_row_changes *ch, const char *name);
/* after = before with ch applied (strings and arrays shared, not copied). */
void svc_row_apply(const struct svc_row_changes *ch, const union svc_row *before, union svc_row *after);
/* {"changes": {FIELD: {"before": V, "after": V}}} for the fields that differ; NULL when out of memory. */
struct json_t *svc_row_changes_json(enum kam_layer layer, const union svc_row *before, const union svc_row *after);

/* "YYYY-MM-DD", a real calendar date in 1900..2200. */
bool svc_date_valid(const char *s);
/* An amount needs its currency: KAM_EINVAL (field "currency") when value is known and currency is "". */
int svc_money_check(struct kam_opt_i64 value, const char *currency, struct svc_invalid *why) KAM_MUST_CHECK;
/* Owners of barriers and projects are on the account's team (field "owner"). */
int svc_owner_on_team(struct kam_arena *a, const char *owner, const struct kam_account *acc,
		      struct svc_invalid *why) KAM_MUST_CHECK;
/* Every linked project is one of the account's (field "projects"). */
int svc_links_valid(struct kam_arena *a, const struct kam_contact *c, const struct kam_layers *account_layers,
		    struct svc_invalid *why) KAM_MUST_CHECK;
/* The information layer after `account set`: revenue and budget need a currency (field "currency"),
 * and a company is not founded after this_year (field "founded"). */
int svc_info_check(struct kam_arena *a, const struct kam_info *in, int this_year, struct svc_invalid *why)
	KAM_MUST_CHECK;

/* Room for one more row of layer in l (the account's rows of it); field "" otherwise. */
int svc_layer_room(struct kam_arena *a, enum kam_layer layer, const struct kam_layers *l,
		   struct svc_invalid *why) KAM_MUST_CHECK;
/* A new project: involved where it starts, and that stage taken part in. */
void svc_project_start(struct kam_project *p);
/*
 * Move an open project to stage `to` (any stage but its current one: backwards
 * and skipping are allowed, and recorded as such in *move). KAM_EINVAL when the
 * project is closed or already there.
 */
int svc_project_advance(struct kam_arena *a, const struct kam_project *before, enum kam_pstage to,
			struct kam_project *after, enum kam_move *move, struct svc_invalid *why) KAM_MUST_CHECK;
/* Close an open project as won or lost (after->status and after->reason already set). */
int svc_project_close(struct kam_arena *a, const struct kam_project *before, const struct kam_project *after,
		      enum kam_move *move, struct svc_invalid *why) KAM_MUST_CHECK;

#endif
