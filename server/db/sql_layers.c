/*
 * The layers beyond information: barriers, projects (and their stage history),
 * contacts (and the projects they decide on), value propositions, agreements.
 * Reads of many accounts in one job; every write carries its audit row in the
 * same statement, written only if the row was. Contacts' sensitive fields are
 * withheld here, in SQL, for callers who may not see them. No PGresult leaves.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "db/pool.h"
#include "db/sql.h"

/* Longest decimal int64 plus a comma. */
#define ID_TEXT_MAX 21

#define SQL_EPOCH(x) "extract(epoch FROM " x ")::bigint"
#define SQL_DATE(x) "COALESCE(to_char(" x ", 'YYYY-MM-DD'), '')"
/* An active user on the team of the account the row `from` belongs to, by the name in `param`. */
#define SQL_TEAM_USER(param, join)                                                                \
	"SELECT u.id FROM users u JOIN account_team t ON t.user_id = u.id " join                  \
	" WHERE u.username = " param "::text AND u.active"

/* ---- rows: columns, and the C that reads them in the same order ---- */

#define SQL_BARRIER_COLS                                                                           \
	"b.id, b.account_id, b.kind, b.description, b.status, b.breakthrough, " SQL_DATE("b.due")   \
	", COALESCE(o.username, ''), " SQL_EPOCH("b.created_at") ", " SQL_EPOCH("b.updated_at")     \
	", COALESCE(" SQL_EPOCH("b.cleared_at") ", 0), b.version"
#define SQL_BARRIER_OWNER " LEFT JOIN users o ON o.id = b.owner_id"
enum { BC_ID, BC_ACCOUNT, BC_KIND, BC_DESCRIPTION, BC_STATUS, BC_BREAKTHROUGH, BC_DUE, BC_OWNER, BC_CREATED,
       BC_UPDATED, BC_CLEARED, BC_VERSION, BARRIER_NCOLS };

#define SQL_PROJECT_COLS                                                                           \
	"p.id, p.account_id, p.name, p.stage, "                                                    \
	"CASE p.status WHEN 'open' THEN 1 WHEN 'won' THEN 2 ELSE 3 END, p.reason, o.username, "   \
	"p.involved_stage, p.stages_taken, p.expected_value, p.currency, " SQL_DATE("p.close_date") \
	", " SQL_EPOCH("p.created_at") ", " SQL_EPOCH("p.updated_at") ", p.version"
#define SQL_PROJECT_OWNER " JOIN users o ON o.id = p.owner_id"
enum { PC_ID, PC_ACCOUNT, PC_NAME, PC_STAGE, PC_STATUS, PC_REASON, PC_OWNER, PC_INVOLVED, PC_TAKEN, PC_VALUE,
       PC_CURRENCY, PC_CLOSE, PC_CREATED, PC_UPDATED, PC_VERSION, PROJECT_NCOLS };

/* Moves in the order of their projects (account, project), oldest first. */
#define SQL_MOVE_COLS                                                                              \
	"m.project_id, m.kind, COALESCE(m.from_stage, 0), COALESCE(m.to_stage, 0), u.username, " \
	SQL_EPOCH("m.at")
#define SQL_MOVE_FROM " FROM project_moves m JOIN users u ON u.id = m.by_user JOIN projects p ON p.id = m.project_id"
enum { MC_PROJECT, MC_KIND, MC_FROM, MC_TO, MC_BY, MC_AT, MOVE_NCOLS };

/* sensitive: an SQL boolean; links: the project ids joined by commas. */
#define SQL_CONTACT_COLS(sensitive, links)                                                         \
	"c.id, c.account_id, c.name, c.title, c.decision_role, c.criteria, "                       \
	"CASE WHEN " sensitive " THEN c.weight END, CASE WHEN " sensitive " THEN c.stance ELSE 0 END, " \
	"c.org_needs, CASE WHEN " sensitive " THEN c.personal_needs ELSE '' END, " links ", "      \
	SQL_EPOCH("c.created_at") ", " SQL_EPOCH("c.updated_at") ", c.version"
#define SQL_CONTACT_LINKS                                                                          \
	"COALESCE((SELECT string_agg(cp.project_id::text, ',' ORDER BY cp.project_id) "           \
	"FROM contact_projects cp WHERE cp.contact_id = c.id), '')"
#define SQL_LINKS_OF(array) "array_to_string(ARRAY(SELECT DISTINCT unnest(" array ") ORDER BY 1), ',')"
enum { CC_ID, CC_ACCOUNT, CC_NAME, CC_TITLE, CC_ROLE, CC_CRITERIA, CC_WEIGHT, CC_STANCE, CC_ORG, CC_PERSONAL,
       CC_LINKS, CC_CREATED, CC_UPDATED, CC_VERSION, CONTACT_NCOLS };

#define SQL_VALUE_COLS "v.id, v.account_id, v.level, v.text, u.username, " SQL_EPOCH("v.created_at")
#define SQL_VALUE_AUTHOR " JOIN users u ON u.id = v.created_by"
enum { VC_ID, VC_ACCOUNT, VC_LEVEL, VC_TEXT, VC_AUTHOR, VC_CREATED, VALUE_NCOLS };

#define SQL_AGREEMENT_COLS                                                                         \
	"g.id, g.account_id, g.signed_by, " SQL_DATE("g.signed_on") ", g.scope, g.term_months, "  \
	"u.username, " SQL_EPOCH("g.created_at")
