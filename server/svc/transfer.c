/*
 * kam export (the GM: every account with every layer, in pages read under one
 * audit entry that names the count) and kam import (managers and the GM: every
 * row checked as account add and account set would check it, then all rows in
 * one transaction or none). Errors name the row's line and field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "db/store.h"
#include "fields.h"
#include "layer_fields.h"
#include "log.h"
#include "svc_call.h"

/* Accounts per export page, and the bytes a page may hold (a frame is 1 MiB). */
#define EXPORT_PAGE 100
#define EXPORT_PAGE_BYTES (512u << 10)

/* ---- export ---- */

/* A generous guess at an account's encoded size: its strings plus fixed fields. */
static size_t item_size(const struct kam_export_item *it)
{
	const struct kam_account *a = &it->account;
	size_t n = 128 + strlen(a->name) + strlen(a->owner) + strlen(it->layers);

	for (size_t i = 0; i < a->n_team; i++)
		n += strlen(a->team[i]) + 2;
	if (a->has_info)
		n += strlen(a->info.business) + strlen(a->info.suppliers) + strlen(a->info.notes) + 64;
	return n;
}

static void on_export_page(void *arg, int err, const struct kam_export_item *items, size_t n)
{
	struct svc_call *c = arg;
	size_t keep = 0, bytes = 0;

	if (err == KAM_ENOTFOUND) {
		svc_reply_error(c, KAM_STATUS_NOT_FOUND, "export_id",
				"export %lld is unknown, someone else's or over an hour old; start a new one",
				(long long)c->resp.u.export_page.export_id);
		return;
	}
	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	/* Cut the page where it would get too big for one frame (never below one account). */
	while (keep < n && (keep == 0 || bytes + item_size(&items[keep]) <= EXPORT_PAGE_BYTES))
		bytes += item_size(&items[keep++]);
	c->resp.u.export_page.items = (struct kam_export_item *)items;
	c->resp.u.export_page.n = keep;
	c->resp.u.export_page.next_after_id = keep < n || n == EXPORT_PAGE ? items[keep - 1].account.id : 0;
	svc_reply(c);
}

