/*
 * Barrier, project, contact, value and agreement add, list and the operations
 * on one row (set, clear, show, advance, close). Each resolves the account (for
 * a row id, the row's account first), authorizes the caller's relation to it,
 * loads what the change is checked against, then writes the row with its audit
 * entry. Value rules live in layer_fields.c; this file must not parse values.
 */
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "db/store.h"
#include "layer_fields.h"
#include "review_calc.h"
#include "svc_call.h"

#define B KAM_LAYER_BIT

/* What each layer operation is. */
struct layer_op {
	enum kam_layer layer;
	enum svc_use use;              /* 0: a read */
	enum authz_action action;      /* besides seeing the account */
	unsigned load;                 /* layers read to check the change, or to answer */
};

static const struct layer_op layer_ops[KAM_OP__COUNT] = {
	[KAM_OP_BARRIER_ADD] = { KAM_LAYER_BARRIERS, SVC_USE_ADD, AZ_BARRIER_WRITE, B(KAM_LAYER_BARRIERS) },
	[KAM_OP_BARRIER_LIST] = { KAM_LAYER_BARRIERS, 0, AZ_ACCOUNT_READ, B(KAM_LAYER_BARRIERS) },
	[KAM_OP_BARRIER_SET] = { KAM_LAYER_BARRIERS, SVC_USE_SET, AZ_BARRIER_WRITE, B(KAM_LAYER_BARRIERS) },
	[KAM_OP_BARRIER_CLEAR] = { KAM_LAYER_BARRIERS, SVC_USE_SET, AZ_BARRIER_WRITE, B(KAM_LAYER_BARRIERS) },
	[KAM_OP_PROJECT_ADD] = { KAM_LAYER_PROJECTS, SVC_USE_ADD, AZ_PROJECT_WRITE, B(KAM_LAYER_PROJECTS) },
	[KAM_OP_PROJECT_LIST] = { KAM_LAYER_PROJECTS, 0, AZ_ACCOUNT_READ, B(KAM_LAYER_PROJECTS) | B(KAM_LAYER_CONTACTS) },
	[KAM_OP_PROJECT_SHOW] = { KAM_LAYER_PROJECTS, 0, AZ_ACCOUNT_READ, B(KAM_LAYER_PROJECTS) | B(KAM_LAYER_CONTACTS) },
	[KAM_OP_PROJECT_ADVANCE] = { KAM_LAYER_PROJECTS, SVC_USE_ADVANCE, AZ_PROJECT_WRITE, B(KAM_LAYER_PROJECTS) },
	[KAM_OP_PROJECT_CLOSE] = { KAM_LAYER_PROJECTS, SVC_USE_CLOSE, AZ_PROJECT_WRITE, B(KAM_LAYER_PROJECTS) },
	[KAM_OP_PROJECT_SET] = { KAM_LAYER_PROJECTS, SVC_USE_SET, AZ_PROJECT_WRITE, B(KAM_LAYER_PROJECTS) },
	[KAM_OP_CONTACT_ADD] = { KAM_LAYER_CONTACTS, SVC_USE_ADD, AZ_CONTACT_WRITE,
				 B(KAM_LAYER_CONTACTS) | B(KAM_LAYER_PROJECTS) },
	[KAM_OP_CONTACT_LIST] = { KAM_LAYER_CONTACTS, 0, AZ_ACCOUNT_READ, B(KAM_LAYER_CONTACTS) },
	[KAM_OP_CONTACT_SET] = { KAM_LAYER_CONTACTS, SVC_USE_SET, AZ_CONTACT_WRITE,
				 B(KAM_LAYER_CONTACTS) | B(KAM_LAYER_PROJECTS) },
	[KAM_OP_VALUE_ADD] = { KAM_LAYER_VALUES, SVC_USE_ADD, AZ_VALUE_WRITE, B(KAM_LAYER_VALUES) },
	[KAM_OP_VALUE_LIST] = { KAM_LAYER_VALUES, 0, AZ_ACCOUNT_READ, B(KAM_LAYER_VALUES) },
	[KAM_OP_AGREEMENT_ADD] = { KAM_LAYER_AGREEMENTS, SVC_USE_ADD, AZ_AGREEMENT_WRITE, B(KAM_LAYER_AGREEMENTS) },
	[KAM_OP_AGREEMENT_LIST] = { KAM_LAYER_AGREEMENTS, 0, AZ_ACCOUNT_READ, B(KAM_LAYER_AGREEMENTS) },
};