#define SQL_AGREEMENT_AUTHOR " JOIN users u ON u.id = g.recorded_by"
enum { GC_ID, GC_ACCOUNT, GC_SIGNED_BY, GC_SIGNED_ON, GC_SCOPE, GC_TERM, GC_AUTHOR, GC_CREATED, AGREEMENT_NCOLS };

/* ---- reads: $1 the accounts (a bigint[] literal), contacts' $2 whether sensitive fields show ---- */

#define SQL_OF_ACCOUNTS(alias) " WHERE " alias ".account_id = ANY($1::bigint[]) ORDER BY " alias ".account_id, " alias ".id"

static const char sql_barriers[] =
	"SELECT " SQL_BARRIER_COLS " FROM barriers b" SQL_BARRIER_OWNER SQL_OF_ACCOUNTS("b");
static const char sql_projects[] =
	"SELECT " SQL_PROJECT_COLS " FROM projects p" SQL_PROJECT_OWNER SQL_OF_ACCOUNTS("p");
static const char sql_moves[] =
	"SELECT " SQL_MOVE_COLS SQL_MOVE_FROM " WHERE p.account_id = ANY($1::bigint[]) "
	"ORDER BY p.account_id, m.project_id, m.id";
static const char sql_moves_of_project[] =
	"SELECT " SQL_MOVE_COLS SQL_MOVE_FROM " WHERE m.project_id = $1::bigint ORDER BY m.id";
static const char sql_contacts[] =
	"SELECT " SQL_CONTACT_COLS("$2::boolean", SQL_CONTACT_LINKS) " FROM contacts c" SQL_OF_ACCOUNTS("c");
static const char sql_values[] =
	"SELECT " SQL_VALUE_COLS " FROM value_props v" SQL_VALUE_AUTHOR SQL_OF_ACCOUNTS("v");
static const char sql_agreements[] =
	"SELECT " SQL_AGREEMENT_COLS " FROM agreements g" SQL_AGREEMENT_AUTHOR SQL_OF_ACCOUNTS("g");

/* The information layer of many accounts, for the team review. */
static const char sql_infos[] =
	"SELECT id, founded, headcount, business, revenue, budget, currency, suppliers, notes FROM accounts "
	"WHERE id = ANY($1::bigint[]) ORDER BY id";
enum { IC_ID, IC_FOUNDED, IC_HEADCOUNT, IC_BUSINESS, IC_REVENUE, IC_BUDGET, IC_CURRENCY, IC_SUPPLIERS, IC_NOTES,
       INFO_NCOLS };

/* $1 the layer (its enum kam_layer value), $2 the row's id. */
_Static_assert(KAM_LAYER_BARRIERS == 0 && KAM_LAYER_PROJECTS == 1 && KAM_LAYER_CONTACTS == 2,
	       "sql_account_of numbers the layers as enum kam_layer does");
/* The query is deploy/sql/0005_rls.sql's kam_layer_account_of (issue 7): it resolves
 * the item whatever row-level security shows, so a denial names its account. */
static const char sql_account_of[] = "SELECT * FROM kam_layer_account_of($1::int, $2::bigint)";

/* ---- adds: the audit entry is $1..$8, the row from $9 ---- */

#define SQL_AUDITED(src) ", aud AS (" SQL_AUDIT_INSERT(SQL_AUDIT_ACCOUNT) " FROM " src ") "

/* $9 account, $10 kind, $11 description, $12 status, $13 breakthrough, $14 due, $15 owner (NULL: none), $16 by. */
static const char sql_barrier_add[] =
	"WITH own AS (" SQL_TEAM_USER("$15", "AND t.account_id = $9::bigint") "), "
	"ins AS (INSERT INTO barriers (account_id, kind, description, status, breakthrough, due, owner_id, "
	"created_by, cleared_at) "
	"SELECT $9::bigint, $10::smallint, $11::text, $12::smallint, $13::text, $14::date, (SELECT id FROM own), "
	"$16::bigint, CASE WHEN $12::smallint = 3 THEN now() END "
	"WHERE $15::text IS NULL OR EXISTS (SELECT 1 FROM own) RETURNING *)" SQL_AUDITED("ins")
	"SELECT " SQL_BARRIER_COLS " FROM ins b" SQL_BARRIER_OWNER;

/* $9 account, $10 name, $11 stage, $12 owner, $13 value, $14 currency, $15 close, $16 by,
 * $17 involved, $18 stages taken. The first move records where it started. */
static const char sql_project_add[] =
	"WITH own AS (" SQL_TEAM_USER("$12", "AND t.account_id = $9::bigint") "), "
	"ins AS (INSERT INTO projects (account_id, name, stage, owner_id, involved_stage, stages_taken, "
	"expected_value, currency, close_date, created_by) "
	"SELECT $9::bigint, $10::text, $11::smallint, own.id, $17::smallint, $18::integer, $13::bigint, $14::text, "
	"$15::date, $16::bigint FROM own RETURNING *), "
	"mv AS (INSERT INTO project_moves (project_id, kind, to_stage, by_user) SELECT id, 1, stage, created_by FROM ins)"
	SQL_AUDITED("ins")
	"SELECT " SQL_PROJECT_COLS " FROM ins p" SQL_PROJECT_OWNER;

/* $9 account, $10 name, $11 title, $12 decision role, $13 criteria, $14 weight, $15 stance, $16 org needs,
 * $17 personal needs, $18 linked projects (bigint[]), $19 by. Links to another account's project add nothing. */
