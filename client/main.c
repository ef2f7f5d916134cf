/*
 * kam: global options (flags, then KAM_SERVER/KAM_CA, then --config, then
 * defaults), the table of commands and the dispatch to their handlers.
 * Nothing here talks to the server; handlers do, through conn.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

/* Lines of a --config file longer than this are an error, not truncated. */
#define CONFIG_LINE_MAX 4096
/* "account unassign" and the like. */
#define CMD_NAME_MAX 64

static const struct cmd commands[] = {
	{ { "login", NULL }, cmd_login,
	  "login USER [--password-stdin]",
	  "Log in as USER; the session is kept for this server until logout or expiry.",
	  "Options:\n"
	  "  --password-stdin   read the password as one line from stdin\n"
	  "                     (otherwise it is asked for on the terminal, without echo)\n" },
	{ { "logout", NULL }, cmd_logout,
	  "logout",
	  "End the session on this server: the server revokes it and the token is forgotten.",
	  "" },
	{ { "whoami", NULL }, cmd_whoami,
	  "whoami",
	  "Show who this session belongs to and until when it is valid.",
	  "" },
	{ { "user", "add" }, cmd_user_add,
	  "user add USER --role junior|solution|manager|gm [--reports-to USER] [--password-stdin]",
	  "Create a user (GM only). The new user's password is asked for twice on the terminal.",
	  "Options:\n"
	  "  --role ROLE          junior, solution, manager or gm\n"
	  "  --reports-to USER    the user's manager\n"
	  "  --password-stdin     read the password as one line from stdin\n" },
	{ { "user", "list" }, cmd_user_list,
	  "user list",
	  "List users: USERNAME ROLE REPORTS_TO ACTIVE CREATED.",
	  "" },
	{ { "account", "add" }, cmd_account_add,
	  "account add NAME --tier strategic|top|important|ordinary [--owner USER]",
	  "Create an account and print its id.",
	  "Options:\n"
	  "  --tier TIER      strategic, top, important or ordinary\n"
	  "  --owner USER     the owner (default: you); the owner is always on the team\n" },
	{ { "account", "list" }, cmd_account_list,
	  "account list [--tier T] [--stage S] [--owner USER] [--limit N] [--after ID]",
	  "List the accounts you can see: ID NAME TIER STAGE STRATEGY OWNER TEAM.",
	  "Options:\n"
	  "  --tier TIER      only this tier: strategic, top, important or ordinary\n"
	  "  --stage STAGE    only this stage: breakthrough, consolidation or occupation\n"
	  "  --owner USER     only accounts owned by USER\n"
	  "  --limit N        at most N accounts (1 to 1000), one page; without it, all pages\n"
	  "  --after ID       start after account ID (paging)\n" },
	{ { "account", "show" }, cmd_account_show,
	  "account show ACCOUNT",
	  "Show one account, layer by layer. ACCOUNT is its id or its exact name.",
	  "" },
	{ { "account", "set" }, cmd_account_set,
	  "account set ACCOUNT FIELD=VALUE... [--if-version N]",
	  "Change fields of an account; an empty VALUE clears an optional field.",
	  "Fields: founded, headcount, business, revenue, budget, currency, suppliers,\n"
	  "        notes, tier, stage, strategy (the server checks names and values).\n\n"
	  "Options:\n"
	  "  --if-version N   change only if the account is still at version N\n" },
	{ { "account", "assign" }, cmd_account_assign,
	  "account assign ACCOUNT USER",
	  "Add USER to the account's team.",
	  "" },
	{ { "account", "unassign" }, cmd_account_unassign,
	  "account unassign ACCOUNT USER",
	  "Remove USER from the account's team (the owner stays).",
	  "" },
	/* -- layers (issue 3) -- */
	{ { "barrier", "add" }, cmd_barrier_add,
	  "barrier add ACCOUNT --kind KIND TEXT [--status S] [--breakthrough TEXT] [--due DATE] [--owner USER]",
	  "Record a barrier to the account and print its id.",
	  "Options:\n"
	  "  --kind KIND            prequalification, certification, references, clearance,\n"
	  "                         requirement, habit, competitor, relationship or other\n"
	  "  --status S             open (default), working or cleared\n"
	  "  --breakthrough TEXT    the planned breakthrough\n"
	  "  --due DATE             when it is planned for, YYYY-MM-DD\n"
	  "  --owner USER           who works it, on the team (default: you, if you are on it)\n" },
	{ { "barrier", "list" }, cmd_barrier_list,
	  "barrier list ACCOUNT",
	  "List the barriers of an account: ID KIND STATUS OWNER DUE BREAKTHROUGH DESCRIPTION.",
	  "" },
	{ { "barrier", "set" }, cmd_barrier_set,
	  "barrier set BARRIER FIELD=VALUE...",
	  "Change a barrier; an empty VALUE clears an optional field.",
	  "Fields: kind, description, status (open, working, cleared), breakthrough,\n"
	  "        due (YYYY-MM-DD), owner (a team member).\n" },
	{ { "barrier", "clear" }, cmd_barrier_clear,
	  "barrier clear BARRIER",
	  "Mark a barrier as cleared.",
	  "" },
	{ { "project", "add" }, cmd_project_add,
	  "project add ACCOUNT NAME [--stage STAGE] [--owner USER] [--value N --currency C] [--close DATE]",
	  "Record a project (opportunity) of the account and print its id.",
	  "Options:\n"
	  "  --stage STAGE    where the buying process stands, and where we got involved:\n"
	  "                   situation (default), problem, need, solution, budget,\n"
	  "                   procurement, contract, delivery, acceptance\n"
	  "  --owner USER     a team member (default: you, if you are on the team; else the\n"
	  "                   account's owner)\n"
	  "  --value N        expected value in minor units of --currency (cents for EUR)\n"
	  "  --currency C     ISO 4217 code, e.g. EUR\n"
	  "  --close DATE     expected close date, YYYY-MM-DD\n" },
	{ { "project", "list" }, cmd_project_list,
	  "project list ACCOUNT",
	  "List the projects of an account: ID NAME STAGE STATUS OWNER VALUE JOINED/STAGES CLOSE SUPPORT.",
	  "" },
	{ { "project", "show" }, cmd_project_show,
	  "project show PROJECT",
	  "Show a project, its stage history and the contacts who decide it.",
	  "" },
	{ { "project", "advance" }, cmd_project_advance,
	  "project advance PROJECT STAGE",
	  "Move an open project to STAGE; moving backwards or skipping is allowed and recorded.",
	  "Stages, in order: situation, problem, need, solution, budget, procurement,\n"
	  "contract, delivery, acceptance.\n" },
	{ { "project", "close" }, cmd_project_close,
	  "project close PROJECT won|lost --reason TEXT",
	  "Close an open project as won or lost, saying why.",
	  "Options:\n"
	  "  --reason TEXT    why it was won or lost (required)\n" },
	{ { "project", "set" }, cmd_project_set,
	  "project set PROJECT FIELD=VALUE...",
	  "Change a project; an empty VALUE clears an optional field.",
	  "Fields: name, owner (a team member), value (minor units), currency, close (YYYY-MM-DD).\n"
	  "Use 'project advance' for the stage and 'project close' to end it.\n" },
	{ { "contact", "add" }, cmd_contact_add,
	  "contact add ACCOUNT NAME --title T --decision-role R [--weight N] [--stance support|neutral|oppose] "
	  "[--criteria TEXT] [--org-needs TEXT] [--personal-needs TEXT] [--projects ID,...]",
	  "Record a person who decides (managers and the GM) and print the contact's id.",
	  "Options:\n"
	  "  --title T              their job title\n"
	  "  --decision-role R      their role in the decision (e.g. decision maker, user)\n"
	  "  --weight N             their influence, 0 to 100\n"
	  "  --stance S             support, neutral or oppose\n"
	  "  --criteria TEXT        what they base decisions on\n"
	  "  --org-needs TEXT       the needs of their organisation\n"
	  "  --personal-needs TEXT  their personal needs\n"
	  "  --projects ID,...      the projects of this account they decide on\n"
	  "Reps see name, title, decision role, criteria, organisation needs and projects;\n"
	  "never weight, stance or personal needs.\n" },
	{ { "contact", "list" }, cmd_contact_list,
	  "contact list ACCOUNT",
	  "List the contacts of an account (WEIGHT and STANCE only for managers and the GM).",
	  "" },
	{ { "contact", "set" }, cmd_contact_set,
	  "contact set CONTACT FIELD=VALUE...",
	  "Change a contact; an empty VALUE clears an optional field.",
	  "Fields: name, title, decision_role, criteria, weight (0-100), stance, org_needs,\n"
	  "        personal_needs, projects (ids separated by commas; empty: none).\n" },
	{ { "value", "add" }, cmd_value_add,
	  "value add ACCOUNT --level business|relationship|strategic TEXT",
	  "Record a value proposition (managers and the GM) and print its id.",
	  "Options:\n"
	  "  --level L    business, relationship or strategic\n" },
	{ { "value", "list" }, cmd_value_list,
	  "value list ACCOUNT",
	  "List the value propositions of an account: ID LEVEL AUTHOR TEXT.",
	  "" },
	{ { "agreement", "add" }, cmd_agreement_add,
	  "agreement add ACCOUNT --signed-by WHO --signed-on DATE --scope TEXT [--term MONTHS]",
	  "Record a strategic cooperation agreement (the GM only) and print its id.",
	  "Options:\n"
	  "  --signed-by WHO     who signed it, on both sides\n"
	  "  --signed-on DATE    YYYY-MM-DD\n"
	  "  --scope TEXT        what it covers\n"
	  "  --term MONTHS       how long it runs (default: open-ended)\n" },
	{ { "agreement", "list" }, cmd_agreement_list,
	  "agreement list ACCOUNT",
	  "List the strategic agreements of an account: ID SIGNED_ON SIGNED_BY TERM SCOPE.",
	  "" },
	{ { "review", NULL }, cmd_review,
	  "review ACCOUNT | review --team [USER] [--sort KEY] [--reverse]",
	  "Review an account layer by layer with the gaps of its tier, or a team's accounts.",
	  "With ACCOUNT: the layers, each open project's involvement and support balance,\n"
	  "and what the method asks of the account's tier that is missing.\n"
	  "With --team (managers and the GM): one row per account USER (default: you)\n"
	  "can see: ID NAME TIER STAGE STRATEGY OWNER OPEN_PROJECTS SUPPORT GAPS.\n\n"
	  "Options:\n"
	  "  --team         review a team instead of one account\n"
	  "  --sort KEY     gaps (most first, the default), name, tier, stage, strategy,\n"
	  "                 owner, projects (most first) or support (weakest first)\n"
	  "  --reverse      the other way round\n" },
	/* -- audit and churn (issue 4) -- */
	{ { "audit", "log" }, cmd_audit_log,
	  "audit log [--account ACCOUNT] [--user USER] [--since TIME] [--until TIME] [--action ACTION] [--limit N] [--before ID]",
	  "Show the audit trail, newest first: ID TIME USER ACTION ACCOUNT RESULT DETAIL (managers: their teams' accounts; the GM: all).",
	  "Options:\n"
	  "  --account ACCOUNT   only entries about this account (id or exact name)\n"
	  "  --user USER         only what USER did\n"
	  "  --since TIME        only entries at or after TIME\n"
	  "  --until TIME        only entries before TIME\n"
	  "  --action ACTION     only this action (e.g. account.show), or a prefix with '*' (account.*)\n"
	  "  --limit N           at most N entries (1 to 1000), one page; without it, all pages\n"
	  "  --before ID         only entries older than entry ID (paging)\n"
	  "TIME is 2024-05-01, '2024-05-01 14:30', 2024-05-01T14:30:00Z (UTC; local time\n"
	  "without the Z), @UNIX_SECONDS, or an age before now: 90s, 15m, 2h, 7d.\n" },
	{ { "audit", "verify" }, cmd_audit_verify,
	  "audit verify [--checkpoint FILE]",
	  "Check the audit chain (the GM): intact with the entry count, or the first entry that does not match.",
	  "Options:\n"
	  "  --checkpoint FILE   compare with this signed checkpoint (default: the latest one kamd\n"
	  "                      wrote); a chain shorter than a checkpoint has lost its tail\n"
	  "Exits 6 when the chain does not verify.\n" },
	{ { "audit", "alerts" }, cmd_audit_alerts,
	  "audit alerts",
	  "Show users flagged for reading too many accounts: USER REPORTS_TO FLAGGED READS LIMIT WINDOW.",
	  "A flagged user's account reads are refused until a manager or the GM runs 'kam audit clear USER'.\n" },
	{ { "audit", "clear" }, cmd_audit_clear,
	  "audit clear USER",
	  "Lift USER's bulk-read flag (USER's managers and the GM); their reads are counted afresh.",
	  "" },
	{ { "user", "deactivate" }, cmd_user_deactivate,
	  "user deactivate USER --handover-to USER",
	  "Deactivate USER, end every session of theirs, and hand their accounts, team places, open projects and reports to a colleague, in one step.",
	  "Options:\n"
	  "  --handover-to USER   the active colleague who takes over; senior enough for every\n"
	  "                       account (strategic: a manager or the GM, TOP: a solution rep or\n"
	  "                       above), and a manager or the GM if people report to USER\n"
	  "The GM, or a manager USER reports to. Nothing is deleted.\n" },
	{ { "user", "handover" }, cmd_user_handover,
	  "user handover USER --to USER [--account ACCOUNT]...",
	  "Hand USER's accounts (or only the ones named) and their open projects to a colleague.",
	  "Options:\n"
	  "  --to USER           the active colleague who takes over (senior enough for each account)\n"
	  "  --account ACCOUNT   only this account (id or exact name); may be given many times\n" },
	{ { "export", NULL }, cmd_export,
	  "export [--format csv|json]",
	  "Write every account with every layer to stdout (the GM). Audited as one entry with the count.",
	  "Options:\n"
	  "  --format FORMAT   csv (default; layers as JSON in columns layer:NAME) or json\n" },
	{ { "import", NULL }, cmd_import,
	  "import FILE.csv",
	  "Create the accounts of a spreadsheet (managers and the GM): all of them, or none.",
	  "The first line names the columns: name and tier, and any of owner, founded,\n"
	  "headcount, business, revenue, budget, currency, suppliers, notes, stage, strategy\n"
	  "(as account set spells them; money in minor units). Columns kam export writes but\n"
	  "cannot import (id, team, version, times, layer:*) are skipped. An error names the\n"
	  "line and column; at most 1000 accounts per file.\n" },
	/* -- hostile clients (issue 6) -- */
	{ { "user", "passwd" }, cmd_user_passwd,
	  "user passwd [USER] [--password-stdin]",
	  "Change your password (asks for the current one), or set USER's (their GM or manager).",
	  "Without USER it is your own password: the current one is asked for first, then the\n"
	  "new one twice; your other sessions end. With USER (the GM, or a manager USER reports\n"
	  "to) the new password is asked for twice and all of USER's sessions end. A password\n"
	  "has 12 to 1024 bytes and at least 12 characters.\n\n"
	  "Options:\n"
	  "  --password-stdin   read from stdin instead: the current password and the new one\n"
	  "                     on two lines (own password), or the new one on one line (USER)\n" },
	{ { "user", "unlock" }, cmd_user_unlock,
	  "user unlock USER",
	  "Let USER log in again at once after failed logins locked them (the GM or their manager).",
	  "" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_help[] =
	"Global options (before the command):\n"
	"  --server HOST:PORT     the kamd to use (env KAM_SERVER; default " KAM_DEFAULT_SERVER ")\n"
	"  --ca FILE              trust the server whose certificate FILE (a CA or the\n"
	"                         self-signed certificate) verifies (env KAM_CA); without\n"
	"                         it the certificate's fingerprint is pinned on first use\n"
	"  --trust-on-first-use   pin an unknown server's certificate without asking\n"
	"  --json                 machine output: one JSON document on stdout\n"
	"  --config FILE          read 'server = ...' and 'ca = ...' from FILE\n"
	"  --request-key HEX      send the command's change with this key (32 to 128 hex\n"
	"                         digits) instead of a random one: kamd applies a key once,\n"
	"                         so repeating a change whose answer was lost is safe\n"
	"  -h, --help             show this help; every command takes --help too\n"
	"  -V, --version          show the version\n"
	"\n"
	"Every command that changes something sends a random request key; when the\n"
	"connection drops before the answer, kam sends it once more with the same key\n"
	"(a read is simply sent again). If that fails too, the error names the key.\n"
	"\n"
	"State lives in $XDG_CONFIG_HOME/kam/ (default ~/.config/kam/): the session\n"
	"token per server and the pinned certificate fingerprints.\n"
	"\n"
	"Exit codes: 0 ok, 1 local failure, 2 usage, 3 not authenticated, 4 permission\n"
	"denied, 5 not found, 6 invalid input or conflict, 7 server unavailable or\n"
	"network/TLS failure.\n";

static bool is_help(const char *s)
{
	return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0;
}

static void print_commands(const char *group)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!group || strcmp(commands[i].words[0], group) == 0)
			printf("  kam %s\n      %s\n", commands[i].synopsis, commands[i].summary);
}

