/*
 * The value rules of the service layer, as pure functions: FIELD=VALUE parsing
 * for `account set` (driven by one table of field definitions), name and
 * password checks, owner seniority, and the before/after change record.
 * Must not call the store or touch a session; everything here is unit-tested.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fields.h"

/* How a field's value is spelled and stored. */
enum field_kind {
	FK_INT,          /* struct kam_opt_i64; empty clears */
	FK_TEXT,         /* const char *; up to KAM_MAX_TEXT; empty clears */
	FK_CURRENCY,     /* const char *; ^[A-Z]{3}$; empty clears */
	FK_TIER,         /* enum kam_tier keyword */
	FK_STAGE,        /* enum kam_stage keyword */
	FK_STRATEGY,     /* enum kam_strategy keyword; empty means undecided */
};

struct field_def {
	const char *name;
	enum field_kind kind;
	bool clearable;            /* an empty value is allowed */
	enum authz_action action;  /* what writing it needs */
	size_t off;                /* where the value lives in struct kam_account */
	int64_t min, max;          /* FK_INT range */
	const char *expect;        /* "NAME must be EXPECT": what a valid value looks like */
};

static const struct field_def field_defs[SVC_F__COUNT] = {
	[SVC_F_FOUNDED] = { "founded", FK_INT, true, AZ_ACCOUNT_WRITE_INFO,
			    offsetof(struct kam_account, info.founded), 1000, 2200,
			    "a year from 1000 to 2200" },
	[SVC_F_HEADCOUNT] = { "headcount", FK_INT, true, AZ_ACCOUNT_WRITE_INFO,
			      offsetof(struct kam_account, info.headcount), 0, INT64_MAX,
			      "a whole number, 0 or more" },
	[SVC_F_BUSINESS] = { "business", FK_TEXT, true, AZ_ACCOUNT_WRITE_INFO,
			     offsetof(struct kam_account, info.business), 0, 0, "text" },
	[SVC_F_REVENUE] = { "revenue", FK_INT, true, AZ_ACCOUNT_WRITE_INFO,
			    offsetof(struct kam_account, info.revenue), 0, INT64_MAX,
			    "a whole number of minor currency units (e.g. cents), 0 or more" },
	[SVC_F_BUDGET] = { "budget", FK_INT, true, AZ_ACCOUNT_WRITE_INFO,
			   offsetof(struct kam_account, info.budget), 0, INT64_MAX,
			   "a whole number of minor currency units (e.g. cents), 0 or more" },
	[SVC_F_CURRENCY] = { "currency", FK_CURRENCY, true, AZ_ACCOUNT_WRITE_INFO,
			     offsetof(struct kam_account, info.currency), 0, 0,
			     "a three-letter ISO 4217 code in capitals, e.g. EUR" },
	[SVC_F_SUPPLIERS] = { "suppliers", FK_TEXT, true, AZ_ACCOUNT_WRITE_INFO,
			      offsetof(struct kam_account, info.suppliers), 0, 0, "text" },
	[SVC_F_NOTES] = { "notes", FK_TEXT, true, AZ_ACCOUNT_WRITE_INFO,
			  offsetof(struct kam_account, info.notes), 0, 0, "text" },
	[SVC_F_TIER] = { "tier", FK_TIER, false, AZ_ACCOUNT_WRITE_TIER,
			 offsetof(struct kam_account, tier), 0, 0,
			 "one of strategic, top, important, ordinary" },
	[SVC_F_STAGE] = { "stage", FK_STAGE, false, AZ_ACCOUNT_WRITE_PLAN,
			  offsetof(struct kam_account, stage), 0, 0,
			  "one of breakthrough, consolidation, occupation" },
	[SVC_F_STRATEGY] = { "strategy", FK_STRATEGY, true, AZ_ACCOUNT_WRITE_PLAN,
			     offsetof(struct kam_account, strategy), 0, 0,
			     "one of attack, watch (or empty: undecided)" },
};

#define FIELD_NAMES "founded, headcount, business, revenue, budget, currency, suppliers, notes, tier, stage, strategy"

static void *field_ptr(struct kam_account *acc, const struct field_def *d)
{
	return (char *)acc + d->off;
}

static const void *field_cptr(const struct kam_account *acc, const struct field_def *d)
{
	return (const char *)acc + d->off;
}

static size_t field_size(const struct field_def *d)
{
	switch (d->kind) {
	case FK_INT:
		return sizeof(struct kam_opt_i64);
	case FK_TEXT:
	case FK_CURRENCY:
		return sizeof(const char *);
	case FK_TIER:
		return sizeof(enum kam_tier);
	case FK_STAGE:
		return sizeof(enum kam_stage);
	case FK_STRATEGY:
		return sizeof(enum kam_strategy);
	}
	return 0;
}