static const char sql_contact_add[] =
	"WITH bad AS (SELECT 1 FROM unnest($18::bigint[]) x(id) WHERE NOT EXISTS "
	"(SELECT 1 FROM projects p WHERE p.id = x.id AND p.account_id = $9::bigint)), "
	"ins AS (INSERT INTO contacts (account_id, name, title, decision_role, criteria, weight, stance, org_needs, "
	"personal_needs, created_by) "
	"SELECT $9::bigint, $10::text, $11::text, $12::text, $13::text, $14::smallint, $15::smallint, $16::text, "
	"$17::text, $19::bigint WHERE NOT EXISTS (SELECT 1 FROM bad) RETURNING *), "
	"lnk AS (INSERT INTO contact_projects (contact_id, project_id) "
	"SELECT ins.id, x.id FROM ins, unnest($18::bigint[]) x(id) ON CONFLICT DO NOTHING)" SQL_AUDITED("ins")
	"SELECT " SQL_CONTACT_COLS("true", SQL_LINKS_OF("$18::bigint[]")) " FROM ins c";

/* $9 account, $10 level, $11 text, $12 by. */
static const char sql_value_add[] =
	"WITH ins AS (INSERT INTO value_props (account_id, level, text, created_by) "
	"VALUES ($9::bigint, $10::smallint, $11::text, $12::bigint) RETURNING *)" SQL_AUDITED("ins")
	"SELECT " SQL_VALUE_COLS " FROM ins v" SQL_VALUE_AUTHOR;

/* $9 account, $10 signed by, $11 signed on, $12 scope, $13 term (months), $14 by. */
static const char sql_agreement_add[] =
	"WITH ins AS (INSERT INTO agreements (account_id, signed_by, signed_on, scope, term_months, recorded_by) "
	"VALUES ($9::bigint, $10::text, $11::date, $12::text, $13::integer, $14::bigint) RETURNING *)"
	SQL_AUDITED("ins")
	"SELECT " SQL_AGREEMENT_COLS " FROM ins g" SQL_AGREEMENT_AUTHOR;

/* ---- updates: $9 the id, $10 the expected version; a stale one changes and audits nothing ---- */

/* $11 kind, $12 description, $13 status, $14 breakthrough, $15 due, $16 owner (NULL: keep, '': nobody). */
static const char sql_barrier_update[] =
	"WITH own AS (" SQL_TEAM_USER("$16", "JOIN barriers b0 ON b0.account_id = t.account_id AND b0.id = $9::bigint")
	"), "
	"upd AS (UPDATE barriers b SET kind = $11::smallint, description = $12::text, status = $13::smallint, "
	"breakthrough = $14::text, due = $15::date, "
	"owner_id = CASE WHEN $16::text IS NULL THEN b.owner_id WHEN $16::text = '' THEN NULL "
	"ELSE (SELECT id FROM own) END, "
	"cleared_at = CASE WHEN $13::smallint = 3 THEN COALESCE(b.cleared_at, now()) END, "
	"updated_at = now(), version = b.version + 1 "
	"WHERE b.id = $9::bigint AND b.version = $10::bigint "
	"AND ($16::text IS NULL OR $16::text = '' OR EXISTS (SELECT 1 FROM own)) RETURNING b.*)" SQL_AUDITED("upd")
	"SELECT " SQL_BARRIER_COLS " FROM upd b" SQL_BARRIER_OWNER;

/* $11 name, $12 stage, $13 status, $14 reason, $15 owner (NULL: keep), $16 stages taken, $17 value,
 * $18 currency, $19 close, $20 move kind (NULL: no move), $21 from, $22 to, $23 by. */
static const char sql_project_update[] =
	"WITH own AS (" SQL_TEAM_USER("$15", "JOIN projects p0 ON p0.account_id = t.account_id AND p0.id = $9::bigint")
	"), "
	"upd AS (UPDATE projects p SET name = $11::text, stage = $12::smallint, status = $13::text, "
	"reason = $14::text, owner_id = COALESCE((SELECT id FROM own), p.owner_id), stages_taken = $16::integer, "
	"expected_value = $17::bigint, currency = $18::text, close_date = $19::date, "
	"closed_at = CASE WHEN $13::text = 'open' THEN NULL ELSE COALESCE(p.closed_at, now()) END, "
	"updated_at = now(), version = p.version + 1 "
	"WHERE p.id = $9::bigint AND p.version = $10::bigint "
	"AND ($15::text IS NULL OR EXISTS (SELECT 1 FROM own)) RETURNING p.*), "
	"mv AS (INSERT INTO project_moves (project_id, kind, from_stage, to_stage, by_user) "
	"SELECT id, $20::smallint, $21::smallint, $22::smallint, $23::bigint FROM upd WHERE $20::smallint IS NOT NULL)"
	SQL_AUDITED("upd")
	"SELECT " SQL_PROJECT_COLS " FROM upd p" SQL_PROJECT_OWNER;

/* $11 name, $12 title, $13 decision role, $14 criteria, $15 weight, $16 stance, $17 org needs,
 * $18 personal needs, $19 linked projects (NULL: keep). */
