/*
 * kam review: one account layer by layer with the gaps of its tier, or a
 * team's accounts one row each (every page, then sorted here). What the
 * server left out for this user stays out; nothing is computed from guesses
 * and nothing is written to disk.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "client.h"

/* How the team table can be ordered; each key has its natural direction. */
enum sort_key { SORT_GAPS, SORT_NAME, SORT_TIER, SORT_STAGE, SORT_STRATEGY, SORT_OWNER, SORT_PROJECTS, SORT_SUPPORT };
static const char *const sort_names[] = { "gaps", "name", "tier", "stage", "strategy", "owner", "projects", "support" };
#define N_SORT (sizeof(sort_names) / sizeof(sort_names[0]))

/* ---- one account ---- */

static json_t *json_gap(const void *p)
{
	const struct kam_gap *g = p;
	json_t *o = json_object();
	int bad = !o;

	if (!o)
		return NULL;
	bad |= jset_str(o, "code", g->code);
	bad |= jset_str(o, "text", g->text);
	if (g->ref)
		bad |= jset(o, "ref", json_integer(g->ref));
	return jdone(o, bad);
}

static int print_review_text(struct cli *cli, const struct kam_response *resp)
{
	const struct kam_layers *l = &resp->u.review.layers;
	const struct kam_account *a = &l->account;
	int rc, open = 0;

	if ((rc = print_account_block(cli, a)) != 0 || (rc = print_layers_text(cli, l)) != 0)
		return rc;
	printf("\nReview\n");
	printf("  Stage %s, strategy %s\n", or_dash(kam_stage_str(a->stage)),
	       a->strategy ? kam_strategy_str(a->strategy) : "not decided");
	printf("  Open projects:\n");
	for (size_t i = 0; i < l->n_projects; i++) {
		const struct kam_project *p = &l->projects[i];
		const char *support = fmt_support(cli, p);

		if (p->status != KAM_PSTATUS_OPEN)
			continue;
		open++;
		printf("    #%" PRId64 " ", p->id);
		print_safe(stdout, p->name, false);
		printf(" (%s)\n", kam_pstage_str(p->stage));
		put_field("      ", "Involvement", or_dash(fmt_involvement(cli, p)));
		if (support)
			put_field("      ", "Support", support);
	}
	if (!open)
		printf("    (none)\n");
	printf("  Gaps for a%s %s account (%zu):\n", a->tier == KAM_TIER_IMPORTANT ? "n" : "", kam_tier_str(a->tier),
	       resp->u.review.n_gaps);
	if (!resp->u.review.n_gaps)
		printf("    (none)\n");
	for (size_t i = 0; i < resp->u.review.n_gaps; i++) {
		printf("    - ");
		print_safe(stdout, resp->u.review.gaps[i].text, false);
		putchar('\n');
	}
	return KAM_EXIT_OK;
}

static int review_account(struct cli *cli, const char *account)
{
	struct kam_request req = { .op = KAM_OP_REVIEW_ACCOUNT };
	struct kam_response resp;
	json_t *doc;
	int rc;

	req.u.layer_list.account = account;
	if ((rc = cli_call(cli, &req, &resp)) != 0)
		return rc;
	if (!cli->json)
		return print_review_text(cli, &resp);
	doc = json_object();
	if (doc && (jset(doc, "account", json_account_layers(&resp.u.review.layers.account, &resp.u.review.layers)) ||
		    jset(doc, "gaps", json_list(resp.u.review.gaps, resp.u.review.n_gaps, sizeof(*resp.u.review.gaps),
						json_gap)))) {
		json_decref(doc);
		doc = NULL;
	}
	return json_print(cli, doc);
}

/* ---- a team ---- */

static enum sort_key sort_by;
static bool sort_reverse;

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int64_t balance(const struct kam_team_row *r)
{
	return r->support.has ? r->support.value - r->oppose.value : 0;
}

static int cmp_rows(const void *pa, const void *pb)
{
	const struct kam_team_row *a = pa, *b = pb;
	int c = 0;

	switch (sort_by) {
	case SORT_GAPS: c = cmp_i64(b->gaps, a->gaps); break;              /* most first */
	case SORT_NAME: c = strcasecmp(a->account.name, b->account.name); break;
	case SORT_TIER: c = cmp_i64(a->account.tier, b->account.tier); break;   /* strategic first */
	case SORT_STAGE: c = cmp_i64(a->account.stage, b->account.stage); break;
	case SORT_STRATEGY: c = cmp_i64(a->account.strategy, b->account.strategy); break;
	case SORT_OWNER: c = strcmp(a->account.owner, b->account.owner); break;
	case SORT_PROJECTS: c = cmp_i64(b->open_projects, a->open_projects); break;  /* busiest first */
	case SORT_SUPPORT: c = cmp_i64(balance(a), balance(b)); break;      /* weakest first */
	}
	if (sort_reverse)
		c = -c;
	return c ? c : cmp_i64(a->account.id, b->account.id);
}

