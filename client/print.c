/*
 * Everything kam prints: error lines on stderr (and their --json form on
 * stdout), aligned tables, JSON documents, timestamps. Text from the server
 * is never written raw to a terminal: control characters are replaced, so an
 * account name cannot carry escape sequences. Results only on stdout.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "client.h"

/* One error line; longer messages are cut. */
#define ERROR_MSG_MAX 1024


/* ---- errors ---- */

/* key: the request key of a write that may or may not have been applied (issue 7), or NULL. */
static void vfail(struct cli *cli, const char *code, const char *hint, const char *key, const char *fmt,
		  va_list ap)
{
	char msg[ERROR_MSG_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fputs("kam: error: ", stderr);
	print_safe(stderr, msg, false);
	fputc('\n', stderr);
	if (hint) {
		fputs("hint: ", stderr);
		print_safe(stderr, hint, false);
		fputc('\n', stderr);
	}
	if (cli && cli->json) {
		json_t *doc = json_object(), *err = json_object();
		int bad = !doc || !err;
		if (!bad) {
			bad |= jset(err, "code", jstr(code));
			bad |= jset(err, "message", jstr(msg));
			if (key)
				bad |= jset(err, "request_key", jstr(key));
		}
		bad |= jset(doc, "error", err);
		/* Out of memory: the line on stderr already said what failed. */
		if (!bad) {
			json_dumpf(doc, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
		}
		json_decref(doc);
	}
}

int cli_fail(struct cli *cli, int exit_code, const char *code, const char *hint, const char *fmt, ...)
{
	char key_hint[CLI_KEY_HINT_MAX];
	const char *key = NULL;
	va_list ap;

	/* Issue 7: after a write was sent, "unavailable" leaves its outcome open: say how to finish it. */
	if (cli && cli->key_pending && exit_code == KAM_EXIT_UNAVAIL) {
		hint = cli_key_hint(cli, key_hint, sizeof(key_hint));
		key = cli->key_hex;
	}
	va_start(ap, fmt);
	vfail(cli, code, hint, key, fmt, ap);
	va_end(ap);
	return exit_code;
}

int cli_fail_nomem(struct cli *cli)
{
	return cli_fail(cli, KAM_EXIT_LOCAL, CLI_CODE_LOCAL, NULL, "out of memory");
}

int cli_fail_status(struct cli *cli, const struct kam_error *e)
{
	int ec = kam_status_exit_code(e->code);
	const char *msg = e->message && e->message[0] ? e->message : kam_status_str(e->code);
	const char *field = e->field ? e->field : "";
	const char *hint = NULL;
	char hint_buf[ENDPOINT_KEY_MAX + 64];

	if (e->code == KAM_STATUS_UNAUTHENTICATED && cli->cmd && cli->cmd->run != cmd_login &&
	    !strstr(msg, "kam login"))
		hint = "run 'kam login USER'";
	if (e->code == KAM_STATUS_UNAVAILABLE || e->code == KAM_STATUS_BUSY) {
		snprintf(hint_buf, sizeof(hint_buf), "%s may be busy or restarting; try again shortly", cli->ep.key);
		hint = hint_buf;
	}
	if (ec == 0)   /* an error without a known code is still a failure */
		ec = KAM_EXIT_UNAVAIL;
	/* Name the field unless the message already does. */
	if (field[0] && !strstr(msg, field))
		return cli_fail(cli, ec, kam_status_str(e->code), hint, "%s: %s", field, msg);
	return cli_fail(cli, ec, kam_status_str(e->code), hint, "%s", msg);
}

void print_safe(FILE *f, const char *s, bool keep_nl)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool ctl = *p < 0x20 || *p == 0x7f;
		if (ctl && !(keep_nl && *p == '\n'))
			fputc('?', f);
		else
			fputc(*p, f);
	}
}

/* ---- time ---- */

