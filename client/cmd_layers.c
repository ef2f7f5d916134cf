/*
 * kam barrier / project / contact / value / agreement commands. Options and
 * arguments become FIELD=VALUE pairs for the server, which judges every value
 * (exit 6 naming the field); keywords given as options are checked here (exit
 * 2 listing the valid ones). Nothing is written to disk.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client.h"

#define LINE_MAX_LEN 512
/* The most options an add command has. */
#define ADD_MAX_OPTS 8

static const char *barrier_kind_name(int v) { return kam_barrier_kind_str((enum kam_barrier_kind)v); }
static const char *barrier_status_name(int v) { return kam_barrier_status_str((enum kam_barrier_status)v); }
static const char *pstage_name(int v) { return kam_pstage_str((enum kam_pstage)v); }
static const char *stance_name(int v) { return kam_stance_str((enum kam_stance)v); }
static const char *value_level_name(int v) { return kam_value_level_str((enum kam_value_level)v); }

const struct kw_set kw_barrier_kind = { "barrier kind", KAM_BARRIER__COUNT, barrier_kind_name };
const struct kw_set kw_pstage = { "project stage", KAM_PSTAGE__COUNT, pstage_name };
const struct kw_set kw_stance = { "stance", KAM_STANCE__COUNT, stance_name };
const struct kw_set kw_value_level = { "value level", KAM_VLEVEL__COUNT, value_level_name };
static const struct kw_set kw_barrier_status = { "barrier status", KAM_BSTATUS__COUNT, barrier_status_name };

/* ---- FIELD=VALUE lists ---- */

int cli_field_args(struct cli *cli, char **args, size_t n, struct kam_field **out)
{
	struct kam_field *fields = kam_arena_alloc(&cli->arena, (n ? n : 1) * sizeof(*fields));

	if (!fields)
		return cli_fail_nomem(cli);
	for (size_t i = 0; i < n; i++) {
		const char *arg = args[i], *eq = strchr(arg, '=');

		if (!eq || eq == arg)
			return cli_usage_error(cli, "expected FIELD=VALUE, got '%s'", arg);
		if (!(fields[i].name = kam_arena_strndup(&cli->arena, arg, (size_t)(eq - arg))))
			return cli_fail_nomem(cli);
		fields[i].value = eq + 1;
	}
	*out = fields;
	return KAM_EXIT_OK;
}

/* A row id argument (BARRIER, PROJECT, CONTACT). Reports. */
static int id_arg(struct cli *cli, const char *what, const char *s, int64_t *out)
{
	return cli_int_arg(cli, what, s, 1, INT64_MAX, out);
}

/* A keyword option, checked, as its canonical spelling. Reports. */
static int kw_arg(struct cli *cli, const struct kw_set *set, const char *arg, const char **out)
{
	int v, rc = cli_keyword(cli, set, arg, &v);

	if (rc == 0)
		*out = set->name(v);
	return rc;
}

/* ---- answers ---- */

/* The layer's one row as a JSON object (the answer of add, set, advance, close). */
static int print_row_json(struct cli *cli, enum kam_layer layer, const struct kam_layers *l)
{
	json_t *rows = json_layer_rows(layer, l), *row = rows ? json_array_get(rows, 0) : NULL;

	if (!row) {
		json_decref(rows);
		return cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL, NULL, "malformed response from %s: no row",
				cli->ep.key);
	}
	json_incref(row);
	json_decref(rows);
	return json_print(cli, row);
}

/* The id of the one row of the answer, or 0. */
static int64_t row_id(enum kam_layer layer, const struct kam_layers *l)
{
	switch (layer) {
	case KAM_LAYER_BARRIERS: return l->n_barriers ? l->barriers[0].id : 0;
	case KAM_LAYER_PROJECTS: return l->n_projects ? l->projects[0].id : 0;
	case KAM_LAYER_CONTACTS: return l->n_contacts ? l->contacts[0].id : 0;
	case KAM_LAYER_VALUES: return l->n_values ? l->values[0].id : 0;
	case KAM_LAYER_AGREEMENTS: return l->n_agreements ? l->agreements[0].id : 0;
	case KAM_LAYER__COUNT: break;
	}
	return 0;
}

/* --json: the row; else line (NULL: the row's id alone, so scripts can capture it). */
static int print_written(struct cli *cli, enum kam_layer layer, const struct kam_layers *l, const char *line)
{
	if (cli->json)
		return print_row_json(cli, layer, l);
	if (line) {
		print_safe(stdout, line, false);
		putchar('\n');
	} else {
		printf("%" PRId64 "\n", row_id(layer, l));
	}
	return KAM_EXIT_OK;
}