static void print_usage(void)
{
	printf("usage: kam [GLOBAL OPTIONS] COMMAND [ARGS]\n\n"
	       "kam is the client of KAM, the key-account store.\n\nCommands:\n");
	print_commands(NULL);
	printf("\n%s", global_help);
}

/* ---- configuration ---- */

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

/* key = value lines ('#' comments); sets what the flags and the environment left unset. Reports. */
static int config_load(struct cli *cli, const char *path)
{
	char line[CONFIG_LINE_MAX];
	FILE *f = fopen(path, "r");
	int lineno = 0, rc = KAM_EXIT_OK;

	if (!f)
		return cli_fail(cli, KAM_EXIT_USAGE, CLI_CODE_USAGE, NULL, "cannot read config %s: %s", path,
				strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			rc = cli_fail(cli, KAM_EXIT_USAGE, CLI_CODE_USAGE, NULL, "%s:%d: line too long", path, lineno);
			goto out;
		}
		char *s = trim(line), *eq = strchr(s, '=');
		if (s[0] == '\0' || s[0] == '#')
			continue;
		if (!eq) {
			rc = cli_fail(cli, KAM_EXIT_USAGE, CLI_CODE_USAGE, NULL, "%s:%d: expected key = value",
				      path, lineno);
			goto out;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		size_t vlen = strlen(val);
		if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
			val[vlen - 1] = '\0';
			val++;
		}
		const char **slot = strcmp(key, "server") == 0 ? &cli->server
				  : strcmp(key, "ca") == 0 ? &cli->ca : NULL;
		if (!slot) {
			rc = cli_fail(cli, KAM_EXIT_USAGE, CLI_CODE_USAGE, NULL,
				      "%s:%d: unknown key '%s' (expected server or ca)", path, lineno, key);
			goto out;
		}
		if (*slot)
			continue;   /* a flag or the environment said it already */
		if (!(*slot = kam_arena_strdup(&cli->arena, val))) {
			rc = cli_fail_nomem(cli);
			goto out;
		}
	}
	if (ferror(f))
		rc = cli_fail(cli, KAM_EXIT_USAGE, CLI_CODE_USAGE, NULL, "cannot read config %s", path);