static const char sql_contact_update[] =
	"WITH bad AS (SELECT 1 FROM contacts c0, unnest(COALESCE($19::bigint[], '{}')) x(id) WHERE c0.id = $9::bigint "
	"AND NOT EXISTS (SELECT 1 FROM projects p WHERE p.id = x.id AND p.account_id = c0.account_id)), "
	"upd AS (UPDATE contacts c SET name = $11::text, title = $12::text, decision_role = $13::text, "
	"criteria = $14::text, weight = $15::smallint, stance = $16::smallint, org_needs = $17::text, "
	"personal_needs = $18::text, updated_at = now(), version = c.version + 1 "
	"WHERE c.id = $9::bigint AND c.version = $10::bigint AND NOT EXISTS (SELECT 1 FROM bad) RETURNING c.*), "
	"del AS (DELETE FROM contact_projects cp USING upd WHERE cp.contact_id = upd.id "
	"AND $19::bigint[] IS NOT NULL AND cp.project_id <> ALL($19::bigint[])), "
	"lnk AS (INSERT INTO contact_projects (contact_id, project_id) "
	"SELECT upd.id, x.id FROM upd, unnest(COALESCE($19::bigint[], '{}')) x(id) ON CONFLICT DO NOTHING)"
	SQL_AUDITED("upd")
	"SELECT " SQL_CONTACT_COLS("true", "CASE WHEN $19::bigint[] IS NULL THEN " SQL_CONTACT_LINKS
				   " ELSE " SQL_LINKS_OF("$19::bigint[]") " END") " FROM upd c";

enum {
	L_AUDIT, L_ACCOUNT_OF, L_INFOS, L_BARRIERS, L_PROJECTS, L_MOVES, L_MOVES_OF, L_CONTACTS, L_VALUES, L_AGREEMENTS,
	L_BARRIER_ADD, L_PROJECT_ADD, L_CONTACT_ADD, L_VALUE_ADD, L_AGREEMENT_ADD,
	L_BARRIER_UPDATE, L_PROJECT_UPDATE, L_CONTACT_UPDATE,
};

static const struct pg_stmt_def stmts[] = {
	[L_AUDIT] = { "layers_audit", sql_audit_insert, SQL_AUDIT_NPARAMS },
	[L_ACCOUNT_OF] = { "layer_account_of", sql_account_of, 2 },
	[L_INFOS] = { "layer_account_infos", sql_infos, 1 },
	[L_BARRIERS] = { "layer_barriers", sql_barriers, 1 },
	[L_PROJECTS] = { "layer_projects", sql_projects, 1 },
	[L_MOVES] = { "layer_moves", sql_moves, 1 },
	[L_MOVES_OF] = { "layer_moves_of_project", sql_moves_of_project, 1 },
	[L_CONTACTS] = { "layer_contacts", sql_contacts, 2 },
	[L_VALUES] = { "layer_values", sql_values, 1 },
	[L_AGREEMENTS] = { "layer_agreements", sql_agreements, 1 },
	[L_BARRIER_ADD] = { "layer_barrier_add", sql_barrier_add, SQL_AUDIT_NPARAMS + 8 },
	[L_PROJECT_ADD] = { "layer_project_add", sql_project_add, SQL_AUDIT_NPARAMS + 10 },
	[L_CONTACT_ADD] = { "layer_contact_add", sql_contact_add, SQL_AUDIT_NPARAMS + 11 },
	[L_VALUE_ADD] = { "layer_value_add", sql_value_add, SQL_AUDIT_NPARAMS + 4 },
	[L_AGREEMENT_ADD] = { "layer_agreement_add", sql_agreement_add, SQL_AUDIT_NPARAMS + 6 },
	[L_BARRIER_UPDATE] = { "layer_barrier_update", sql_barrier_update, SQL_AUDIT_NPARAMS + 8 },
	[L_PROJECT_UPDATE] = { "layer_project_update", sql_project_update, SQL_AUDIT_NPARAMS + 15 },
	[L_CONTACT_UPDATE] = { "layer_contact_update", sql_contact_update, SQL_AUDIT_NPARAMS + 11 },
};

const struct pg_stmt_set sql_layers_set = { stmts, sizeof(stmts) / sizeof(stmts[0]) };

/* ---- converting rows ---- */

static int barrier_from_row(struct pg_job *job, const PGresult *r, int i, void *out)
{
	struct kam_barrier *b = out;
	int kind, status;

	if (!pg_get_enum(r, i, BC_KIND, 1, KAM_BARRIER__COUNT, &kind) ||
	    !pg_get_enum(r, i, BC_STATUS, 1, KAM_BSTATUS__COUNT, &status))
		return KAM_EINTERNAL;
	b->id = pg_get_i64(r, i, BC_ID);
	b->account_id = pg_get_i64(r, i, BC_ACCOUNT);
	b->kind = (enum kam_barrier_kind)kind;
	b->description = pg_get_str(r, i, BC_DESCRIPTION);
	b->status = (enum kam_barrier_status)status;
	b->breakthrough = pg_get_str(r, i, BC_BREAKTHROUGH);
	b->due = pg_get_str(r, i, BC_DUE);
	b->owner = pg_get_str(r, i, BC_OWNER);
	b->created_at = pg_get_i64(r, i, BC_CREATED);
	b->updated_at = pg_get_i64(r, i, BC_UPDATED);
	b->cleared_at = pg_get_i64(r, i, BC_CLEARED);
	b->version = pg_get_i64(r, i, BC_VERSION);
	return 0;
}

