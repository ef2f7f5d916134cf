/*
 * kam user deactivate USER --handover-to USER and kam user handover USER --to
 * USER [--account A]...: one request each; the server checks who may and
 * whether the colleague is senior enough, and moves everything or nothing.
 * Here only the options are parsed and the outcome shown.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client.h"

static json_t *json_names(const char *const *names, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, jstr(names[i])) < 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

static int print_handover(struct cli *cli, const struct kam_handover *h, bool deactivated)
{
	if (cli->json) {
		json_t *o = json_object();
		int bad = !o;

		if (bad)
			return cli_fail_nomem(cli);
		bad |= jset(o, "user", json_user(&h->user));
		bad |= jset_str(o, "to", h->to);
		bad |= jset(o, "accounts", json_names(h->accounts, h->n_accounts));
		bad |= jset(o, "projects", json_integer(h->projects));
		bad |= jset(o, "sessions_revoked", json_integer(h->sessions_revoked));
		bad |= jset(o, "reports", json_names(h->reports, h->n_reports));
		return json_print(cli, jdone(o, bad));
	}
	if (deactivated) {
		fputs("deactivated ", stdout);
		print_safe(stdout, h->user.username, false);
		printf(" (%u session%s revoked)\n", h->sessions_revoked, h->sessions_revoked == 1 ? "" : "s");
	}
	printf("handed %zu account%s and %u open project%s from ", h->n_accounts, h->n_accounts == 1 ? "" : "s",
	       h->projects, h->projects == 1 ? "" : "s");
	print_safe(stdout, h->user.username, false);
	fputs(" to ", stdout);
	print_safe(stdout, h->to, false);
	fputs(h->n_accounts ? ":\n" : "\n", stdout);
	for (size_t i = 0; i < h->n_accounts; i++) {
		fputs("  ", stdout);
		print_safe(stdout, h->accounts[i], false);
		fputc('\n', stdout);
	}
	if (h->n_reports) {
		fputs("now reporting to ", stdout);
		print_safe(stdout, h->to, false);
		fputs(":", stdout);
		for (size_t i = 0; i < h->n_reports; i++) {
			fputc(' ', stdout);
			print_safe(stdout, h->reports[i], false);
		}
		fputc('\n', stdout);
	}
	return KAM_EXIT_OK;
}

int cmd_user_deactivate(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "handover-to", required_argument, NULL, 't' },
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct kam_request req = { .op = KAM_OP_USER_DEACTIVATE };
	struct kam_response resp;
	const char *to = NULL;
	int ch, rc;

	while ((ch = cli_opt(cli, argc, argv, opts, &rc)) != -1) {
		if (ch == CLI_OPT_STOP)
			return rc;
		to = optarg;
	}
	if ((rc = cli_positional(cli, argc, argv, 1, 1)) != 0)
		return rc;
	/* Nothing may be left without an owner: the colleague is not optional. */
	if (!to)
		return cli_usage_error(cli, "--handover-to is required: name the colleague who takes over");
	req.u.handover.username = argv[optind];
	req.u.handover.to = to;
	if ((rc = cli_call(cli, &req, &resp)) != 0)
		return rc;
	return print_handover(cli, &resp.u.handover, true);
}

int cmd_user_handover(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "account", required_argument, NULL, 'a' },
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct kam_request req = { .op = KAM_OP_USER_HANDOVER };
	struct kam_response resp;
	const char **accounts;
	size_t n = 0;
	const char *to = NULL;
	int ch, rc;

	accounts = kam_arena_alloc(&cli->arena, (size_t)argc * sizeof(*accounts));
	if (!accounts)
		return cli_fail_nomem(cli);
	while ((ch = cli_opt(cli, argc, argv, opts, &rc)) != -1) {
		switch (ch) {
		case CLI_OPT_STOP: return rc;
		case 't': to = optarg; break;
		case 'a':
			if (n == KAM_MAX_REPEATED)
				return cli_usage_error(cli, "at most %d --account options", KAM_MAX_REPEATED);
			accounts[n++] = optarg;
			break;
		}
	}
	if ((rc = cli_positional(cli, argc, argv, 1, 1)) != 0)
		return rc;
	if (!to)
		return cli_usage_error(cli, "--to is required: name the colleague who takes over");
	req.u.handover.username = argv[optind];
	req.u.handover.to = to;
	req.u.handover.accounts = accounts;
	req.u.handover.n_accounts = n;
	if ((rc = cli_call(cli, &req, &resp)) != 0)
		return rc;
	return print_handover(cli, &resp.u.handover, false);
}
