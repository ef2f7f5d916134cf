/*
 * What a manager looks at on Monday, computed from an account and its layers:
 * support balances of open projects, the gaps the method finds at the account's
 * tier, the team row. Pure: no store, no session; what the caller may not see
 * (stance, weight) never enters a result unless told it may.
 */
#include <stdio.h>
#include <string.h>

#include "review_calc.h"

/* A growing array of gaps in the arena. */
struct gaps {
	struct kam_arena *a;
	struct kam_gap *v;
	size_t n, cap;
	int err;
};

static void gap_add(struct gaps *g, const char *code, int64_t ref, const char *text)
{
	if (g->err)
		return;
	if (!text) {
		g->err = KAM_ENOMEM;
		return;
	}
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 8;
		struct kam_gap *v = kam_arena_alloc(g->a, cap * sizeof(*v));

		if (!v) {
			g->err = KAM_ENOMEM;
			return;
		}
		if (g->n)
			memcpy(v, g->v, g->n * sizeof(*v));
		g->v = v;
		g->cap = cap;
	}
	g->v[g->n++] = (struct kam_gap){ code, text, ref };
}

static bool linked(const struct kam_contact *c, int64_t project_id)
{
	for (size_t i = 0; i < c->n_projects; i++)
		if (c->projects[i] == project_id)
			return true;
	return false;
}

void svc_review_support(struct kam_layers *l)
{
	for (size_t p = 0; p < l->n_projects; p++) {
		struct kam_project *pr = &l->projects[p];
		int64_t support = 0, oppose = 0;

		if (pr->status != KAM_PSTATUS_OPEN)
			continue;
		for (size_t c = 0; c < l->n_contacts; c++) {
			const struct kam_contact *ct = &l->contacts[c];
			int64_t w = ct->weight.has ? ct->weight.value : 0;

			if (!linked(ct, pr->id))
				continue;
			if (ct->stance == KAM_STANCE_SUPPORT)
				support += w;
			else if (ct->stance == KAM_STANCE_OPPOSE)
				oppose += w;
		}
		pr->support = (struct kam_opt_i64){ true, support };
		pr->oppose = (struct kam_opt_i64){ true, oppose };
	}
}

bool svc_review_leads(const struct kam_project *p)
{
	return p->support.has && p->oppose.has && p->support.value > p->oppose.value;
}

static bool full_method(enum kam_tier t)
{
	return t == KAM_TIER_STRATEGIC || t == KAM_TIER_TOP;
}

/* Important accounts are managed at least by their rep: information, barriers, business. */
static bool rep_method(enum kam_tier t)
{
	return full_method(t) || t == KAM_TIER_IMPORTANT;
}

static bool has_contacts(const struct kam_layers *l, int64_t project_id)
{
	for (size_t c = 0; c < l->n_contacts; c++)
		if (linked(&l->contacts[c], project_id))
			return true;
	return false;
}

static void information_gaps(struct gaps *g, const struct kam_account *acc)
{
	const struct kam_info *in = &acc->info;
	char missing[128] = "";

	if (!in->founded.has)
		strcat(missing, ", founded");
	if (!in->headcount.has)
		strcat(missing, ", headcount");
	if (!in->business || !*in->business)
		strcat(missing, ", business");
	if (!in->revenue.has)
		strcat(missing, ", revenue");
	if (missing[0])
		gap_add(g, "information_incomplete", 0,
			kam_arena_printf(g->a, "information layer incomplete: %s unknown", missing + 2));
}

static void barrier_gaps(struct gaps *g, const struct kam_layers *l)
{
	for (size_t i = 0; i < l->n_barriers; i++) {
		const struct kam_barrier *b = &l->barriers[i];

		if (b->status != KAM_BSTATUS_CLEARED && (!b->breakthrough || !*b->breakthrough))
			gap_add(g, "barrier_without_breakthrough", b->id,
				kam_arena_printf(g->a, "barrier %lld (%s) is %s without a planned breakthrough",
						 (long long)b->id, kam_barrier_kind_str(b->kind),
						 kam_barrier_status_str(b->status)));
	}
}

static void project_gaps(struct gaps *g, const struct kam_layers *l, bool full, bool sensitive)
{
	for (size_t i = 0; i < l->n_projects; i++) {
		const struct kam_project *p = &l->projects[i];

		if (p->status != KAM_PSTATUS_OPEN)
			continue;
		if (p->involved >= SVC_LATE_STAGE)
			gap_add(g, "joined_late", p->id,
				kam_arena_printf(g->a, "project %lld: we joined late, at %s", (long long)p->id,
						 kam_pstage_str(p->involved)));
		if (!full)
			continue;
		if (!has_contacts(l, p->id))
			gap_add(g, "project_without_contacts", p->id,
				kam_arena_printf(g->a, "project %lld: nobody who decides it is known", (long long)p->id));
		else if (sensitive && !svc_review_leads(p))
			gap_add(g, "supporters_do_not_lead", p->id,
				kam_arena_printf(g->a, "project %lld: supporters do not lead (%lld for, %lld against)",
						 (long long)p->id, (long long)p->support.value,
						 (long long)p->oppose.value));
	}
}