static int project_from_row(struct pg_job *job, const PGresult *r, int i, void *out)
{
	struct kam_project *p = out;
	int stage, status, involved;

	if (!pg_get_enum(r, i, PC_STAGE, 1, KAM_PSTAGE__COUNT, &stage) ||
	    !pg_get_enum(r, i, PC_STATUS, 1, KAM_PSTATUS__COUNT, &status) ||
	    !pg_get_enum(r, i, PC_INVOLVED, 1, KAM_PSTAGE__COUNT, &involved))
		return KAM_EINTERNAL;
	p->id = pg_get_i64(r, i, PC_ID);
	p->account_id = pg_get_i64(r, i, PC_ACCOUNT);
	p->name = pg_get_str(r, i, PC_NAME);
	p->stage = (enum kam_pstage)stage;
	p->status = (enum kam_pstatus)status;
	p->reason = pg_get_str(r, i, PC_REASON);
	p->owner = pg_get_str(r, i, PC_OWNER);
	p->involved = (enum kam_pstage)involved;
	p->stages_taken = (unsigned)pg_get_i64(r, i, PC_TAKEN);
	p->expected_value = pg_get_opt_i64(r, i, PC_VALUE);
	p->currency = pg_get_str(r, i, PC_CURRENCY);
	p->close_date = pg_get_str(r, i, PC_CLOSE);
	p->created_at = pg_get_i64(r, i, PC_CREATED);
	p->updated_at = pg_get_i64(r, i, PC_UPDATED);
	p->version = pg_get_i64(r, i, PC_VERSION);
	return 0;
}

/* The comma-joined project ids of a contact into an arena array. */
static int links_split(struct kam_arena *arena, const char *list, struct kam_contact *c)
{
	size_t n = 1;

	if (!*list)
		return 0;
	for (const char *p = strchr(list, ','); p; p = strchr(p + 1, ','))
		n++;
	if (!(c->projects = kam_arena_alloc(arena, n * sizeof(*c->projects))))
		return KAM_ENOMEM;
	for (const char *p = list; c->n_projects < n; p = strchr(p, ',') + 1)
		c->projects[c->n_projects++] = strtoll(p, NULL, 10);
	return 0;
}

static int contact_from_row(struct pg_job *job, const PGresult *r, int i, void *out)
{
	struct kam_contact *c = out;
	int stance;

	if (!pg_get_enum(r, i, CC_STANCE, 0, KAM_STANCE__COUNT, &stance))
		return KAM_EINTERNAL;
	c->id = pg_get_i64(r, i, CC_ID);
	c->account_id = pg_get_i64(r, i, CC_ACCOUNT);
	c->name = pg_get_str(r, i, CC_NAME);
	c->title = pg_get_str(r, i, CC_TITLE);
	c->decision_role = pg_get_str(r, i, CC_ROLE);
	c->criteria = pg_get_str(r, i, CC_CRITERIA);
	c->weight = pg_get_opt_i64(r, i, CC_WEIGHT);
	c->stance = (enum kam_stance)stance;
	c->org_needs = pg_get_str(r, i, CC_ORG);
	c->personal_needs = pg_get_str(r, i, CC_PERSONAL);
	c->created_at = pg_get_i64(r, i, CC_CREATED);
	c->updated_at = pg_get_i64(r, i, CC_UPDATED);
	c->version = pg_get_i64(r, i, CC_VERSION);
	return links_split(&job->arena, pg_get_str(r, i, CC_LINKS), c);
}

static int value_from_row(struct pg_job *job, const PGresult *r, int i, void *out)
{
	struct kam_value *v = out;
	int level;

	if (!pg_get_enum(r, i, VC_LEVEL, 1, KAM_VLEVEL__COUNT, &level))
		return KAM_EINTERNAL;
	v->id = pg_get_i64(r, i, VC_ID);
	v->account_id = pg_get_i64(r, i, VC_ACCOUNT);
	v->level = (enum kam_value_level)level;
	v->text = pg_get_str(r, i, VC_TEXT);
	v->author = pg_get_str(r, i, VC_AUTHOR);
	v->created_at = pg_get_i64(r, i, VC_CREATED);
	return 0;
}

static int agreement_from_row(struct pg_job *job, const PGresult *r, int i, void *out)
{
	struct kam_agreement *g = out;

	g->id = pg_get_i64(r, i, GC_ID);
	g->account_id = pg_get_i64(r, i, GC_ACCOUNT);
	g->signed_by = pg_get_str(r, i, GC_SIGNED_BY);
	g->signed_on = pg_get_str(r, i, GC_SIGNED_ON);
	g->scope = pg_get_str(r, i, GC_SCOPE);
	g->term_months = pg_get_opt_i64(r, i, GC_TERM);
	g->recorded_by = pg_get_str(r, i, GC_AUTHOR);
	g->created_at = pg_get_i64(r, i, GC_CREATED);
	return 0;
}

static int move_from_row(struct pg_job *job, const PGresult *r, int i, void *out)
{
	struct kam_stage_move *m = out;
	int kind, from, to;

	if (!pg_get_enum(r, i, MC_KIND, 1, KAM_MOVE__COUNT, &kind) ||
	    !pg_get_enum(r, i, MC_FROM, 0, KAM_PSTAGE__COUNT, &from) ||
	    !pg_get_enum(r, i, MC_TO, 0, KAM_PSTAGE__COUNT, &to))
		return KAM_EINTERNAL;
	m->kind = (enum kam_move)kind;
	m->from = (enum kam_pstage)from;
	m->to = (enum kam_pstage)to;
	m->by = pg_get_str(r, i, MC_BY);
	m->at = pg_get_i64(r, i, MC_AT);
	return 0;
}

typedef int (*row_fn)(struct pg_job *job, const PGresult *r, int i, void *out);