static int invalid(struct svc_invalid *why, const char *field, const char *message)
{
	why->message = message ? message : "invalid value (and out of memory describing it)";
	why->field = field;
	return KAM_EINVAL;
}

static int bad_value(struct kam_arena *a, const struct field_def *d, struct svc_invalid *why)
{
	return invalid(why, d->name, kam_arena_printf(a, "%s must be %s", d->name, d->expect));
}

/* Validate UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF); count code points. */
static int utf8_check(const char *s, size_t *chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (*p) {
		unsigned c = *p, need, cp;

		if (c < 0x80) {
			p++;
			n++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return KAM_EINVAL;
		}
		for (unsigned i = 1; i <= need; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return KAM_EINVAL;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return KAM_EINVAL;
		p += need + 1;
		n++;
	}
	if (chars)
		*chars = n;
	return 0;
}

/* Control characters would let one user rewrite another user's terminal. */
static bool has_control(const char *s, bool allow_layout)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (allow_layout && (*p == '\t' || *p == '\n' || *p == '\r'))
			continue;
		if (*p < 0x20 || *p == 0x7f)
			return true;
	}
	return false;
}

/* Strict decimal: optional '-', digits only, no blanks, no overflow. */
static int parse_i64(const char *s, int64_t *out)
{
	const char *digits = s[0] == '-' ? s + 1 : s;
	char *end;
	long long v;

	if (!*digits || strspn(digits, "0123456789") != strlen(digits))
		return KAM_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE || *end)
		return KAM_EINVAL;
	*out = v;
	return 0;
}

static int parse_text(struct kam_arena *a, const struct field_def *d, const char *v,
		      struct svc_invalid *why)
{
	if (strlen(v) > KAM_MAX_TEXT)
		return invalid(why, d->name, kam_arena_printf(a, "%s is longer than %d bytes", d->name, KAM_MAX_TEXT));
	if (utf8_check(v, NULL) < 0)
		return invalid(why, d->name, kam_arena_printf(a, "%s is not valid UTF-8", d->name));
	if (has_control(v, true))
		return invalid(why, d->name, kam_arena_printf(a, "%s contains a control character", d->name));
	return 0;
}

static bool is_currency(const char *v)
{
	return strlen(v) == 3 && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 3;
}

/* Parse one value into its slot in dst. */
static int parse_value(struct kam_arena *a, const struct field_def *d, const char *v,
		       struct kam_account *dst, struct svc_invalid *why)
{
	void *slot = field_ptr(dst, d);
	int rc = 0;

	if (!*v) {
		if (!d->clearable)
			return invalid(why, d->name, kam_arena_printf(a, "%s cannot be cleared; it must be %s",
								     d->name, d->expect));
		/* A zeroed slot is the cleared value of every clearable kind, except text (""). */
		memset(slot, 0, field_size(d));
		if (d->kind == FK_TEXT || d->kind == FK_CURRENCY)
			*(const char **)slot = "";
		return 0;
	}
	switch (d->kind) {
	case FK_INT: {
		int64_t n;

		if (parse_i64(v, &n) < 0 || n < d->min || n > d->max)
			return bad_value(a, d, why);
		*(struct kam_opt_i64 *)slot = (struct kam_opt_i64){ .has = true, .value = n };
		return 0;
	}
	case FK_TEXT:
		rc = parse_text(a, d, v, why);
		if (rc == 0)
			*(const char **)slot = v;
		return rc;
	case FK_CURRENCY:
		if (!is_currency(v))
			return bad_value(a, d, why);
		*(const char **)slot = v;
		return 0;
	case FK_TIER:
		rc = kam_tier_parse(v, (enum kam_tier *)slot);
		if (rc == 0 && *(enum kam_tier *)slot == KAM_TIER_NONE)
			rc = KAM_EINVAL;
		break;
	case FK_STAGE:
		rc = kam_stage_parse(v, (enum kam_stage *)slot);
		if (rc == 0 && *(enum kam_stage *)slot == KAM_STAGE_NONE)
			rc = KAM_EINVAL;
		break;
	case FK_STRATEGY:
		rc = kam_strategy_parse(v, (enum kam_strategy *)slot);
		break;
	}
	return rc < 0 ? bad_value(a, d, why) : 0;
}

static const struct field_def *field_lookup(const char *name)
{
	for (size_t i = 0; i < SVC_F__COUNT; i++)
		if (strcmp(field_defs[i].name, name) == 0)
			return &field_defs[i];
	return NULL;
}

