/*
 * Parsing one subcommand's arguments: getopt_long with --help built in and
 * getopt's own messages replaced by ours, positional counts, numbers and
 * keywords (checked here so a typo fails fast with the valid words listed).
 * Every usage error is one "kam: error:" line plus a hint to --help; exit 2.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

/* Room for "strategic, top, important or ordinary" and the like. */
#define KW_LIST_MAX 256

int cli_usage_error(struct cli *cli, const char *fmt, ...)
{
	char msg[512], hint[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cli->cmd_name)
		snprintf(hint, sizeof(hint), "run 'kam %s --help'", cli->cmd_name);
	else
		snprintf(hint, sizeof(hint), "run 'kam --help'");
	return cli_fail(cli, KAM_EXIT_USAGE, CLI_CODE_USAGE, hint, "%s", msg);
}

void cli_print_help(const struct cli *cli)
{
	printf("usage: kam %s\n\n%s\n\n", cli->cmd->synopsis, cli->cmd->summary);
	if (cli->cmd->help[0])
		printf("%s\n", cli->cmd->help);
	printf("Global options (--server, --ca, --json, ...) go before the command: see 'kam --help'.\n");
}

int cli_opt(struct cli *cli, int argc, char **argv, const struct option *lo, int *exit)
{
	int idx = 0;

	opterr = 0;   /* our messages, not getopt's */
	int ch = getopt_long(argc, argv, ":h", lo, &idx);
	switch (ch) {
	case 'h':
		cli_print_help(cli);
		*exit = KAM_EXIT_OK;
		return CLI_OPT_STOP;
	case '?':
		if (optopt)
			*exit = cli_usage_error(cli, "unknown option '-%c'", optopt);
		else
			*exit = cli_usage_error(cli, "unknown option '%s'", argv[optind - 1]);
		return CLI_OPT_STOP;
	case ':':
		*exit = cli_usage_error(cli, "option '%s' needs a value", argv[optind - 1]);
		return CLI_OPT_STOP;
	default:
		return ch;
	}
}

int cli_positional(struct cli *cli, int argc, char **argv, int min, int max)
{
	int n = argc - optind;

	if (n < min)
		return cli_usage_error(cli, "missing argument; usage: kam %s", cli->cmd->synopsis);
	if (n > max)
		return cli_usage_error(cli, "unexpected argument '%s'", argv[optind + max]);
	return KAM_EXIT_OK;
}

bool cli_args_plain(struct cli *cli, int argc, char **argv, int min, int max, int *exit)
{
	static const struct option opts[] = { CLI_OPT_HELP, { NULL, 0, NULL, 0 } };
	int ch;

	/* With only --help known, any option that comes back is a stop. */
	while ((ch = cli_opt(cli, argc, argv, opts, exit)) != -1)
		if (ch == CLI_OPT_STOP)
			return false;
	*exit = cli_positional(cli, argc, argv, min, max);
	return *exit == KAM_EXIT_OK;
}

int cli_int_arg(struct cli *cli, const char *what, const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	/* strtoll skips blanks and takes a '+'; a number here is digits and maybe a '-'. */
	if (s[0] == '\0' || end == s || *end != '\0' || errno == ERANGE || v < min || v > max ||
	    strspn(s, "-0123456789") != strlen(s))
		return cli_usage_error(cli, "invalid value for %s: '%s' (expected a whole number from %lld to %lld)",
				       what, s, (long long)min, (long long)max);
	*out = v;
	return KAM_EXIT_OK;
}

/* ---- keywords, with model.c's tables as the one source of their spelling ---- */

static const char *role_name(int v) { return kam_role_str((enum kam_role)v); }
static const char *tier_name(int v) { return kam_tier_str((enum kam_tier)v); }
static const char *stage_name(int v) { return kam_stage_str((enum kam_stage)v); }

const struct kw_set kw_role = { "role", KAM_ROLE__COUNT, role_name };
const struct kw_set kw_tier = { "tier", KAM_TIER__COUNT, tier_name };
const struct kw_set kw_stage = { "stage", KAM_STAGE__COUNT, stage_name };

int cli_keyword(struct cli *cli, const struct kw_set *set, const char *arg, int *out)
{
	char list[KW_LIST_MAX];
	size_t used = 0;

	for (int v = 1; v < set->count; v++)
		if (strcmp(arg, set->name(v)) == 0) {
			*out = v;
			return KAM_EXIT_OK;
		}
	list[0] = '\0';
	for (int v = 1; v < set->count && used < sizeof(list); v++) {
		const char *sep = v == 1 ? "" : v + 1 == set->count ? " or " : ", ";
		int n = snprintf(list + used, sizeof(list) - used, "%s%s", sep, set->name(v));
		used += n > 0 ? (size_t)n : 0;
	}
	return cli_usage_error(cli, "invalid %s '%s' (expected %s)", set->what, arg, list);
}
