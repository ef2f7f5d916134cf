/*
 * The layers' pure parts: keywords (contract.md's spellings), the FIELD=VALUE
 * language of every layer (svc/layer_fields.c), project moves, and the review
 * (svc/review_calc.c): support balances, gaps per tier, team rows, slicing.
 */
#include <string.h>

#include <jansson.h>

#include "svc/layer_fields.h"
#include "svc/review_calc.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct kam_arena arena;

/* ---- keywords ---- */

#define ROUND_TRIP(type, count, str, parse, ...)                                      \
	do {                                                                          \
		static const char *const kw[] = { __VA_ARGS__ };                      \
		type v;                                                               \
		ASSERT_EQ(N(kw), count);                                              \
		for (int i = 1; i < (int)(count); i++) {                              \
			ASSERT_STR_EQ(str((type)i), kw[i]);                           \
			ASSERT_EQ(parse(kw[i], &v), 0);                               \
			ASSERT_EQ(v, i);                                              \
		}                                                                     \
		ASSERT_STR_EQ(str((type)0), "");                                      \
		ASSERT_STR_EQ(str((type)(count)), "");                                \
		ASSERT_NE(parse("", &v), 0);                                          \
		ASSERT_NE(parse("bogus", &v), 0);                                     \
	} while (0)

TEST(keywords)
{
	ROUND_TRIP(enum kam_barrier_kind, KAM_BARRIER__COUNT, kam_barrier_kind_str, kam_barrier_kind_parse, "",
		   "prequalification", "certification", "references", "clearance", "requirement", "habit", "competitor",
		   "relationship", "other");
	ROUND_TRIP(enum kam_barrier_status, KAM_BSTATUS__COUNT, kam_barrier_status_str, kam_barrier_status_parse, "",
		   "open", "working", "cleared");
	ROUND_TRIP(enum kam_pstage, KAM_PSTAGE__COUNT, kam_pstage_str, kam_pstage_parse, "", "situation", "problem",
		   "need", "solution", "budget", "procurement", "contract", "delivery", "acceptance");
	ROUND_TRIP(enum kam_pstatus, KAM_PSTATUS__COUNT, kam_pstatus_str, kam_pstatus_parse, "", "open", "won", "lost");
	ROUND_TRIP(enum kam_stance, KAM_STANCE__COUNT, kam_stance_str, kam_stance_parse, "", "support", "neutral",
		   "oppose");
	ROUND_TRIP(enum kam_value_level, KAM_VLEVEL__COUNT, kam_value_level_str, kam_value_level_parse, "", "business",
		   "relationship", "strategic");
	ASSERT_STR_EQ(kam_move_str(KAM_MOVE_SKIP), "skip");
	ASSERT_STR_EQ(kam_move_str(KAM_MOVE_BACK), "back");
}

/* ---- parsing ---- */

/* Parse fields "a=b" for layer/use; return the error's field, or NULL on success. */
static const char *parse(enum kam_layer layer, enum svc_use use, struct svc_row_changes *ch, const char *const *kv,
			 size_t n)
{
	struct kam_field f[16];
	struct svc_invalid why = { NULL, NULL };

	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(kv[i], '=');

		f[i].name = kam_arena_strndup(&arena, kv[i], (size_t)(eq - kv[i]));
		f[i].value = eq + 1;
	}
	if (svc_row_parse(&arena, layer, use, f, n, ch, &why) == 0)
		return NULL;
	if (!why.message || !why.field || (why.field[0] && !strstr(why.message, why.field)))
		return "(message does not name the field)";
	return why.field;
}

#define PARSE(layer, use, ch, ...) \
	parse((layer), (use), (ch), (const char *const[]){ __VA_ARGS__ }, N(((const char *const[]){ __VA_ARGS__ })))

