/*
 * kam user passwd, user unlock (issue 6). Passwords come from the terminal
 * without echo, or from stdin with --password-stdin, never from argv, and
 * are wiped as soon as the request is sent. The server decides who may set
 * whose password and who may unlock whom.
 */
#include <string.h>

#include <jansson.h>

#include "client.h"

/* "New password for USER: " with the longest user name. */
#define PROMPT_MAX (KAM_MAX_USERNAME + 32)

/* "password ... ; N sessions ended" or its JSON. */
static int print_passwd(struct cli *cli, const struct kam_response *resp, bool own)
{
	const struct kam_user *u = &resp->u.user_passwd.user;
	unsigned n = resp->u.user_passwd.sessions_revoked;

	if (cli->json) {
		json_t *doc = json_object(), *user = json_user(u);

		if (!doc || !user || json_object_set_new(doc, "user", user) < 0 ||
		    json_object_set_new(doc, "sessions_revoked", json_integer(n)) < 0) {
			json_decref(doc);
			return cli_fail_nomem(cli);
		}
		return json_print(cli, doc);
	}
	if (own) {
		printf("password changed; %u other session%s ended\n", n, n == 1 ? "" : "s");
		return KAM_EXIT_OK;
	}
	fputs("password of ", stdout);
	print_safe(stdout, u->username, false);
	printf(" set; %u session%s ended\n", n, n == 1 ? "" : "s");
	return KAM_EXIT_OK;
}

int cmd_user_passwd(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "password-stdin", no_argument, NULL, 'p' },
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct kam_request req = { .op = KAM_OP_USER_PASSWD };
	struct kam_response resp;
	char old[PASSWORD_BUF], pw[PASSWORD_BUF], prompt[PROMPT_MAX];
	bool from_stdin = false, own;
	int ch, rc;

	while ((ch = cli_opt(cli, argc, argv, opts, &rc)) != -1) {
		if (ch == CLI_OPT_STOP)
			return rc;
		if (ch == 'p')
			from_stdin = true;
	}
	if ((rc = cli_positional(cli, argc, argv, 0, 1)) != 0)
		return rc;
	own = optind >= argc;
	req.u.user_passwd.username = own ? "" : argv[optind];
	req.u.user_passwd.old_password = "";
	/* Not logged in: say so before asking for passwords. */
	if ((rc = cli_need_session(cli)) != 0)
		return rc;
	if (own) {
		if ((rc = prompt_password(cli, "Current password: ", from_stdin, old)) != 0)
			return rc;
		req.u.user_passwd.old_password = old;
		snprintf(prompt, sizeof(prompt), "New password: ");
	} else {
		snprintf(prompt, sizeof(prompt), "New password for %.*s: ", KAM_MAX_USERNAME, argv[optind]);
	}
	rc = prompt_new_password(cli, prompt, from_stdin, pw);
	if (rc == 0) {
		req.u.user_passwd.new_password = pw;
		rc = cli_call(cli, &req, &resp);
	}
	cli_wipe(pw, sizeof(pw));
	if (own)
		cli_wipe(old, sizeof(old));
	if (rc != 0)
		return rc;
	return print_passwd(cli, &resp, own);
}

int cmd_user_unlock(struct cli *cli, int argc, char **argv)
{
	struct kam_request req = { .op = KAM_OP_USER_UNLOCK };
	struct kam_response resp;
	char until[TIME_STR_MAX];
	int rc;

	if (!cli_args_plain(cli, argc, argv, 1, 1, &rc))
		return rc;
	req.u.user_unlock.username = argv[optind];
	if ((rc = cli_call(cli, &req, &resp)) != 0)
		return rc;

	const struct kam_user *u = &resp.u.user_unlock.user;
	unsigned failures = resp.u.user_unlock.failures;
	int64_t locked = resp.u.user_unlock.locked_until;

	if (cli->json) {
		json_t *doc = json_object(), *user = json_user(u);

		if (locked)
			fmt_time_iso(locked, until);
		if (!doc || !user || json_object_set_new(doc, "user", user) < 0 ||
		    json_object_set_new(doc, "failures", json_integer(failures)) < 0 ||
		    json_object_set_new(doc, "locked_until", locked ? json_string(until) : json_null()) < 0) {
			json_decref(doc);
			return cli_fail_nomem(cli);
		}
		return json_print(cli, doc);
	}
	fputs("unlocked ", stdout);
	print_safe(stdout, u->username, false);
	if (locked) {
		fmt_time_local(locked, until);
		printf(" (was locked until %s after %u failed logins)\n", until, failures);
	} else {
		printf(" (%u failed login%s forgotten)\n", failures, failures == 1 ? "" : "s");
	}
	return KAM_EXIT_OK;
}