static json_t *json_team_row(const void *p)
{
	const struct kam_team_row *r = p;
	json_t *o = json_object(), *s = NULL;
	int bad = !o;

	if (!o)
		return NULL;
	bad |= jset(o, "id", json_integer(r->account.id));
	bad |= jset_str(o, "name", r->account.name);
	bad |= jset_str(o, "tier", kam_tier_str(r->account.tier));
	bad |= jset_str(o, "stage", kam_stage_str(r->account.stage));
	bad |= jset_str(o, "strategy", kam_strategy_str(r->account.strategy));
	bad |= jset_str(o, "owner", r->account.owner);
	bad |= jset(o, "open_projects", json_integer(r->open_projects));
	if (r->support.has) {
		bad |= !(s = json_object());
		if (s) {
			bad |= jset(s, "for", json_integer(r->support.value));
			bad |= jset(s, "against", json_integer(r->oppose.value));
			bad |= jset(s, "projects_led", json_integer(r->projects_led));
			bad |= jset(o, "support", s);
		}
	}
	bad |= jset(o, "gaps", json_integer(r->gaps));
	return jdone(o, bad);
}

static int print_team_table(struct cli *cli, const struct kam_team_row *rows, size_t n)
{
	static const char *const head[] = { "ID", "NAME", "TIER", "STAGE", "STRATEGY", "OWNER", "OPEN_PROJECTS",
					    "SUPPORT", "GAPS" };
	static const bool right[] = { true, false, false, false, false, false, true, false, true };
	struct table t;

	table_init(&t, 9, head, right);
	for (size_t i = 0; i < n; i++) {
		const struct kam_team_row *r = &rows[i];
		const char *cells[] = {
			kam_arena_printf(&cli->arena, "%" PRId64, r->account.id), r->account.name,
			kam_tier_str(r->account.tier), kam_stage_str(r->account.stage),
			or_dash(kam_strategy_str(r->account.strategy)), r->account.owner,
			kam_arena_printf(&cli->arena, "%" PRId64, r->open_projects),
			r->support.has ? kam_arena_printf(&cli->arena, "%" PRId64 "/%" PRId64 ", %" PRId64 " led",
							  r->support.value, r->oppose.value, r->projects_led)
				       : "-",
			kam_arena_printf(&cli->arena, "%" PRId64, r->gaps),
		};

		if (!cells[0] || !cells[6] || !cells[7] || !cells[8] || table_add(&t, cells) < 0) {
			table_free(&t);
			return cli_fail_nomem(cli);
		}
	}
	table_print(&t, stdout);
	table_free(&t);
	return KAM_EXIT_OK;
}

static int review_team(struct cli *cli, const char *user)
{
	struct kam_request req = { .op = KAM_OP_REVIEW_TEAM };
	struct kam_response resp;
	struct kam_team_row *rows = NULL;
	size_t n = 0, cap = 0;
	int64_t after = 0;
	int rc;

	req.u.review_team.user = user ? user : "";
	req.u.review_team.limit = KAM_LIST_MAX;
	for (;;) {
		req.u.review_team.after_id = after;
		if ((rc = cli_call(cli, &req, &resp)) != 0)
			goto out;
		if (n + resp.u.review_team.n > cap) {
			size_t ncap = cap ? cap : 64;
			struct kam_team_row *v;

			while (ncap < n + resp.u.review_team.n)
				ncap *= 2;
			if (!(v = realloc(rows, ncap * sizeof(*v)))) {
				rc = cli_fail_nomem(cli);
				goto out;
			}
			rows = v;
			cap = ncap;
		}
		if (resp.u.review_team.n)
			memcpy(rows + n, resp.u.review_team.rows, resp.u.review_team.n * sizeof(*rows));
		n += resp.u.review_team.n;
		if (resp.u.review_team.next_after_id == 0)
			break;
		/* Keyset paging only moves forward; anything else would loop forever. */
		if (resp.u.review_team.next_after_id <= after) {
			rc = cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL, NULL,
				      "malformed response from %s: page does not advance", cli->ep.key);
			goto out;
		}
		after = resp.u.review_team.next_after_id;
	}
	if (n > 1)
		qsort(rows, n, sizeof(*rows), cmp_rows);
	rc = cli->json ? json_print(cli, json_list(rows, n, sizeof(*rows), json_team_row)) : print_team_table(cli, rows, n);
out:
	free(rows);
	return rc;
}

int cmd_review(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "team", no_argument, NULL, 't' },
		{ "sort", required_argument, NULL, 's' },
		{ "reverse", no_argument, NULL, 'r' },
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	const char *sort = NULL;
	bool team = false;
	int ch, rc;

	sort_by = SORT_GAPS;
	sort_reverse = false;
	while ((ch = cli_opt(cli, argc, argv, opts, &rc)) != -1) {
		switch (ch) {
		case CLI_OPT_STOP: return rc;
		case 't': team = true; break;
		case 's': sort = optarg; break;
		case 'r': sort_reverse = true; break;
		}
	}
	if (!team) {
		if (sort || sort_reverse)
			return cli_usage_error(cli, "--sort and --reverse order the rows of --team");
		if ((rc = cli_positional(cli, argc, argv, 1, 1)) != 0)
			return rc;
		return review_account(cli, argv[optind]);
	}
	if ((rc = cli_positional(cli, argc, argv, 0, 1)) != 0)
		return rc;
	if (sort) {
		size_t k;

		for (k = 0; k < N_SORT && strcmp(sort, sort_names[k]) != 0; k++)
			;
		if (k == N_SORT)
			return cli_usage_error(cli, "invalid sort key '%s' (expected gaps, name, tier, stage, strategy, "
					       "owner, projects or support)", sort);
		sort_by = (enum sort_key)k;
	}
	return review_team(cli, optind < argc ? argv[optind] : NULL);
}
