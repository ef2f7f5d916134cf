/*
 * kam audit log, verify, alerts and clear. The server decides what each
 * caller may see; here options are parsed (times into unix seconds) and the
 * answers shown as tables or --json. Nothing is written to disk.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "client.h"

/* A table cell shows this much of an entry's detail; --json shows all of it. */
#define DETAIL_CELL_MAX 80

static void fmt_seconds(int64_t unix_s, char out[TIME_STR_MAX])
{
	time_t t = (time_t)unix_s;
	struct tm tm;

	if (!localtime_r(&t, &tm) || strftime(out, TIME_STR_MAX, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, TIME_STR_MAX, "%lld", (long long)unix_s);
}

/* ---- audit log ---- */

struct entry_vec {
	struct kam_audit_entry *v;
	size_t n, cap;
};

static int entries_append(struct entry_vec *vec, const struct kam_audit_entry *e, size_t n)
{
	if (vec->n + n > vec->cap) {
		size_t cap = vec->cap ? vec->cap : 256;
		struct kam_audit_entry *v;

		while (cap < vec->n + n)
			cap *= 2;
		if (!(v = realloc(vec->v, cap * sizeof(*v))))
			return KAM_ENOMEM;
		vec->v = v;
		vec->cap = cap;
	}
	if (n)
		memcpy(vec->v + vec->n, e, n * sizeof(*e));
	vec->n += n;
	return 0;
}

static json_t *json_entry(const void *p)
{
	const struct kam_audit_entry *e = p;
	json_t *o = json_object(), *detail = NULL;
	int bad = !o;

	if (bad)
		return NULL;
	bad |= jset(o, "id", json_integer(e->id));
	bad |= jset_time(o, "at", e->at);
	bad |= jset_str(o, "user", e->username);
	bad |= jset_str(o, "role", kam_role_str(e->role));
	bad |= jset_str(o, "action", e->action);
	if (e->account_id)
		bad |= jset(o, "account_id", json_integer(e->account_id));
	bad |= jset_str(o, "account", e->account);
	bad |= jset_str(o, "result", e->result);
	bad |= jset_str(o, "client_addr", e->client_addr);
	/* The detail is the server's JSON object; shown as one, not as a string. */
	if (e->detail[0] && !(detail = json_loads(e->detail, 0, NULL)))
		detail = jstr(e->detail);
	if (detail)
		bad |= jset(o, "detail", detail);
	return jdone(o, bad);
}

static int print_entries(struct cli *cli, const struct entry_vec *vec)
{
	static const char *const head[] = { "ID", "TIME", "USER", "ACTION", "ACCOUNT", "RESULT", "DETAIL" };
	static const bool right[] = { true, false, false, false, false, false, false };
	struct table t;

	if (cli->json)
		return json_print(cli, json_list(vec->v, vec->n, sizeof(*vec->v), json_entry));
	table_init(&t, 7, head, right);
	for (size_t i = 0; i < vec->n; i++) {
		const struct kam_audit_entry *e = &vec->v[i];
		char id[24], at[TIME_STR_MAX], account[KAM_MAX_NAME + 24], detail[DETAIL_CELL_MAX + 4];

		snprintf(id, sizeof(id), "%" PRId64, e->id);
		fmt_seconds(e->at, at);
		if (e->account[0])
			snprintf(account, sizeof(account), "%s", e->account);
		else
			snprintf(account, sizeof(account), e->account_id ? "%" PRId64 : "-", e->account_id);
		snprintf(detail, sizeof(detail), "%.*s%s", DETAIL_CELL_MAX, e->detail[0] ? e->detail : "-",
			 strlen(e->detail) > DETAIL_CELL_MAX ? "..." : "");
		const char *row[] = { id, at, or_dash(e->username), e->action, account, e->result, detail };
		if (table_add(&t, row) < 0) {
			table_free(&t);
			return cli_fail_nomem(cli);
		}
	}
	table_print(&t, stdout);
	table_free(&t);
	return KAM_EXIT_OK;
}

static int time_option(struct cli *cli, const char *what, const char *arg, int64_t *out)
{
	if (cli_time_parse(arg, (int64_t)time(NULL), out) == 0)
		return KAM_EXIT_OK;
	return cli_usage_error(cli, "invalid time for %s: '%s' (expected e.g. 2024-05-01, '2024-05-01 14:30', "
			       "2024-05-01T14:30:00Z, @1714567800, or an age such as 15m, 2h, 7d)", what, arg);
}

int cmd_audit_log(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "account", required_argument, NULL, 'a' },
		{ "user", required_argument, NULL, 'u' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 't' },
		{ "action", required_argument, NULL, 'x' },
		{ "limit", required_argument, NULL, 'l' },
		{ "before", required_argument, NULL, 'b' },
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct kam_request req = { .op = KAM_OP_AUDIT_LOG };
	struct kam_audit_filter *f = &req.u.audit_log;
	struct kam_response resp;
	struct entry_vec vec = { 0 };
	int64_t limit = 0, before = 0;
	int ch, rc;

	f->account = f->username = f->action = "";
	while ((ch = cli_opt(cli, argc, argv, opts, &rc)) != -1) {
		switch (ch) {
		case CLI_OPT_STOP: return rc;
		case 'a': f->account = optarg; break;
		case 'u': f->username = optarg; break;
		case 'x': f->action = optarg; break;
		case 's':
			if ((rc = time_option(cli, "--since", optarg, &f->since)) != 0)
				return rc;
			break;
		case 't':
			if ((rc = time_option(cli, "--until", optarg, &f->until)) != 0)
				return rc;
			break;
		case 'l':
			if ((rc = cli_int_arg(cli, "--limit", optarg, 1, KAM_LIST_MAX, &limit)) != 0)
				return rc;
			break;
		case 'b':
			if ((rc = cli_int_arg(cli, "--before", optarg, 1, INT64_MAX, &before)) != 0)
				return rc;
			break;
		}
	}
	if ((rc = cli_positional(cli, argc, argv, 0, 0)) != 0)
		return rc;
	if (f->since && f->until && f->until <= f->since)
		return cli_usage_error(cli, "--until must be later than --since");
	/* Without --limit, every page (newest first), the largest pages allowed. */
	f->limit = (uint32_t)(limit ? limit : KAM_LIST_MAX);
	for (;;) {
		f->before_id = before;
		if ((rc = cli_call(cli, &req, &resp)) != 0)
			goto out;
		if (entries_append(&vec, resp.u.audit_log.entries, resp.u.audit_log.n) < 0) {
			rc = cli_fail_nomem(cli);
			goto out;
		}
		int64_t next = resp.u.audit_log.next_before_id;
		if (limit || next == 0)
			break;
		/* Keyset paging only moves back in time; anything else would loop forever. */
		if (before && next >= before) {
			rc = cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL, NULL,
				      "malformed response from %s: page does not advance", cli->ep.key);
			goto out;
		}
		before = next;
	}
	rc = print_entries(cli, &vec);
