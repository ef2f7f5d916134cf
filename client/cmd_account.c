/*
 * kam account add, list, show, set, assign, unassign. Keywords given as
 * options are checked here; field names and values of `set` are the server's
 * to judge. What the server did not send (not visible, or unknown) is shown
 * as "-" and left out of --json, never invented. Nothing is written to disk.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client.h"

/* Room for one formatted amount or a line built around a user's input. */
#define LINE_MAX_LEN 512

/* ISO 4217 currencies whose minor unit is not a hundredth. */
static const struct { const char *code; int exponent; } currency_exponents[] = {
	{ "BIF", 0 }, { "CLP", 0 }, { "DJF", 0 }, { "GNF", 0 }, { "ISK", 0 }, { "JPY", 0 },
	{ "KMF", 0 }, { "KRW", 0 }, { "PYG", 0 }, { "RWF", 0 }, { "UGX", 0 }, { "VND", 0 },
	{ "VUV", 0 }, { "XAF", 0 }, { "XOF", 0 }, { "XPF", 0 },
	{ "BHD", 3 }, { "IQD", 3 }, { "JOD", 3 }, { "KWD", 3 }, { "LYD", 3 }, { "OMR", 3 }, { "TND", 3 },
};

/* An amount in minor units as major units ("12000.50 EUR"); raw without a currency. */
void fmt_money(struct kam_opt_i64 v, const char *currency, char *out, size_t cap)
{
	int exponent = 2;
	uint64_t mag, scale = 1;

	if (!v.has) {
		snprintf(out, cap, "-");
		return;
	}
	if (!currency || !currency[0]) {
		snprintf(out, cap, "%" PRId64 " (minor units, no currency set)", v.value);
		return;
	}
	for (size_t i = 0; i < sizeof(currency_exponents) / sizeof(currency_exponents[0]); i++)
		if (strcmp(currency, currency_exponents[i].code) == 0)
			exponent = currency_exponents[i].exponent;
	for (int i = 0; i < exponent; i++)
		scale *= 10;
	/* Magnitude in unsigned arithmetic: INT64_MIN has no positive twin. */
	mag = v.value < 0 ? -(uint64_t)v.value : (uint64_t)v.value;
	if (exponent == 0)
		snprintf(out, cap, "%s%" PRIu64 " %s", v.value < 0 ? "-" : "", mag, currency);
	else
		snprintf(out, cap, "%s%" PRIu64 ".%0*" PRIu64 " %s", v.value < 0 ? "-" : "", mag / scale,
			 exponent, mag % scale, currency);
}

static void fmt_opt(struct kam_opt_i64 v, char *out, size_t cap)
{
	if (v.has)
		snprintf(out, cap, "%" PRId64, v.value);
	else
		snprintf(out, cap, "-");
}

const char *or_dash(const char *s)
{
	return s && s[0] ? s : "-";
}

/* Team members joined with sep, into the arena (sanitised when printed). */
static const char *join_team(struct cli *cli, const struct kam_account *a, const char *sep)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < a->n_team; i++)
		len += strlen(a->team[i]) + strlen(sep);
	if (!(s = kam_arena_alloc(&cli->arena, len)))
		return NULL;
	for (size_t i = 0; i < a->n_team; i++) {
		if (i > 0)
			strcat(s, sep);
		strcat(s, a->team[i]);
	}
	return s;
}