TEST(barrier_fields)
{
	struct svc_row_changes ch;

	ASSERT(!PARSE(KAM_LAYER_BARRIERS, SVC_USE_ADD, &ch, "kind=competitor", "description=Initrode is entrenched",
		      "due=2027-02-28", "owner=jan"));
	ASSERT_EQ(ch.values.barrier.kind, KAM_BARRIER_COMPETITOR);
	ASSERT_EQ(ch.values.barrier.status, KAM_BSTATUS_OPEN);       /* the default */
	ASSERT_STR_EQ(ch.values.barrier.due, "2027-02-28");
	ASSERT_STR_EQ(ch.values.barrier.breakthrough, "");
	ASSERT(svc_row_has(&ch, "owner"));
	ASSERT(!svc_row_has(&ch, "status"));
	/* Every refusal names its field. */
	ASSERT_STR_EQ(PARSE(KAM_LAYER_BARRIERS, SVC_USE_ADD, &ch, "description=x"), "kind");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_BARRIERS, SVC_USE_ADD, &ch, "kind=competitor"), "description");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_BARRIERS, SVC_USE_ADD, &ch, "kind=luck", "description=x"), "kind");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_BARRIERS, SVC_USE_ADD, &ch, "kind=habit", "description="), "description");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_BARRIERS, SVC_USE_ADD, &ch, "kind=habit", "description=x", "due=2027-02-29"),
		      "due");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_BARRIERS, SVC_USE_SET, &ch, "status=done"), "status");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_BARRIERS, SVC_USE_SET, &ch, "owner=bad name"), "owner");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_BARRIERS, SVC_USE_SET, &ch, "colour=red"), "colour");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_BARRIERS, SVC_USE_SET, &ch, "status=open", "status=working"), "status");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_BARRIERS, SVC_USE_SET, &ch, "description=a\033[2Jb"), "description");
	/* Optional fields clear; the kind does not. */
	ASSERT(!PARSE(KAM_LAYER_BARRIERS, SVC_USE_SET, &ch, "due=", "owner=", "breakthrough="));
	ASSERT_STR_EQ(PARSE(KAM_LAYER_BARRIERS, SVC_USE_SET, &ch, "kind="), "kind");
}

TEST(project_fields_by_use)
{
	struct svc_row_changes ch;

	ASSERT(!PARSE(KAM_LAYER_PROJECTS, SVC_USE_ADD, &ch, "name=Pump retrofit", "stage=need", "value=12000050",
		      "currency=EUR", "close=2027-06-30"));
	ASSERT_EQ(ch.values.project.stage, KAM_PSTAGE_NEED);
	ASSERT_EQ(ch.values.project.expected_value.value, 12000050);
	ASSERT_STR_EQ(PARSE(KAM_LAYER_PROJECTS, SVC_USE_ADD, &ch, "stage=need"), "name");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_PROJECTS, SVC_USE_ADD, &ch, "name=x", "value=-1"), "value");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_PROJECTS, SVC_USE_ADD, &ch, "name=x", "value=12.50"), "value");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_PROJECTS, SVC_USE_ADD, &ch, "name=x", "currency=eur"), "currency");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_PROJECTS, SVC_USE_ADD, &ch, "name= padded"), "name");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_PROJECTS, SVC_USE_ADD, &ch, "name=x", "stage=won"), "stage");
	/* The stage moves only with advance; result and reason only with close. */
	ASSERT_STR_EQ(PARSE(KAM_LAYER_PROJECTS, SVC_USE_SET, &ch, "stage=need"), "stage");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_PROJECTS, SVC_USE_ADVANCE, &ch, "name=x"), "name");
	ASSERT(!PARSE(KAM_LAYER_PROJECTS, SVC_USE_ADVANCE, &ch, "stage=procurement"));
	ASSERT_STR_EQ(PARSE(KAM_LAYER_PROJECTS, SVC_USE_CLOSE, &ch, "result=won"), "reason");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_PROJECTS, SVC_USE_CLOSE, &ch, "result=open", "reason=x"), "result");
	ASSERT(!PARSE(KAM_LAYER_PROJECTS, SVC_USE_CLOSE, &ch, "result=lost", "reason=price"));
	ASSERT_EQ(ch.values.project.status, KAM_PSTATUS_LOST);
}