static const char *const layer_noun[KAM_LAYER__COUNT] = {
	[KAM_LAYER_BARRIERS] = "barrier", [KAM_LAYER_PROJECTS] = "project", [KAM_LAYER_CONTACTS] = "contact",
	[KAM_LAYER_VALUES] = "value", [KAM_LAYER_AGREEMENTS] = "agreement",
};

struct layer_state {
	const struct layer_op *op;
	struct svc_row_changes ch;
	int64_t id;                      /* operations on one row: the row */
	int64_t account_id;
	enum kam_relation rel;
	bool sensitive;                  /* may see contacts' weight, stance, personal needs */
	struct kam_account account;      /* writes: copied, for its team */
	union svc_row before, after;
	struct store_layer_write w;
};

int svc_this_year(void)
{
	time_t now = time(NULL);
	struct tm tm;

	return gmtime_r(&now, &tm) ? tm.tm_year + 1900 : 2200;
}

static bool on_team(enum kam_relation rel)
{
	return rel == KAM_REL_MEMBER || rel == KAM_REL_OWNER;
}

static void reply_invalid(struct svc_call *c, const struct svc_invalid *why)
{
	svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, why->field, "%s", why->message);
}

/* A call's state for its layer operation; NULL when out of memory (then answered). */
static struct layer_state *state_new(struct svc_call *c)
{
	struct layer_state *ls = c->op_state = kam_arena_alloc(&c->arena, sizeof(*ls));

	if (!ls) {
		svc_fail_store(c, KAM_ENOMEM);
		return NULL;
	}
	ls->op = &layer_ops[c->req.op];
	return ls;
}

/* The fields of an add or a change, checked before anything is looked up. */
static bool parse_changes(struct svc_call *c, struct layer_state *ls, const struct kam_field *f, size_t n)
{
	struct svc_invalid why;

	if (svc_row_parse(&c->arena, ls->op->layer, ls->op->use, f, n, &ls->ch, &why) < 0) {
		reply_invalid(c, &why);
		return false;
	}
	return true;
}

/* ---- answering ---- */

/* The one row a write answers with (a new project with the move that started it). */
static void on_written(void *arg, int err, const struct kam_layers *l)
{
	struct svc_call *c = arg;
	struct layer_state *ls = c->op_state;
	struct kam_stage_move *start;

	/* What svc checked changed before the write: a newer version, an owner off the team. */
	if (err == KAM_ESTALE || err == KAM_ECONFLICT) {
		if (ls->id)
			svc_reply_error(c, KAM_STATUS_CONFLICT, NULL,
					"%s %lld was changed by someone else meanwhile; show it and retry",
					layer_noun[ls->op->layer], (long long)ls->id);
		else
			svc_reply_error(c, KAM_STATUS_CONFLICT, NULL,
					"the team or the projects of account %s changed meanwhile; retry", c->account_ref);
		return;
	}
	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	c->resp.u.layers = *l;
	if (c->req.op == KAM_OP_PROJECT_ADD && l->n_projects == 1) {
		struct kam_project *p = kam_arena_alloc(&c->arena, sizeof(*p));

		if (!p || !(start = kam_arena_alloc(&c->arena, sizeof(*start)))) {
			svc_fail_store(c, KAM_ENOMEM);
			return;
		}
		*p = l->projects[0];
		*start = (struct kam_stage_move){ KAM_MOVE_START, KAM_PSTAGE_NONE, p->stage, c->who.username,
						  p->created_at };
		p->history = start;
		p->n_history = 1;
		c->resp.u.layers.projects = p;
	}
	svc_reply(c);
}

/* project show: the project and the contacts who decide it. */
static int answer_show(struct svc_call *c, struct layer_state *ls, struct kam_layers *out)
{
	struct kam_contact *cs = out->n_contacts ? kam_arena_alloc(&c->arena, out->n_contacts * sizeof(*cs)) : NULL;
	size_t n = 0;

	if (out->n_contacts && !cs)
		return KAM_ENOMEM;
	for (size_t i = 0; i < out->n_projects; i++)
		if (out->projects[i].id == ls->id) {
			out->projects = &out->projects[i];
			out->n_projects = 1;
			break;
		}
	if (out->n_projects != 1 || out->projects[0].id != ls->id)
		return KAM_ENOTFOUND;
	for (size_t i = 0; i < out->n_contacts; i++)
		for (size_t k = 0; k < out->contacts[i].n_projects; k++)
			if (out->contacts[i].projects[k] == ls->id) {
				cs[n++] = out->contacts[i];
				break;
			}
	out->contacts = cs;
	out->n_contacts = n;
	return 0;
}