/* ---- add: ACCOUNT [TEXT] --option VALUE... ---- */

struct opt_spec {
	const char *opt;                  /* --opt */
	const char *field;
	const struct kw_set *kw;          /* checked here when set */
	bool required;
};

struct add_spec {
	enum kam_op op;
	enum kam_layer layer;
	const char *text_field;           /* the argument after ACCOUNT sets it; NULL: no argument */
	struct opt_spec opts[ADD_MAX_OPTS];
};

static const struct add_spec barrier_add = { KAM_OP_BARRIER_ADD, KAM_LAYER_BARRIERS, "description", {
	{ "kind", "kind", &kw_barrier_kind, true }, { "status", "status", &kw_barrier_status, false },
	{ "breakthrough", "breakthrough", NULL, false }, { "due", "due", NULL, false },
	{ "owner", "owner", NULL, false } } };
static const struct add_spec project_add = { KAM_OP_PROJECT_ADD, KAM_LAYER_PROJECTS, "name", {
	{ "stage", "stage", &kw_pstage, false }, { "owner", "owner", NULL, false },
	{ "value", "value", NULL, false }, { "currency", "currency", NULL, false },
	{ "close", "close", NULL, false } } };
static const struct add_spec contact_add = { KAM_OP_CONTACT_ADD, KAM_LAYER_CONTACTS, "name", {
	{ "title", "title", NULL, true }, { "decision-role", "decision_role", NULL, true },
	{ "weight", "weight", NULL, false }, { "stance", "stance", &kw_stance, false },
	{ "criteria", "criteria", NULL, false }, { "org-needs", "org_needs", NULL, false },
	{ "personal-needs", "personal_needs", NULL, false }, { "projects", "projects", NULL, false } } };
static const struct add_spec value_add = { KAM_OP_VALUE_ADD, KAM_LAYER_VALUES, "text", {
	{ "level", "level", &kw_value_level, true } } };
static const struct add_spec agreement_add = { KAM_OP_AGREEMENT_ADD, KAM_LAYER_AGREEMENTS, NULL, {
	{ "signed-by", "signed_by", NULL, true }, { "signed-on", "signed_on", NULL, true },
	{ "scope", "scope", NULL, true }, { "term", "term", NULL, false } } };

/* getopt values of the spec's options: OPT_BASE + index. */
#define OPT_BASE 256

static int run_add(struct cli *cli, int argc, char **argv, const struct add_spec *spec)
{
	struct option lo[ADD_MAX_OPTS + 2] = { { NULL, 0, NULL, 0 } };
	const char *given[ADD_MAX_OPTS] = { NULL };
	struct kam_request req = { .op = spec->op };
	struct kam_response resp;
	struct kam_field *fields;
	size_t n = 0, nopts = 0;
	int ch, rc;

	for (; nopts < ADD_MAX_OPTS && spec->opts[nopts].opt; nopts++)
		lo[nopts] = (struct option){ spec->opts[nopts].opt, required_argument, NULL, OPT_BASE + (int)nopts };
	lo[nopts] = (struct option)CLI_OPT_HELP;
	while ((ch = cli_opt(cli, argc, argv, lo, &rc)) != -1) {
		if (ch == CLI_OPT_STOP)
			return rc;
		if (ch >= OPT_BASE && ch < OPT_BASE + (int)nopts)
			given[ch - OPT_BASE] = optarg;
	}
	if ((rc = cli_positional(cli, argc, argv, spec->text_field ? 2 : 1, spec->text_field ? 2 : 1)) != 0)
		return rc;
	if (!(fields = kam_arena_alloc(&cli->arena, (nopts + 1) * sizeof(*fields))))
		return cli_fail_nomem(cli);
	if (spec->text_field)
		fields[n++] = (struct kam_field){ spec->text_field, argv[optind + 1] };
	for (size_t i = 0; i < nopts; i++) {
		const struct opt_spec *o = &spec->opts[i];

		if (!given[i] && o->required)
			return cli_usage_error(cli, "--%s is required", o->opt);
		if (!given[i])
			continue;
		if (o->kw && (rc = kw_arg(cli, o->kw, given[i], &given[i])) != 0)
			return rc;
		fields[n++] = (struct kam_field){ o->field, given[i] };
	}
	req.u.layer_add.account = argv[optind];
	req.u.layer_add.fields = fields;
	req.u.layer_add.n_fields = n;
	if ((rc = cli_call(cli, &req, &resp)) != 0)
		return rc;
	return print_written(cli, spec->layer, &resp.u.layers, NULL);
}

