/*
 * kam login, logout, whoami: the session token's life on this machine. The
 * token is stored only after the server accepted the password, and forgotten
 * on logout even when the server no longer knows it. The password lives in
 * one stack buffer, wiped as soon as the request is sent.
 */
#include <string.h>

#include <jansson.h>

#include "client.h"

/* "Password for USER: " with the longest user name. */
#define PROMPT_MAX (KAM_MAX_USERNAME + 32)

/* The answer of login and whoami: one line, or {"user": ..., "expires_at": ...}. */
static int print_session(struct cli *cli, const char *lead, const struct kam_user *u, int64_t expires_at)
{
	char until[TIME_STR_MAX];

	if (cli->json) {
		json_t *doc = json_object(), *user = json_user(u);
		fmt_time_iso(expires_at, until);
		if (!doc || !user || json_object_set_new(doc, "user", user) < 0 ||
		    json_object_set_new(doc, "expires_at", json_string(until)) < 0) {
			json_decref(doc);
			return cli_fail_nomem(cli);
		}
		return json_print(cli, doc);
	}
	fmt_time_local(expires_at, until);
	fputs(lead, stdout);
	print_safe(stdout, u->username, false);
	printf(" (%s) until %s\n", kam_role_str(u->role), until);
	return KAM_EXIT_OK;
}

int cmd_login(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "password-stdin", no_argument, NULL, 'p' },
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct kam_request req = { .op = KAM_OP_LOGIN };
	struct kam_response resp;
	char pw[PASSWORD_BUF], prompt[PROMPT_MAX], path[STATE_PATH_MAX];
	bool from_stdin = false;
	int ch, rc, r;

	while ((ch = cli_opt(cli, argc, argv, opts, &rc)) != -1) {
		if (ch == CLI_OPT_STOP)
			return rc;
		if (ch == 'p')
			from_stdin = true;
	}
	if ((rc = cli_positional(cli, argc, argv, 1, 1)) != 0)
		return rc;
	req.u.login.username = argv[optind];
	snprintf(prompt, sizeof(prompt), "Password for %.*s: ", KAM_MAX_USERNAME, argv[optind]);
	if ((rc = prompt_password(cli, prompt, from_stdin, pw)) != 0)
		return rc;
	req.u.login.password = pw;
	rc = cli_call(cli, &req, &resp);
	cli_wipe(pw, sizeof(pw));
	if (rc != 0)
		return rc;

	r = state_token_put(cli->ep.key, resp.u.login.token);
	memcpy(cli->token, resp.u.login.token, sizeof(cli->token));
	cli_wipe(resp.u.login.token, sizeof(resp.u.login.token));
	cli->has_token = cli->token_loaded = true;
	if (r < 0)
		return cli_fail(cli, KAM_EXIT_LOCAL, CLI_CODE_LOCAL, NULL, "cannot save the session in %s: %s",
				state_path_shown(STATE_SESSIONS, path, sizeof(path)), kam_strerror(r));
	return print_session(cli, "logged in as ", &resp.u.login.user, resp.u.login.expires_at);
}

int cmd_logout(struct cli *cli, int argc, char **argv)
{
	struct kam_request req = { .op = KAM_OP_LOGOUT };
	struct kam_response resp;
	char path[STATE_PATH_MAX];
	bool has;
	int rc, r;

	if (!cli_args_plain(cli, argc, argv, 0, 0, &rc))
		return rc;
	if ((rc = cli_token(cli, &has)) != 0)
		return rc;
	if (has) {
		/* On a network failure the token stays, so the logout can be retried. */
		if ((rc = cli_send(cli, &req, &resp)) != 0)
			return rc;
		/* Unauthenticated means the session is already gone: cli_send forgot it. */
		if (resp.error.code != KAM_STATUS_OK && resp.error.code != KAM_STATUS_UNAUTHENTICATED)
			return cli_fail_status(cli, &resp.error);
		if ((r = state_token_forget(cli->ep.key)) < 0)
			return cli_fail(cli, KAM_EXIT_LOCAL, CLI_CODE_LOCAL, NULL, "cannot update %s: %s",
					state_path_shown(STATE_SESSIONS, path, sizeof(path)), kam_strerror(r));
	}
	if (cli->json) {
		json_t *doc = json_pack("{s:s,s:b}", "server", cli->ep.key, "logged_out", has);
		return json_print(cli, doc);
	}
	printf(has ? "logged out of %s\n" : "not logged in to %s\n", cli->ep.key);
	return KAM_EXIT_OK;
}

int cmd_whoami(struct cli *cli, int argc, char **argv)
{
	struct kam_request req = { .op = KAM_OP_WHOAMI };
	struct kam_response resp;
	char lead[ENDPOINT_KEY_MAX + 32];
	int rc;

	if (!cli_args_plain(cli, argc, argv, 0, 0, &rc))
		return rc;
	if ((rc = cli_call(cli, &req, &resp)) != 0)
		return rc;
	snprintf(lead, sizeof(lead), "logged in to %s as ", cli->ep.key);
	return print_session(cli, lead, &resp.u.whoami.user, resp.u.whoami.expires_at);
}