TEST(contact_value_agreement_fields)
{
	struct svc_row_changes ch;

	ASSERT(!PARSE(KAM_LAYER_CONTACTS, SVC_USE_ADD, &ch, "name=Jane Roe", "weight=80", "stance=support",
		      "projects=3,1,3"));
	ASSERT_EQ(ch.values.contact.weight.value, 80);
	ASSERT_EQ(ch.values.contact.stance, KAM_STANCE_SUPPORT);
	ASSERT_EQ(ch.values.contact.n_projects, 2);      /* duplicates dropped */
	ASSERT_EQ(ch.values.contact.projects[0], 3);
	ASSERT_EQ(ch.values.contact.projects[1], 1);
	ASSERT_STR_EQ(PARSE(KAM_LAYER_CONTACTS, SVC_USE_ADD, &ch, "name=x", "weight=101"), "weight");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_CONTACTS, SVC_USE_ADD, &ch, "name=x", "weight=-1"), "weight");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_CONTACTS, SVC_USE_ADD, &ch, "name=x", "stance=hostile"), "stance");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_CONTACTS, SVC_USE_ADD, &ch, "name=x", "projects=1,,2"), "projects");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_CONTACTS, SVC_USE_ADD, &ch, "name=x", "projects=1,0"), "projects");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_CONTACTS, SVC_USE_ADD, &ch, "name=x", "projects=1,"), "projects");
	ASSERT(!PARSE(KAM_LAYER_CONTACTS, SVC_USE_SET, &ch, "stance=", "weight=", "projects="));
	ASSERT_EQ(ch.values.contact.stance, KAM_STANCE_NONE);
	ASSERT(!ch.values.contact.weight.has);
	ASSERT_STR_EQ(PARSE(KAM_LAYER_VALUES, SVC_USE_ADD, &ch, "text=less downtime"), "level");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_VALUES, SVC_USE_ADD, &ch, "level=personal", "text=x"), "level");
	ASSERT(!PARSE(KAM_LAYER_VALUES, SVC_USE_ADD, &ch, "level=strategic", "text=exclusive partner"));
	ASSERT_STR_EQ(PARSE(KAM_LAYER_AGREEMENTS, SVC_USE_ADD, &ch, "signed_by=CEOs", "scope=all pumps"), "signed_on");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_AGREEMENTS, SVC_USE_ADD, &ch, "signed_by=CEOs", "signed_on=2026-13-01",
			    "scope=x"), "signed_on");
	ASSERT_STR_EQ(PARSE(KAM_LAYER_AGREEMENTS, SVC_USE_ADD, &ch, "signed_by=CEOs", "signed_on=2026-01-10",
			    "scope=x", "term=0"), "term");
	ASSERT(!PARSE(KAM_LAYER_AGREEMENTS, SVC_USE_ADD, &ch, "signed_by=CEOs", "signed_on=2026-01-10", "scope=x",
		      "term=36"));
	ASSERT_EQ(ch.values.agreement.term_months.value, 36);
}

TEST(dates)
{
	ASSERT(svc_date_valid("2024-02-29"));
	ASSERT(svc_date_valid("2000-02-29"));
	ASSERT(!svc_date_valid("1900-02-29"));
	ASSERT(!svc_date_valid("2026-02-29"));
	ASSERT(!svc_date_valid("2026-04-31"));
	ASSERT(svc_date_valid("2026-12-31"));
	ASSERT(!svc_date_valid("2026-1-01"));
	ASSERT(!svc_date_valid("2026-01-01T00"));
	ASSERT(!svc_date_valid("1899-12-31"));
	ASSERT(!svc_date_valid("2201-01-01"));
	ASSERT(!svc_date_valid("+026-01-01"));
}

