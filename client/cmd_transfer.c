/*
 * kam export [--format csv|json] and kam import FILE.csv. Export pages through
 * the server's export (one audit entry covers it) and writes every account with
 * every layer to stdout; import reads a spreadsheet's CSV, checks what it can
 * here (columns, tiers) naming line and column, and sends every row in one
 * request: the server imports all of them or none. Neither writes a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "msg.h"

/* A spreadsheet export of key accounts is small; this bounds what we hold in memory. */
#define IMPORT_FILE_MAX (16u << 20)
/* The request must fit the daemon's post-login frame limit (1 MiB by default). */
#define IMPORT_REQUEST_MAX ((1u << 20) - 1024)
/* Update the progress line every this many rows. */
#define PROGRESS_EVERY 50
/* Export columns before the layers; layers follow as "layer:NAME", one JSON array each. */
#define LAYER_PREFIX "layer:"

int cli_read_file(struct cli *cli, const char *path, size_t max, struct kam_buf *out)
{
	uint8_t chunk[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	ssize_t n;

	if (fd < 0)
		return cli_fail(cli, KAM_EXIT_USAGE, CLI_CODE_USAGE, NULL, "cannot read %s: %s", path, strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = cli_fail(cli, KAM_EXIT_USAGE, CLI_CODE_USAGE, NULL, "cannot read %s: %s", path, strerror(errno));
			break;
		}
		if (out->len + (size_t)n > max) {
			rc = cli_fail(cli, KAM_EXIT_INVALID, kam_status_str(KAM_STATUS_INVALID_ARGUMENT), NULL,
				      "%s is larger than %zu bytes", path, max);
			break;
		}
		if (kam_buf_append(out, chunk, (size_t)n) < 0) {
			rc = cli_fail_nomem(cli);
			break;
		}
	}
	close(fd);
	/* Text for the codec: NUL-terminated, and a NUL inside is no text at all. */
	if (rc == 0 && (kam_buf_append(out, "", 1) < 0))
		rc = cli_fail_nomem(cli);
	if (rc == 0 && strlen((const char *)out->data) != out->len - 1)
		rc = cli_fail(cli, KAM_EXIT_INVALID, kam_status_str(KAM_STATUS_INVALID_ARGUMENT), NULL,
			      "%s holds a NUL byte: it is not a text file", path);
	return rc;
}

/* A progress line on the terminal (stderr), only when stderr is one and stdout is not. */
static bool progress_wanted(void)
{
	return isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO);
}