/* What each layer reads: its list statement, its add and update, and where its rows go in kam_layers. */
static const struct layer_sql {
	int list, add, update;            /* statement indices; -1: none */
	int ncols;
	size_t size;
	row_fn from_row;
	size_t rows_off, n_off;           /* in struct kam_layers */
} layer_sql[KAM_LAYER__COUNT] = {
	[KAM_LAYER_BARRIERS] = { L_BARRIERS, L_BARRIER_ADD, L_BARRIER_UPDATE, BARRIER_NCOLS,
				 sizeof(struct kam_barrier), barrier_from_row,
				 offsetof(struct kam_layers, barriers), offsetof(struct kam_layers, n_barriers) },
	[KAM_LAYER_PROJECTS] = { L_PROJECTS, L_PROJECT_ADD, L_PROJECT_UPDATE, PROJECT_NCOLS,
				 sizeof(struct kam_project), project_from_row,
				 offsetof(struct kam_layers, projects), offsetof(struct kam_layers, n_projects) },
	[KAM_LAYER_CONTACTS] = { L_CONTACTS, L_CONTACT_ADD, L_CONTACT_UPDATE, CONTACT_NCOLS,
				 sizeof(struct kam_contact), contact_from_row,
				 offsetof(struct kam_layers, contacts), offsetof(struct kam_layers, n_contacts) },
	[KAM_LAYER_VALUES] = { L_VALUES, L_VALUE_ADD, -1, VALUE_NCOLS, sizeof(struct kam_value), value_from_row,
			       offsetof(struct kam_layers, values), offsetof(struct kam_layers, n_values) },
	[KAM_LAYER_AGREEMENTS] = { L_AGREEMENTS, L_AGREEMENT_ADD, -1, AGREEMENT_NCOLS, sizeof(struct kam_agreement),
				   agreement_from_row, offsetof(struct kam_layers, agreements),
				   offsetof(struct kam_layers, n_agreements) },
};

/* Every row of statement stmt into a new arena array; *n_out rows. */
static int rows_read(struct pg_job *job, int stmt, int ncols, size_t size, row_fn fn, void **out, size_t *n_out)
{
	const PGresult *r = pg_job_result(job, stmt);
	int n = pg_job_rows(job, stmt, ncols);
	char *rows = NULL;

	if (n < 0)
		return n;
	if (n > 0 && !(rows = kam_arena_alloc(&job->arena, (size_t)n * size)))
		return KAM_ENOMEM;
	for (int i = 0; i < n; i++) {
		int err = fn(job, r, i, rows + (size_t)i * size);

		if (err)
			return err;
	}
	*out = rows;
	*n_out = (size_t)n;
	return 0;
}

static int layer_read(struct pg_job *job, enum kam_layer l, int stmt, struct kam_layers *out)
{
	const struct layer_sql *ls = &layer_sql[l];

	return rows_read(job, stmt, ls->ncols, ls->size, ls->from_row, (void **)((char *)out + ls->rows_off),
			 (size_t *)((char *)out + ls->n_off));
}

/* Hand each project its moves: both are in (account, project id) order. */
static int moves_attach(struct pg_job *job, int stmt, struct kam_layers *l)
{
	struct kam_stage_move *moves = NULL;
	size_t n = 0, m = 0;
	const PGresult *r = pg_job_result(job, stmt);
	int err = rows_read(job, stmt, MOVE_NCOLS, sizeof(*moves), move_from_row, (void **)&moves, &n);

	for (size_t p = 0; !err && p < l->n_projects; p++) {
		struct kam_project *pr = &l->projects[p];

		while (m < n && pg_get_i64(r, (int)m, MC_PROJECT) != pr->id)
			m++;
		pr->history = m < n ? &moves[m] : NULL;
		while (m < n && pg_get_i64(r, (int)m, MC_PROJECT) == pr->id) {
			pr->n_history++;
			m++;
		}
	}
	return err;
}

/* job->aux: the layer mask, and bit 31 when an audit statement comes first. */
#define AUX_AUDITED (1u << 31)

static void layers_done(struct pg_job *job, int err)
{
	struct kam_layers l;
	unsigned mask = (unsigned)job->aux;
	int stmt = mask & AUX_AUDITED ? 1 : 0;

	memset(&l, 0, sizeof(l));
	for (int i = 0; !err && i < KAM_LAYER__COUNT; i++) {
		if (!(mask & KAM_LAYER_BIT(i)))
			continue;
		err = layer_read(job, (enum kam_layer)i, stmt++, &l);
		if (!err && i == KAM_LAYER_PROJECTS)
			err = moves_attach(job, stmt++, &l);
	}
	job->cb.layers(job->arg, err, err ? NULL : &l);
}

/* The ids as a bigint[] literal: "{1,2,3}". */
static const char *ids_literal(struct kam_arena *a, const int64_t *ids, size_t n)
{
	char *s = n > (SIZE_MAX - 3) / ID_TEXT_MAX ? NULL : kam_arena_alloc(a, n * ID_TEXT_MAX + 3);
	size_t used = 1;

	if (!s)
		return NULL;
	s[0] = '{';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(s + used, ID_TEXT_MAX + 1, "%s%" PRId64, i ? "," : "", ids[i]);
	s[used++] = '}';
	s[used] = '\0';
	return s;
}

static void job_ids(struct pg_job *job, const int64_t *ids, size_t n)
{
	const char *lit = ids_literal(&job->arena, ids, n);

	if (!lit)
		pg_job_fail(job, KAM_ENOMEM);
	else
		pg_job_text(job, lit);
}