TEST(apply_and_changes_record)
{
	struct svc_row_changes ch;
	union svc_row before, after;
	json_t *j;
	char *text;

	svc_row_defaults(KAM_LAYER_BARRIERS, &before);
	before.barrier.kind = KAM_BARRIER_HABIT;
	before.barrier.description = "buys from friends";
	ASSERT(!PARSE(KAM_LAYER_BARRIERS, SVC_USE_SET, &ch, "status=working", "breakthrough=lunch with the CFO"));
	svc_row_apply(&ch, &before, &after);
	ASSERT_EQ(after.barrier.kind, KAM_BARRIER_HABIT);
	ASSERT_EQ(after.barrier.status, KAM_BSTATUS_WORKING);
	ASSERT_STR_EQ(after.barrier.description, "buys from friends");
	j = svc_row_changes_json(KAM_LAYER_BARRIERS, &before, &after);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	ASSERT_STR_EQ(text, "{\"changes\":{\"breakthrough\":{\"after\":\"lunch with the CFO\",\"before\":\"\"},"
			    "\"status\":{\"after\":\"working\",\"before\":\"open\"}}}");
	free(text);
	json_decref(j);
}

TEST(cross_field_checks)
{
	struct svc_invalid why;
	const char *team[] = { "ann", "jan" };
	struct kam_account acc = { .name = "Acme", .team = team, .n_team = 2 };
	struct kam_info in = { .currency = "" };
	struct kam_project projects[] = { { .id = 4 }, { .id = 9 } };
	struct kam_layers l = { .projects = projects, .n_projects = 2 };
	int64_t ok_links[] = { 9, 4 }, bad_links[] = { 4, 5 };
	struct kam_contact c = { .projects = ok_links, .n_projects = 2 };

	ASSERT_EQ(svc_money_check((struct kam_opt_i64){ true, 5 }, "", &why), KAM_EINVAL);
	ASSERT_STR_EQ(why.field, "currency");
	ASSERT_EQ(svc_money_check((struct kam_opt_i64){ true, 5 }, "EUR", &why), 0);
	ASSERT_EQ(svc_money_check((struct kam_opt_i64){ false, 0 }, "", &why), 0);
	in.budget = (struct kam_opt_i64){ true, 100 };
	ASSERT_EQ(svc_info_check(&arena, &in, 2026, &why), KAM_EINVAL);
	ASSERT_STR_EQ(why.field, "currency");
	in.currency = "CHF";
	ASSERT_EQ(svc_info_check(&arena, &in, 2026, &why), 0);
	in.founded = (struct kam_opt_i64){ true, 2027 };
	ASSERT_EQ(svc_info_check(&arena, &in, 2026, &why), KAM_EINVAL);
	ASSERT_STR_EQ(why.field, "founded");
	ASSERT_STR_EQ(why.message, "founded must be a year from 1000 to 2026");
	in.founded.value = 2026;
	ASSERT_EQ(svc_info_check(&arena, &in, 2026, &why), 0);
	ASSERT_EQ(svc_owner_on_team(&arena, "jan", &acc, &why), 0);
	ASSERT_EQ(svc_owner_on_team(&arena, "", &acc, &why), 0);
	ASSERT_EQ(svc_owner_on_team(&arena, "bob", &acc, &why), KAM_EINVAL);
	ASSERT_STR_EQ(why.field, "owner");
	ASSERT(strstr(why.message, "bob is not on the team of account Acme"));
	ASSERT_EQ(svc_links_valid(&arena, &c, &l, &why), 0);
	c.projects = bad_links;
	ASSERT_EQ(svc_links_valid(&arena, &c, &l, &why), KAM_EINVAL);
	ASSERT_STR_EQ(why.field, "projects");
	ASSERT(strstr(why.message, "no project 5"));
}