static void progress(bool on, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void progress(bool on, const char *fmt, ...)
{
	va_list ap;

	if (!on)
		return;
	fputs("\r\033[K", stderr);
	if (fmt) {
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fflush(stderr);
}

/* ---- export ---- */

struct exporter {
	bool json;
	json_t *all;              /* --json: every account */
	json_t *layer_keys;       /* csv: the layer columns, from the first account */
	bool header_done;
};

static const char *const csv_head[] = {
	"id", "name", "tier", "stage", "strategy", "owner", "team", "version", "created_at", "updated_at",
	"founded", "headcount", "business", "revenue", "budget", "currency", "suppliers", "notes",
};
#define CSV_HEAD_N (sizeof(csv_head) / sizeof(csv_head[0]))

static void opt_cell(struct kam_opt_i64 v, char *buf, size_t cap)
{
	if (v.has)
		snprintf(buf, cap, "%" PRId64, v.value);
	else
		buf[0] = '\0';
}

static int export_csv(struct cli *cli, struct exporter *ex, const struct kam_export_item *it, json_t *layers)
{
	const struct kam_account *a = &it->account;
	const struct kam_info *in = &a->info;
	char id[24], version[24], created[TIME_STR_MAX], updated[TIME_STR_MAX], founded[24], headcount[24],
		revenue[24], budget[24];
	const char *team = "";
	const char *key;
	json_t *v;
	size_t k = 0;

	if (!ex->header_done) {
		ex->layer_keys = json_array();
		if (!ex->layer_keys)
			return cli_fail_nomem(cli);
		json_object_foreach(layers, key, v)
			if (json_array_append_new(ex->layer_keys, json_string(key)) < 0)
				return cli_fail_nomem(cli);
		for (size_t i = 0; i < CSV_HEAD_N; i++)
			csv_put(stdout, csv_head[i], i + 1 == CSV_HEAD_N && json_array_size(ex->layer_keys) == 0);
		json_array_foreach(ex->layer_keys, k, v) {
			char col[128];

			snprintf(col, sizeof(col), LAYER_PREFIX "%s", json_string_value(v));
			csv_put(stdout, col, k + 1 == json_array_size(ex->layer_keys));
		}
		ex->header_done = true;
	}
	for (size_t i = 0; i < a->n_team; i++)
		team = kam_arena_printf(&cli->arena, "%s%s%s", team, i ? " " : "", a->team[i]);
	if (!team)
		return cli_fail_nomem(cli);
	snprintf(id, sizeof(id), "%" PRId64, a->id);
	snprintf(version, sizeof(version), "%" PRId64, a->version);
	fmt_time_iso(a->created_at, created);
	fmt_time_iso(a->updated_at, updated);
	opt_cell(in->founded, founded, sizeof(founded));
	opt_cell(in->headcount, headcount, sizeof(headcount));
	opt_cell(in->revenue, revenue, sizeof(revenue));
	opt_cell(in->budget, budget, sizeof(budget));
	const char *cells[CSV_HEAD_N] = { id, a->name, kam_tier_str(a->tier), kam_stage_str(a->stage),
					  kam_strategy_str(a->strategy), a->owner, team, version, created, updated,
					  founded, headcount, in->business, revenue, budget, in->currency,
					  in->suppliers, in->notes };
	for (size_t i = 0; i < CSV_HEAD_N; i++)
		csv_put(stdout, cells[i], i + 1 == CSV_HEAD_N && json_array_size(ex->layer_keys) == 0);
	json_array_foreach(ex->layer_keys, k, v) {
		json_t *rows = json_object_get(layers, json_string_value(v));
		char *text = json_dumps(rows ? rows : json_array(), JSON_COMPACT | JSON_ENCODE_ANY);

		if (!text)
			return cli_fail_nomem(cli);
		csv_put(stdout, text, k + 1 == json_array_size(ex->layer_keys));
		free(text);
	}
	return KAM_EXIT_OK;
}

static int export_one(struct cli *cli, struct exporter *ex, const struct kam_export_item *it)
{
	json_t *layers = json_loads(it->layers, 0, NULL), *o;
	const char *key;
	json_t *v;
	int rc = KAM_EXIT_OK;

	if (!layers || !json_is_object(layers)) {
		json_decref(layers);
		return cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL, NULL,
				"malformed response from %s: the layers of account %" PRId64 " are not a JSON object",
				cli->ep.key, it->account.id);
	}
	if (!ex->json) {
		rc = export_csv(cli, ex, it, layers);
		json_decref(layers);
		return rc;
	}
	/* As account show --json: the account, then one key per layer. */
	o = json_account(&it->account);
	if (o)
		json_object_foreach(layers, key, v)
			if (json_object_set(o, key, v) < 0) {
				json_decref(o);
				o = NULL;
				break;
			}
	json_decref(layers);
	if (!o || json_array_append_new(ex->all, o) < 0)
		return cli_fail_nomem(cli);
	return KAM_EXIT_OK;
}

int cmd_export(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct kam_request req = { .op = KAM_OP_EXPORT };
	struct kam_response resp;
	struct exporter ex = { .json = cli->json };
	bool show = progress_wanted();
	int64_t done = 0;
	int ch, rc;

	while ((ch = cli_opt(cli, argc, argv, opts, &rc)) != -1) {
		if (ch == CLI_OPT_STOP)
			return rc;
		if (strcmp(optarg, "json") == 0)
			ex.json = true;
		else if (strcmp(optarg, "csv") != 0)
			return cli_usage_error(cli, "invalid format '%s' (expected csv or json)", optarg);
		else if (cli->json)
			return cli_usage_error(cli, "--json and --format csv contradict each other");
	}
	if ((rc = cli_positional(cli, argc, argv, 0, 0)) != 0)
		return rc;
	if (ex.json && !(ex.all = json_array()))
		return cli_fail_nomem(cli);
	for (;;) {
		if ((rc = cli_call(cli, &req, &resp)) != 0)
			goto out;
		for (size_t i = 0; rc == 0 && i < resp.u.export_page.n; i++)
			rc = export_one(cli, &ex, &resp.u.export_page.items[i]);
		if (rc)
			goto out;
		done += (int64_t)resp.u.export_page.n;
		progress(show, "kam: exported %" PRId64 " of %" PRId64 " accounts", done, resp.u.export_page.total);
		int64_t next = resp.u.export_page.next_after_id;
		if (next == 0)
			break;
		if (next <= req.u.export_page.after_id) {
			rc = cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL, NULL,
				      "malformed response from %s: page does not advance", cli->ep.key);
			goto out;
		}
		req.u.export_page.export_id = resp.u.export_page.export_id;
		req.u.export_page.after_id = next;
	}
	progress(show, NULL);
	/* No accounts at all: the CSV still says what it would hold. */
	if (!ex.json && !ex.header_done)
		for (size_t i = 0; i < CSV_HEAD_N; i++)
			csv_put(stdout, csv_head[i], i + 1 == CSV_HEAD_N);
	if (ex.json) {
		rc = json_print(cli, ex.all);
		ex.all = NULL;
	}
out:
	progress(show && rc, NULL);
	json_decref(ex.all);
	json_decref(ex.layer_keys);
	return rc;
}