/* "  Label: value", continuation lines of multi-line text indented to match. */
void put_field(const char *indent, const char *label, const char *value)
{
	printf("%s%s: ", indent, label);
	for (const char *p = value; *p; p++) {
		if (*p == '\n') {
			printf("\n%s%*s", indent, (int)strlen(label) + 2, "");
			continue;
		}
		/* Control characters from the server never reach the terminal. */
		putchar((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
	}
	putchar('\n');
}

int print_account_block(struct cli *cli, const struct kam_account *a)
{
	const struct kam_info *in = &a->info;
	char buf[LINE_MAX_LEN], created[TIME_STR_MAX], updated[TIME_STR_MAX];
	const char *team = join_team(cli, a, ", ");

	if (!team)
		return cli_fail_nomem(cli);
	printf("Account %" PRId64 ": ", a->id);
	print_safe(stdout, a->name, false);
	printf(" (%s, %s, strategy: %s)\n", or_dash(kam_tier_str(a->tier)), or_dash(kam_stage_str(a->stage)),
	       or_dash(kam_strategy_str(a->strategy)));
	put_field("", "Owner", or_dash(a->owner));
	put_field("", "Team", or_dash(team));
	snprintf(buf, sizeof(buf), "%" PRId64, a->version);
	put_field("", "Version", buf);
	fmt_time_local(a->created_at, created);
	fmt_time_local(a->updated_at, updated);
	put_field("", "Created", created);
	put_field("", "Updated", updated);
	if (!a->has_info)
		return KAM_EXIT_OK;   /* not sent: not visible to this user */

	printf("\nInformation\n");
	fmt_opt(in->founded, buf, sizeof(buf));
	put_field("  ", "Founded", buf);
	fmt_opt(in->headcount, buf, sizeof(buf));
	put_field("  ", "Headcount", buf);
	put_field("  ", "Business", or_dash(in->business));
	fmt_money(in->revenue, in->currency, buf, sizeof(buf));
	put_field("  ", "Revenue", buf);
	fmt_money(in->budget, in->currency, buf, sizeof(buf));
	put_field("  ", "Budget", buf);
	put_field("  ", "Currency", or_dash(in->currency));
	put_field("  ", "Suppliers", or_dash(in->suppliers));
	put_field("  ", "Notes", or_dash(in->notes));
	return KAM_EXIT_OK;
}

/* The answer of a command that changed an account: the account in --json, else one line. */
static int print_changed(struct cli *cli, const struct kam_account *a, const char *line)
{
	if (cli->json)
		return json_print(cli, json_account(a));
	print_safe(stdout, line, false);
	putchar('\n');
	return KAM_EXIT_OK;
}

int cmd_account_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tier", required_argument, NULL, 't' },
		{ "owner", required_argument, NULL, 'o' },
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct kam_request req = { .op = KAM_OP_ACCOUNT_ADD };
	struct kam_response resp;
	const char *tier = NULL;
	char line[LINE_MAX_LEN];
	int ch, rc, v;

	req.u.account_add.owner = "";
	while ((ch = cli_opt(cli, argc, argv, opts, &rc)) != -1) {
		switch (ch) {
		case CLI_OPT_STOP: return rc;
		case 't': tier = optarg; break;
		case 'o': req.u.account_add.owner = optarg; break;
		}
	}
	if ((rc = cli_positional(cli, argc, argv, 1, 1)) != 0)
		return rc;
	if (!tier)
		return cli_usage_error(cli, "--tier is required");
	if ((rc = cli_keyword(cli, &kw_tier, tier, &v)) != 0)
		return rc;
	req.u.account_add.tier = (enum kam_tier)v;
	req.u.account_add.name = argv[optind];
	if ((rc = cli_call(cli, &req, &resp)) != 0)
		return rc;
	/* Only the id, so scripts can capture it: id=$(kam account add ...). */
	snprintf(line, sizeof(line), "%" PRId64, resp.u.account.id);
	return print_changed(cli, &resp.u.account, line);
}

/* A growing array of accounts gathered over pages (their strings stay in cli->arena). */
struct account_vec {
	struct kam_account *v;
	size_t n, cap;
};

static int vec_append(struct account_vec *vec, const struct kam_account *a, size_t n)
{
	if (vec->n + n > vec->cap) {
		size_t cap = vec->cap ? vec->cap : 64;
		while (cap < vec->n + n)
			cap *= 2;
		struct kam_account *v = realloc(vec->v, cap * sizeof(*v));
		if (!v)
			return KAM_ENOMEM;
		vec->v = v;
		vec->cap = cap;
	}
	if (n > 0)
		memcpy(vec->v + vec->n, a, n * sizeof(*a));
	vec->n += n;
	return 0;
}

static int print_account_table(struct cli *cli, const struct account_vec *vec)
{
	static const char *const head[] = { "ID", "NAME", "TIER", "STAGE", "STRATEGY", "OWNER", "TEAM" };
	static const bool right[] = { true, false, false, false, false, false, false };
	struct table t;

	table_init(&t, 7, head, right);
	for (size_t i = 0; i < vec->n; i++) {
		const struct kam_account *a = &vec->v[i];
		char id[32];
		const char *team = join_team(cli, a, ",");
		snprintf(id, sizeof(id), "%" PRId64, a->id);
		const char *row[] = { id, a->name, or_dash(kam_tier_str(a->tier)), or_dash(kam_stage_str(a->stage)),
				      or_dash(kam_strategy_str(a->strategy)), or_dash(a->owner), or_dash(team) };
		if (!team || table_add(&t, row) < 0) {
			table_free(&t);
			return cli_fail_nomem(cli);
		}
	}
	table_print(&t, stdout);
	table_free(&t);
	return KAM_EXIT_OK;
}

int cmd_account_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tier", required_argument, NULL, 't' },
		{ "stage", required_argument, NULL, 's' },
		{ "owner", required_argument, NULL, 'o' },
		{ "limit", required_argument, NULL, 'l' },
		{ "after", required_argument, NULL, 'a' },
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct kam_request req = { .op = KAM_OP_ACCOUNT_LIST };
	struct kam_response resp;
	struct account_vec vec = { 0 };
	int64_t limit = 0, after = 0;
	int ch, rc, v;

	req.u.account_list.owner = "";
	while ((ch = cli_opt(cli, argc, argv, opts, &rc)) != -1) {
		switch (ch) {
		case CLI_OPT_STOP: return rc;
		case 't':
			if ((rc = cli_keyword(cli, &kw_tier, optarg, &v)) != 0)
				return rc;
			req.u.account_list.tier = (enum kam_tier)v;
			break;
		case 's':
			if ((rc = cli_keyword(cli, &kw_stage, optarg, &v)) != 0)
				return rc;
			req.u.account_list.stage = (enum kam_stage)v;
			break;
		case 'o': req.u.account_list.owner = optarg; break;
		case 'l':
			if ((rc = cli_int_arg(cli, "--limit", optarg, 1, KAM_LIST_MAX, &limit)) != 0)
				return rc;
			break;
		case 'a':
			if ((rc = cli_int_arg(cli, "--after", optarg, 0, INT64_MAX, &after)) != 0)
				return rc;
			break;
		}
	}
	if ((rc = cli_positional(cli, argc, argv, 0, 0)) != 0)
		return rc;

	/* Without --limit, follow next_after_id through every page, the largest pages allowed. */
	req.u.account_list.limit = (uint32_t)(limit ? limit : KAM_LIST_MAX);
	for (;;) {
		req.u.account_list.after_id = after;
		if ((rc = cli_call(cli, &req, &resp)) != 0)
			goto out;
		if (vec_append(&vec, resp.u.account_list.accounts, resp.u.account_list.n) < 0) {
			rc = cli_fail_nomem(cli);
			goto out;
		}
		int64_t next = resp.u.account_list.next_after_id;
		/* With --limit, one page: the last ID shown is the next --after. */
		if (limit || next == 0)
			break;
		/* Keyset paging only moves forward; anything else would loop forever. */
		if (next <= after) {
			rc = cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL, NULL,
				      "malformed response from %s: page does not advance", cli->ep.key);
			goto out;
		}
		after = next;
	}
	if (cli->json)
		rc = json_print(cli, json_account_list(vec.v, vec.n));
	else
		rc = print_account_table(cli, &vec);