TEST(project_moves)
{
	struct kam_project p = { .id = 7, .stage = KAM_PSTAGE_PROBLEM }, q, r;
	struct svc_invalid why;
	enum kam_move m;

	svc_project_start(&p);
	ASSERT_EQ(p.involved, KAM_PSTAGE_PROBLEM);
	ASSERT_EQ(p.stages_taken, KAM_PSTAGE_BIT(KAM_PSTAGE_PROBLEM));
	ASSERT_EQ(svc_project_advance(&arena, &p, KAM_PSTAGE_NEED, &q, &m, &why), 0);
	ASSERT_EQ(m, KAM_MOVE_FORWARD);
	ASSERT_EQ(svc_project_advance(&arena, &q, KAM_PSTAGE_PROCUREMENT, &r, &m, &why), 0);
	ASSERT_EQ(m, KAM_MOVE_SKIP);
	/* Skipped stages are not stages we took part in. */
	ASSERT_EQ(r.stages_taken, KAM_PSTAGE_BIT(KAM_PSTAGE_PROBLEM) | KAM_PSTAGE_BIT(KAM_PSTAGE_NEED) |
				  KAM_PSTAGE_BIT(KAM_PSTAGE_PROCUREMENT));
	ASSERT_EQ(svc_project_advance(&arena, &r, KAM_PSTAGE_SOLUTION, &q, &m, &why), 0);
	ASSERT_EQ(m, KAM_MOVE_BACK);
	ASSERT_EQ(q.stage, KAM_PSTAGE_SOLUTION);
	ASSERT_EQ(q.involved, KAM_PSTAGE_PROBLEM);
	ASSERT_EQ(svc_project_advance(&arena, &q, KAM_PSTAGE_SOLUTION, &r, &m, &why), KAM_EINVAL);
	ASSERT_STR_EQ(why.field, "stage");
	r = q;
	r.status = KAM_PSTATUS_WON;
	ASSERT_EQ(svc_project_close(&arena, &q, &r, &m, &why), 0);
	ASSERT_EQ(m, KAM_MOVE_WON);
	ASSERT_EQ(svc_project_close(&arena, &r, &r, &m, &why), KAM_EINVAL);
	ASSERT(strstr(why.message, "closed (won)"));
	ASSERT_EQ(svc_project_advance(&arena, &r, KAM_PSTAGE_DELIVERY, &q, &m, &why), KAM_EINVAL);
	/* A project that has moved SVC_MAX_MOVES times moves no more (its history must fit a frame). */
	q = p;
	q.n_history = SVC_MAX_MOVES;
	ASSERT_EQ(svc_project_advance(&arena, &q, KAM_PSTAGE_DELIVERY, &r, &m, &why), KAM_EINVAL);
	q.n_history = SVC_MAX_MOVES - 1;
	ASSERT_EQ(svc_project_advance(&arena, &q, KAM_PSTAGE_DELIVERY, &r, &m, &why), 0);
}

TEST(layer_room)
{
	struct kam_layers l = { .n_barriers = SVC_MAX_LAYER_ROWS - 1, .n_values = SVC_MAX_LAYER_ROWS };
	struct svc_invalid why;

	ASSERT_EQ(svc_layer_room(&arena, KAM_LAYER_BARRIERS, &l, &why), 0);
	ASSERT_EQ(svc_layer_room(&arena, KAM_LAYER_VALUES, &l, &why), KAM_EINVAL);
	ASSERT(strstr(why.message, "value propositions already"));
	ASSERT_EQ(svc_layer_room(&arena, KAM_LAYER_CONTACTS, &l, &why), 0);
}

/* ---- the review ---- */

static int64_t p1_links[] = { 1 }, p12_links[] = { 1, 2 };

