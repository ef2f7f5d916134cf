/*
 * The value rules of the layers as pure functions: one table of field
 * definitions per layer drives parsing, applying and the before/after record
 * of FIELD=VALUE requests; the project's stage moves and the cross-field checks
 * (money needs a currency, owners are on the team, links stay in the account).
 * Must not call the store or touch a session; everything here is unit-tested.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "layer_fields.h"

/* How a field's value is spelled and stored. */
enum lf_kind {
	LF_TEXT,       /* const char *; up to KAM_MAX_TEXT; "" clears when clearable */
	LF_NAME,       /* const char *; 1..KAM_MAX_NAME, one line */
	LF_KW,         /* an enum, by keyword; "" clears to 0 when clearable */
	LF_INT,        /* struct kam_opt_i64 in [min, max]; "" clears */
	LF_DATE,       /* const char * YYYY-MM-DD; "" clears */
	LF_CURRENCY,   /* const char * ^[A-Z]{3}$; "" clears */
	LF_USER,       /* const char * username; "" clears */
	LF_IDS,        /* int64_t * and size_t count: "1,2,3"; "" clears */
};

struct lf_def {
	const char *name;
	enum lf_kind kind;
	unsigned uses;                    /* SVC_USE_* it may appear in */
	unsigned required;                /* SVC_USE_* it must appear in */
	bool clearable;
	size_t off;                       /* in the row; LF_IDS: the pointer */
	size_t off_n;                     /* LF_IDS: the count */
	const char *(*kw)(int v);         /* LF_KW: keyword of a value */
	int64_t min, max;                 /* LF_INT range; LF_KW: allowed values */
	const char *expect;               /* "NAME must be EXPECT" */
};

static const char *kw_barrier_kind(int v) { return kam_barrier_kind_str((enum kam_barrier_kind)v); }
static const char *kw_barrier_status(int v) { return kam_barrier_status_str((enum kam_barrier_status)v); }
static const char *kw_pstage(int v) { return kam_pstage_str((enum kam_pstage)v); }
static const char *kw_pstatus(int v) { return kam_pstatus_str((enum kam_pstatus)v); }
static const char *kw_stance(int v) { return kam_stance_str((enum kam_stance)v); }
static const char *kw_value_level(int v) { return kam_value_level_str((enum kam_value_level)v); }

/* Enum fields are read and written as int. */
_Static_assert(sizeof(enum kam_barrier_kind) == sizeof(int) && sizeof(enum kam_pstage) == sizeof(int) &&
	       sizeof(enum kam_stance) == sizeof(int) && sizeof(enum kam_value_level) == sizeof(int) &&
	       sizeof(enum kam_pstatus) == sizeof(int) && sizeof(enum kam_barrier_status) == sizeof(int),
	       "enums are int-sized");

#define ADD SVC_USE_ADD
#define SET SVC_USE_SET
#define B(f) offsetof(struct kam_barrier, f)
#define P(f) offsetof(struct kam_project, f)
#define C(f) offsetof(struct kam_contact, f)
#define V(f) offsetof(struct kam_value, f)
#define G(f) offsetof(struct kam_agreement, f)
#define TEXT_EXPECT "text"

static const struct lf_def barrier_defs[] = {
	{ "kind", LF_KW, ADD | SET, ADD, false, B(kind), 0, kw_barrier_kind, 1, KAM_BARRIER__COUNT - 1,
	  "one of prequalification, certification, references, clearance, requirement, habit, competitor, "
	  "relationship, other" },
	{ "description", LF_TEXT, ADD | SET, ADD, false, B(description), 0, NULL, 0, 0, TEXT_EXPECT },
	{ "status", LF_KW, ADD | SET, 0, false, B(status), 0, kw_barrier_status, 1, KAM_BSTATUS__COUNT - 1,
	  "one of open, working, cleared" },
	{ "breakthrough", LF_TEXT, ADD | SET, 0, true, B(breakthrough), 0, NULL, 0, 0, TEXT_EXPECT },
	{ "due", LF_DATE, ADD | SET, 0, true, B(due), 0, NULL, 0, 0, "a date YYYY-MM-DD" },
	{ "owner", LF_USER, ADD | SET, 0, true, B(owner), 0, NULL, 0, 0, "a user name" },
};

