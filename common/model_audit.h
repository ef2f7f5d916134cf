/*
 * The model of the audit trail and of rep churn (issue 4): audit entries and
 * their filter, the chain verification, bulk-read alerts, hand-overs, export
 * pages and import rows. Plain structs as model.h's, included by model.h only.
 */
#ifndef KAM_MODEL_AUDIT_H
#define KAM_MODEL_AUDIT_H

#ifndef KAM_MODEL_H
#error "include model.h, not model_audit.h"
#endif

/* A checkpoint file's text is a few hundred bytes; this leaves room for comments. */
#define KAM_MAX_CHECKPOINT 4096
/* Audit actions are "area.verb" words; a filter may end in '*'. */
#define KAM_MAX_ACTION 64

struct kam_audit_entry {
	int64_t id;
	int64_t at;                 /* unix seconds */
	const char *username;       /* who acted */
	enum kam_role role;
	const char *action;
	int64_t account_id;         /* 0: none */
	const char *account;        /* its current name, "" */
	const char *result;         /* "allowed", "denied", "failed" */
	const char *client_addr;
	const char *detail;         /* JSON object text, "" */
};

/* kam audit log: "" and 0 mean any. */
struct kam_audit_filter {
	const char *account;
	const char *username;
	int64_t since;
	int64_t until;
	const char *action;
	int64_t before_id;
	uint32_t limit;             /* 1..KAM_LIST_MAX after decoding */
};

struct kam_audit_verify {
	bool intact;
	int64_t entries;
	uint32_t partitions;
	int64_t bad_entry_id;
	uint32_t bad_partition;
	int64_t bad_seq;
	const char *problem;        /* "" when intact */
	bool checkpoint_used;
	int64_t checkpoint_at;
	int64_t checkpoint_entries;
	const char *checkpoint_key; /* "SHA256:hex" or "" */
};

struct kam_alert {
	const char *username;
	const char *reports_to;
	int64_t flagged_at;
	uint32_t reads;
	uint32_t limit;
	uint32_t window_s;
};

struct kam_handover {
	struct kam_user user;
	const char *to;
	size_t n_accounts;
	const char **accounts;
	uint32_t projects;
	uint32_t sessions_revoked;
	size_t n_reports;
	const char **reports;
};

struct kam_export_item {
	struct kam_account account;
	const char *layers;         /* JSON object text */
};

struct kam_import_row {
	uint32_t line;
	const char *name;
	enum kam_tier tier;
	const char *owner;          /* "" the caller */
	size_t n_fields;
	struct kam_field *fields;
};

#endif
