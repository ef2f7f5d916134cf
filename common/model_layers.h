/*
 * The model of the four layers beyond information (barriers, business,
 * relationships, interest) and of the review: plain structs and enums as
 * model.h's, included by model.h only (it needs kam_opt_i64 and kam_account).
 * Enum values match the proto enums (kam.v1.BarrierKind etc.).
 */
#ifndef KAM_MODEL_LAYERS_H
#define KAM_MODEL_LAYERS_H

#ifndef KAM_MODEL_H
#error "include model.h, not model_layers.h"
#endif

enum kam_barrier_kind {
	KAM_BARRIER_NONE = 0, KAM_BARRIER_PREQUALIFICATION, KAM_BARRIER_CERTIFICATION, KAM_BARRIER_REFERENCES,
	KAM_BARRIER_CLEARANCE, KAM_BARRIER_REQUIREMENT, KAM_BARRIER_HABIT, KAM_BARRIER_COMPETITOR,
	KAM_BARRIER_RELATIONSHIP, KAM_BARRIER_OTHER, KAM_BARRIER__COUNT
};
enum kam_barrier_status {
	KAM_BSTATUS_NONE = 0, KAM_BSTATUS_OPEN, KAM_BSTATUS_WORKING, KAM_BSTATUS_CLEARED, KAM_BSTATUS__COUNT
};
/* The buying process, in order: a later stage has a larger value. */
enum kam_pstage {
	KAM_PSTAGE_NONE = 0, KAM_PSTAGE_SITUATION, KAM_PSTAGE_PROBLEM, KAM_PSTAGE_NEED, KAM_PSTAGE_SOLUTION,
	KAM_PSTAGE_BUDGET, KAM_PSTAGE_PROCUREMENT, KAM_PSTAGE_CONTRACT, KAM_PSTAGE_DELIVERY, KAM_PSTAGE_ACCEPTANCE,
	KAM_PSTAGE__COUNT
};
enum kam_pstatus { KAM_PSTATUS_NONE = 0, KAM_PSTATUS_OPEN, KAM_PSTATUS_WON, KAM_PSTATUS_LOST, KAM_PSTATUS__COUNT };
enum kam_move {
	KAM_MOVE_NONE = 0, KAM_MOVE_START, KAM_MOVE_FORWARD, KAM_MOVE_SKIP, KAM_MOVE_BACK, KAM_MOVE_WON, KAM_MOVE_LOST,
	KAM_MOVE__COUNT
};
/* NONE: unknown, or not visible to the caller. */
enum kam_stance {
	KAM_STANCE_NONE = 0, KAM_STANCE_SUPPORT, KAM_STANCE_NEUTRAL, KAM_STANCE_OPPOSE, KAM_STANCE__COUNT
};
enum kam_value_level {
	KAM_VLEVEL_NONE = 0, KAM_VLEVEL_BUSINESS, KAM_VLEVEL_RELATIONSHIP, KAM_VLEVEL_STRATEGIC, KAM_VLEVEL__COUNT
};

/* The layers an operation loads or writes; bit masks with KAM_LAYER_BIT. */
enum kam_layer { KAM_LAYER_BARRIERS = 0, KAM_LAYER_PROJECTS, KAM_LAYER_CONTACTS, KAM_LAYER_VALUES, KAM_LAYER_AGREEMENTS,
		 KAM_LAYER__COUNT };
#define KAM_LAYER_BIT(l) (1u << (unsigned)(l))
#define KAM_LAYER_ALL ((1u << KAM_LAYER__COUNT) - 1)

/* Bit of a stage in kam_project.stages_taken. */
#define KAM_PSTAGE_BIT(s) (1u << (unsigned)(s))

#define KAM_MAX_WEIGHT 100
/* Dates travel as "YYYY-MM-DD" ("" for none). */
#define KAM_DATE_LEN 10