static struct kam_project review_projects[] = {
	{ .id = 1, .account_id = 10, .status = KAM_PSTATUS_OPEN, .stage = KAM_PSTAGE_NEED, .involved = KAM_PSTAGE_PROBLEM },
	{ .id = 2, .account_id = 10, .status = KAM_PSTATUS_OPEN, .stage = KAM_PSTAGE_PROCUREMENT,
	  .involved = KAM_PSTAGE_PROCUREMENT },
	{ .id = 3, .account_id = 10, .status = KAM_PSTATUS_LOST, .stage = KAM_PSTAGE_BUDGET, .involved = KAM_PSTAGE_BUDGET },
	{ .id = 4, .account_id = 11, .status = KAM_PSTATUS_OPEN, .stage = KAM_PSTAGE_SITUATION,
	  .involved = KAM_PSTAGE_SITUATION },
};

static struct kam_contact review_contacts[] = {
	{ .id = 1, .account_id = 10, .decision_role = "", .weight = { true, 60 }, .stance = KAM_STANCE_SUPPORT,
	  .projects = p12_links, .n_projects = 2 },
	{ .id = 2, .account_id = 10, .decision_role = "economic buyer", .weight = { true, 70 },
	  .stance = KAM_STANCE_OPPOSE, .projects = p12_links + 1, .n_projects = 1 },
	{ .id = 3, .account_id = 10, .decision_role = "", .weight = { false, 0 }, .stance = KAM_STANCE_SUPPORT,
	  .projects = p1_links, .n_projects = 1 },
};

static struct kam_barrier review_barriers[] = {
	{ .id = 5, .account_id = 10, .kind = KAM_BARRIER_PREQUALIFICATION, .status = KAM_BSTATUS_OPEN, .breakthrough = "" },
	{ .id = 6, .account_id = 10, .kind = KAM_BARRIER_HABIT, .status = KAM_BSTATUS_CLEARED, .breakthrough = "" },
	{ .id = 7, .account_id = 10, .kind = KAM_BARRIER_COMPETITOR, .status = KAM_BSTATUS_WORKING, .breakthrough = "x" },
};

static bool has_gap(const struct kam_gap *g, size_t n, const char *code, int64_t ref)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(g[i].code, code) == 0 && g[i].ref == ref)
			return true;
	return false;
}