int store_layers_get(struct store *st, const int64_t *account_ids, size_t n, unsigned mask, bool sensitive,
		     const struct audit_entry *audit, store_layers_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!cb || (n && !account_ids) || (mask & ~KAM_LAYER_ALL))
		return KAM_EINVAL;
	err = pg_job_new(st, layers_done, arg, &job);
	if (err)
		return err;
	job->cb.layers = cb;
	job->aux = (int64_t)(mask | (audit ? AUX_AUDITED : 0));
	if (audit) {
		pg_job_stmt(job, &stmts[L_AUDIT]);
		sql_audit_bind(job, audit);
	}
	for (int i = 0; i < KAM_LAYER__COUNT; i++) {
		if (!(mask & KAM_LAYER_BIT(i)))
			continue;
		pg_job_stmt(job, &stmts[layer_sql[i].list]);
		job_ids(job, account_ids, n);
		if (i == KAM_LAYER_CONTACTS)
			pg_job_text(job, sensitive ? "true" : "false");
		if (i == KAM_LAYER_PROJECTS) {
			pg_job_stmt(job, &stmts[L_MOVES]);
			job_ids(job, account_ids, n);
		}
	}
	return pool_submit(job);
}

static void account_of_done(struct pg_job *job, int err)
{
	if (!err)
		err = pg_job_expect_row(job, 0, 1, KAM_ENOTFOUND);
	job->cb.id(job->arg, err, err ? 0 : pg_get_i64(pg_job_result(job, 0), 0, 0));
}

int store_layer_account(struct store *st, enum kam_layer layer, int64_t id, store_id_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!cb || layer > KAM_LAYER_CONTACTS)
		return KAM_EINVAL;
	err = pg_job_new(st, account_of_done, arg, &job);
	if (err)
		return err;
	job->cb.id = cb;
	pg_job_stmt(job, &stmts[L_ACCOUNT_OF]);
	pg_job_i64(job, layer);
	pg_job_i64(job, id);
	return pool_submit(job);
}

static void infos_done(struct pg_job *job, int err)
{
	const PGresult *r = pg_job_result(job, 0);
	struct kam_info *infos = NULL;
	int64_t *ids = NULL;
	int n = 0;

	if (!err) {
		n = pg_job_rows(job, 0, INFO_NCOLS);
		err = n < 0 ? n : 0;
	}
	if (!err && n > 0 && (!(infos = kam_arena_alloc(&job->arena, (size_t)n * sizeof(*infos))) ||
			      !(ids = kam_arena_alloc(&job->arena, (size_t)n * sizeof(*ids)))))
		err = KAM_ENOMEM;
	for (int i = 0; !err && i < n; i++) {
		ids[i] = pg_get_i64(r, i, IC_ID);
		infos[i] = (struct kam_info){
			.founded = pg_get_opt_i64(r, i, IC_FOUNDED), .headcount = pg_get_opt_i64(r, i, IC_HEADCOUNT),
			.business = pg_get_str(r, i, IC_BUSINESS), .revenue = pg_get_opt_i64(r, i, IC_REVENUE),
			.budget = pg_get_opt_i64(r, i, IC_BUDGET), .currency = pg_get_str(r, i, IC_CURRENCY),
			.suppliers = pg_get_str(r, i, IC_SUPPLIERS), .notes = pg_get_str(r, i, IC_NOTES),
		};
	}
	job->cb.infos(job->arg, err, err ? NULL : ids, err ? NULL : infos, err ? 0 : (size_t)n);
}

int store_account_infos(struct store *st, const int64_t *account_ids, size_t n, store_infos_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!cb || (n && !account_ids))
		return KAM_EINVAL;
	err = pg_job_new(st, infos_done, arg, &job);
	if (err)
		return err;
	job->cb.infos = cb;
	pg_job_stmt(job, &stmts[L_INFOS]);
	job_ids(job, account_ids, n);
	return pool_submit(job);
}

/* ---- writes ---- */

/* job->aux: the layer, plus how "no row" reads, shifted by 8. */
static void write_done(struct pg_job *job, int err)
{
	enum kam_layer layer = (enum kam_layer)(job->aux & 0xff);
	int empty_err = -(int)(job->aux >> 8);
	struct kam_layers l;

	memset(&l, 0, sizeof(l));
	if (!err)
		err = pg_job_expect_row(job, 0, layer_sql[layer].ncols, empty_err);
	if (!err)
		err = layer_read(job, layer, 0, &l);
	/* A changed project comes with its history, read after the change in the same transaction. */
	if (!err && job->nstmts > 1)
		err = moves_attach(job, 1, &l);
	job->cb.layers(job->arg, err, err ? NULL : &l);
}

static int write_job(struct store *st, const struct store_layer_write *w, int stmt, int empty_err,
		     const struct audit_entry *audit, store_layers_cb cb, void *arg, struct pg_job **out)
{
	int err;

	if (!w || !w->row || !audit || !cb || (unsigned)w->layer >= KAM_LAYER__COUNT || stmt < 0)
		return KAM_EINVAL;
	err = pg_job_new(st, write_done, arg, out);
	if (err)
		return err;
	(*out)->cb.layers = cb;
	(*out)->aux = (int64_t)w->layer | ((int64_t)(-empty_err) << 8);
	pg_job_stmt(*out, &stmts[stmt]);
	sql_audit_bind(*out, audit);
	return 0;
}

/* Statement-free helpers for the optional values. */
static const char *null_if_empty(const char *s)
{
	return s && *s ? s : NULL;
}

static const char *text_or_empty(const char *s)
{
	return s ? s : "";
}

static void job_opt_enum(struct pg_job *job, int v)
{
	pg_job_opt_i64(job, (struct kam_opt_i64){ v != 0, v });
}

