/*
 * The kam CLI's internal interfaces. Two conventions meet here: helpers over
 * data (state.c's parsing, endpoint_parse) return 0 or a negative KAM_E* /
 * -errno like the rest of KAM; functions that talk to the user (documented
 * "reports") print their own failure and return a kam exit code, 0 on success.
 */
#ifndef KAM_CLIENT_H
#define KAM_CLIENT_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "err.h"
#include "hash.h"
#include "model.h"

/* Overwrite a secret (password, token) so it does not linger in freed memory. */
static inline void cli_wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

/* Exit codes of kam (contract.md), plus 1 for failures on this machine. */
enum kam_exit {
	KAM_EXIT_OK = 0,
	KAM_EXIT_LOCAL = 1,       /* state directory unwritable, out of memory, stdout failed */
	KAM_EXIT_USAGE = 2,
	KAM_EXIT_UNAUTH = 3,
	KAM_EXIT_DENIED = 4,
	KAM_EXIT_NOTFOUND = 5,
	KAM_EXIT_INVALID = 6,
	KAM_EXIT_UNAVAIL = 7,     /* server unavailable, network or TLS failure */
	/* Internal, never an exit code: the write was applied before under its request key
	 * (issue 7), already reported; commands pass it up like a failure, main exits 0. */
	KAM_EXIT_REPLAYED = 100,
};

/* --json error codes for failures found on this side (server ones are kam_status_str). */
#define CLI_CODE_USAGE "usage"
#define CLI_CODE_UNAVAIL "unavailable"
#define CLI_CODE_LOCAL "local"

#define KAM_DEFAULT_SERVER "127.0.0.1:7433"
#define KAM_DEFAULT_PORT "7433"
/* Issue 7: with 128 random bits two writes' keys never collide in practice. */
#define CLI_REQUEST_KEY_LEN 16
/* Room for the hint that names a key (retry.c). */
#define CLI_KEY_HINT_MAX (2 * KAM_REQUEST_KEY_MAX + 160)

/* A DNS name is at most 253 bytes; the rest is brackets, colon and port. */
#define ENDPOINT_HOST_MAX 256
#define ENDPOINT_KEY_MAX (ENDPOINT_HOST_MAX + 8)

/* Where to connect, and the key that names the server in the state files. */
struct endpoint {
	char host[ENDPOINT_HOST_MAX];   /* name or address, without brackets */
	char port[6];
	char key[ENDPOINT_KEY_MAX];     /* "host:port", "[v6]:port" */
};

struct conn;
struct cmd;

/* Everything one run of kam knows. */
struct cli {
	const char *server;       /* HOST:PORT as configured */
	const char *ca;           /* CA or self-signed certificate file; NULL: pin */
	bool json;
	bool tofu;                /* --trust-on-first-use */
	struct endpoint ep;
	const struct cmd *cmd;    /* the command running, for its usage and hints */
	const char *cmd_name;     /* "account list", for hints */
	struct conn *conn;        /* opened on the first request, closed by main */
	bool has_token;           /* token loaded for ep.key */
	bool token_loaded;
	uint8_t token[KAM_TOKEN_LEN];
	struct kam_arena arena;   /* decoded responses and config strings, freed at exit */
	/* -- faults (issue 7) -- */
	bool drop_quiet;          /* a dropped connection is not reported: the request will be retried */
	bool dropped;             /* ...and it happened */
	size_t user_key_len;      /* --request-key: the key for this run's write (0: a random one) */
	uint8_t user_key[KAM_REQUEST_KEY_MAX];
	char key_hex[2 * KAM_REQUEST_KEY_MAX + 1];   /* the key of the last write sent */
	bool key_pending;         /* ...whose outcome is unknown: exit-7 failures name its key */
};

/* A subcommand: its words, handler, synopsis (after "kam "), one-line summary and --help text. */
struct cmd {
	const char *words[2];
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *synopsis;
	const char *summary;
	const char *help;
};

/* ---- args.c: parsing a subcommand's argv ---- */