struct kam_barrier {
	int64_t id;
	int64_t account_id;
	enum kam_barrier_kind kind;
	const char *description;
	enum kam_barrier_status status;
	const char *breakthrough;      /* planned breakthrough; "" none yet */
	const char *due;               /* YYYY-MM-DD or "" */
	const char *owner;             /* username or "" */
	int64_t created_at, updated_at, cleared_at;
	int64_t version;
};

struct kam_stage_move {
	enum kam_move kind;
	enum kam_pstage from, to;
	const char *by;
	int64_t at;
};

struct kam_project {
	int64_t id;
	int64_t account_id;
	const char *name;
	enum kam_pstage stage;
	enum kam_pstatus status;
	const char *reason;            /* why won or lost */
	const char *owner;
	enum kam_pstage involved;      /* where we got involved */
	unsigned stages_taken;         /* KAM_PSTAGE_BIT of every stage we took part in */
	struct kam_opt_i64 expected_value;
	const char *currency;
	const char *close_date;        /* YYYY-MM-DD or "" */
	size_t n_history;
	struct kam_stage_move *history;
	struct kam_opt_i64 support;    /* supporters' total weight; !has when not visible */
	struct kam_opt_i64 oppose;
	int64_t created_at, updated_at;
	int64_t version;
};

struct kam_contact {
	int64_t id;
	int64_t account_id;
	const char *name;
	const char *title;
	const char *decision_role;
	const char *criteria;
	struct kam_opt_i64 weight;     /* 0..100; !has: unknown or not visible */
	enum kam_stance stance;
	const char *org_needs;
	const char *personal_needs;    /* "" none, or not visible */
	size_t n_projects;
	int64_t *projects;
	int64_t created_at, updated_at;
	int64_t version;
};

struct kam_value {
	int64_t id;
	int64_t account_id;
	enum kam_value_level level;
	const char *text;
	const char *author;
	int64_t created_at;
};

struct kam_agreement {
	int64_t id;
	int64_t account_id;
	const char *signed_by;
	const char *signed_on;         /* YYYY-MM-DD */
	const char *scope;
	struct kam_opt_i64 term_months;
	const char *recorded_by;
	int64_t created_at;
};

/* An account's layers, or the rows of one layer an operation concerns. */
struct kam_layers {
	bool has_account;
	struct kam_account account;
	size_t n_barriers;
	struct kam_barrier *barriers;
	size_t n_projects;
	struct kam_project *projects;
	size_t n_contacts;
	struct kam_contact *contacts;
	size_t n_values;
	struct kam_value *values;
	size_t n_agreements;
	struct kam_agreement *agreements;
	bool restricted;               /* weight, stance and personal needs were withheld */
};

/* Something the method asks of the account's tier that is missing. */
struct kam_gap {
	const char *code;
	const char *text;
	int64_t ref;                   /* project or barrier id; 0: the account */
};

struct kam_team_row {
	struct kam_account account;    /* without info */
	int64_t open_projects;
	struct kam_opt_i64 support;    /* over open projects; !has when not visible */
	struct kam_opt_i64 oppose;
	int64_t projects_led;
	int64_t gaps;
};

const char *kam_barrier_kind_str(enum kam_barrier_kind k);
const char *kam_barrier_status_str(enum kam_barrier_status s);
const char *kam_pstage_str(enum kam_pstage s);
const char *kam_pstatus_str(enum kam_pstatus s);
const char *kam_move_str(enum kam_move m);
const char *kam_stance_str(enum kam_stance s);
const char *kam_value_level_str(enum kam_value_level l);
/* Parse a keyword; 0 or KAM_EINVAL. */
int kam_barrier_kind_parse(const char *s, enum kam_barrier_kind *out);
int kam_barrier_status_parse(const char *s, enum kam_barrier_status *out);
int kam_pstage_parse(const char *s, enum kam_pstage *out);
int kam_pstatus_parse(const char *s, enum kam_pstatus *out);
int kam_stance_parse(const char *s, enum kam_stance *out);
int kam_value_level_parse(const char *s, enum kam_value_level *out);

#endif