int svc_changes_parse(struct kam_arena *a, const struct kam_field *fields, size_t n,
		      struct svc_changes *out, struct svc_invalid *why)
{
	memset(out, 0, sizeof(*out));
	if (n == 0)
		return invalid(why, "", "nothing to set; give FIELD=VALUE (fields: " FIELD_NAMES ")");
	for (size_t i = 0; i < n; i++) {
		const char *name = fields[i].name ? fields[i].name : "";
		const char *value = fields[i].value ? fields[i].value : "";
		const struct field_def *d = field_lookup(name);
		unsigned bit;
		int rc;

		if (!d)
			return invalid(why, name, kam_arena_printf(a, "unknown field '%s'; fields are: " FIELD_NAMES, name));
		bit = SVC_F_BIT(d - field_defs);
		if (out->set & bit)
			return invalid(why, name, kam_arena_printf(a, "field %s is given more than once", name));
		rc = parse_value(a, d, value, &out->values, why);
		if (rc < 0)
			return rc;
		out->set |= bit;
	}
	return 0;
}

static void add_action(enum authz_action out[SVC_MAX_ACTIONS], size_t *n, enum authz_action a)
{
	for (size_t i = 0; i < *n; i++)
		if (out[i] == a)
			return;
	if (*n < SVC_MAX_ACTIONS)
		out[(*n)++] = a;
}

size_t svc_changes_actions(const struct svc_changes *ch, enum kam_tier current_tier,
			   enum authz_action out[SVC_MAX_ACTIONS])
{
	size_t n = 0;

	for (size_t i = 0; i < SVC_F__COUNT; i++)
		if (ch->set & SVC_F_BIT(i))
			add_action(out, &n, field_defs[i].action);
	/* Moving an account into or out of the strategic tier is the GM's call. */
	if ((ch->set & SVC_F_BIT(SVC_F_TIER)) && ch->values.tier != current_tier &&
	    (ch->values.tier == KAM_TIER_STRATEGIC || current_tier == KAM_TIER_STRATEGIC))
		add_action(out, &n, AZ_ACCOUNT_SET_STRATEGIC);
	return n;
}

void svc_changes_apply(const struct kam_account *before, const struct svc_changes *ch,
		       struct kam_account *after)
{
	*after = *before;
	for (size_t i = 0; i < SVC_F__COUNT; i++) {
		const struct field_def *d = &field_defs[i];

		if (ch->set & SVC_F_BIT(i))
			memcpy(field_ptr(after, d), field_cptr(&ch->values, d), field_size(d));
	}
}

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

static bool field_equal(const struct field_def *d, const struct kam_account *x, const struct kam_account *y)
{
	const void *px = field_cptr(x, d), *py = field_cptr(y, d);

	switch (d->kind) {
	case FK_INT: {
		const struct kam_opt_i64 *a = px, *b = py;

		return a->has == b->has && (!a->has || a->value == b->value);
	}
	case FK_TEXT:
	case FK_CURRENCY:
		return strcmp(str_or_empty(*(const char *const *)px), str_or_empty(*(const char *const *)py)) == 0;
	default:
		return memcmp(px, py, field_size(d)) == 0;
	}
}

/* A field's value as JSON: integers, strings, keywords; null for unknown/undecided. */
static json_t *field_json(const struct field_def *d, const struct kam_account *acc)
{
	const void *p = field_cptr(acc, d);
	const char *kw = NULL;

	switch (d->kind) {
	case FK_INT: {
		const struct kam_opt_i64 *v = p;

		return v->has ? json_integer(v->value) : json_null();
	}
	case FK_TEXT:
	case FK_CURRENCY:
		return json_string(str_or_empty(*(const char *const *)p));
	case FK_TIER:
		kw = kam_tier_str(*(const enum kam_tier *)p);
		break;
	case FK_STAGE:
		kw = kam_stage_str(*(const enum kam_stage *)p);
		break;
	case FK_STRATEGY:
		kw = kam_strategy_str(*(const enum kam_strategy *)p);
		break;
	}
	return kw && *kw ? json_string(kw) : json_null();
}

json_t *svc_changes_json(const struct kam_account *before, const struct kam_account *after)
{
	json_t *root = json_object(), *changes = json_object();

	if (!root || !changes || json_object_set(root, "changes", changes) < 0)
		goto fail;
	for (size_t i = 0; i < SVC_F__COUNT; i++) {
		const struct field_def *d = &field_defs[i];

		if (field_equal(d, before, after))
			continue;
		if (json_object_set_new(changes, d->name,
					json_pack("{s:o?, s:o?}", "before", field_json(d, before),
						  "after", field_json(d, after))) < 0)
			goto fail;
	}
	json_decref(changes);
	return root;
fail:
	json_decref(changes);
	json_decref(root);
	return NULL;
}