out:
	free(vec.v);
	return rc;
}

/* -- layers (issue 3): the account with every layer, one request (account_layers) -- */
int cmd_account_show(struct cli *cli, int argc, char **argv)
{
	struct kam_response resp;
	int rc;

	if (!cli_account_call(cli, argc, argv, KAM_OP_ACCOUNT_LAYERS, &resp, &rc))
		return rc;
	if (cli->json)
		return json_print(cli, json_account_layers(&resp.u.layers.account, &resp.u.layers));
	if ((rc = print_account_block(cli, &resp.u.layers.account)) != 0)
		return rc;
	return print_layers_text(cli, &resp.u.layers);
}

int cmd_account_set(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "if-version", required_argument, NULL, 'v' },
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct kam_request req = { .op = KAM_OP_ACCOUNT_SET };
	struct kam_response resp;
	struct kam_field *fields;
	char line[LINE_MAX_LEN];
	int64_t if_version = 0;
	int ch, rc;

	while ((ch = cli_opt(cli, argc, argv, opts, &rc)) != -1) {
		if (ch == CLI_OPT_STOP)
			return rc;
		if (ch == 'v' && (rc = cli_int_arg(cli, "--if-version", optarg, 1, INT64_MAX, &if_version)) != 0)
			return rc;
	}
	if ((rc = cli_positional(cli, argc, argv, 2, 1 + KAM_MAX_REPEATED)) != 0)
		return rc;
	size_t n = (size_t)(argc - optind - 1);
	if ((rc = cli_field_args(cli, argv + optind + 1, n, &fields)) != 0)
		return rc;
	req.u.account_set.account = argv[optind];
	req.u.account_set.fields = fields;
	req.u.account_set.n_fields = n;
	req.u.account_set.if_version = if_version;
	if ((rc = cli_call(cli, &req, &resp)) != 0)
		return rc;
	snprintf(line, sizeof(line), "account %" PRId64 " updated (version %" PRId64 ")", resp.u.account.id,
		 resp.u.account.version);
	return print_changed(cli, &resp.u.account, line);
}

/* assign and unassign: the same request shape, a different op and message. */
static int account_member(struct cli *cli, int argc, char **argv, enum kam_op op, const char *done)
{
	struct kam_request req = { .op = op };
	struct kam_response resp;
	char line[LINE_MAX_LEN];
	int rc;

	if (!cli_args_plain(cli, argc, argv, 2, 2, &rc))
		return rc;
	req.u.account_member.account = argv[optind];
	req.u.account_member.username = argv[optind + 1];
	if ((rc = cli_call(cli, &req, &resp)) != 0)
		return rc;
	snprintf(line, sizeof(line), "%.*s %s account %" PRId64 " (%.*s)", KAM_MAX_USERNAME, argv[optind + 1],
		 done, resp.u.account.id, KAM_MAX_NAME, resp.u.account.name);
	return print_changed(cli, &resp.u.account, line);
}

int cmd_account_assign(struct cli *cli, int argc, char **argv)
{
	return account_member(cli, argc, argv, KAM_OP_ACCOUNT_ASSIGN, "added to the team of");
}

int cmd_account_unassign(struct cli *cli, int argc, char **argv)
{
	return account_member(cli, argc, argv, KAM_OP_ACCOUNT_UNASSIGN, "removed from the team of");
}