static void job_links(struct pg_job *job, const struct kam_contact *c)
{
	job_ids(job, c->projects, c->n_projects);
}

/* The parameters add and update share, in the order both statements take them. */
static void bind_barrier(struct pg_job *job, const struct kam_barrier *b)
{
	pg_job_i64(job, b->kind);
	pg_job_text(job, text_or_empty(b->description));
	pg_job_i64(job, b->status);
	pg_job_text(job, text_or_empty(b->breakthrough));
	pg_job_text(job, null_if_empty(b->due));
}

static void bind_contact(struct pg_job *job, const struct kam_contact *c)
{
	pg_job_text(job, text_or_empty(c->name));
	pg_job_text(job, text_or_empty(c->title));
	pg_job_text(job, text_or_empty(c->decision_role));
	pg_job_text(job, text_or_empty(c->criteria));
	pg_job_opt_i64(job, c->weight);
	pg_job_i64(job, c->stance);
	pg_job_text(job, text_or_empty(c->org_needs));
	pg_job_text(job, text_or_empty(c->personal_needs));
}

static void bind_money(struct pg_job *job, const struct kam_project *p)
{
	pg_job_opt_i64(job, p->expected_value);
	pg_job_text(job, text_or_empty(p->currency));
	pg_job_text(job, null_if_empty(p->close_date));
}

int store_layer_add(struct store *st, const struct store_layer_write *w, const struct audit_entry *audit,
		    store_layers_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	err = write_job(st, w, w && (unsigned)w->layer < KAM_LAYER__COUNT ? layer_sql[w->layer].add : -1,
			KAM_ECONFLICT, audit, cb, arg, &job);
	if (err)
		return err;
	switch (w->layer) {
	case KAM_LAYER_BARRIERS: {
		const struct kam_barrier *b = w->row;

		pg_job_i64(job, b->account_id);
		bind_barrier(job, b);
		pg_job_text(job, null_if_empty(b->owner));
		pg_job_i64(job, w->by_user);
		break;
	}
	case KAM_LAYER_PROJECTS: {
		const struct kam_project *p = w->row;

		pg_job_i64(job, p->account_id);
		pg_job_text(job, text_or_empty(p->name));
		pg_job_i64(job, p->stage);
		pg_job_text(job, text_or_empty(p->owner));
		bind_money(job, p);
		pg_job_i64(job, w->by_user);
		pg_job_i64(job, p->involved);
		pg_job_i64(job, p->stages_taken);
		break;
	}
	case KAM_LAYER_CONTACTS: {
		const struct kam_contact *c = w->row;

		pg_job_i64(job, c->account_id);
		bind_contact(job, c);
		job_links(job, c);
		pg_job_i64(job, w->by_user);
		break;
	}
	case KAM_LAYER_VALUES: {
		const struct kam_value *v = w->row;

		pg_job_i64(job, v->account_id);
		pg_job_i64(job, v->level);
		pg_job_text(job, text_or_empty(v->text));
		pg_job_i64(job, w->by_user);
		break;
	}
	case KAM_LAYER_AGREEMENTS: {
		const struct kam_agreement *g = w->row;

		pg_job_i64(job, g->account_id);
		pg_job_text(job, text_or_empty(g->signed_by));
		pg_job_text(job, text_or_empty(g->signed_on));
		pg_job_text(job, text_or_empty(g->scope));
		pg_job_opt_i64(job, g->term_months);
		pg_job_i64(job, w->by_user);
		break;
	}
	case KAM_LAYER__COUNT:
		break;
	}
	return pool_submit(job);
}

int store_layer_update(struct store *st, const struct store_layer_write *w, const struct audit_entry *audit,
		       store_layers_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	err = write_job(st, w, w && (unsigned)w->layer < KAM_LAYER__COUNT ? layer_sql[w->layer].update : -1,
			KAM_ESTALE, audit, cb, arg, &job);
	if (err)
		return err;
	switch (w->layer) {
	case KAM_LAYER_BARRIERS: {
		const struct kam_barrier *b = w->row;

		pg_job_i64(job, b->id);
		pg_job_i64(job, w->expected_version);
		bind_barrier(job, b);
		pg_job_text(job, w->owner_changed ? text_or_empty(b->owner) : NULL);
		break;
	}
	case KAM_LAYER_PROJECTS: {
		const struct kam_project *p = w->row;

		pg_job_i64(job, p->id);
		pg_job_i64(job, w->expected_version);
		pg_job_text(job, text_or_empty(p->name));
		pg_job_i64(job, p->stage);
		pg_job_text(job, kam_pstatus_str(p->status));
		pg_job_text(job, text_or_empty(p->reason));
		pg_job_text(job, w->owner_changed ? text_or_empty(p->owner) : NULL);
		pg_job_i64(job, p->stages_taken);
		bind_money(job, p);
		job_opt_enum(job, w->move);
		job_opt_enum(job, w->move_from);
		job_opt_enum(job, w->move_to);
		pg_job_i64(job, w->by_user);
		pg_job_stmt(job, &stmts[L_MOVES_OF]);
		pg_job_i64(job, p->id);
		break;
	}
	case KAM_LAYER_CONTACTS: {
		const struct kam_contact *c = w->row;

		pg_job_i64(job, c->id);
		pg_job_i64(job, w->expected_version);
		bind_contact(job, c);
		if (w->links_changed)
			job_links(job, c);
		else
			pg_job_text(job, NULL);
		break;
	}
	default:
		pg_job_fail(job, KAM_EINVAL);
		break;
	}
	return pool_submit(job);
}