/* ---- import ---- */

enum col_kind { IMP_IGNORE = 0, IMP_NAME, IMP_TIER, IMP_OWNER, IMP_FIELD };

/* The account fields a spreadsheet may hold, as account set names them. */
static const char *const import_fields[] = {
	"founded", "headcount", "business", "revenue", "budget", "currency", "suppliers", "notes", "stage", "strategy",
};
/* What an export writes that an import does not take (ids and times are the server's). */
static const char *const import_ignored[] = { "id", "team", "version", "created_at", "updated_at" };

struct importer {
	const char *path;
	size_t ncols;
	enum col_kind kind[CSV_MAX_CELLS];
	const char *name[CSV_MAX_CELLS];       /* canonical, lower case */
};

static bool word_in(const char *w, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(w, set[i]) == 0)
			return true;
	return false;
}

static int import_fail(struct cli *cli, const struct importer *im, unsigned line, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int import_fail(struct cli *cli, const struct importer *im, unsigned line, size_t col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (col)
		return cli_fail(cli, KAM_EXIT_INVALID, kam_status_str(KAM_STATUS_INVALID_ARGUMENT), NULL,
				"%s: line %u, column %zu (%s): %s; nothing was imported", im->path, line, col,
				im->name[col - 1], msg);
	return cli_fail(cli, KAM_EXIT_INVALID, kam_status_str(KAM_STATUS_INVALID_ARGUMENT), NULL,
			"%s: line %u: %s; nothing was imported", im->path, line, msg);
}

static int read_header(struct cli *cli, struct importer *im, const struct csv_record *rec)
{
	bool have_name = false, have_tier = false;

	im->ncols = rec->n;
	for (size_t i = 0; i < rec->n; i++) {
		char *w = rec->cells[i];

		for (char *p = w; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		w[strcspn(w, "\r")] = '\0';
		im->name[i] = w;
		if (strcmp(w, "name") == 0)
			im->kind[i] = IMP_NAME, have_name = true;
		else if (strcmp(w, "tier") == 0)
			im->kind[i] = IMP_TIER, have_tier = true;
		else if (strcmp(w, "owner") == 0)
			im->kind[i] = IMP_OWNER;
		else if (word_in(w, import_fields, sizeof(import_fields) / sizeof(import_fields[0])))
			im->kind[i] = IMP_FIELD;
		else if (word_in(w, import_ignored, sizeof(import_ignored) / sizeof(import_ignored[0])) ||
			 strncmp(w, LAYER_PREFIX, strlen(LAYER_PREFIX)) == 0)
			im->kind[i] = IMP_IGNORE;
		else
			return import_fail(cli, im, rec->line, i + 1,
					   "not a column kam imports (name, tier, owner, founded, headcount, business, "
					   "revenue, budget, currency, suppliers, notes, stage, strategy)");
		for (size_t j = 0; j < i; j++)
			if (strcmp(im->name[j], w) == 0)
				return import_fail(cli, im, rec->line, i + 1, "the column is there twice");
	}
	if (!have_name || !have_tier)
		return import_fail(cli, im, rec->line, 0, "the first line must name the columns, name and tier among them");
	return KAM_EXIT_OK;
}

static int read_row(struct cli *cli, const struct importer *im, const struct csv_record *rec,
		    struct kam_import_row *row)
{
	struct kam_field *f = kam_arena_alloc(&cli->arena, im->ncols * sizeof(*f));
	enum kam_tier tier;

	if (!f)
		return cli_fail_nomem(cli);
	if (rec->n != im->ncols)
		return import_fail(cli, im, rec->line, 0, "%zu cells where the first line names %zu columns", rec->n,
				   im->ncols);
	*row = (struct kam_import_row){ .line = rec->line, .name = "", .owner = "", .fields = f };
	for (size_t i = 0; i < rec->n; i++) {
		const char *cell = rec->cells[i];

		switch (im->kind[i]) {
		case IMP_NAME:
			row->name = cell;
			break;
		case IMP_TIER:
			if (kam_tier_parse(cell, &tier) < 0)
				return import_fail(cli, im, rec->line, i + 1,
						   "'%s' is not a tier (strategic, top, important or ordinary)", cell);
			row->tier = tier;
			break;
		case IMP_OWNER:
			row->owner = cell;
			break;
		case IMP_FIELD:
			/* An empty cell says nothing: the field stays unknown. */
			if (*cell)
				f[row->n_fields++] = (struct kam_field){ im->name[i], cell };
			break;
		case IMP_IGNORE:
			break;
		}
	}
	if (!*row->name)
		return import_fail(cli, im, rec->line, 0, "the name is empty");
	return KAM_EXIT_OK;
}

/* A server refusal "line N: why" about a field, told as the file's line and column. */
static int import_refused(struct cli *cli, const struct importer *im, const struct kam_error *e)
{
	unsigned line;
	int used = 0;

	if (sscanf(e->message, "line %u: %n", &line, &used) == 1 && used > 0) {
		for (size_t i = 0; e->field[0] && i < im->ncols; i++)
			if (strcmp(im->name[i], e->field) == 0)
				return cli_fail(cli, kam_status_exit_code(e->code), kam_status_str(e->code), NULL,
						"%s: line %u, column %zu (%s): %s; nothing was imported", im->path, line,
						i + 1, im->name[i], e->message + used);
		return cli_fail(cli, kam_status_exit_code(e->code), kam_status_str(e->code), NULL,
				"%s: line %u: %s; nothing was imported", im->path, line, e->message + used);
	}
	/* Refused as a whole (who may import, which row may not be created): say nothing changed. */
	if (e->code == KAM_STATUS_PERMISSION_DENIED || e->code == KAM_STATUS_INVALID_ARGUMENT ||
	    e->code == KAM_STATUS_CONFLICT || e->code == KAM_STATUS_NOT_FOUND)
		return cli_fail(cli, kam_status_exit_code(e->code), kam_status_str(e->code), NULL,
				"%s; nothing was imported", e->message);
	return cli_fail_status(cli, e);
}

static int import_send(struct cli *cli, const struct importer *im, struct kam_request *req, bool show)
{
	struct kam_response resp;
	struct kam_buf enc;
	int rc;

	/* One request holds every row: it must fit one frame, or the import is not all-or-nothing. */
	size_t len;

	kam_buf_init(&enc);
	rc = msg_request_encode(req, &enc);
	len = enc.len;
	kam_buf_free(&enc);
	if (rc < 0)
		return cli_fail_nomem(cli);
	if (len > IMPORT_REQUEST_MAX)
		return cli_fail(cli, KAM_EXIT_INVALID, kam_status_str(KAM_STATUS_INVALID_ARGUMENT), NULL,
				"%s is too large to import at once (%zu bytes of accounts, at most %u); split it",
				im->path, len, IMPORT_REQUEST_MAX);
	progress(show, "kam: importing %zu accounts from %s ...", req->u.import.n_rows, im->path);
	rc = cli_send(cli, req, &resp);
	progress(show, NULL);
	if (rc != 0)
		return rc;
	if (resp.error.code != KAM_STATUS_OK)
		return import_refused(cli, im, &resp.error);
	if (cli->json) {
		json_t *o = json_object(), *ids = json_array();
		int bad = !o || !ids;

		for (size_t i = 0; !bad && i < resp.u.import.n_ids; i++)
			bad |= json_array_append_new(ids, json_integer(resp.u.import.ids[i])) < 0;
		bad |= jset(o, "imported", json_integer(resp.u.import.imported));
		bad |= jset(o, "ids", ids);
		return json_print(cli, jdone(o, bad));
	}
	printf("imported %u accounts from ", resp.u.import.imported);
	print_safe(stdout, im->path, false);
	if (resp.u.import.n_ids)
		printf(" (ids %" PRId64 " to %" PRId64 ")", resp.u.import.ids[0], resp.u.import.ids[resp.u.import.n_ids - 1]);
	putchar('\n');
	return KAM_EXIT_OK;
}

int cmd_import(struct cli *cli, int argc, char **argv)
{
	struct kam_request req = { .op = KAM_OP_IMPORT };
	struct importer im = { 0 };
	struct kam_import_row *rows;
	struct csv_reader r;
	struct csv_record rec;
	struct kam_buf file;
	bool show = isatty(STDERR_FILENO);
	char why[256];
	size_t n = 0;
	int rc, got;

	if (!cli_args_plain(cli, argc, argv, 1, 1, &rc))
		return rc;
	im.path = argv[optind];
	/* Not logged in: say so before reading a large file. */
	if ((rc = cli_need_session(cli)) != 0)
		return rc;
	kam_buf_init(&file);
	if ((rc = cli_read_file(cli, im.path, IMPORT_FILE_MAX, &file)) != 0)
		goto out;
	rows = kam_arena_alloc(&cli->arena, KAM_MAX_REPEATED * sizeof(*rows));
	if (!rows) {
		rc = cli_fail_nomem(cli);
		goto out;
	}
	csv_init(&r, (const char *)file.data, file.len - 1);
	got = csv_next(&r, &cli->arena, &rec, why, sizeof(why));
	if (got <= 0) {
		rc = got < 0 ? import_fail(cli, &im, r.line, 0, "%s", why)
			     : import_fail(cli, &im, 1, 0, "the file is empty");
		goto out;
	}
	if ((rc = read_header(cli, &im, &rec)) != 0)
		goto out;
	while ((got = csv_next(&r, &cli->arena, &rec, why, sizeof(why))) > 0) {
		if (n == KAM_MAX_REPEATED) {
			rc = import_fail(cli, &im, rec.line, 0, "more than %d accounts in one file; split it",
					 KAM_MAX_REPEATED);
			goto out;
		}
		if ((rc = read_row(cli, &im, &rec, &rows[n])) != 0)
			goto out;
		for (size_t j = 0; j < n; j++)
			if (strcmp(rows[j].name, rows[n].name) == 0) {
				rc = import_fail(cli, &im, rec.line, 0, "%s is on line %u already", rows[n].name, rows[j].line);
				goto out;
			}
		if (++n % PROGRESS_EVERY == 0)
			progress(show, "kam: reading %s: line %u", im.path, rec.line);
	}
	progress(show, NULL);
	if (got < 0) {
		/* why already names the line and column. */
		rc = cli_fail(cli, KAM_EXIT_INVALID, kam_status_str(KAM_STATUS_INVALID_ARGUMENT), NULL,
			      "%s: %s; nothing was imported", im.path, why);
		goto out;
	}
	if (n == 0) {
		rc = import_fail(cli, &im, r.line, 0, "no accounts below the first line");
		goto out;
	}
	req.u.import.rows = rows;
	req.u.import.n_rows = n;
	rc = import_send(cli, &im, &req, show);
out:
	kam_buf_free(&file);
	return rc;
}