int cmd_barrier_add(struct cli *cli, int argc, char **argv) { return run_add(cli, argc, argv, &barrier_add); }
int cmd_project_add(struct cli *cli, int argc, char **argv) { return run_add(cli, argc, argv, &project_add); }
int cmd_contact_add(struct cli *cli, int argc, char **argv) { return run_add(cli, argc, argv, &contact_add); }
int cmd_value_add(struct cli *cli, int argc, char **argv) { return run_add(cli, argc, argv, &value_add); }
int cmd_agreement_add(struct cli *cli, int argc, char **argv) { return run_add(cli, argc, argv, &agreement_add); }

/* ---- list: ACCOUNT ---- */

bool cli_account_call(struct cli *cli, int argc, char **argv, enum kam_op op, struct kam_response *resp, int *exit)
{
	struct kam_request req = { .op = op };

	if (!cli_args_plain(cli, argc, argv, 1, 1, exit))
		return false;
	req.u.layer_list.account = argv[optind];
	*exit = cli_call(cli, &req, resp);
	return *exit == KAM_EXIT_OK;
}

static int run_list(struct cli *cli, int argc, char **argv, enum kam_op op, enum kam_layer layer)
{
	struct kam_response resp;
	int rc;

	if (!cli_account_call(cli, argc, argv, op, &resp, &rc))
		return rc;
	if (cli->json)
		return json_print(cli, json_layer_rows(layer, &resp.u.layers));
	return print_layer_table(cli, layer, &resp.u.layers);
}

int cmd_barrier_list(struct cli *cli, int argc, char **argv)
{
	return run_list(cli, argc, argv, KAM_OP_BARRIER_LIST, KAM_LAYER_BARRIERS);
}

int cmd_project_list(struct cli *cli, int argc, char **argv)
{
	return run_list(cli, argc, argv, KAM_OP_PROJECT_LIST, KAM_LAYER_PROJECTS);
}

int cmd_contact_list(struct cli *cli, int argc, char **argv)
{
	return run_list(cli, argc, argv, KAM_OP_CONTACT_LIST, KAM_LAYER_CONTACTS);
}

int cmd_value_list(struct cli *cli, int argc, char **argv)
{
	return run_list(cli, argc, argv, KAM_OP_VALUE_LIST, KAM_LAYER_VALUES);
}

int cmd_agreement_list(struct cli *cli, int argc, char **argv)
{
	return run_list(cli, argc, argv, KAM_OP_AGREEMENT_LIST, KAM_LAYER_AGREEMENTS);
}

/* ---- one row: ID [FIELD=VALUE...] ---- */

/* Send op for the row named by argv[optind] with fields; the answer in *resp. Reports. */
static int item_call(struct cli *cli, char **argv, enum kam_op op, const char *what, struct kam_field *fields,
		     size_t n, struct kam_response *resp)
{
	struct kam_request req = { .op = op };
	int rc;

	if ((rc = id_arg(cli, what, argv[optind], &req.u.layer_item.id)) != 0)
		return rc;
	req.u.layer_item.fields = fields;
	req.u.layer_item.n_fields = n;
	return cli_call(cli, &req, resp);
}

/* set: ID FIELD=VALUE... */
static int run_set(struct cli *cli, int argc, char **argv, enum kam_op op, enum kam_layer layer, const char *what,
		   const char *noun)
{
	struct kam_response resp;
	struct kam_field *fields;
	char line[LINE_MAX_LEN];
	size_t n;
	int rc;

	if (!cli_args_plain(cli, argc, argv, 2, 1 + KAM_MAX_REPEATED, &rc))
		return rc;
	n = (size_t)(argc - optind - 1);
	if ((rc = cli_field_args(cli, argv + optind + 1, n, &fields)) != 0 ||
	    (rc = item_call(cli, argv, op, what, fields, n, &resp)) != 0)
		return rc;
	snprintf(line, sizeof(line), "%s %.32s updated", noun, argv[optind]);
	return print_written(cli, layer, &resp.u.layers, line);
}

int cmd_barrier_set(struct cli *cli, int argc, char **argv)
{
	return run_set(cli, argc, argv, KAM_OP_BARRIER_SET, KAM_LAYER_BARRIERS, "BARRIER", "barrier");
}

int cmd_project_set(struct cli *cli, int argc, char **argv)
{
	return run_set(cli, argc, argv, KAM_OP_PROJECT_SET, KAM_LAYER_PROJECTS, "PROJECT", "project");
}