int svc_owner_fits_tier(enum kam_tier tier, enum kam_role role, struct svc_invalid *why)
{
	if (tier == KAM_TIER_STRATEGIC && role != KAM_ROLE_MANAGER && role != KAM_ROLE_GM)
		return invalid(why, "owner", "a STRATEGIC account must be owned by a manager or the GM");
	if (tier == KAM_TIER_TOP && role != KAM_ROLE_SOLUTION && role != KAM_ROLE_MANAGER && role != KAM_ROLE_GM)
		return invalid(why, "owner", "a TOP account must be owned by a solution rep or above");
	return 0;
}

int svc_check_username(const char *name, struct svc_invalid *why)
{
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	size_t len = strlen(name);

	/* The schema's rule: ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$ */
	if (len == 0 || len > KAM_MAX_USERNAME || !strchr(alnum, name[0]) ||
	    strspn(name + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != len - 1)
		return invalid(why, "username",
			       "a user name is 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit");
	return 0;
}

int svc_check_account_name(const char *name, struct svc_invalid *why)
{
	size_t len = strlen(name);

	if (len == 0)
		return invalid(why, "name", "the account name is empty");
	if (len > KAM_MAX_NAME)
		return invalid(why, "name", "the account name is longer than 200 bytes");
	if (utf8_check(name, NULL) < 0)
		return invalid(why, "name", "the account name is not valid UTF-8");
	if (has_control(name, false))
		return invalid(why, "name", "the account name contains a control character");
	if (name[0] == ' ' || name[len - 1] == ' ')
		return invalid(why, "name", "the account name starts or ends with a blank");
	/* ACCOUNT on the command line is an id or a name: a numeric name would be ambiguous. */
	if (svc_ref_is_id(name))
		return invalid(why, "name", "an account name cannot be only digits (it would read as an account id)");
	return 0;
}

int svc_check_password(const char *password, struct svc_invalid *why)
{
	size_t chars = 0;

	if (utf8_check(password, &chars) < 0)
		return invalid(why, "password", "the password is not valid UTF-8");
	if (chars < KAM_MIN_PASSWORD)
		return invalid(why, "password", "the password must be at least 12 characters long");
	return 0;
}

bool svc_ref_is_id(const char *ref)
{
	return *ref && strspn(ref, "0123456789") == strlen(ref);
}

static const char *dup_or_empty(struct kam_arena *a, const char *s)
{
	return kam_arena_strdup(a, s ? s : "");
}

int svc_account_copy(struct kam_arena *a, const struct kam_account *src, struct kam_account *dst)
{
	const char **team = NULL;

	*dst = *src;
	if (src->n_team) {
		team = kam_arena_alloc(a, src->n_team * sizeof(*team));
		if (!team)
			return KAM_ENOMEM;
		for (size_t i = 0; i < src->n_team; i++)
			if (!(team[i] = dup_or_empty(a, src->team[i])))
				return KAM_ENOMEM;
	}
	dst->team = team;
	dst->name = dup_or_empty(a, src->name);
	dst->owner = dup_or_empty(a, src->owner);
	dst->info.business = dup_or_empty(a, src->info.business);
	dst->info.currency = dup_or_empty(a, src->info.currency);
	dst->info.suppliers = dup_or_empty(a, src->info.suppliers);
	dst->info.notes = dup_or_empty(a, src->info.notes);
	if (!dst->name || !dst->owner || !dst->info.business || !dst->info.currency ||
	    !dst->info.suppliers || !dst->info.notes)
		return KAM_ENOMEM;
	return 0;
}

/* ---- layers (issue 3): the same value rules, for layer_fields.c ---- */

int svc_invalid_set(struct svc_invalid *why, const char *field, const char *message)
{
	return invalid(why, field, message);
}

int svc_parse_int(const char *s, int64_t *out)
{
	return parse_i64(s, out);
}

bool svc_is_currency(const char *v)
{
	return is_currency(v);
}

int svc_check_text(struct kam_arena *a, const char *name, const char *v, size_t max, bool layout,
		   struct svc_invalid *why)
{
	if (strlen(v) > max)
		return invalid(why, name, kam_arena_printf(a, "%s is longer than %zu bytes", name, max));
	if (utf8_check(v, NULL) < 0)
		return invalid(why, name, kam_arena_printf(a, "%s is not valid UTF-8", name));
	if (has_control(v, layout))
		return invalid(why, name, kam_arena_printf(a, "%s contains a control character", name));
	return 0;
}
