/*
 * kam user add, user list. The server decides who may do this (the GM);
 * here the role keyword is checked so a typo fails before a password is
 * asked for. A new user's password never comes from the command line.
 */
#include <string.h>

#include <jansson.h>

#include "client.h"

/* "Password for new user USER: " with the longest user name. */
#define PROMPT_MAX (KAM_MAX_USERNAME + 40)

int prompt_new_password(struct cli *cli, const char *prompt, bool from_stdin, char pw[PASSWORD_BUF])
{
	char again[PASSWORD_BUF];
	int rc;

	if ((rc = prompt_password(cli, prompt, from_stdin, pw)) != 0 || from_stdin)
		return rc;
	if ((rc = prompt_password(cli, "Repeat the password: ", false, again)) != 0) {
		cli_wipe(pw, PASSWORD_BUF);
		return rc;
	}
	if (strcmp(pw, again) != 0) {
		cli_wipe(pw, PASSWORD_BUF);
		rc = cli_fail(cli, KAM_EXIT_INVALID, kam_status_str(KAM_STATUS_INVALID_ARGUMENT), NULL,
			      "the passwords do not match");
	}
	cli_wipe(again, sizeof(again));
	return rc;
}

int cmd_user_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "reports-to", required_argument, NULL, 'm' },
		{ "password-stdin", no_argument, NULL, 'p' },
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct kam_request req = { .op = KAM_OP_USER_ADD };
	struct kam_response resp;
	const char *role = NULL;
	char pw[PASSWORD_BUF], prompt[PROMPT_MAX];
	bool from_stdin = false;
	int ch, rc, v;

	req.u.user_add.reports_to = "";
	while ((ch = cli_opt(cli, argc, argv, opts, &rc)) != -1) {
		switch (ch) {
		case CLI_OPT_STOP: return rc;
		case 'r': role = optarg; break;
		case 'm': req.u.user_add.reports_to = optarg; break;
		case 'p': from_stdin = true; break;
		}
	}
	if ((rc = cli_positional(cli, argc, argv, 1, 1)) != 0)
		return rc;
	if (!role)
		return cli_usage_error(cli, "--role is required");
	if ((rc = cli_keyword(cli, &kw_role, role, &v)) != 0)
		return rc;
	req.u.user_add.role = (enum kam_role)v;
	req.u.user_add.username = argv[optind];
	/* Not logged in: say so before asking for a password twice. */
	if ((rc = cli_need_session(cli)) != 0)
		return rc;
	snprintf(prompt, sizeof(prompt), "Password for new user %.*s: ", KAM_MAX_USERNAME, argv[optind]);
	if ((rc = prompt_new_password(cli, prompt, from_stdin, pw)) != 0)
		return rc;
	req.u.user_add.password = pw;
	rc = cli_call(cli, &req, &resp);
	cli_wipe(pw, sizeof(pw));
	if (rc != 0)
		return rc;

	const struct kam_user *u = &resp.u.user;
	if (cli->json)
		return json_print(cli, json_user(u));
	fputs("created user ", stdout);
	print_safe(stdout, u->username, false);
	printf(" (%s", kam_role_str(u->role));
	if (u->reports_to && u->reports_to[0]) {
		fputs(", reports to ", stdout);
		print_safe(stdout, u->reports_to, false);
	}
	puts(")");
	return KAM_EXIT_OK;
}

int cmd_user_list(struct cli *cli, int argc, char **argv)
{
	static const char *const head[] = { "USERNAME", "ROLE", "REPORTS_TO", "ACTIVE", "CREATED" };
	struct kam_request req = { .op = KAM_OP_USER_LIST };
	struct kam_response resp;
	struct table t;
	int rc;

	if (!cli_args_plain(cli, argc, argv, 0, 0, &rc))
		return rc;
	if ((rc = cli_call(cli, &req, &resp)) != 0)
		return rc;

	if (cli->json)
		return json_print(cli, json_user_list(resp.u.user_list.users, resp.u.user_list.n));
	table_init(&t, 5, head, NULL);
	for (size_t i = 0; i < resp.u.user_list.n; i++) {
		const struct kam_user *u = &resp.u.user_list.users[i];
		char created[TIME_STR_MAX];
		fmt_time_local(u->created_at, created);
		const char *row[] = { u->username, kam_role_str(u->role),
				      u->reports_to && u->reports_to[0] ? u->reports_to : "-",
				      u->active ? "yes" : "no", created };
		if (table_add(&t, row) < 0) {
			table_free(&t);
			return cli_fail_nomem(cli);
		}
	}
	table_print(&t, stdout);
	table_free(&t);
	return KAM_EXIT_OK;
}