out:
	fclose(f);
	return rc;
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] ? v : NULL;
}

/* Global options up to the command word; *done set for --help/--version. Reports. */
static int parse_global(struct cli *cli, int argc, char **argv, bool *done)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "ca", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'f' },
		{ "trust-on-first-use", no_argument, NULL, 't' },
		{ "request-key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	int ch, rc;

	opterr = 0;
	/* '+': stop at the command word; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 's': cli->server = optarg; break;
		case 'c': cli->ca = optarg; break;
		case 'j': cli->json = true; break;
		case 'f': config = optarg; break;
		case 't': cli->tofu = true; break;
		case 'k':
			if ((rc = cli_request_key_arg(cli, optarg)) != 0)
				return rc;
			break;
		case 'h':
			print_usage();
			*done = true;
			return KAM_EXIT_OK;
		case 'V':
			printf("kam %s\n", KAM_VERSION);
			*done = true;
			return KAM_EXIT_OK;
		case ':':
			return cli_usage_error(cli, "option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt)
				return cli_usage_error(cli, "unknown option '-%c'", optopt);
			return cli_usage_error(cli, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (!cli->server)
		cli->server = env_nonempty("KAM_SERVER");
	if (!cli->ca)
		cli->ca = env_nonempty("KAM_CA");
	if (config && (rc = config_load(cli, config)) != 0)
		return rc;
	if (!cli->server)
		cli->server = KAM_DEFAULT_SERVER;
	if (endpoint_parse(cli->server, &cli->ep) < 0)
		return cli_usage_error(cli, "invalid server '%s' (expected HOST:PORT)", cli->server);
	return KAM_EXIT_OK;
}

/*
 * People type `kam account show X --json`: take the global flags that carry no
 * value from anywhere after the command words too (up to a "--"), so the
 * subcommand parsers never see them.
 */
static int take_trailing_globals(struct cli *cli, int argc, char **argv)
{
	int kept = 0;
	bool literal = false;

	for (int i = 0; i < argc; i++) {
		if (!literal && strcmp(argv[i], "--") == 0)
			literal = true;
		if (!literal && strcmp(argv[i], "--json") == 0) {
			cli->json = true;
			continue;
		}
		if (!literal && strcmp(argv[i], "--trust-on-first-use") == 0) {
			cli->tofu = true;
			continue;
		}
		argv[kept++] = argv[i];
	}
	argv[kept] = NULL;
	return kept;
}

/* ---- dispatch ---- */

static int run_cmd(struct cli *cli, const struct cmd *c, int argc, char **argv)
{
	static char name[CMD_NAME_MAX];

	snprintf(name, sizeof(name), "%s%s%s", c->words[0], c->words[1] ? " " : "",
		 c->words[1] ? c->words[1] : "");
	cli->cmd = c;
	cli->cmd_name = name;
	optind = 0;   /* glibc: a full reset, a new argv follows */
	return c->run(cli, argc, argv);
}

/* argv[0] is the first command word. */
static int dispatch(struct cli *cli, int argc, char **argv)
{
	const char *w0 = argv[0], *w1 = argc > 1 ? argv[1] : NULL;
	bool group = false;

	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct cmd *c = &commands[i];
		if (strcmp(c->words[0], w0) != 0)
			continue;
		if (!c->words[1])
			return run_cmd(cli, c, argc, argv);
		group = true;
		if (w1 && strcmp(c->words[1], w1) == 0)
			return run_cmd(cli, c, argc - 1, argv + 1);
	}
	if (!group)
		return cli_usage_error(cli, "unknown command '%s'", w0);
	if (w1 && is_help(w1)) {
		printf("usage: kam %s COMMAND [ARGS]\n\nCommands:\n", w0);
		print_commands(w0);
		return KAM_EXIT_OK;
	}
	char hint[CMD_NAME_MAX + 32];
	snprintf(hint, sizeof(hint), "run 'kam %s --help'", w0);
	if (!w1)
		return cli_fail(cli, KAM_EXIT_USAGE, CLI_CODE_USAGE, hint, "missing command after '%s'", w0);
	return cli_fail(cli, KAM_EXIT_USAGE, CLI_CODE_USAGE, hint, "unknown command '%s %s'", w0, w1);
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	bool done = false;
	int rc;

	kam_arena_init(&cli.arena);
	rc = parse_global(&cli, argc, argv, &done);
	if (rc == 0 && !done) {
		if (optind >= argc)
			rc = cli_usage_error(&cli, "missing command");
		else
			rc = dispatch(&cli, take_trailing_globals(&cli, argc - optind, argv + optind),
				      argv + optind);
	}
	if (rc == KAM_EXIT_REPLAYED)   /* issue 7: applied before, reported already */
		rc = KAM_EXIT_OK;
	conn_close(cli.conn);
	cli_wipe(cli.token, sizeof(cli.token));
	kam_arena_free(&cli.arena);
	/* A result that did not reach stdout (disk full, closed pipe) is a failure. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "kam: error: cannot write the output: %s\n", strerror(errno));
		if (rc == 0)
			rc = KAM_EXIT_LOCAL;
	}
	return rc;
}