static const struct lf_def project_defs[] = {
	{ "name", LF_NAME, ADD | SET, ADD, false, P(name), 0, NULL, 0, 0, "1 to 200 bytes on one line" },
	{ "stage", LF_KW, ADD | SVC_USE_ADVANCE, SVC_USE_ADVANCE, false, P(stage), 0, kw_pstage, 1,
	  KAM_PSTAGE__COUNT - 1,
	  "one of situation, problem, need, solution, budget, procurement, contract, delivery, acceptance" },
	{ "owner", LF_USER, ADD | SET, 0, false, P(owner), 0, NULL, 0, 0, "a user name" },
	{ "value", LF_INT, ADD | SET, 0, true, P(expected_value), 0, NULL, 0, INT64_MAX,
	  "a whole number of minor currency units (e.g. cents), 0 or more" },
	{ "currency", LF_CURRENCY, ADD | SET, 0, true, P(currency), 0, NULL, 0, 0,
	  "a three-letter ISO 4217 code in capitals, e.g. EUR" },
	{ "close", LF_DATE, ADD | SET, 0, true, P(close_date), 0, NULL, 0, 0, "a date YYYY-MM-DD" },
	{ "result", LF_KW, SVC_USE_CLOSE, SVC_USE_CLOSE, false, P(status), 0, kw_pstatus, KAM_PSTATUS_WON,
	  KAM_PSTATUS_LOST, "won or lost" },
	{ "reason", LF_TEXT, SVC_USE_CLOSE, SVC_USE_CLOSE, false, P(reason), 0, NULL, 0, 0, TEXT_EXPECT },
};

static const struct lf_def contact_defs[] = {
	{ "name", LF_NAME, ADD | SET, ADD, false, C(name), 0, NULL, 0, 0, "1 to 200 bytes on one line" },
	{ "title", LF_TEXT, ADD | SET, 0, true, C(title), 0, NULL, 0, 0, TEXT_EXPECT },
	{ "decision_role", LF_TEXT, ADD | SET, 0, true, C(decision_role), 0, NULL, 0, 0, TEXT_EXPECT },
	{ "criteria", LF_TEXT, ADD | SET, 0, true, C(criteria), 0, NULL, 0, 0, TEXT_EXPECT },
	{ "weight", LF_INT, ADD | SET, 0, true, C(weight), 0, NULL, 0, KAM_MAX_WEIGHT, "a whole number from 0 to 100" },
	{ "stance", LF_KW, ADD | SET, 0, true, C(stance), 0, kw_stance, 1, KAM_STANCE__COUNT - 1,
	  "one of support, neutral, oppose (or empty: unknown)" },
	{ "org_needs", LF_TEXT, ADD | SET, 0, true, C(org_needs), 0, NULL, 0, 0, TEXT_EXPECT },
	{ "personal_needs", LF_TEXT, ADD | SET, 0, true, C(personal_needs), 0, NULL, 0, 0, TEXT_EXPECT },
	{ "projects", LF_IDS, ADD | SET, 0, true, C(projects), C(n_projects), NULL, 1, INT64_MAX,
	  "project ids separated by commas, e.g. 12,14" },
};

static const struct lf_def value_defs[] = {
	{ "level", LF_KW, ADD, ADD, false, V(level), 0, kw_value_level, 1, KAM_VLEVEL__COUNT - 1,
	  "one of business, relationship, strategic" },
	{ "text", LF_TEXT, ADD, ADD, false, V(text), 0, NULL, 0, 0, TEXT_EXPECT },
};

static const struct lf_def agreement_defs[] = {
	{ "signed_by", LF_TEXT, ADD, ADD, false, G(signed_by), 0, NULL, 0, 0, TEXT_EXPECT },
	{ "signed_on", LF_DATE, ADD, ADD, false, G(signed_on), 0, NULL, 0, 0, "a date YYYY-MM-DD" },
	{ "scope", LF_TEXT, ADD, ADD, false, G(scope), 0, NULL, 0, 0, TEXT_EXPECT },
	{ "term", LF_INT, ADD, 0, true, G(term_months), 0, NULL, 1, 1200, "a number of months from 1 to 1200" },
};