out:
	free(vec.v);
	return rc;
}

/* ---- audit verify ---- */

static int print_verdict(struct cli *cli, const struct kam_audit_verify *v)
{
	char at[TIME_STR_MAX];

	if (!v->intact)
		return cli_fail(cli, KAM_EXIT_INVALID, "tampered", "the audit trail was changed outside kamd; "
				"keep the database as it is and investigate",
				"audit chain BROKEN after %" PRId64 " intact entries: %s", v->entries, v->problem);
	if (cli->json) {
		json_t *o = json_object();
		int bad = !o;

		if (bad)
			return cli_fail_nomem(cli);
		bad |= jset(o, "intact", json_true());
		bad |= jset(o, "entries", json_integer(v->entries));
		bad |= jset(o, "partitions", json_integer(v->partitions));
		if (v->checkpoint_used) {
			json_t *cp = json_object();

			bad |= !cp;
			if (cp) {
				bad |= jset_time(cp, "at", v->checkpoint_at);
				bad |= jset(cp, "entries", json_integer(v->checkpoint_entries));
				bad |= jset_str(cp, "key", v->checkpoint_key);
			}
			bad |= jset(o, "checkpoint", cp);
		}
		return json_print(cli, jdone(o, bad));
	}
	printf("audit chain intact: %" PRId64 " entries in %u partitions\n", v->entries, v->partitions);
	if (!v->checkpoint_used) {
		puts("no signed checkpoint to compare: a cut-off tail could not be told from a short one");
		return KAM_EXIT_OK;
	}
	fmt_seconds(v->checkpoint_at, at);
	printf("matches the signed checkpoint of %s (%" PRId64 " entries, key %s)\n", at, v->checkpoint_entries,
	       v->checkpoint_key);
	return KAM_EXIT_OK;
}

