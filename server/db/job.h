/*
 * Internal to db/: a job is what the store queues and a connection runs, one
 * or more prepared statements sent back to back. Jobs sent together share one
 * pipeline sync, which makes them one implicit transaction (group commit).
 * Also the statement tables the sql_<aggregate>.c files expose and the
 * PGresult helpers they convert with.
 */
#ifndef KAMD_DB_JOB_H
#define KAMD_DB_JOB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db/store.h"
#include "err.h"
#include "model.h"

/* A statement prepared on every connection: its name there, its text, its parameter count. */
struct pg_stmt_def {
	const char *name;
	const char *text;
	int nparams;
};

/* The statements of one sql_<aggregate>.c. */
struct pg_stmt_set {
	const struct pg_stmt_def *stmts;
	int count;
};

/* The largest job: the layers of accounts (issue 3): an audit row, five layers and the
 * projects' histories, after the fast path's two guards (issue 5). */
#define PG_JOB_MAX_STMTS 10
/* The widest statement: the account update (8 audit parameters and 13 of its own). */
#define PG_STMT_MAX_PARAMS 24

struct pg_job_stmt {
	const struct pg_stmt_def *def;
	int nparams;                              /* bound so far */
	const char *values[PG_STMT_MAX_PARAMS];   /* NULL: SQL NULL; memory in the job's arena */
	int lengths[PG_STMT_MAX_PARAMS];          /* binary parameters only */
	int formats[PG_STMT_MAX_PARAMS];          /* 0 text, 1 binary */
	PGresult *res;                            /* its result once it arrived (TUPLES_OK or COMMAND_OK) */
};

/* The caller's callback, typed by the operation. */
union store_cb {
	store_done_cb done;
	store_principal_cb principal;
	store_credentials_cb credentials;
	store_expiry_cb expiry;
	store_user_cb user;
	store_users_cb users;
	store_access_cb access;
	store_account_cb account;
	store_accounts_cb accounts;
	/* -- layers (issue 3) -- */
	store_layers_cb layers;
	store_id_cb id;
	store_infos_cb infos;
	/* -- hostile clients (issue 6) -- */
	store_gate_cb gate;
	store_target_cb target;
	store_lock_cb lock;
	store_count_cb count;
	/* -- audit and churn (issue 4) -- */
	store_entries_cb entries;
	store_heads_cb heads;
	store_heads_at_cb heads_at;
	store_chain_cb chain;
	store_watch_cb watch;
	store_alerts_cb alerts;
	store_handover_cb handover;
	store_export_cb export_begin;
	store_export_page_cb export_page;
	store_import_check_cb import_check;
	store_ids_cb ids;
};

struct pg_job;

/* Issue 7: a write's idempotency key (deploy/sql/0006_request_keys.sql). */
struct pg_request_key {
	const uint8_t *bytes;       /* NULL: none */
	size_t len;
};

/* Converts the results (when err is 0) and calls the caller's callback, exactly once. */
typedef void (*pg_finish_fn)(struct pg_job *job, int err);

struct pg_job {
	struct pg_job *next;        /* in the store queue, then in a connection's FIFO */
	struct store *st;
	pg_finish_fn finish;
	union store_cb cb;
	void *arg;
	int64_t aux;                /* what the finisher needs besides results (a list's limit) */
	struct kam_arena arena;     /* parameters, then converted results; freed with the job */
	int build_err;              /* first error while binding; pool_submit reports it */
	int err;                    /* first error result; later statements were aborted */
	uint64_t deadline;          /* loop time at which a job still waiting for a connection fails */
	uint64_t timeout_ms;        /* issue 7: how long its answer may take once sent (at least the request timeout) */
	int64_t actor;              /* issue 7: the user row-level security sees (0: none); sent first */
	struct pg_request_key key;  /* issue 7: the request's key, in the arena (sql_rls.c) ... */
	bool key_claim;             /* ... armed by this job's kam_act_as for its act to claim, or else inherited */
	pg_finish_fn key_next;      /* the finisher that inheritance wraps */
	int cur;                    /* statement whose results are arriving (-1: the actor's) */
	/* Group commit (issue 5): jobs sent together share one sync, so one transaction and one
	 * commit flush; see pgconn.c. */
	bool sync_after;            /* the batch's last job: a pipeline sync follows it */
	bool solo;                  /* its batch failed because of another job: run it in a sync of its own */
	bool txn_failed;            /* one of its statements failed, aborting the batch's transaction */
	bool batch_victim;          /* ... with a serialization failure or deadlock: batching may have caused it */
	int nstmts;
	int first;                  /* issue 5: guards run ahead of the job's own statements (sql_guard.c) */
	struct pg_job_stmt stmts[PG_JOB_MAX_STMTS];
};