#define DEFS(t) { t, sizeof(t) / sizeof((t)[0]) }
static const struct {
	const struct lf_def *defs;
	size_t n;
} layer_defs[KAM_LAYER__COUNT] = {
	[KAM_LAYER_BARRIERS] = DEFS(barrier_defs),
	[KAM_LAYER_PROJECTS] = DEFS(project_defs),
	[KAM_LAYER_CONTACTS] = DEFS(contact_defs),
	[KAM_LAYER_VALUES] = DEFS(value_defs),
	[KAM_LAYER_AGREEMENTS] = DEFS(agreement_defs),
};


static int bad_value(struct kam_arena *a, const struct lf_def *d, struct svc_invalid *why)
{
	return svc_invalid_set(why, d->name, kam_arena_printf(a, "%s must be %s", d->name, d->expect));
}

static void *slot(union svc_row *row, size_t off)
{
	return (char *)row + off;
}

static const void *cslot(const union svc_row *row, size_t off)
{
	return (const char *)row + off;
}

/* ---- dates ---- */

bool svc_date_valid(const char *s)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d;

	if (strlen(s) != KAM_DATE_LEN || s[4] != '-' || s[7] != '-' ||
	    strspn(s, "0123456789") != 4 || strspn(s + 5, "0123456789") != 2 || strspn(s + 8, "0123456789") != 2)
		return false;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1)
		return false;
	if (m == 2 && d == 29)
		return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= mdays[m - 1];
}

/* ---- parsing one value ---- */

static int parse_kw(const struct lf_def *d, const char *v, int *out)
{
	for (int64_t i = d->min; i <= d->max; i++)
		if (strcasecmp(v, d->kw((int)i)) == 0) {
			*out = (int)i;
			return 0;
		}
	return KAM_EINVAL;
}

/* "1,2,3": positive ids, at most SVC_MAX_LINKS, duplicates dropped. */
static int parse_ids(struct kam_arena *a, const char *v, int64_t **out, size_t *n_out)
{
	int64_t *ids = kam_arena_alloc(a, SVC_MAX_LINKS * sizeof(*ids));
	char *copy = kam_arena_strdup(a, v), *save = NULL;
	size_t n = 0;

	if (!ids || !copy)
		return KAM_ENOMEM;
	/* strtok_r would accept "1,,2" and a trailing comma: refuse them. */
	if (v[0] == ',' || v[strlen(v) - 1] == ',' || strstr(v, ",,"))
		return KAM_EINVAL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int64_t id;
		bool dup = false;

		if (svc_parse_int(tok, &id) < 0 || id <= 0)
			return KAM_EINVAL;
		for (size_t i = 0; i < n; i++)
			dup |= ids[i] == id;
		if (dup)
			continue;
		if (n == SVC_MAX_LINKS)
			return KAM_E2BIG;
		ids[n++] = id;
	}
	*out = ids;
	*n_out = n;
	return 0;
}

static int parse_value(struct kam_arena *a, const struct lf_def *d, const char *v, union svc_row *dst,
		       struct svc_invalid *why)
{
	void *p = slot(dst, d->off);
	struct svc_invalid text_why;
	int64_t n;
	int rc, k;