int cmd_audit_verify(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "checkpoint", required_argument, NULL, 'c' },
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct kam_request req = { .op = KAM_OP_AUDIT_VERIFY };
	struct kam_response resp;
	const char *path = NULL;
	struct kam_buf text;
	int ch, rc;

	while ((ch = cli_opt(cli, argc, argv, opts, &rc)) != -1) {
		if (ch == CLI_OPT_STOP)
			return rc;
		path = optarg;
	}
	if ((rc = cli_positional(cli, argc, argv, 0, 0)) != 0)
		return rc;
	kam_buf_init(&text);
	req.u.audit_verify.checkpoint = "";
	if (path) {
		if ((rc = cli_read_file(cli, path, KAM_MAX_CHECKPOINT, &text)) != 0)
			goto out;
		req.u.audit_verify.checkpoint = (const char *)text.data;
	}
	if ((rc = cli_call(cli, &req, &resp)) == 0)
		rc = print_verdict(cli, &resp.u.audit_verify);
out:
	kam_buf_free(&text);
	return rc;
}

/* ---- audit alerts and clear ---- */

static json_t *json_alert(const void *p)
{
	const struct kam_alert *al = p;
	json_t *o = json_object();
	int bad = !o;

	if (bad)
		return NULL;
	bad |= jset_str(o, "user", al->username);
	bad |= jset_str(o, "reports_to", al->reports_to);
	bad |= jset_time(o, "flagged_at", al->flagged_at);
	bad |= jset(o, "reads", json_integer(al->reads));
	if (al->limit)
		bad |= jset(o, "limit", json_integer(al->limit));
	if (al->window_s)
		bad |= jset(o, "window_s", json_integer(al->window_s));
	return jdone(o, bad);
}

int cmd_audit_alerts(struct cli *cli, int argc, char **argv)
{
	static const char *const head[] = { "USER", "REPORTS_TO", "FLAGGED", "READS", "LIMIT", "WINDOW" };
	static const bool right[] = { false, false, false, true, true, true };
	struct kam_request req = { .op = KAM_OP_AUDIT_ALERTS };
	struct kam_response resp;
	struct table t;
	int rc;

	if (!cli_args_plain(cli, argc, argv, 0, 0, &rc))
		return rc;
	if ((rc = cli_call(cli, &req, &resp)) != 0)
		return rc;
	if (cli->json)
		return json_print(cli, json_list(resp.u.audit_alerts.alerts, resp.u.audit_alerts.n,
						 sizeof(struct kam_alert), json_alert));
	table_init(&t, 6, head, right);
	for (size_t i = 0; i < resp.u.audit_alerts.n; i++) {
		const struct kam_alert *al = &resp.u.audit_alerts.alerts[i];
		char at[TIME_STR_MAX], reads[16], limit[16], window[24];

		fmt_seconds(al->flagged_at, at);
		snprintf(reads, sizeof(reads), "%u", al->reads);
		snprintf(limit, sizeof(limit), "%u", al->limit);
		snprintf(window, sizeof(window), "%u s", al->window_s);
		const char *row[] = { al->username, or_dash(al->reports_to), at, reads, limit, window };
		if (table_add(&t, row) < 0) {
			table_free(&t);
			return cli_fail_nomem(cli);
		}
	}
	table_print(&t, stdout);
	table_free(&t);
	return KAM_EXIT_OK;
}

int cmd_audit_clear(struct cli *cli, int argc, char **argv)
{
	struct kam_request req = { .op = KAM_OP_AUDIT_CLEAR };
	struct kam_response resp;
	int rc;

	if (!cli_args_plain(cli, argc, argv, 1, 1, &rc))
		return rc;
	req.u.audit_clear.username = argv[optind];
	if ((rc = cli_call(cli, &req, &resp)) != 0)
		return rc;
	if (cli->json)
		return json_print(cli, json_alert(&resp.u.alert));
	fputs("cleared the bulk-read flag of ", stdout);
	print_safe(stdout, resp.u.alert.username, false);
	printf(" (%u distinct accounts read); their reads are counted afresh\n", resp.u.alert.reads);
	return KAM_EXIT_OK;
}