static void fmt_time(int64_t unix_s, bool utc, const char *fmt, char out[TIME_STR_MAX])
{
	time_t t = (time_t)unix_s;
	struct tm tm;

	if ((utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)) == NULL ||
	    strftime(out, TIME_STR_MAX, fmt, &tm) == 0)
		snprintf(out, TIME_STR_MAX, "%lld", (long long)unix_s);
}

void fmt_time_iso(int64_t unix_s, char out[TIME_STR_MAX])
{
	fmt_time(unix_s, true, "%Y-%m-%dT%H:%M:%SZ", out);
}

void fmt_time_local(int64_t unix_s, char out[TIME_STR_MAX])
{
	fmt_time(unix_s, false, "%Y-%m-%d %H:%M %Z", out);
}

/* ---- tables ---- */

void table_init(struct table *t, size_t ncols, const char *const *head, const bool *right)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols < TABLE_MAX_COLS ? ncols : TABLE_MAX_COLS;
	for (size_t i = 0; i < t->ncols; i++) {
		t->head[i] = head[i];
		t->right[i] = right ? right[i] : false;
	}
	kam_arena_init(&t->arena);
}

/* A copy of s with control characters replaced, in the table's arena. */
static char *cell_copy(struct kam_arena *a, const char *s)
{
	char *c = kam_arena_strdup(a, s ? s : "");

	for (char *p = c; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return c;
}

int table_add(struct table *t, const char *const *row)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		const char **cells = realloc(t->cells, cap * t->ncols * sizeof(*cells));
		if (!cells)
			return KAM_ENOMEM;
		t->cells = cells;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		const char *c = cell_copy(&t->arena, row[i]);
		if (!c)
			return KAM_ENOMEM;
		t->cells[t->nrows * t->ncols + i] = c;
	}
	t->nrows++;
	return 0;
}

/* Display width: code points, not bytes (no East Asian wide-character rules). */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void put_cell(FILE *f, const char *s, size_t width, bool right, bool last)
{
	size_t pad = width - text_width(s);

	if (right)
		fprintf(f, "%*s", (int)pad, "");
	fputs(s, f);
	if (!right && !last)   /* no trailing blanks at the end of a line */
		fprintf(f, "%*s", (int)pad, "");
}

static void put_row(const struct table *t, FILE *f, const char *const *row, const size_t *width)
{
	for (size_t i = 0; i < t->ncols; i++) {
		if (i > 0)
			fputs("  ", f);
		put_cell(f, row[i], width[i], t->right[i], i + 1 == t->ncols);
	}
	fputc('\n', f);
}

void table_print(const struct table *t, FILE *f)
{
	size_t width[TABLE_MAX_COLS];

	for (size_t i = 0; i < t->ncols; i++) {
		width[i] = text_width(t->head[i]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t w = text_width(t->cells[r * t->ncols + i]);
			if (w > width[i])
				width[i] = w;
		}
	}
	put_row(t, f, t->head, width);
	for (size_t r = 0; r < t->nrows; r++)
		put_row(t, f, t->cells + r * t->ncols, width);
}

void table_free(struct table *t)
{
	if (!t)
		return;
	free(t->cells);
	t->cells = NULL;
	kam_arena_free(&t->arena);
}

/* ---- JSON ---- */