	if (!*v) {
		if (!d->clearable)
			return svc_invalid_set(why, d->name, kam_arena_printf(a, "%s cannot be empty; it must be %s",
								     d->name, d->expect));
		switch (d->kind) {
		case LF_INT:
			*(struct kam_opt_i64 *)p = (struct kam_opt_i64){ false, 0 };
			break;
		case LF_KW:
			*(int *)p = 0;
			break;
		case LF_IDS:
			*(int64_t **)p = NULL;
			*(size_t *)slot(dst, d->off_n) = 0;
			break;
		default:
			*(const char **)p = "";
			break;
		}
		return 0;
	}
	switch (d->kind) {
	case LF_TEXT:
	case LF_NAME:
		rc = svc_check_text(a, d->name, v, d->kind == LF_NAME ? KAM_MAX_NAME : KAM_MAX_TEXT,
				    d->kind == LF_TEXT, &text_why);
		if (rc < 0) {
			*why = text_why;
			return rc;
		}
		if (d->kind == LF_NAME && (v[0] == ' ' || v[strlen(v) - 1] == ' '))
			return svc_invalid_set(why, d->name, kam_arena_printf(a, "%s starts or ends with a blank", d->name));
		*(const char **)p = v;
		return 0;
	case LF_KW:
		if (parse_kw(d, v, &k) < 0)
			return bad_value(a, d, why);
		*(int *)p = k;
		return 0;
	case LF_INT:
		if (svc_parse_int(v, &n) < 0 || n < d->min || n > d->max)
			return bad_value(a, d, why);
		*(struct kam_opt_i64 *)p = (struct kam_opt_i64){ true, n };
		return 0;
	case LF_DATE:
		if (!svc_date_valid(v))
			return bad_value(a, d, why);
		*(const char **)p = v;
		return 0;
	case LF_CURRENCY:
		if (!svc_is_currency(v))
			return bad_value(a, d, why);
		*(const char **)p = v;
		return 0;
	case LF_USER:
		if (svc_check_username(v, &text_why) < 0)
			return bad_value(a, d, why);
		*(const char **)p = v;
		return 0;
	case LF_IDS:
		rc = parse_ids(a, v, (int64_t **)p, (size_t *)slot(dst, d->off_n));
		if (rc == KAM_E2BIG)
			return svc_invalid_set(why, d->name, kam_arena_printf(a, "%s links at most %d projects", d->name,
								     SVC_MAX_LINKS));
		return rc == KAM_ENOMEM ? rc : rc < 0 ? bad_value(a, d, why) : 0;
	}
	return bad_value(a, d, why);
}

/* "kind, description, ..." of the fields a use allows, for an unknown name's message. */
static const char *names_for(struct kam_arena *a, enum kam_layer layer, enum svc_use use)
{
	char buf[512];
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < layer_defs[layer].n; i++) {
		const struct lf_def *d = &layer_defs[layer].defs[i];

		if (!(d->uses & use))
			continue;
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", used ? ", " : "", d->name);
		if (used >= sizeof(buf))
			break;
	}
	return kam_arena_strdup(a, buf);
}

void svc_row_defaults(enum kam_layer layer, union svc_row *row)
{
	memset(row, 0, sizeof(*row));
	switch (layer) {
	case KAM_LAYER_BARRIERS:
		row->barrier.status = KAM_BSTATUS_OPEN;
		row->barrier.description = row->barrier.breakthrough = row->barrier.due = row->barrier.owner = "";
		break;
	case KAM_LAYER_PROJECTS:
		row->project.stage = KAM_PSTAGE_SITUATION;
		row->project.status = KAM_PSTATUS_OPEN;
		row->project.name = row->project.reason = row->project.owner = "";
		row->project.currency = row->project.close_date = "";
		break;
	case KAM_LAYER_CONTACTS:
		row->contact.name = row->contact.title = row->contact.decision_role = row->contact.criteria = "";
		row->contact.org_needs = row->contact.personal_needs = "";
		break;
	case KAM_LAYER_VALUES:
		row->value.text = row->value.author = "";
		break;
	case KAM_LAYER_AGREEMENTS:
		row->agreement.signed_by = row->agreement.signed_on = row->agreement.scope = "";
		row->agreement.recorded_by = "";
		break;
	case KAM_LAYER__COUNT:
		break;
	}
}

int svc_row_parse(struct kam_arena *a, enum kam_layer layer, enum svc_use use, const struct kam_field *fields,
		  size_t n, struct svc_row_changes *out, struct svc_invalid *why)
{
	const struct lf_def *defs;
	size_t ndefs;

	memset(out, 0, sizeof(*out));
	out->layer = layer;
	if ((unsigned)layer >= KAM_LAYER__COUNT)
		return svc_invalid_set(why, "", "unknown layer");
	defs = layer_defs[layer].defs;
	ndefs = layer_defs[layer].n;
	svc_row_defaults(layer, &out->values);
	for (size_t i = 0; i < n; i++) {
		const char *name = fields[i].name ? fields[i].name : "";
		const char *value = fields[i].value ? fields[i].value : "";
		size_t k;
		int rc;

		for (k = 0; k < ndefs && !((defs[k].uses & use) && strcmp(defs[k].name, name) == 0); k++)
			;
		if (k == ndefs)
			return svc_invalid_set(why, name, kam_arena_printf(a, "unknown field '%s'; fields are: %s", name,
								   names_for(a, layer, use)));
		if (out->set & (1u << k))
			return svc_invalid_set(why, name, kam_arena_printf(a, "field %s is given more than once", name));
		rc = parse_value(a, &defs[k], value, &out->values, why);
		if (rc < 0)
			return rc;
		out->set |= 1u << k;
	}
	for (size_t k = 0; k < ndefs; k++)
		if ((defs[k].required & use) && !(out->set & (1u << k)))
			return svc_invalid_set(why, defs[k].name, kam_arena_printf(a, "%s is required; it must be %s",
									  defs[k].name, defs[k].expect));
	return 0;
}