static void on_read(void *arg, int err, const struct kam_layers *l)
{
	struct svc_call *c = arg;
	struct layer_state *ls = c->op_state;
	struct kam_layers *out = &c->resp.u.layers;

	if (!err)
		err = svc_layers_answer(&c->arena, l, ls->sensitive, out);
	if (!err && c->req.op == KAM_OP_PROJECT_SHOW)
		err = answer_show(c, ls, out);
	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	/* Only an answer with contacts withholds anything (project list read them for the support only). */
	if (c->req.op == KAM_OP_PROJECT_LIST)
		out->n_contacts = 0;
	if (!(ls->op->load & B(KAM_LAYER_CONTACTS)) || c->req.op == KAM_OP_PROJECT_LIST)
		out->restricted = false;
	svc_reply(c);
}

/* ---- writing ---- */

/* The row an add writes: the parsed fields on the defaults, and what the caller leaves out. */
static int build_add(struct svc_call *c, struct layer_state *ls, const struct kam_layers *l, struct svc_invalid *why)
{
	union svc_row *r = &ls->after;

	if (svc_layer_room(&c->arena, ls->op->layer, l, why) < 0)
		return KAM_EINVAL;
	*r = ls->ch.values;
	switch (ls->op->layer) {
	case KAM_LAYER_BARRIERS:
		r->barrier.account_id = ls->account_id;
		/* Whoever records a barrier works it, if they are on the team. */
		if (!svc_row_has(&ls->ch, "owner") && on_team(ls->rel))
			r->barrier.owner = c->who.username;
		return svc_owner_on_team(&c->arena, r->barrier.owner, &ls->account, why);
	case KAM_LAYER_PROJECTS:
		r->project.account_id = ls->account_id;
		if (!svc_row_has(&ls->ch, "owner"))
			r->project.owner = on_team(ls->rel) ? c->who.username : ls->account.owner;
		svc_project_start(&r->project);
		if (svc_money_check(r->project.expected_value, r->project.currency, why) < 0)
			return KAM_EINVAL;
		return svc_owner_on_team(&c->arena, r->project.owner, &ls->account, why);
	case KAM_LAYER_CONTACTS:
		r->contact.account_id = ls->account_id;
		return svc_links_valid(&c->arena, &r->contact, l, why);
	case KAM_LAYER_VALUES:
		r->value.account_id = ls->account_id;
		return 0;
	case KAM_LAYER_AGREEMENTS:
		r->agreement.account_id = ls->account_id;
		return 0;
	case KAM_LAYER__COUNT:
		break;
	}
	return KAM_EINVAL;
}

/* The row a change writes, from the current one. */
static int build_change(struct svc_call *c, struct layer_state *ls, const struct kam_layers *l,
			struct svc_invalid *why)
{
	union svc_row *before = &ls->before, *after = &ls->after;
	struct store_layer_write *w = &ls->w;

	svc_row_apply(&ls->ch, before, after);
	switch (c->req.op) {
	case KAM_OP_BARRIER_CLEAR:
		if (before->barrier.status == KAM_BSTATUS_CLEARED) {
			why->field = "";
			why->message = kam_arena_printf(&c->arena, "barrier %lld is cleared already", (long long)ls->id);
			return KAM_EINVAL;
		}
		after->barrier.status = KAM_BSTATUS_CLEARED;
		return 0;
	case KAM_OP_BARRIER_SET:
		w->owner_changed = svc_row_has(&ls->ch, "owner");
		return w->owner_changed ? svc_owner_on_team(&c->arena, after->barrier.owner, &ls->account, why) : 0;
	case KAM_OP_PROJECT_ADVANCE:
		w->move_from = before->project.stage;
		w->move_to = ls->ch.values.project.stage;
		return svc_project_advance(&c->arena, &before->project, w->move_to, &after->project, &w->move, why);
	case KAM_OP_PROJECT_CLOSE:
		w->move_from = before->project.stage;
		return svc_project_close(&c->arena, &before->project, &after->project, &w->move, why);
	case KAM_OP_PROJECT_SET:
		if (before->project.status != KAM_PSTATUS_OPEN && svc_row_has(&ls->ch, "owner")) {
			why->field = "owner";
			why->message = "a closed project keeps its owner";
			return KAM_EINVAL;
		}
		if (svc_money_check(after->project.expected_value, after->project.currency, why) < 0)
			return KAM_EINVAL;
		w->owner_changed = svc_row_has(&ls->ch, "owner");
		return w->owner_changed ? svc_owner_on_team(&c->arena, after->project.owner, &ls->account, why) : 0;
	case KAM_OP_CONTACT_SET:
		w->links_changed = svc_row_has(&ls->ch, "projects");
		return w->links_changed ? svc_links_valid(&c->arena, &after->contact, l, why) : 0;
	default:
		return KAM_EINVAL;
	}
}