/* A job for st; KAM_ECANCELED once the store is closing. */
int pg_job_new(struct store *st, pg_finish_fn finish, void *arg, struct pg_job **out) KAM_MUST_CHECK;
void pg_job_free(struct pg_job *job);

/* Issue 7: a verify, export or import page over a big store may run this long on a busy server;
 * a dead one is still noticed within it. */
#define PG_JOB_LONG_MS 120000
/* Mark a job that may run long, so the request timeout does not cut it off. */
static inline void pg_job_long(struct pg_job *job)
{
	job->timeout_ms = PG_JOB_LONG_MS;
}

/*
 * Append a statement, then bind its parameters in order. Binding copies into
 * the job's arena; a failure is remembered and returned by pool_submit, so
 * callers bind without checking each step.
 */
void pg_job_stmt(struct pg_job *job, const struct pg_stmt_def *def);
void pg_job_text(struct pg_job *job, const char *s);            /* NULL binds SQL NULL */
void pg_job_i64(struct pg_job *job, int64_t v);
void pg_job_opt_i64(struct pg_job *job, struct kam_opt_i64 v);   /* !has binds SQL NULL */
void pg_job_bytes(struct pg_job *job, const void *p, size_t n);  /* binary, for bytea */
/* Remember a binding error (the first one wins). */
void pg_job_fail(struct pg_job *job, int err);
/* Issue 7 (sql_rls.c): a new job takes the store's pending request key (pg_job_new); an allowed
 * act claims it in its own transaction (sql_audit_bind). */
void pg_job_take_key(struct pg_job *job);
void pg_job_claim_key(struct pg_job *job);

/* Statement i counts from the job's own first statement, after any guards. */
/* Rows of statement i after checking it returned ncols columns; KAM_EINTERNAL otherwise. */
int pg_job_rows(const struct pg_job *job, int i, int ncols);
const PGresult *pg_job_result(const struct pg_job *job, int i);
/* As pg_job_rows, but 0 when statement i returned a row, empty_err when it returned none. */
int pg_job_expect_row(const struct pg_job *job, int i, int ncols, int empty_err);

/* Reading a row; SQL NULL reads as 0, false, "" or !has. */
int64_t pg_get_i64(const PGresult *r, int row, int col);
bool pg_get_bool(const PGresult *r, int row, int col);
const char *pg_get_str(const PGresult *r, int row, int col);
struct kam_opt_i64 pg_get_opt_i64(const PGresult *r, int row, int col);
/* An enum column; false when the value is outside [lo, count), i.e. unknown to the model. */
bool pg_get_enum(const PGresult *r, int row, int col, int lo, int count, int *out);

/* KAM_E* for a SQLSTATE (NULL: an error libpq made up, i.e. the connection). */
int pg_sqlstate_error(const char *sqlstate);
/* KAM_E* for an error result, logging it (with prefix and statement name) when it is not the caller's fault. */
int pg_result_error(const PGresult *r, const char *prefix, const char *stmt);
/* The first line of a libpq message (they end in newlines and hints), into buf. */
const char *pg_first_line(const char *msg, char *buf, size_t len);

/* A PQnoticeProcessor that logs at debug level (arg: the log prefix) instead of printing to stderr. */
void pg_notice_log(void *arg, const char *message);

/* Connection parameters for PQconnect*Params: conninfo expanded as dbname, application_name=kamd
 * forced, and hostaddr when names were resolved. Arrays end with NULL. */
#define PG_CONN_NPARAMS 4
void pg_conn_params(const char *conninfo, const char *hostaddr,
		    const char *kw[PG_CONN_NPARAMS], const char *val[PG_CONN_NPARAMS]);

#endif