bool svc_row_has(const struct svc_row_changes *ch, const char *name)
{
	for (size_t k = 0; k < layer_defs[ch->layer].n; k++)
		if ((ch->set & (1u << k)) && strcmp(layer_defs[ch->layer].defs[k].name, name) == 0)
			return true;
	return false;
}

static size_t value_size(const struct lf_def *d)
{
	switch (d->kind) {
	case LF_INT:
		return sizeof(struct kam_opt_i64);
	case LF_KW:
		return sizeof(int);
	case LF_IDS:
		return sizeof(int64_t *);
	default:
		return sizeof(const char *);
	}
}

void svc_row_apply(const struct svc_row_changes *ch, const union svc_row *before, union svc_row *after)
{
	*after = *before;
	for (size_t k = 0; k < layer_defs[ch->layer].n; k++) {
		const struct lf_def *d = &layer_defs[ch->layer].defs[k];

		if (!(ch->set & (1u << k)))
			continue;
		memcpy(slot(after, d->off), cslot(&ch->values, d->off), value_size(d));
		if (d->kind == LF_IDS)
			memcpy(slot(after, d->off_n), cslot(&ch->values, d->off_n), sizeof(size_t));
	}
}

/* ---- the change record ---- */

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

/* A field's value as JSON: integers, strings, keywords, id arrays; null for unknown. */
static json_t *value_json(const struct lf_def *d, const union svc_row *row)
{
	const void *p = cslot(row, d->off);

	switch (d->kind) {
	case LF_INT: {
		const struct kam_opt_i64 *v = p;

		return v->has ? json_integer(v->value) : json_null();
	}
	case LF_KW: {
		const char *kw = d->kw(*(const int *)p);

		return kw && *kw ? json_string(kw) : json_null();
	}
	case LF_IDS: {
		const int64_t *ids = *(int64_t *const *)p;
		size_t n = *(const size_t *)cslot(row, d->off_n);
		json_t *arr = json_array();

		for (size_t i = 0; arr && i < n; i++)
			if (json_array_append_new(arr, json_integer(ids[i])) < 0) {
				json_decref(arr);
				return NULL;
			}
		return arr;
	}
	default:
		return json_string(str_or_empty(*(const char *const *)p));
	}
}

static bool value_equal(const struct lf_def *d, const union svc_row *x, const union svc_row *y)
{
	json_t *a = value_json(d, x), *b = value_json(d, y);
	bool eq = a && b && json_equal(a, b);

	json_decref(a);
	json_decref(b);
	return eq;
}

json_t *svc_row_changes_json(enum kam_layer layer, const union svc_row *before, const union svc_row *after)
{
	json_t *root = json_object(), *changes = json_object();

	if ((unsigned)layer >= KAM_LAYER__COUNT || !root || !changes || json_object_set(root, "changes", changes) < 0)
		goto fail;
	for (size_t k = 0; k < layer_defs[layer].n; k++) {
		const struct lf_def *d = &layer_defs[layer].defs[k];

		if (value_equal(d, before, after))
			continue;
		if (json_object_set_new(changes, d->name, json_pack("{s:o?, s:o?}", "before", value_json(d, before),
								    "after", value_json(d, after))) < 0)
			goto fail;
	}
	json_decref(changes);
	return root;
fail:
	json_decref(changes);
	json_decref(root);
	return NULL;
}

/* ---- checks across fields and rows ---- */

int svc_money_check(struct kam_opt_i64 value, const char *currency, struct svc_invalid *why)
{
	if (value.has && !*str_or_empty(currency))
		return svc_invalid_set(why, "currency",
			       "an amount is in minor units of a currency: give currency too (e.g. currency=EUR)");
	return 0;
}