static void export_page(struct svc_call *c, int64_t after_id)
{
	int rc = store_export_page(svc_store(), c->who.user_id, c->resp.u.export_page.export_id, after_id, EXPORT_PAGE,
				   on_export_page, c);

	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_export_begun(void *arg, int err, int64_t export_id, int64_t total, int64_t until_id)
{
	struct svc_call *c = arg;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	kam_log(KAM_LOG_INFO, c->peer, "%s exports %lld accounts (export %lld)", c->who.username, (long long)total,
		(long long)export_id);
	c->resp.u.export_page.export_id = export_id;
	c->resp.u.export_page.total = total;
	export_page(c, 0);
}

void svc_op_export(struct svc_call *c)
{
	struct audit_entry *e;
	int rc;

	if (!svc_allow(c, AZ_EXPORT, KAM_REL_NONE, 0))
		return;
	if (c->req.u.export_page.export_id > 0) {
		c->resp.u.export_page.export_id = c->req.u.export_page.export_id;
		export_page(c, c->req.u.export_page.after_id);
		return;
	}
	/* One entry for the whole export; the store adds the count and how far it reaches. */
	e = svc_audit_detail(c, 0, json_pack("{s:s}", "layers", "all"));
	if (!e)
		return;
	rc = store_export_begin(svc_store(), e, on_export_begun, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

/* ---- import ---- */

struct import_state {
	struct kam_account *after;      /* per row: the account as it will be created */
	const char **owner;             /* per row: the owner's name */
};

static const struct kam_import_row *rows_of(const struct svc_call *c, size_t *n)
{
	*n = c->req.u.import.n_rows;
	return c->req.u.import.rows;
}

/* "line N: why", about field, and the call is over. */
static void row_error(struct svc_call *c, enum kam_status code, const struct kam_import_row *row, const char *field,
		      const char *why)
{
	svc_reply_error(c, code, field, "line %u: %s", row->line, why);
}

/* Check one row alone (name, tier, fields) and build the account it creates. */
static bool row_check(struct svc_call *c, const struct kam_import_row *row, struct kam_account *after)
{
	static const struct kam_account blank = { .stage = KAM_STAGE_BREAKTHROUGH };
	struct svc_changes ch;
	struct svc_invalid why;

	if (svc_check_account_name(row->name ? row->name : "", &why) < 0) {
		row_error(c, KAM_STATUS_INVALID_ARGUMENT, row, "name", why.message);
		return false;
	}
	if (row->tier <= KAM_TIER_NONE || row->tier >= KAM_TIER__COUNT) {
		row_error(c, KAM_STATUS_INVALID_ARGUMENT, row, "tier", "give the tier: strategic, top, important or ordinary");
		return false;
	}
	memset(&ch, 0, sizeof(ch));
	if (row->n_fields > 0 && svc_changes_parse(&c->arena, row->fields, row->n_fields, &ch, &why) < 0) {
		row_error(c, KAM_STATUS_INVALID_ARGUMENT, row, why.field, why.message);
		return false;
	}
	if (ch.set & SVC_F_BIT(SVC_F_TIER)) {
		row_error(c, KAM_STATUS_INVALID_ARGUMENT, row, "tier", "the tier is a column of its own");
		return false;
	}
	svc_changes_apply(&blank, &ch, after);
	after->name = row->name;
	after->tier = row->tier;
	/* The rules account set applies to the information as a whole (issue 3's). */
	if (svc_info_check(&c->arena, &after->info, svc_this_year(), &why) < 0) {
		row_error(c, KAM_STATUS_INVALID_ARGUMENT, row, why.field, why.message);
		return false;
	}
	return true;
}

/* Every action creating this row needs, as account add asks for them; false: refused and answered. */
static bool row_allowed(struct svc_call *c, const struct kam_import_row *row, const char *owner)
{
	enum authz_action actions[2];
	size_t n = 0;

	actions[n++] = strcmp(owner, c->who.username) == 0 ? AZ_ACCOUNT_CREATE : AZ_ACCOUNT_CREATE_FOR;
	if (row->tier == KAM_TIER_STRATEGIC)
		actions[n++] = AZ_ACCOUNT_SET_STRATEGIC;
	c->account_ref = kam_arena_printf(&c->arena, "%s, line %u", row->name, row->line);
	return svc_authorize(c, actions, n, KAM_REL_OWNER, 0);
}

static void on_imported(void *arg, int err, const int64_t *ids, size_t n)
{
	struct svc_call *c = arg;

	if (err == KAM_ECONFLICT) {
		svc_reply_error(c, KAM_STATUS_CONFLICT, NULL,
				"the accounts or their owners changed while importing; nothing was imported, try again");
		return;
	}
	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	kam_log(KAM_LOG_INFO, c->peer, "%s imported %zu accounts", c->who.username, n);
	c->resp.u.import.imported = (uint32_t)n;
	c->resp.u.import.ids = (int64_t *)ids;
	c->resp.u.import.n_ids = n;
	svc_reply(c);
}

static json_t *opt_json(struct kam_opt_i64 v)
{
	return v.has ? json_integer(v.value) : json_null();
}

/* One row for store_import: the values, the owner's id, and what its audit entry says. */
static json_t *row_json(const struct kam_import_row *row, const struct kam_account *a, const struct kam_user *owner)
{
	static const struct kam_account blank = { .stage = KAM_STAGE_BREAKTHROUGH };
	const struct kam_info *in = &a->info;
	json_t *all = svc_changes_json(&blank, a), *changes = all ? json_incref(json_object_get(all, "changes")) : NULL;

	json_decref(all);
	if (!changes)
		return NULL;
	return json_pack("{s:i, s:s, s:i, s:I, s:i, s:i, s:o, s:o, s:s?, s:o, s:o, s:s?, s:s?, s:s?, "
			 "s:{s:i, s:s, s:s, s:s, s:o}}",
			 "line", (int)row->line, "name", a->name, "tier", (int)a->tier, "owner_id", (json_int_t)owner->id,
			 "stage", (int)a->stage, "strategy", (int)a->strategy, "founded", opt_json(in->founded),
			 "headcount", opt_json(in->headcount), "business", in->business, "revenue", opt_json(in->revenue),
			 "budget", opt_json(in->budget), "currency", in->currency, "suppliers", in->suppliers,
			 "notes", in->notes,
			 "detail", "line", (int)row->line, "name", a->name, "tier", kam_tier_str(a->tier),
			 "owner", owner->username, "changes", changes);
}

static const struct kam_user *find_owner(const struct kam_user *owners, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(owners[i].username, name) == 0)
			return &owners[i];
	return NULL;
}

static void import_rows(struct svc_call *c, const struct kam_user *owners, size_t n_owners)
{
	struct import_state *is = c->op_state;
	struct svc_invalid why;
	json_t *arr = json_array();
	struct audit_entry *e;
	const char *text;
	size_t n;
	const struct kam_import_row *rows = rows_of(c, &n);
	int rc;

	for (size_t i = 0; arr && i < n; i++) {
		const struct kam_user *o = find_owner(owners, n_owners, is->owner[i]);
		const char *msg = NULL;

		if (!o)
			msg = kam_arena_printf(&c->arena, "no user named %s", is->owner[i]);
		else if (!o->active)
			msg = kam_arena_printf(&c->arena, "user %s is deactivated", is->owner[i]);
		else if (svc_owner_fits_tier(rows[i].tier, o->role, &why) < 0)
			msg = kam_arena_printf(&c->arena, "%s; %s is %s", why.message, o->username, kam_role_str(o->role));
		if (msg) {
			json_decref(arr);
			row_error(c, KAM_STATUS_INVALID_ARGUMENT, &rows[i], "owner", msg);
			return;
		}
		if (json_array_append_new(arr, row_json(&rows[i], &is->after[i], o)) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	text = svc_json_text(c, arr);
	if (!text) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	e = svc_audit_detail(c, 0, json_pack("{s:s}", "source", "import"));
	if (!e)
		return;
	c->msg_conflict = "an account of the file was created by someone else meanwhile; nothing was imported";
	rc = store_import(svc_store(), text, n, e, on_imported, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_import_checked(void *arg, int err, const struct kam_user *owners, size_t n_owners,
			      const char *const *taken, size_t n_taken)
{
	struct svc_call *c = arg;
	size_t n;
	const struct kam_import_row *rows = rows_of(c, &n);

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	if (n_taken > 0) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(rows[i].name, taken[0]) == 0) {
				row_error(c, KAM_STATUS_CONFLICT, &rows[i], "name",
					  kam_arena_printf(&c->arena, "an account named %s already exists", taken[0]));
				return;
			}
	}
	import_rows(c, owners, n_owners);
}

/* The rows' owners and names as two JSON arrays of strings; false when out of memory. */
static bool lookup_lists(struct svc_call *c, const char **owners_json, const char **names_json)
{
	struct import_state *is = c->op_state;
	size_t n;
	const struct kam_import_row *rows = rows_of(c, &n);
	const char **names = kam_arena_alloc(&c->arena, n * sizeof(*names));

	for (size_t i = 0; names && i < n; i++)
		names[i] = rows[i].name;
	*owners_json = svc_json_strings(c, is->owner, n);
	*names_json = names ? svc_json_strings(c, names, n) : NULL;
	return *owners_json && *names_json;
}

void svc_op_import(struct svc_call *c)
{
	struct import_state *is;
	const char *owners_json = NULL, *names_json = NULL;
	size_t n;
	const struct kam_import_row *rows = rows_of(c, &n);
	int rc;

	if (!svc_allow(c, AZ_IMPORT, KAM_REL_NONE, 0))
		return;
	is = c->op_state = kam_arena_alloc(&c->arena, sizeof(*is));
	if (is) {
		is->after = kam_arena_alloc(&c->arena, n * sizeof(*is->after));
		is->owner = kam_arena_alloc(&c->arena, n * sizeof(*is->owner));
	}
	if (!is || !is->after || !is->owner) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!row_check(c, &rows[i], &is->after[i]))
			return;
		for (size_t j = 0; j < i; j++)
			if (strcmp(rows[j].name, rows[i].name) == 0) {
				row_error(c, KAM_STATUS_INVALID_ARGUMENT, &rows[i], "name",
					  kam_arena_printf(&c->arena, "%s is on line %u already", rows[i].name, rows[j].line));
				return;
			}
		is->owner[i] = rows[i].owner && *rows[i].owner ? rows[i].owner : c->who.username;
		if (!row_allowed(c, &rows[i], is->owner[i]))
			return;
	}
	c->account_ref = NULL;
	if (!lookup_lists(c, &owners_json, &names_json)) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	rc = store_import_check(svc_store(), owners_json, names_json, on_import_checked, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}