TEST(review)
{
	struct kam_layers all = { .barriers = review_barriers, .n_barriers = N(review_barriers),
				  .projects = review_projects, .n_projects = N(review_projects),
				  .contacts = review_contacts, .n_contacts = N(review_contacts) };
	struct kam_account acc = { .id = 10, .name = "Acme", .tier = KAM_TIER_TOP, .info = { .business = "" } };
	struct kam_layers one, answer, rep;
	struct kam_team_row row;
	struct kam_gap *g;
	size_t n;

	svc_layers_slice(&all, 10, &one);
	ASSERT_EQ(one.n_projects, 3);
	ASSERT_EQ(one.n_contacts, 3);
	ASSERT_EQ(one.n_barriers, 3);
	ASSERT_EQ(svc_layers_answer(&arena, &one, true, &answer), 0);
	/* Project 1: supporters 60 (+ an unknown weight) against nobody; project 2: 60 against 70. */
	ASSERT_EQ(answer.projects[0].support.value, 60);
	ASSERT_EQ(answer.projects[0].oppose.value, 0);
	ASSERT(svc_review_leads(&answer.projects[0]));
	ASSERT_EQ(answer.projects[1].support.value, 60);
	ASSERT_EQ(answer.projects[1].oppose.value, 70);
	ASSERT(!svc_review_leads(&answer.projects[1]));
	ASSERT(!answer.projects[2].support.has);     /* closed: no balance */
	ASSERT(!review_projects[0].support.has);      /* the input is left alone */
	ASSERT(!answer.restricted);

	ASSERT_EQ(svc_review_gaps(&arena, &acc, &answer, true, &g, &n), 0);
	ASSERT(has_gap(g, n, "information_incomplete", 0));
	ASSERT(has_gap(g, n, "no_strategy", 0));
	ASSERT(has_gap(g, n, "barrier_without_breakthrough", 5));
	ASSERT(!has_gap(g, n, "barrier_without_breakthrough", 6));   /* cleared */
	ASSERT(!has_gap(g, n, "barrier_without_breakthrough", 7));
	ASSERT(!has_gap(g, n, "no_decision_makers", 0));             /* contact 2 has a role */
	ASSERT(has_gap(g, n, "no_value_proposition", 0));
	ASSERT(has_gap(g, n, "joined_late", 2));
	ASSERT(!has_gap(g, n, "joined_late", 1));
	ASSERT(has_gap(g, n, "supporters_do_not_lead", 2));
	ASSERT(!has_gap(g, n, "supporters_do_not_lead", 1));
	ASSERT_EQ(n, 6);

	/* A rep: no balances, and no gap that would give them away. */
	ASSERT_EQ(svc_layers_answer(&arena, &one, false, &rep), 0);
	ASSERT(rep.restricted);
	ASSERT(!rep.projects[0].support.has);
	ASSERT_EQ(svc_review_gaps(&arena, &acc, &rep, false, &g, &n), 0);
	ASSERT(!has_gap(g, n, "supporters_do_not_lead", 2));
	ASSERT_EQ(n, 5);

	/* Important accounts: information, barriers and business only; ordinary: nothing. */
	acc.tier = KAM_TIER_IMPORTANT;
	ASSERT_EQ(svc_review_gaps(&arena, &acc, &answer, true, &g, &n), 0);
	ASSERT(!has_gap(g, n, "no_strategy", 0) && !has_gap(g, n, "no_value_proposition", 0));
	ASSERT(has_gap(g, n, "joined_late", 2) && has_gap(g, n, "barrier_without_breakthrough", 5));
	ASSERT_EQ(n, 3);
	acc.tier = KAM_TIER_ORDINARY;
	ASSERT_EQ(svc_review_gaps(&arena, &acc, &answer, true, &g, &n), 0);
	ASSERT_EQ(n, 0);

	acc.tier = KAM_TIER_TOP;
	ASSERT_EQ(svc_review_row(&arena, &acc, &answer, true, &row), 0);
	ASSERT_EQ(row.open_projects, 2);
	ASSERT_EQ(row.support.value, 120);
	ASSERT_EQ(row.oppose.value, 70);
	ASSERT_EQ(row.projects_led, 1);
	ASSERT_EQ(row.gaps, 6);
	ASSERT_EQ(svc_review_row(&arena, &acc, &rep, false, &row), 0);
	ASSERT(!row.support.has);
	ASSERT_EQ(row.projects_led, 0);

	svc_layers_slice(&all, 11, &one);
	ASSERT_EQ(one.n_projects, 1);
	ASSERT_EQ(one.projects[0].id, 4);
	ASSERT_EQ(one.n_contacts, 0);
	svc_layers_slice(&all, 12, &one);
	ASSERT_EQ(one.n_projects + one.n_barriers + one.n_contacts, 0);
	svc_layers_slice(&all, 9, &one);
	ASSERT_EQ(one.n_projects + one.n_barriers + one.n_contacts, 0);
}

/* Everything the cases allocated, freed once at exit (for LeakSanitizer). */
__attribute__((destructor)) static void free_arena(void)
{
	kam_arena_free(&arena);
}

TEST_MAIN(TEST_ENTRY(keywords), TEST_ENTRY(barrier_fields), TEST_ENTRY(project_fields_by_use),
	  TEST_ENTRY(contact_value_agreement_fields), TEST_ENTRY(dates), TEST_ENTRY(apply_and_changes_record),
	  TEST_ENTRY(cross_field_checks), TEST_ENTRY(project_moves), TEST_ENTRY(layer_room), TEST_ENTRY(review))