/* The current row an operation on one row works on; false when it is gone (answered). */
static bool find_before(struct svc_call *c, struct layer_state *ls, const struct kam_layers *l)
{
	const struct layer_op *op = ls->op;

	for (size_t i = 0; op->layer == KAM_LAYER_BARRIERS && i < l->n_barriers; i++)
		if (l->barriers[i].id == ls->id)
			return ls->before.barrier = l->barriers[i], true;
	for (size_t i = 0; op->layer == KAM_LAYER_PROJECTS && i < l->n_projects; i++)
		if (l->projects[i].id == ls->id)
			return ls->before.project = l->projects[i], true;
	for (size_t i = 0; op->layer == KAM_LAYER_CONTACTS && i < l->n_contacts; i++)
		if (l->contacts[i].id == ls->id)
			return ls->before.contact = l->contacts[i], true;
	svc_reply_account_not_found(c);
	return false;
}

static int64_t row_version(enum kam_layer layer, const union svc_row *r)
{
	return layer == KAM_LAYER_BARRIERS ? r->barrier.version
	     : layer == KAM_LAYER_PROJECTS ? r->project.version : r->contact.version;
}

/* Build, check and write the row; l holds what op->load asked for (strings valid during the call). */
static void act(struct svc_call *c, const struct kam_layers *l)
{
	struct layer_state *ls = c->op_state;
	bool add = ls->op->use == SVC_USE_ADD;
	struct svc_invalid why = { NULL, "" };
	struct audit_entry *e;
	union svc_row defaults;
	json_t *detail;
	int rc;

	if (!add && !find_before(c, ls, l))
		return;
	rc = add ? build_add(c, ls, l, &why) : build_change(c, ls, l, &why);
	if (rc < 0) {
		reply_invalid(c, &why);
		return;
	}
	svc_row_defaults(ls->op->layer, &defaults);
	detail = svc_row_changes_json(ls->op->layer, add ? &defaults : &ls->before, &ls->after);
	if (detail && !add)
		json_object_set_new(detail, layer_noun[ls->op->layer], json_integer(ls->id));
	e = svc_audit_detail(c, ls->account_id, detail);
	if (!e)
		return;
	ls->w.layer = ls->op->layer;
	ls->w.row = &ls->after;
	ls->w.by_user = c->who.user_id;
	ls->w.expected_version = add ? 0 : row_version(ls->op->layer, &ls->before);
	/* Called while l's strings are valid: the store copies what it binds. */
	rc = add ? store_layer_add(svc_store(), &ls->w, e, on_written, c)
		 : store_layer_update(svc_store(), &ls->w, e, on_written, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_loaded(void *arg, int err, const struct kam_layers *l)
{
	struct svc_call *c = arg;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	act(c, l);
}

static void on_account(void *arg, int err, const struct kam_account *acc)
{
	struct svc_call *c = arg;
	struct layer_state *ls = c->op_state;
	int rc;

	if (!err)
		err = svc_account_copy(&c->arena, acc, &ls->account);
	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	rc = store_layers_get(svc_store(), &ls->account_id, 1, ls->op->load, true, NULL, on_loaded, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

/*
 * -- audit and churn (issue 4) --
 * A read of layers, audited in its transaction naming the layers read (and the row,
 * for an operation on one row).
 */
static void read_layers(struct svc_call *c)
{
	static const char *const plural[KAM_LAYER__COUNT] = {
		[KAM_LAYER_BARRIERS] = "barriers", [KAM_LAYER_PROJECTS] = "projects", [KAM_LAYER_CONTACTS] = "contacts",
		[KAM_LAYER_VALUES] = "values", [KAM_LAYER_AGREEMENTS] = "agreements",
	};
	struct layer_state *ls = c->op_state;
	const char *names[KAM_LAYER__COUNT];
	struct audit_entry *e;
	size_t n = 0;
	int rc;

	for (int l = 0; l < KAM_LAYER__COUNT; l++)
		if ((ls->op->load & KAM_LAYER_BIT(l)) && plural[l])
			names[n++] = plural[l];
	e = svc_audit_read(c, ls->account_id, names, n,
			   ls->id ? json_pack("{s:I}", layer_noun[ls->op->layer], (json_int_t)ls->id) : NULL);
	if (!e)
		return;
	rc = store_layers_get(svc_store(), &ls->account_id, 1, ls->op->load, ls->sensitive, e, on_read, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void on_access(void *arg, int err, const struct store_access *acc)
{
	struct svc_call *c = arg;
	struct layer_state *ls = c->op_state;
	int rc;

	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	if (!svc_allow(c, ls->op->action, acc->relation, acc->account_id))
		return;
	ls->account_id = acc->account_id;
	ls->rel = acc->relation;
	ls->sensitive = authz_decide(c->who.role, AZ_CONTACT_SENSITIVE, acc->relation) == AUTHZ_ALLOW;
	if (ls->op->use) {
		rc = store_account_get(svc_store(), ls->account_id, NULL, on_account, c);
	} else {
		/* -- audit and churn (issue 4): a read passes the bulk-read watch first -- */
		svc_watch_read(c, ls->account_id, read_layers);
		return;
	}
	if (rc < 0)
		svc_fail_store(c, rc);
}

static void resolve(struct svc_call *c, const char *ref)
{
	int rc;

	c->account_ref = ref ? ref : "";
	rc = store_account_access(svc_store(), &c->who, c->account_ref, on_access, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}

/* ---- the operations ---- */

void svc_op_layer_add(struct svc_call *c)
{
	struct layer_state *ls = state_new(c);

	if (!ls || !parse_changes(c, ls, c->req.u.layer_add.fields, c->req.u.layer_add.n_fields))
		return;
	resolve(c, c->req.u.layer_add.account);
}

void svc_op_layer_list(struct svc_call *c)
{
	if (state_new(c))
		resolve(c, c->req.u.layer_list.account);
}

static void on_account_of(void *arg, int err, int64_t account_id)
{
	struct svc_call *c = arg;

	/* A missing row and one on an account the caller cannot see read the same (msg_not_found). */
	if (err < 0) {
		svc_fail_store(c, err);
		return;
	}
	resolve(c, kam_arena_printf(&c->arena, "%lld", (long long)account_id));
}

void svc_op_layer_item(struct svc_call *c)
{
	struct layer_state *ls = state_new(c);
	const char *noun;
	int rc;

	if (!ls)
		return;
	ls->id = c->req.u.layer_item.id;
	noun = layer_noun[ls->op->layer];
	c->field_not_found = noun;
	c->msg_not_found = kam_arena_printf(&c->arena, "no %s %lld", noun, (long long)ls->id);
	c->account_ref = "";   /* not known yet; set, so that a missing row answers msg_not_found */
	if (!c->msg_not_found) {
		svc_fail_store(c, KAM_ENOMEM);
		return;
	}
	/* clear and show take no fields; the others are checked like an add. */
	if (ls->op->use && c->req.op != KAM_OP_BARRIER_CLEAR) {
		if (!parse_changes(c, ls, c->req.u.layer_item.fields, c->req.u.layer_item.n_fields))
			return;
	} else if (c->req.u.layer_item.n_fields) {
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, c->req.u.layer_item.fields[0].name,
				"%s takes no fields", kam_op_str(c->req.op));
		return;
	}
	if (ls->op->use && c->req.op != KAM_OP_BARRIER_CLEAR && ls->ch.set == 0) {
		svc_reply_error(c, KAM_STATUS_INVALID_ARGUMENT, "fields", "nothing to change; give FIELD=VALUE");
		return;
	}
	ls->ch.layer = ls->op->layer;
	rc = store_layer_account(svc_store(), ls->op->layer, ls->id, on_account_of, c);
	if (rc < 0)
		svc_fail_store(c, rc);
}