int svc_info_check(struct kam_arena *a, const struct kam_info *in, int this_year, struct svc_invalid *why)
{
	if (in->founded.has && in->founded.value > this_year)
		return svc_invalid_set(why, "founded", kam_arena_printf(a, "founded must be a year from 1000 to %d",
									 this_year));
	return svc_money_check(in->revenue.has ? in->revenue : in->budget, in->currency, why);
}

int svc_owner_on_team(struct kam_arena *a, const char *owner, const struct kam_account *acc,
		      struct svc_invalid *why)
{
	if (!owner || !*owner)
		return 0;
	for (size_t i = 0; i < acc->n_team; i++)
		if (strcmp(acc->team[i], owner) == 0)
			return 0;
	return svc_invalid_set(why, "owner", kam_arena_printf(a, "owner %s is not on the team of account %s", owner,
						      str_or_empty(acc->name)));
}

int svc_links_valid(struct kam_arena *a, const struct kam_contact *c, const struct kam_layers *l,
		    struct svc_invalid *why)
{
	for (size_t i = 0; i < c->n_projects; i++) {
		bool found = false;

		for (size_t k = 0; k < l->n_projects && !found; k++)
			found = l->projects[k].id == c->projects[i];
		if (!found)
			return svc_invalid_set(why, "projects", kam_arena_printf(a, "projects: no project %lld on this account",
									(long long)c->projects[i]));
	}
	return 0;
}

int svc_layer_room(struct kam_arena *a, enum kam_layer layer, const struct kam_layers *l, struct svc_invalid *why)
{
	static const char *const nouns[KAM_LAYER__COUNT] = { "barriers", "projects", "contacts", "value propositions",
							     "agreements" };
	const size_t counts[KAM_LAYER__COUNT] = { l->n_barriers, l->n_projects, l->n_contacts, l->n_values,
						  l->n_agreements };

	if ((unsigned)layer >= KAM_LAYER__COUNT || counts[layer] < SVC_MAX_LAYER_ROWS)
		return 0;
	return svc_invalid_set(why, "", kam_arena_printf(a, "the account has %d %s already, the most it may have",
						 SVC_MAX_LAYER_ROWS, nouns[layer]));
}

void svc_project_start(struct kam_project *p)
{
	p->status = KAM_PSTATUS_OPEN;
	p->involved = p->stage;
	p->stages_taken = KAM_PSTAGE_BIT(p->stage);
}

static int closed_refusal(struct kam_arena *a, const struct kam_project *p, struct svc_invalid *why)
{
	return svc_invalid_set(why, "", kam_arena_printf(a, "project %lld is closed (%s)", (long long)p->id,
						 kam_pstatus_str(p->status)));
}

int svc_project_advance(struct kam_arena *a, const struct kam_project *before, enum kam_pstage to,
			struct kam_project *after, enum kam_move *move, struct svc_invalid *why)
{
	*after = *before;
	if (before->status != KAM_PSTATUS_OPEN)
		return closed_refusal(a, before, why);
	if (to <= KAM_PSTAGE_NONE || to >= KAM_PSTAGE__COUNT)
		return svc_invalid_set(why, "stage", "stage is out of range");
	if (to == before->stage)
		return svc_invalid_set(why, "stage", kam_arena_printf(a, "project %lld is at stage %s already",
							      (long long)before->id, kam_pstage_str(to)));
	if (before->n_history >= SVC_MAX_MOVES)
		return svc_invalid_set(why, "stage", kam_arena_printf(a, "project %lld has moved %d times, the most it may",
							      (long long)before->id, SVC_MAX_MOVES));
	*move = to < before->stage ? KAM_MOVE_BACK : to == before->stage + 1 ? KAM_MOVE_FORWARD : KAM_MOVE_SKIP;
	after->stage = to;
	after->stages_taken |= KAM_PSTAGE_BIT(to);
	return 0;
}

int svc_project_close(struct kam_arena *a, const struct kam_project *before, const struct kam_project *after,
		      enum kam_move *move, struct svc_invalid *why)
{
	if (before->status != KAM_PSTATUS_OPEN)
		return closed_refusal(a, before, why);
	if (after->status != KAM_PSTATUS_WON && after->status != KAM_PSTATUS_LOST)
		return svc_invalid_set(why, "result", "result must be won or lost");
	*move = after->status == KAM_PSTATUS_WON ? KAM_MOVE_WON : KAM_MOVE_LOST;
	return 0;
}
