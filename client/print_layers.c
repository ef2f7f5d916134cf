/*
 * How kam shows the layers beyond information: JSON (a key per layer; what the
 * server did not send is absent, never empty or null) and text (sections for
 * `account show`, tables for the list commands). Text from the server reaches
 * the terminal only through print_safe / put_field / the table. No I/O but stdout.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "client.h"

#define LINE_MAX_LEN 512

/* ---- JSON ---- */

static json_t *json_ids(const int64_t *ids, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, json_integer(ids[i])) < 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

static json_t *json_stages(unsigned mask)
{
	json_t *arr = json_array();

	for (int s = KAM_PSTAGE_SITUATION; arr && s < KAM_PSTAGE__COUNT; s++)
		if ((mask & KAM_PSTAGE_BIT(s)) && json_array_append_new(arr, json_string(kam_pstage_str(s))) < 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

static json_t *json_barrier(const void *p)
{
	const struct kam_barrier *b = p;
	json_t *o = json_object();
	int bad = !o;

	if (!o)
		return NULL;
	bad |= jset(o, "id", json_integer(b->id));
	bad |= jset_str(o, "kind", kam_barrier_kind_str(b->kind));
	bad |= jset_str(o, "description", b->description);
	bad |= jset_str(o, "status", kam_barrier_status_str(b->status));
	bad |= jset_str(o, "breakthrough", b->breakthrough);
	bad |= jset_str(o, "due", b->due);
	bad |= jset_str(o, "owner", b->owner);
	bad |= jset_time(o, "created_at", b->created_at);
	bad |= jset_time(o, "updated_at", b->updated_at);
	bad |= jset_time(o, "cleared_at", b->cleared_at);
	bad |= jset(o, "version", json_integer(b->version));
	return jdone(o, bad);
}

static json_t *json_move(const void *p)
{
	const struct kam_stage_move *m = p;
	json_t *o = json_object();
	int bad = !o;

	if (!o)
		return NULL;
	bad |= jset_str(o, "kind", kam_move_str(m->kind));
	bad |= jset_str(o, "from", kam_pstage_str(m->from));
	bad |= jset_str(o, "to", kam_pstage_str(m->to));
	bad |= jset_str(o, "by", m->by);
	bad |= jset_time(o, "at", m->at);
	return jdone(o, bad);
}

static json_t *json_project(const void *pp)
{
	const struct kam_project *p = pp;
	json_t *o = json_object(), *inv = json_object(), *sup = NULL;
	int bad = !o || !inv;

	if (bad) {
		json_decref(o);
		json_decref(inv);
		return NULL;
	}
	bad |= jset(o, "id", json_integer(p->id));
	bad |= jset_str(o, "name", p->name);
	bad |= jset_str(o, "stage", kam_pstage_str(p->stage));
	bad |= jset_str(o, "status", kam_pstatus_str(p->status));
	bad |= jset_str(o, "reason", p->reason);
	bad |= jset_str(o, "owner", p->owner);
	bad |= jset_str(inv, "joined", kam_pstage_str(p->involved));
	bad |= jset(inv, "stages_taken", json_stages(p->stages_taken));
	bad |= jset(inv, "count", json_integer(__builtin_popcount(p->stages_taken)));
	bad |= jset(o, "involvement", inv);
	bad |= jset_money(o, "expected_value", p->expected_value, p->currency);
	bad |= jset_str(o, "close_date", p->close_date);
	if (p->support.has && p->oppose.has) {
		if (!(sup = json_object()))
			bad = 1;
		else {
			bad |= jset(sup, "for", json_integer(p->support.value));
			bad |= jset(sup, "against", json_integer(p->oppose.value));
			bad |= jset(sup, "supporters_lead", json_boolean(p->support.value > p->oppose.value));
			bad |= jset(o, "support", sup);
		}
	}
	if (p->n_history)
		bad |= jset(o, "history", json_list(p->history, p->n_history, sizeof(*p->history), json_move));
	bad |= jset_time(o, "created_at", p->created_at);
	bad |= jset_time(o, "updated_at", p->updated_at);
	bad |= jset(o, "version", json_integer(p->version));
	return jdone(o, bad);
}

static json_t *json_contact(const void *p)
{
	const struct kam_contact *c = p;
	json_t *o = json_object();
	int bad = !o;

	if (!o)
		return NULL;
	bad |= jset(o, "id", json_integer(c->id));
	bad |= jset_str(o, "name", c->name);
	bad |= jset_str(o, "title", c->title);
	bad |= jset_str(o, "decision_role", c->decision_role);
	bad |= jset_str(o, "criteria", c->criteria);
	bad |= jset_opt(o, "weight", c->weight);
	bad |= jset_str(o, "stance", kam_stance_str(c->stance));
	bad |= jset_str(o, "org_needs", c->org_needs);
	bad |= jset_str(o, "personal_needs", c->personal_needs);
	if (c->n_projects)
		bad |= jset(o, "projects", json_ids(c->projects, c->n_projects));
	bad |= jset_time(o, "created_at", c->created_at);
	bad |= jset_time(o, "updated_at", c->updated_at);
	bad |= jset(o, "version", json_integer(c->version));
	return jdone(o, bad);
}

static json_t *json_value(const void *p)
{
	const struct kam_value *v = p;
	json_t *o = json_object();
	int bad = !o;

	if (!o)
		return NULL;
	bad |= jset(o, "id", json_integer(v->id));
	bad |= jset_str(o, "level", kam_value_level_str(v->level));
	bad |= jset_str(o, "text", v->text);
	bad |= jset_str(o, "author", v->author);
	bad |= jset_time(o, "created_at", v->created_at);
	return jdone(o, bad);
}

static json_t *json_agreement(const void *p)
{
	const struct kam_agreement *g = p;
	json_t *o = json_object();
	int bad = !o;

	if (!o)
		return NULL;
	bad |= jset(o, "id", json_integer(g->id));
	bad |= jset_str(o, "signed_by", g->signed_by);
	bad |= jset_str(o, "signed_on", g->signed_on);
	bad |= jset_str(o, "scope", g->scope);
	bad |= jset_opt(o, "term_months", g->term_months);
	bad |= jset_str(o, "recorded_by", g->recorded_by);
	bad |= jset_time(o, "created_at", g->created_at);
	return jdone(o, bad);
}

/* Each layer: its --json key, its rows in kam_layers, its row builder. */
static const struct {
	const char *key;
	size_t rows_off, n_off, size;
	json_t *(*one)(const void *);
} layer_json[KAM_LAYER__COUNT] = {
	[KAM_LAYER_BARRIERS] = { "barriers", offsetof(struct kam_layers, barriers), offsetof(struct kam_layers, n_barriers),
				 sizeof(struct kam_barrier), json_barrier },
	[KAM_LAYER_PROJECTS] = { "projects", offsetof(struct kam_layers, projects), offsetof(struct kam_layers, n_projects),
				 sizeof(struct kam_project), json_project },
	[KAM_LAYER_CONTACTS] = { "contacts", offsetof(struct kam_layers, contacts), offsetof(struct kam_layers, n_contacts),
				 sizeof(struct kam_contact), json_contact },
	[KAM_LAYER_VALUES] = { "values", offsetof(struct kam_layers, values), offsetof(struct kam_layers, n_values),
			       sizeof(struct kam_value), json_value },
	[KAM_LAYER_AGREEMENTS] = { "agreements", offsetof(struct kam_layers, agreements),
				   offsetof(struct kam_layers, n_agreements), sizeof(struct kam_agreement), json_agreement },
};

json_t *json_layer_rows(enum kam_layer layer, const struct kam_layers *l)
{
	const char *base = (const char *)l;

	if ((unsigned)layer >= KAM_LAYER__COUNT)
		return NULL;
	return json_list(*(const void *const *)(base + layer_json[layer].rows_off),
			 *(const size_t *)(base + layer_json[layer].n_off), layer_json[layer].size, layer_json[layer].one);
}

json_t *json_account_layers(const struct kam_account *a, const struct kam_layers *l)
{
	json_t *o = json_account(a);
	int bad = !o;

	for (int i = 0; o && i < KAM_LAYER__COUNT; i++)
		bad |= jset(o, layer_json[i].key, json_layer_rows((enum kam_layer)i, l));
	return jdone(o, bad);
}

/* ---- text ---- */

const char *fmt_involvement(struct cli *cli, const struct kam_project *p)
{
	char stages[LINE_MAX_LEN] = "";
	size_t used = 0;
	int n = 0;

	for (int s = KAM_PSTAGE_SITUATION; s < KAM_PSTAGE__COUNT; s++)
		if (p->stages_taken & KAM_PSTAGE_BIT(s)) {
			used += (size_t)snprintf(stages + used, sizeof(stages) - used, "%s%s", n ? ", " : "",
						 kam_pstage_str(s));
			n++;
		}
	return kam_arena_printf(&cli->arena, "joined at %s; took part in %d stage%s (%s)",
				or_dash(kam_pstage_str(p->involved)), n, n == 1 ? "" : "s", stages);
}

const char *fmt_support(struct cli *cli, const struct kam_project *p)
{
	if (!p->support.has || !p->oppose.has)
		return NULL;
	return kam_arena_printf(&cli->arena, "%" PRId64 " for, %" PRId64 " against: supporters %s", p->support.value,
				p->oppose.value, p->support.value > p->oppose.value ? "lead" : "do not lead");
}

static void print_barrier(struct cli *cli, const struct kam_barrier *b)
{
	printf("  #%" PRId64 " %s, %s", b->id, kam_barrier_kind_str(b->kind), kam_barrier_status_str(b->status));
	if (b->owner[0]) {
		printf(", owner ");
		print_safe(stdout, b->owner, false);
	}
	putchar('\n');
	put_field("     ", "Description", or_dash(b->description));
	put_field("     ", "Breakthrough", b->breakthrough[0] ? b->breakthrough : "(none planned)");
	if (b->due[0])
		put_field("     ", "Due", b->due);
}

static void print_project(struct cli *cli, const struct kam_project *p)
{
	char money[LINE_MAX_LEN];
	const char *support = fmt_support(cli, p);

	printf("  #%" PRId64 " ", p->id);
	print_safe(stdout, p->name, false);
	printf(": %s, %s; owner ", kam_pstage_str(p->stage), kam_pstatus_str(p->status));
	print_safe(stdout, p->owner, false);
	putchar('\n');
	if (p->reason[0])
		put_field("     ", "Reason", p->reason);
	put_field("     ", "Involvement", or_dash(fmt_involvement(cli, p)));
	fmt_money(p->expected_value, p->currency, money, sizeof(money));
	put_field("     ", "Expected value", money);
	put_field("     ", "Close date", or_dash(p->close_date));
	if (support)
		put_field("     ", "Support", support);
	for (size_t i = 0; i < p->n_history; i++) {
		const struct kam_stage_move *m = &p->history[i];
		char when[TIME_STR_MAX];

		fmt_time_local(m->at, when);
		printf("     %s %-7s %s%s%s by ", when, kam_move_str(m->kind), kam_pstage_str(m->from),
		       m->from && m->to ? " -> " : "", kam_pstage_str(m->to));
		print_safe(stdout, m->by, false);
		putchar('\n');
	}
}

static void print_contact(struct cli *cli, const struct kam_contact *c, bool restricted)
{
	char buf[LINE_MAX_LEN];
	size_t used = 0;

	printf("  #%" PRId64 " ", c->id);
	print_safe(stdout, c->name, false);
	putchar('\n');
	put_field("     ", "Title", or_dash(c->title));
	put_field("     ", "Decision role", or_dash(c->decision_role));
	put_field("     ", "Criteria", or_dash(c->criteria));
	put_field("     ", "Organisation needs", or_dash(c->org_needs));
	/* Withheld fields are left out, not shown as unknown. */
	if (!restricted) {
		if (c->weight.has)
			snprintf(buf, sizeof(buf), "%" PRId64, c->weight.value);
		put_field("     ", "Weight", c->weight.has ? buf : "-");
		put_field("     ", "Stance", or_dash(kam_stance_str(c->stance)));
		put_field("     ", "Personal needs", or_dash(c->personal_needs));
	}
	buf[0] = '\0';
	for (size_t i = 0; i < c->n_projects && used < sizeof(buf); i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s#%" PRId64, i ? ", " : "", c->projects[i]);
	put_field("     ", "Decides on", or_dash(buf));
}

int print_layers_text(struct cli *cli, const struct kam_layers *l)
{
	printf("\nBarriers\n");
	if (!l->n_barriers)
		printf("  (none)\n");
	for (size_t i = 0; i < l->n_barriers; i++)
		print_barrier(cli, &l->barriers[i]);
	printf("\nProjects\n");
	if (!l->n_projects)
		printf("  (none)\n");
	for (size_t i = 0; i < l->n_projects; i++)
		print_project(cli, &l->projects[i]);
	printf("\nContacts%s\n", l->restricted ? " (weight, stance and personal needs are not shown to reps)" : "");
	if (!l->n_contacts)
		printf("  (none)\n");
	for (size_t i = 0; i < l->n_contacts; i++)
		print_contact(cli, &l->contacts[i], l->restricted);
	printf("\nValue propositions\n");
	if (!l->n_values)
		printf("  (none)\n");
	for (size_t i = 0; i < l->n_values; i++) {
		printf("  #%" PRId64 " %s: ", l->values[i].id, kam_value_level_str(l->values[i].level));
		print_safe(stdout, l->values[i].text, false);
		putchar('\n');
	}
	printf("\nStrategic agreements\n");
	if (!l->n_agreements)
		printf("  (none)\n");
	for (size_t i = 0; i < l->n_agreements; i++) {
		const struct kam_agreement *g = &l->agreements[i];
		char term[32];

		printf("  #%" PRId64 " signed %s by ", g->id, g->signed_on);
		print_safe(stdout, g->signed_by, false);
		putchar('\n');
		put_field("     ", "Scope", or_dash(g->scope));
		snprintf(term, sizeof(term), "%" PRId64 " months", g->term_months.value);
		put_field("     ", "Term", g->term_months.has ? term : "open-ended");
	}
	return KAM_EXIT_OK;
}

int print_project_text(struct cli *cli, const struct kam_layers *l)
{
	printf("Project\n");
	for (size_t i = 0; i < l->n_projects; i++)
		print_project(cli, &l->projects[i]);
	printf("\nWho decides it%s\n", l->restricted ? " (weight, stance and personal needs are not shown to reps)" : "");
	if (!l->n_contacts)
		printf("  (nobody known yet)\n");
	for (size_t i = 0; i < l->n_contacts; i++)
		print_contact(cli, &l->contacts[i], l->restricted);
	return KAM_EXIT_OK;
}

/* ---- tables ---- */

static const char *id_str(struct cli *cli, int64_t id)
{
	return kam_arena_printf(&cli->arena, "%" PRId64, id);
}

/* One row per item; row(cli, item, cells) fills ncols cells or returns nonzero when out of memory. */
static int table_of(struct cli *cli, size_t ncols, const char *const *head, const void *items, size_t n, size_t size,
		    int (*row)(struct cli *cli, const void *item, const char **cells, bool restricted), bool restricted)
{
	bool right[TABLE_MAX_COLS] = { true };
	const char *cells[TABLE_MAX_COLS];
	struct table t;

	table_init(&t, ncols, head, right);
	for (size_t i = 0; i < n; i++)
		if (row(cli, (const char *)items + i * size, cells, restricted) || table_add(&t, cells) < 0) {
			table_free(&t);
			return cli_fail_nomem(cli);
		}
	table_print(&t, stdout);
	table_free(&t);
	return KAM_EXIT_OK;
}

static int barrier_row(struct cli *cli, const void *item, const char **c, bool restricted)
{
	const struct kam_barrier *b = item;

	c[0] = id_str(cli, b->id);
	c[1] = kam_barrier_kind_str(b->kind);
	c[2] = kam_barrier_status_str(b->status);
	c[3] = or_dash(b->owner);
	c[4] = or_dash(b->due);
	c[5] = or_dash(b->breakthrough);
	c[6] = b->description;
	return !c[0];
}

static int project_row(struct cli *cli, const void *item, const char **c, bool restricted)
{
	const struct kam_project *p = item;
	char money[LINE_MAX_LEN];
	const char *support = fmt_support(cli, p);

	fmt_money(p->expected_value, p->currency, money, sizeof(money));
	c[0] = id_str(cli, p->id);
	c[1] = p->name;
	c[2] = kam_pstage_str(p->stage);
	c[3] = kam_pstatus_str(p->status);
	c[4] = p->owner;
	c[5] = kam_arena_strdup(&cli->arena, money);
	c[6] = kam_arena_printf(&cli->arena, "%s/%d", kam_pstage_str(p->involved), __builtin_popcount(p->stages_taken));
	c[7] = or_dash(p->close_date);
	c[8] = support ? kam_arena_printf(&cli->arena, "%" PRId64 "/%" PRId64 "%s", p->support.value, p->oppose.value,
					  p->support.value > p->oppose.value ? " lead" : "")
		       : "-";
	return !c[0] || !c[5] || !c[6] || !c[8];
}

static int contact_row(struct cli *cli, const void *item, const char **c, bool restricted)
{
	const struct kam_contact *ct = item;
	char ids[LINE_MAX_LEN] = "";
	size_t used = 0;
	int k = 0;

	for (size_t i = 0; i < ct->n_projects && used < sizeof(ids); i++)
		used += (size_t)snprintf(ids + used, sizeof(ids) - used, "%s%" PRId64, i ? "," : "", ct->projects[i]);
	c[k++] = id_str(cli, ct->id);
	c[k++] = ct->name;
	c[k++] = or_dash(ct->title);
	c[k++] = or_dash(ct->decision_role);
	if (!restricted) {
		c[k++] = ct->weight.has ? id_str(cli, ct->weight.value) : "-";
		c[k++] = or_dash(kam_stance_str(ct->stance));
	}
	c[k] = kam_arena_strdup(&cli->arena, or_dash(ids));
	return !c[0] || !c[k];
}

static int value_row(struct cli *cli, const void *item, const char **c, bool restricted)
{
	const struct kam_value *v = item;

	c[0] = id_str(cli, v->id);
	c[1] = kam_value_level_str(v->level);
	c[2] = v->author;
	c[3] = v->text;
	return !c[0];
}

static int agreement_row(struct cli *cli, const void *item, const char **c, bool restricted)
{
	const struct kam_agreement *g = item;

	c[0] = id_str(cli, g->id);
	c[1] = g->signed_on;
	c[2] = g->signed_by;
	c[3] = g->term_months.has ? kam_arena_printf(&cli->arena, "%" PRId64 " months", g->term_months.value)
				  : "open-ended";
	c[4] = g->scope;
	return !c[0] || !c[3];
}

int print_layer_table(struct cli *cli, enum kam_layer layer, const struct kam_layers *l)
{
	static const char *const barrier_head[] = { "ID", "KIND", "STATUS", "OWNER", "DUE", "BREAKTHROUGH", "DESCRIPTION" };
	static const char *const project_head[] = { "ID", "NAME", "STAGE", "STATUS", "OWNER", "VALUE", "JOINED/STAGES",
						    "CLOSE", "SUPPORT" };
	static const char *const contact_head[] = { "ID", "NAME", "TITLE", "DECISION_ROLE", "WEIGHT", "STANCE", "PROJECTS" };
	static const char *const contact_head_rep[] = { "ID", "NAME", "TITLE", "DECISION_ROLE", "PROJECTS" };
	static const char *const value_head[] = { "ID", "LEVEL", "AUTHOR", "TEXT" };
	static const char *const agreement_head[] = { "ID", "SIGNED_ON", "SIGNED_BY", "TERM", "SCOPE" };

	switch (layer) {
	case KAM_LAYER_BARRIERS:
		return table_of(cli, 7, barrier_head, l->barriers, l->n_barriers, sizeof(*l->barriers), barrier_row, false);
	case KAM_LAYER_PROJECTS:
		return table_of(cli, 9, project_head, l->projects, l->n_projects, sizeof(*l->projects), project_row, false);
	case KAM_LAYER_CONTACTS:
		return table_of(cli, l->restricted ? 5 : 7, l->restricted ? contact_head_rep : contact_head, l->contacts,
				l->n_contacts, sizeof(*l->contacts), contact_row, l->restricted);
	case KAM_LAYER_VALUES:
		return table_of(cli, 4, value_head, l->values, l->n_values, sizeof(*l->values), value_row, false);
	case KAM_LAYER_AGREEMENTS:
		return table_of(cli, 5, agreement_head, l->agreements, l->n_agreements, sizeof(*l->agreements),
				agreement_row, false);
	case KAM_LAYER__COUNT:
		break;
	}
	return cli_fail_nomem(cli);
}