/* A JSON string; invalid UTF-8 from the server is shown with '?' rather than dropped. */
json_t *jstr(const char *s)
{
	json_t *j = json_string(s);

	if (j)
		return j;
	char *copy = strdup(s);
	if (!copy)
		return NULL;
	for (unsigned char *p = (unsigned char *)copy; *p; p++)
		if (*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* Set key to v (stealing it); 1 on failure, so builders can OR the results. */
int jset(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v) == 0 ? 0 : 1;
}

/* Strings that are empty mean unknown or not visible: absent, never "". */
int jset_str(json_t *o, const char *key, const char *s)
{
	return s && s[0] ? jset(o, key, jstr(s)) : 0;
}

int jset_time(json_t *o, const char *key, int64_t t)
{
	char buf[TIME_STR_MAX];

	if (t == 0)
		return 0;
	fmt_time_iso(t, buf);
	return jset(o, key, json_string(buf));
}

int jset_opt(json_t *o, const char *key, struct kam_opt_i64 v)
{
	return v.has ? jset(o, key, json_integer(v.value)) : 0;
}

int jset_money(json_t *o, const char *key, struct kam_opt_i64 v, const char *currency)
{
	json_t *m;
	int bad = 0;

	if (!v.has)
		return 0;
	if (!(m = json_object()))
		return 1;
	bad |= jset(m, "amount_minor", json_integer(v.value));
	bad |= jset_str(m, "currency", currency);
	return bad | jset(o, key, m);
}

/* A builder that failed part-way returns NULL, never half a document. */
json_t *jdone(json_t *o, int bad)
{
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *json_user(const struct kam_user *u)
{
	json_t *o = json_object();
	int bad = 0;

	if (!o)
		return NULL;
	bad |= jset(o, "id", json_integer(u->id));
	bad |= jset_str(o, "username", u->username);
	bad |= jset_str(o, "role", kam_role_str(u->role));
	bad |= jset_str(o, "reports_to", u->reports_to);
	bad |= jset(o, "active", json_boolean(u->active));
	bad |= jset_time(o, "created_at", u->created_at);
	return jdone(o, bad);
}

static json_t *json_info(const struct kam_info *in)
{
	json_t *o = json_object();
	int bad = 0;

	if (!o)
		return NULL;
	bad |= jset_opt(o, "founded", in->founded);
	bad |= jset_opt(o, "headcount", in->headcount);
	bad |= jset_str(o, "business", in->business);
	bad |= jset_money(o, "revenue", in->revenue, in->currency);
	bad |= jset_money(o, "budget", in->budget, in->currency);
	/* A currency set before any amount is known still has to show up. */
	if (!in->revenue.has && !in->budget.has)
		bad |= jset_str(o, "currency", in->currency);
	bad |= jset_str(o, "suppliers", in->suppliers);
	bad |= jset_str(o, "notes", in->notes);
	return jdone(o, bad);
}

json_t *json_account(const struct kam_account *a)
{
	json_t *o = json_object(), *team = NULL;
	int bad = 0;

	if (!o)
		return NULL;
	bad |= jset(o, "id", json_integer(a->id));
	bad |= jset_str(o, "name", a->name);
	bad |= jset_str(o, "tier", kam_tier_str(a->tier));
	bad |= jset_str(o, "stage", kam_stage_str(a->stage));
	bad |= jset_str(o, "strategy", kam_strategy_str(a->strategy));
	bad |= jset_str(o, "owner", a->owner);
	if (a->n_team > 0) {
		if (!(team = json_array()))
			bad = 1;
		for (size_t i = 0; team && i < a->n_team; i++)
			bad |= json_array_append_new(team, jstr(a->team[i])) != 0;
		bad |= jset(o, "team", team);
	}
	bad |= jset(o, "version", json_integer(a->version));
	bad |= jset_time(o, "created_at", a->created_at);
	bad |= jset_time(o, "updated_at", a->updated_at);
	if (a->has_info)
		bad |= jset(o, "information", json_info(&a->info));
	return jdone(o, bad);
}

/* One element per item; NULL if any of them failed. */
json_t *json_list(const void *items, size_t n, size_t size, json_t *(*one)(const void *))
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, one((const char *)items + i * size)) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	return arr;
}

static json_t *one_user(const void *p) { return json_user(p); }
static json_t *one_account(const void *p) { return json_account(p); }

json_t *json_user_list(const struct kam_user *u, size_t n)
{
	return json_list(u, n, sizeof(*u), one_user);
}

json_t *json_account_list(const struct kam_account *a, size_t n)
{
	return json_list(a, n, sizeof(*a), one_account);
}

int json_print(struct cli *cli, json_t *doc)
{
	if (!doc)
		return cli_fail_nomem(cli);
	int r = json_dumpf(doc, stdout, JSON_INDENT(2));
	json_decref(doc);
	if (r < 0)
		return cli_fail_nomem(cli);
	fputc('\n', stdout);
	return KAM_EXIT_OK;
}