int cmd_contact_set(struct cli *cli, int argc, char **argv)
{
	return run_set(cli, argc, argv, KAM_OP_CONTACT_SET, KAM_LAYER_CONTACTS, "CONTACT", "contact");
}

int cmd_barrier_clear(struct cli *cli, int argc, char **argv)
{
	struct kam_response resp;
	char line[LINE_MAX_LEN];
	int rc;

	if (!cli_args_plain(cli, argc, argv, 1, 1, &rc))
		return rc;
	if ((rc = item_call(cli, argv, KAM_OP_BARRIER_CLEAR, "BARRIER", NULL, 0, &resp)) != 0)
		return rc;
	snprintf(line, sizeof(line), "barrier %.32s cleared", argv[optind]);
	return print_written(cli, KAM_LAYER_BARRIERS, &resp.u.layers, line);
}

/* The last move of the answer's project, for the line that reports it. */
static const struct kam_stage_move *last_move(const struct kam_layers *l)
{
	if (l->n_projects != 1 || l->projects[0].n_history == 0)
		return NULL;
	return &l->projects[0].history[l->projects[0].n_history - 1];
}

int cmd_project_advance(struct cli *cli, int argc, char **argv)
{
	struct kam_response resp;
	struct kam_field field;
	const struct kam_stage_move *m;
	char line[LINE_MAX_LEN];
	int rc;

	if (!cli_args_plain(cli, argc, argv, 2, 2, &rc))
		return rc;
	field.name = "stage";
	if ((rc = kw_arg(cli, &kw_pstage, argv[optind + 1], &field.value)) != 0 ||
	    (rc = item_call(cli, argv, KAM_OP_PROJECT_ADVANCE, "PROJECT", &field, 1, &resp)) != 0)
		return rc;
	m = last_move(&resp.u.layers);
	/* Backwards and skipping are allowed, and said so. */
	snprintf(line, sizeof(line), "project %.32s: %s -> %s%s", argv[optind], m ? kam_pstage_str(m->from) : "?",
		 field.value, m && m->kind != KAM_MOVE_FORWARD ? (m->kind == KAM_MOVE_BACK ? " (backwards)" : " (skipped)")
							      : "");
	return print_written(cli, KAM_LAYER_PROJECTS, &resp.u.layers, line);
}

int cmd_project_close(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct kam_response resp;
	struct kam_field fields[2] = { { "result", NULL }, { "reason", NULL } };
	char line[LINE_MAX_LEN];
	int ch, rc;

	while ((ch = cli_opt(cli, argc, argv, opts, &rc)) != -1) {
		if (ch == CLI_OPT_STOP)
			return rc;
		if (ch == 'r')
			fields[1].value = optarg;
	}
	if ((rc = cli_positional(cli, argc, argv, 2, 2)) != 0)
		return rc;
	fields[0].value = argv[optind + 1];
	if (strcmp(fields[0].value, "won") != 0 && strcmp(fields[0].value, "lost") != 0)
		return cli_usage_error(cli, "invalid result '%s' (expected won or lost)", fields[0].value);
	if (!fields[1].value)
		return cli_usage_error(cli, "--reason is required: say why it was %s", fields[0].value);
	if ((rc = item_call(cli, argv, KAM_OP_PROJECT_CLOSE, "PROJECT", fields, 2, &resp)) != 0)
		return rc;
	snprintf(line, sizeof(line), "project %.32s closed: %s", argv[optind], fields[0].value);
	return print_written(cli, KAM_LAYER_PROJECTS, &resp.u.layers, line);
}

int cmd_project_show(struct cli *cli, int argc, char **argv)
{
	struct kam_response resp;
	struct kam_layers *l = &resp.u.layers;
	json_t *doc;
	int rc;

	if (!cli_args_plain(cli, argc, argv, 1, 1, &rc))
		return rc;
	if ((rc = item_call(cli, argv, KAM_OP_PROJECT_SHOW, "PROJECT", NULL, 0, &resp)) != 0)
		return rc;
	if (l->n_projects != 1)
		return cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL, NULL, "malformed response from %s: no project",
				cli->ep.key);
	if (cli->json) {
		json_t *rows = json_layer_rows(KAM_LAYER_PROJECTS, l);

		doc = rows ? json_incref(json_array_get(rows, 0)) : NULL;
		json_decref(rows);
		if (doc && jset(doc, "contacts", json_layer_rows(KAM_LAYER_CONTACTS, l))) {
			json_decref(doc);
			doc = NULL;
		}
		return json_print(cli, doc);
	}
	return print_project_text(cli, l);
}