#define CLI_OPT_HELP { "help", no_argument, NULL, 'h' }
/* cli_opt's answer when the command must end now; the exit code is in *exit. */
#define CLI_OPT_STOP (-2)

/*
 * getopt_long over a subcommand's argv (argv[0] is the command word). Returns
 * the option's val, -1 after the last option, or CLI_OPT_STOP with *exit 0
 * after printing --help, or 2 after reporting a bad option. Reports.
 */
int cli_opt(struct cli *cli, int argc, char **argv, const struct option *lo, int *exit);
/* A command without options of its own: --help, then min..max positional
 * arguments. Returns true to go on; false to end now with *exit. Reports. */
bool cli_args_plain(struct cli *cli, int argc, char **argv, int min, int max, int *exit);
/* After the options: require between min and max positional arguments. Reports. */
int cli_positional(struct cli *cli, int argc, char **argv, int min, int max);
/* Report a usage error with the hint to this command's --help; returns 2. */
int cli_usage_error(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the current command's usage and help to stdout. */
void cli_print_help(const struct cli *cli);
/* Decimal integer in [min, max] for option `what`. Reports. */
int cli_int_arg(struct cli *cli, const char *what, const char *s, int64_t min, int64_t max, int64_t *out);

/* Keyword sets for arguments; cli_keyword reports unknown words with the valid ones. */
struct kw_set {
	const char *what;                /* "tier" */
	int count;                       /* enum __COUNT; value 0 is "none" */
	const char *(*name)(int v);
};
extern const struct kw_set kw_role, kw_tier, kw_stage;
int cli_keyword(struct cli *cli, const struct kw_set *set, const char *arg, int *out);

/* ---- print.c: output on stdout, errors on stderr ---- */

/* Report a failure: "kam: error: ..." (+ "hint: ..." when hint is not NULL) on
 * stderr, and with --json {"error": {...}} on stdout. Returns exit_code. */
int cli_fail(struct cli *cli, int exit_code, const char *code, const char *hint,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Report an error the server answered with; returns its exit code. */
int cli_fail_status(struct cli *cli, const struct kam_error *e);
/* Report running out of memory; returns KAM_EXIT_LOCAL. */
int cli_fail_nomem(struct cli *cli);
/* Write s to f with control characters (but newline when keep_nl) shown as '?'. */
void print_safe(FILE *f, const char *s, bool keep_nl);

/* Timestamps: ISO-8601 UTC for --json, local time for people. */
#define TIME_STR_MAX 64
void fmt_time_iso(int64_t unix_s, char out[TIME_STR_MAX]);
void fmt_time_local(int64_t unix_s, char out[TIME_STR_MAX]);

/* An aligned text table; cells are copied (sanitised) into its own arena. */
#define TABLE_MAX_COLS 12
struct table {
	size_t ncols;
	const char *head[TABLE_MAX_COLS];
	bool right[TABLE_MAX_COLS];      /* right-align (numbers) */
	size_t nrows, cap;
	const char **cells;              /* nrows * ncols */
	struct kam_arena arena;
};
void table_init(struct table *t, size_t ncols, const char *const *head, const bool *right);
int table_add(struct table *t, const char *const *row) KAM_MUST_CHECK;
void table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

/* JSON documents (jansson). Builders return NULL when out of memory. */
struct json_t;
struct json_t *json_user(const struct kam_user *u);
struct json_t *json_account(const struct kam_account *a);
/* Arrays of them, for the list commands. */
struct json_t *json_user_list(const struct kam_user *u, size_t n);
struct json_t *json_account_list(const struct kam_account *a, size_t n);
/* Print doc to stdout as one document and release it; reports NULL as out of memory. */
int json_print(struct cli *cli, struct json_t *doc);
/* -- layers (issue 3): the builders print_layers.c shares (each returns 1 on failure, for OR-ing) -- */
struct json_t *jstr(const char *s);
int jset(struct json_t *o, const char *key, struct json_t *v);
int jset_str(struct json_t *o, const char *key, const char *s);   /* "" is left out */
int jset_time(struct json_t *o, const char *key, int64_t t);       /* 0 is left out */
int jset_opt(struct json_t *o, const char *key, struct kam_opt_i64 v);
int jset_money(struct json_t *o, const char *key, struct kam_opt_i64 v, const char *currency);
struct json_t *jdone(struct json_t *o, int bad);                   /* NULL, never half a document */
struct json_t *json_list(const void *items, size_t n, size_t size, struct json_t *(*one)(const void *));
/* cmd_account.c's: an amount in minor units as "12000.50 EUR"; "-" for unknown. */
void fmt_money(struct kam_opt_i64 v, const char *currency, char *out, size_t cap);
const char *or_dash(const char *s);
/* "INDENT Label: value", multi-line values indented to match, control characters as '?'. */
void put_field(const char *indent, const char *label, const char *value);

/* ---- prompt.c: reading from the person at the terminal ---- */

/* Room for the longest password, its newline and the NUL. */
#define PASSWORD_BUF (KAM_MAX_PASSWORD + 2)
/* Both stdin and stderr are terminals: we may ask questions. */
bool prompt_interactive(void);
/* A password from stdin (one line) or, without echo, from /dev/tty. Reports. */
int prompt_password(struct cli *cli, const char *prompt, bool from_stdin, char buf[PASSWORD_BUF]);
/* Ask on /dev/tty with echo; the answer's line, without newline, into buf. 0 or -errno. */
int prompt_line(const char *question, char *buf, size_t cap) KAM_MUST_CHECK;
/* A new password (cmd_user.c): one line from stdin, or asked twice on the terminal
 * (prompt, then "Repeat the password: ") and compared. Reports. */
int prompt_new_password(struct cli *cli, const char *prompt, bool from_stdin, char pw[PASSWORD_BUF]);

/* ---- state.c: the files under $XDG_CONFIG_HOME/kam ---- */

#define STATE_SESSIONS "sessions"
#define STATE_KNOWN_SERVERS "known_servers"
/* "SHA256:" and 64 hex digits. */
#define STATE_FP_PREFIX "SHA256:"
#define STATE_FP_STR (sizeof(STATE_FP_PREFIX) - 1 + 2 * KAM_SHA256_LEN + 1)
#define STATE_PATH_MAX 4096

/* "HOST:PORT", "[V6]:PORT", or HOST alone (default port). KAM_EINVAL if malformed. */
int endpoint_parse(const char *s, struct endpoint *ep) KAM_MUST_CHECK;

/* The state directory, or one file in it (name NULL: the directory). KAM_EINVAL without HOME. */
int state_path(const char *name, char *out, size_t cap) KAM_MUST_CHECK;
/* The path of a state file for a message: state_path, or just name without a home. */
const char *state_path_shown(const char *name, char *buf, size_t cap);
/* The session token for a server: 0, KAM_ENOTFOUND, or a read error. */
int state_token_get(const char *key, uint8_t token[KAM_TOKEN_LEN]) KAM_MUST_CHECK;
int state_token_put(const char *key, const uint8_t token[KAM_TOKEN_LEN]) KAM_MUST_CHECK;
/* Remove the token line; 0 also when there was none. */
int state_token_forget(const char *key) KAM_MUST_CHECK;
/* The pinned fingerprint: 0, KAM_ENOTFOUND, KAM_EPROTO if the line is malformed, or a read error. */
int state_pin_get(const char *key, uint8_t fp[KAM_SHA256_LEN]) KAM_MUST_CHECK;
int state_pin_put(const char *key, const uint8_t fp[KAM_SHA256_LEN]) KAM_MUST_CHECK;

/* Pure helpers over the "KEY VALUE" line format, exported for the unit test. */
/* Find key's value (up to the end of its line); 0 or KAM_ENOTFOUND. */
int state_lines_find(const char *text, size_t len, const char *key, const char **val, size_t *val_len) KAM_MUST_CHECK;
/* Append text to out with key's line replaced by "key val" (in place of the
 * first one; duplicates dropped), appended if absent, or removed if val is NULL. */
int state_lines_set(const char *text, size_t len, const char *key, const char *val, struct kam_buf *out) KAM_MUST_CHECK;
void state_fp_format(const uint8_t fp[KAM_SHA256_LEN], char out[STATE_FP_STR]);
/* Parse "SHA256:hex" of exactly len bytes; KAM_EINVAL otherwise. */
int state_fp_parse(const char *s, size_t len, uint8_t fp[KAM_SHA256_LEN]) KAM_MUST_CHECK;

/* ---- conn.c: one connection, one request and response at a time ---- */

/* Run a request: attach the session token (unless it is a login; no stored
 * token is reported as not logged in), connect on first use, send, receive.
 * Transport failures are reported; a server error is left in resp->error
 * (a stale token is already forgotten). Strings in resp live in cli->arena. */
int cli_send(struct cli *cli, struct kam_request *req, struct kam_response *resp);
/* cli_send, and a server error is reported too. */
int cli_call(struct cli *cli, struct kam_request *req, struct kam_response *resp);
/* Load the token for cli->ep (cached); reports read errors; *has says whether there is one. */
int cli_token(struct cli *cli, bool *has);
/* A session token for cli->ep must exist; "not logged in" (exit 3) otherwise. Reports. */
int cli_need_session(struct cli *cli);
void conn_close(struct conn *c);
/* ---- retry.c: sending again (issue 7) ---- */
/* Whether op may be sent again after the connection dropped before its answer: a read, or a
 * write (with the same request key). */
bool cli_op_retryable(enum kam_op op);
/* --request-key HEX into cli->user_key. Reports (usage). */
int cli_request_key_arg(struct cli *cli, const char *hex);
/* A write gets its request key (--request-key's, else a random one; its hex in cli->key_hex);
 * other requests none, and --request-key on them is a usage error. Reports. */
int cli_request_key(struct cli *cli, struct kam_request *req);
/* The hint of an exit-7 failure after a write was sent: the key and how to finish the write. */
const char *cli_key_hint(struct cli *cli, char *buf, size_t cap);
/* A write answered "replayed": say so (stderr; {"replayed": true} with --json). Returns
 * KAM_EXIT_REPLAYED. Reports. */
int cli_replayed(struct cli *cli);

/* ---- commands ---- */

int cmd_login(struct cli *cli, int argc, char **argv);
int cmd_logout(struct cli *cli, int argc, char **argv);
int cmd_whoami(struct cli *cli, int argc, char **argv);
int cmd_user_add(struct cli *cli, int argc, char **argv);
int cmd_user_list(struct cli *cli, int argc, char **argv);
int cmd_account_add(struct cli *cli, int argc, char **argv);
int cmd_account_list(struct cli *cli, int argc, char **argv);
int cmd_account_show(struct cli *cli, int argc, char **argv);
int cmd_account_set(struct cli *cli, int argc, char **argv);
int cmd_account_assign(struct cli *cli, int argc, char **argv);
int cmd_account_unassign(struct cli *cli, int argc, char **argv);

/* ---- layers (issue 3): print_layers.c, cmd_layers.c, cmd_review.c ---- */

extern const struct kw_set kw_barrier_kind, kw_pstage, kw_stance, kw_value_level;
/* The head of `account show` and the Information layer (cmd_account.c). */
int print_account_block(struct cli *cli, const struct kam_account *a);
/* The rows of one layer as a JSON array. */
struct json_t *json_layer_rows(enum kam_layer layer, const struct kam_layers *l);
/* The account as json_account, plus one key per layer: barriers, projects, contacts, values, agreements. */
struct json_t *json_account_layers(const struct kam_account *a, const struct kam_layers *l);
/* The layers after Information, section by section, for people. Reports. */
int print_layers_text(struct cli *cli, const struct kam_layers *l);
/* project show: the project with its history, and the contacts who decide it. Reports. */
int print_project_text(struct cli *cli, const struct kam_layers *l);
/* A request that names only an ACCOUNT (its one argument): true with the answer in *resp;
 * false when the command ends here (--help, a usage or server error) with *exit. Reports. */
bool cli_account_call(struct cli *cli, int argc, char **argv, enum kam_op op, struct kam_response *resp, int *exit);
/* FIELD=VALUE arguments into an arena array of n fields. Reports. */
int cli_field_args(struct cli *cli, char **args, size_t n, struct kam_field **out);
/* One layer as a table (contacts without WEIGHT and STANCE when they were withheld). Reports. */
int print_layer_table(struct cli *cli, enum kam_layer layer, const struct kam_layers *l);
/* "need (3 stages: problem, need, solution)" */
const char *fmt_involvement(struct cli *cli, const struct kam_project *p);
/* "60 for, 20 against: supporters lead"; NULL when not visible. */
const char *fmt_support(struct cli *cli, const struct kam_project *p);

int cmd_barrier_add(struct cli *cli, int argc, char **argv);
int cmd_barrier_list(struct cli *cli, int argc, char **argv);
int cmd_barrier_set(struct cli *cli, int argc, char **argv);
int cmd_barrier_clear(struct cli *cli, int argc, char **argv);
int cmd_project_add(struct cli *cli, int argc, char **argv);
int cmd_project_list(struct cli *cli, int argc, char **argv);
int cmd_project_show(struct cli *cli, int argc, char **argv);
int cmd_project_advance(struct cli *cli, int argc, char **argv);
int cmd_project_close(struct cli *cli, int argc, char **argv);
int cmd_project_set(struct cli *cli, int argc, char **argv);
int cmd_contact_add(struct cli *cli, int argc, char **argv);
int cmd_contact_list(struct cli *cli, int argc, char **argv);
int cmd_contact_set(struct cli *cli, int argc, char **argv);
int cmd_value_add(struct cli *cli, int argc, char **argv);
int cmd_value_list(struct cli *cli, int argc, char **argv);
int cmd_agreement_add(struct cli *cli, int argc, char **argv);
int cmd_agreement_list(struct cli *cli, int argc, char **argv);
int cmd_review(struct cli *cli, int argc, char **argv);
/* -- hostile clients (issue 6): cmd_credentials.c -- */
int cmd_user_passwd(struct cli *cli, int argc, char **argv);
int cmd_user_unlock(struct cli *cli, int argc, char **argv);

/* ---- audit and churn (issue 4): cmd_audit.c, cmd_churn.c, cmd_transfer.c, csv.c, timearg.c ---- */

/* "2024-05-01[ HH:MM[:SS]][Z]", "@UNIX", or an age before now ("15m", "2h", "7d"); KAM_EINVAL. */
int cli_time_parse(const char *s, int64_t now, int64_t *out) KAM_MUST_CHECK;

/* Reading CSV held in memory, record by record. */
#define CSV_MAX_CELLS 256
struct csv_reader {
	const char *p, *end;
	unsigned line;             /* of the next byte */
};
struct csv_record {
	unsigned line;             /* where the record starts */
	size_t n;
	char **cells;              /* in the arena given to csv_next */
};
void csv_init(struct csv_reader *r, const char *data, size_t len);
/* 1 and a record, 0 at the end, or KAM_EINVAL with *why naming the line and column. */
int csv_next(struct csv_reader *r, struct kam_arena *a, struct csv_record *rec, char *why, size_t why_len) KAM_MUST_CHECK;
/* One cell, quoted when it needs to be, then a comma or (last) the line end. */
void csv_put(FILE *f, const char *s, bool last);

/* A whole text file (at most max bytes, NUL-terminated, out->len counts the NUL). Reports. */
int cli_read_file(struct cli *cli, const char *path, size_t max, struct kam_buf *out);

int cmd_audit_log(struct cli *cli, int argc, char **argv);
int cmd_audit_verify(struct cli *cli, int argc, char **argv);
int cmd_audit_alerts(struct cli *cli, int argc, char **argv);
int cmd_audit_clear(struct cli *cli, int argc, char **argv);
int cmd_user_deactivate(struct cli *cli, int argc, char **argv);
int cmd_user_handover(struct cli *cli, int argc, char **argv);
int cmd_export(struct cli *cli, int argc, char **argv);
int cmd_import(struct cli *cli, int argc, char **argv);

#endif