int svc_review_gaps(struct kam_arena *a, const struct kam_account *acc, const struct kam_layers *l, bool sensitive,
		    struct kam_gap **out, size_t *n_out)
{
	struct gaps g = { .a = a };
	bool full = full_method(acc->tier);
	bool decision_maker = false;

	*out = NULL;
	*n_out = 0;
	if (!rep_method(acc->tier))
		return 0;   /* ordinary accounts need no plan */
	information_gaps(&g, acc);
	if (full && acc->strategy == KAM_STRATEGY_NONE)
		gap_add(&g, "no_strategy", 0, kam_arena_strdup(a, "no strategy decided (attack or watch)"));
	barrier_gaps(&g, l);
	if (full) {
		for (size_t i = 0; i < l->n_contacts; i++)
			decision_maker |= l->contacts[i].decision_role && *l->contacts[i].decision_role;
		if (!decision_maker)
			gap_add(&g, "no_decision_makers", 0,
				kam_arena_printf(a, "no decision makers identified for a %s account",
						 kam_tier_str(acc->tier)));
		if (l->n_values == 0)
			gap_add(&g, "no_value_proposition", 0, kam_arena_strdup(a, "no value proposition"));
	}
	project_gaps(&g, l, full, sensitive);
	if (g.err)
		return g.err;
	*out = g.v;
	*n_out = g.n;
	return 0;
}

int svc_review_row(struct kam_arena *a, const struct kam_account *acc, const struct kam_layers *l, bool sensitive,
		   struct kam_team_row *row)
{
	struct kam_gap *gaps;
	size_t n_gaps;
	int err;

	memset(row, 0, sizeof(*row));
	row->account = *acc;
	row->account.has_info = false;
	if (sensitive) {
		row->support = (struct kam_opt_i64){ true, 0 };
		row->oppose = (struct kam_opt_i64){ true, 0 };
	}
	for (size_t i = 0; i < l->n_projects; i++) {
		const struct kam_project *p = &l->projects[i];

		if (p->status != KAM_PSTATUS_OPEN)
			continue;
		row->open_projects++;
		if (!sensitive)
			continue;
		row->support.value += p->support.has ? p->support.value : 0;
		row->oppose.value += p->oppose.has ? p->oppose.value : 0;
		row->projects_led += svc_review_leads(p);
	}
	err = svc_review_gaps(a, acc, l, sensitive, &gaps, &n_gaps);
	row->gaps = (int64_t)n_gaps;
	return err;
}

int svc_layers_answer(struct kam_arena *a, const struct kam_layers *in, bool sensitive, struct kam_layers *out)
{
	*out = *in;
	out->restricted = !sensitive;
	if (in->n_projects) {
		if (!(out->projects = kam_arena_alloc(a, in->n_projects * sizeof(*out->projects))))
			return KAM_ENOMEM;
		memcpy(out->projects, in->projects, in->n_projects * sizeof(*out->projects));
	}
	if (sensitive)
		svc_review_support(out);
	return 0;
}

/* [first, first + count) of rows whose account_id (at offset off) equals id, rows sorted by it. */
static void slice(const void *rows, size_t n, size_t size, size_t off, int64_t id, const void **first, size_t *count)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t v;

		memcpy(&v, (const char *)rows + mid * size + off, sizeof(v));
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = (const char *)rows + lo * size;
	*count = 0;
	for (size_t i = lo; i < n; i++) {
		int64_t v;

		memcpy(&v, (const char *)rows + i * size + off, sizeof(v));
		if (v != id)
			break;
		(*count)++;
	}
}

#define SLICE(all, out, name, type, id) \
	slice((all)->name, (all)->n_##name, sizeof(type), offsetof(type, account_id), (id), \
	      (const void **)&(out)->name, &(out)->n_##name)

void svc_layers_slice(const struct kam_layers *all, int64_t account_id, struct kam_layers *out)
{
	memset(out, 0, sizeof(*out));
	out->restricted = all->restricted;
	SLICE(all, out, barriers, struct kam_barrier, account_id);
	SLICE(all, out, projects, struct kam_project, account_id);
	SLICE(all, out, contacts, struct kam_contact, account_id);
	SLICE(all, out, values, struct kam_value, account_id);
	SLICE(all, out, agreements, struct kam_agreement, account_id);
}
