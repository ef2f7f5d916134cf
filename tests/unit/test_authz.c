/*
 * Authorization: every role x every action x every relation, checked against
 * a matrix written here independently of server/svc/authz.c, and against the
 * matrix in docs/authorization.md so the document cannot drift from the code.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "svc/authz.h"
#include "test.h"

/*
 * The expected decision per relation, in enum order: none, manages_member,
 * member, owner. 'A' allow, 'F' forbidden (exit 4), 'N' not found (exit 5).
 */
struct expect_row {
	enum authz_action action;
	const char *name;                 /* as in the document */
	bool account_scoped;
	const char *cell[KAM_ROLE__COUNT];
};

static const struct expect_row expected[] = {
	/*                                                          none    junior  solution manager gm */
	{ AZ_SESSION,               "session",               false, { "FFFF", "AAAA", "AAAA", "AAAA", "AAAA" } },
	{ AZ_USER_ADD,              "user.add",              false, { "FFFF", "FFFF", "FFFF", "FFFF", "AAAA" } },
	{ AZ_USER_LIST,             "user.list",             false, { "FFFF", "FFFF", "FFFF", "AAAA", "AAAA" } },
	{ AZ_ACCOUNT_LIST,          "account.list",          false, { "FFFF", "AAAA", "AAAA", "AAAA", "AAAA" } },
	{ AZ_ACCOUNT_CREATE,        "account.create",        false, { "FFFF", "AAAA", "AAAA", "AAAA", "AAAA" } },
	{ AZ_ACCOUNT_CREATE_FOR,    "account.create_for",    false, { "FFFF", "FFFF", "FFFF", "AAAA", "AAAA" } },
	{ AZ_ACCOUNT_READ,          "account.read",          true,  { "NNNN", "NNAA", "NNAA", "NAAA", "AAAA" } },
	{ AZ_ACCOUNT_WRITE_INFO,    "account.write_info",    true,  { "NNNN", "NNAA", "NNAA", "NAAA", "AAAA" } },
	{ AZ_ACCOUNT_WRITE_PLAN,    "account.write_plan",    true,  { "NNNN", "NNFF", "NNAA", "NAAA", "AAAA" } },
	{ AZ_ACCOUNT_WRITE_TIER,    "account.write_tier",    true,  { "NNNN", "NNFF", "NNFF", "NAAA", "AAAA" } },
	{ AZ_ACCOUNT_SET_STRATEGIC, "account.set_strategic", true,  { "NNNN", "NNFF", "NNFF", "NFFF", "AAAA" } },
	{ AZ_ACCOUNT_ASSIGN,        "account.assign",        true,  { "NNNN", "NNFF", "NNFF", "NAAA", "AAAA" } },
	/* -- layers (issue 3) -- */
	{ AZ_BARRIER_WRITE,         "barrier.write",         true,  { "NNNN", "NNAA", "NNAA", "NAAA", "AAAA" } },
	{ AZ_PROJECT_WRITE,         "project.write",         true,  { "NNNN", "NNFF", "NNAA", "NAAA", "AAAA" } },
	{ AZ_CONTACT_WRITE,         "contact.write",         true,  { "NNNN", "NNFF", "NNFF", "NAAA", "AAAA" } },
	{ AZ_CONTACT_SENSITIVE,     "contact.read_sensitive", true, { "NNNN", "NNFF", "NNFF", "NAAA", "AAAA" } },
	{ AZ_VALUE_WRITE,           "value.write",           true,  { "NNNN", "NNFF", "NNFF", "NAAA", "AAAA" } },
	{ AZ_AGREEMENT_WRITE,       "agreement.write",       true,  { "NNNN", "NNFF", "NNFF", "NFFF", "AAAA" } },
	{ AZ_REVIEW_TEAM,           "review.team",           true,  { "NNNN", "NNFF", "NNFF", "NAAA", "AAAA" } },
	/* -- audit and churn (issue 4) -- */
	{ AZ_AUDIT_LOG,             "audit.log",             false, { "FFFF", "FFFF", "FFFF", "AAAA", "AAAA" } },
	{ AZ_AUDIT_VERIFY,          "audit.verify",          false, { "FFFF", "FFFF", "FFFF", "FFFF", "AAAA" } },
	{ AZ_AUDIT_ALERTS,          "audit.alerts",          false, { "FFFF", "FFFF", "FFFF", "AAAA", "AAAA" } },
	{ AZ_AUDIT_CLEAR_REPORT,    "audit.clear_report",    false, { "FFFF", "FFFF", "FFFF", "AAAA", "AAAA" } },
	{ AZ_AUDIT_CLEAR,           "audit.clear",           false, { "FFFF", "FFFF", "FFFF", "FFFF", "AAAA" } },
	{ AZ_USER_DEACTIVATE_REPORT, "user.deactivate_report", false, { "FFFF", "FFFF", "FFFF", "AAAA", "AAAA" } },
	{ AZ_USER_DEACTIVATE,       "user.deactivate",       false, { "FFFF", "FFFF", "FFFF", "FFFF", "AAAA" } },
	{ AZ_USER_HANDOVER_REPORT,  "user.handover_report",  false, { "FFFF", "FFFF", "FFFF", "AAAA", "AAAA" } },
	{ AZ_USER_HANDOVER,         "user.handover",         false, { "FFFF", "FFFF", "FFFF", "FFFF", "AAAA" } },
	{ AZ_EXPORT,                "export",                false, { "FFFF", "FFFF", "FFFF", "FFFF", "AAAA" } },
	{ AZ_IMPORT,                "import",                false, { "FFFF", "FFFF", "FFFF", "AAAA", "AAAA" } },
	/* -- hostile clients (issue 6) -- */
	{ AZ_USER_PASSWD,           "user.passwd",           false, { "FFFF", "AAAA", "AAAA", "AAAA", "AAAA" } },
	{ AZ_USER_RESET_REPORT,     "user.reset_report",     false, { "FFFF", "FFFF", "FFFF", "AAAA", "AAAA" } },
	{ AZ_USER_RESET,            "user.reset",            false, { "FFFF", "FFFF", "FFFF", "FFFF", "AAAA" } },
	{ AZ_USER_UNLOCK_REPORT,    "user.unlock_report",    false, { "FFFF", "FFFF", "FFFF", "AAAA", "AAAA" } },
	{ AZ_USER_UNLOCK,           "user.unlock",           false, { "FFFF", "FFFF", "FFFF", "FFFF", "AAAA" } },
};

#define N_EXPECTED (sizeof(expected) / sizeof(expected[0]))

static char decision_char(enum authz_decision d)
{
	switch (d) {
	case AUTHZ_ALLOW:
		return 'A';
	case AUTHZ_DENY_FORBIDDEN:
		return 'F';
	case AUTHZ_DENY_NOT_FOUND:
		return 'N';
	}
	return '?';
}

TEST(every_action_is_expected_once)
{
	ASSERT_EQ(N_EXPECTED, AZ__COUNT);
	for (size_t i = 0; i < N_EXPECTED; i++)
		ASSERT_EQ(expected[i].action, i);
}

TEST(matrix)
{
	int wrong = 0;

	for (size_t i = 0; i < N_EXPECTED; i++) {
		for (int role = 0; role < KAM_ROLE__COUNT; role++) {
			for (int rel = 0; rel < KAM_REL__COUNT; rel++) {
				char want = expected[i].cell[role][rel];
				char got = decision_char(authz_decide((enum kam_role)role, expected[i].action,
								      (enum kam_relation)rel));

				if (got != want) {
					fprintf(stderr, "  %s role=%s rel=%s: want %c got %c\n", expected[i].name,
						role ? kam_role_str((enum kam_role)role) : "none",
						kam_relation_str((enum kam_relation)rel), want, got);
					wrong++;
				}
			}
		}
	}
	ASSERT_EQ(wrong, 0);
}

/* An account the caller cannot read is never "forbidden": that would confirm it exists. */
TEST(invisible_is_not_found_visible_is_forbidden)
{
	for (size_t i = 0; i < N_EXPECTED; i++) {
		if (!expected[i].account_scoped)
			continue;
		for (int role = 0; role < KAM_ROLE__COUNT; role++) {
			for (int rel = 0; rel < KAM_REL__COUNT; rel++) {
				bool visible = authz_decide((enum kam_role)role, AZ_ACCOUNT_READ,
							    (enum kam_relation)rel) == AUTHZ_ALLOW;
				enum authz_decision d = authz_decide((enum kam_role)role, expected[i].action,
								     (enum kam_relation)rel);

				if (!visible)
					ASSERT_EQ(d, AUTHZ_DENY_NOT_FOUND);
				else
					ASSERT_NE(d, AUTHZ_DENY_NOT_FOUND);
			}
		}
	}
}

/* Non-account actions never answer "not found", whatever relation is passed. */
TEST(non_account_actions_ignore_relation)
{
	for (size_t i = 0; i < N_EXPECTED; i++) {
		if (expected[i].account_scoped)
			continue;
		for (int role = 0; role < KAM_ROLE__COUNT; role++) {
			enum authz_decision first = authz_decide((enum kam_role)role, expected[i].action, KAM_REL_NONE);

			for (int rel = 0; rel < KAM_REL__COUNT; rel++)
				ASSERT_EQ(authz_decide((enum kam_role)role, expected[i].action, (enum kam_relation)rel),
					  first);
			ASSERT_NE(first, AUTHZ_DENY_NOT_FOUND);
		}
	}
}

TEST(out_of_range_fails_closed)
{
	ASSERT_EQ(authz_decide(KAM_ROLE__COUNT, AZ_SESSION, KAM_REL_NONE), AUTHZ_DENY_FORBIDDEN);
	ASSERT_EQ(authz_decide((enum kam_role)-1, AZ_ACCOUNT_READ, KAM_REL_OWNER), AUTHZ_DENY_NOT_FOUND);
	ASSERT_EQ(authz_decide(KAM_ROLE_GM, AZ__COUNT, KAM_REL_OWNER), AUTHZ_DENY_FORBIDDEN);
	ASSERT_EQ(authz_decide(KAM_ROLE_GM, (enum authz_action)-1, KAM_REL_OWNER), AUTHZ_DENY_FORBIDDEN);
	/* An unknown relation counts as no relation at all. */
	ASSERT_EQ(authz_decide(KAM_ROLE_JUNIOR, AZ_ACCOUNT_READ, KAM_REL__COUNT), AUTHZ_DENY_NOT_FOUND);
	ASSERT_EQ(authz_decide(KAM_ROLE_GM, AZ_ACCOUNT_READ, KAM_REL__COUNT), AUTHZ_ALLOW);
}

TEST(names)
{
	for (size_t i = 0; i < N_EXPECTED; i++)
		ASSERT_STR_EQ(authz_action_str(expected[i].action), expected[i].name);
	ASSERT_STR_EQ(authz_action_str(AZ__COUNT), "unknown");
	ASSERT_STR_EQ(kam_relation_str(KAM_REL_NONE), "none");
	ASSERT_STR_EQ(kam_relation_str(KAM_REL_MANAGES_MEMBER), "manages_member");
	ASSERT_STR_EQ(kam_relation_str(KAM_REL_MEMBER), "member");
	ASSERT_STR_EQ(kam_relation_str(KAM_REL_OWNER), "owner");
	ASSERT_STR_EQ(kam_relation_str(KAM_REL__COUNT), "unknown");
}

/* ---- the document's matrix ---- */

static const char *const doc_relation[KAM_REL__COUNT] = { "none", "manages member", "member", "owner" };
static const char *const doc_role[KAM_ROLE__COUNT] = { "", "junior", "solution", "manager", "GM" };

static char doc_cell_char(const char *cell)
{
	if (strcmp(cell, "allow") == 0)
		return 'A';
	if (strcmp(cell, "forbidden") == 0)
		return 'F';
	if (strcmp(cell, "not found") == 0)
		return 'N';
	return '?';
}

/* Split "| a | b | c |" into trimmed cells; returns how many. */
static int split_row(char *line, char *cells[], int max)
{
	int n = 0;
	char *p = strchr(line, '|');

	while (p && n < max) {
		char *start = p + 1, *end = strchr(start, '|');

		if (!end)
			break;
		*end = '\0';
		while (*start == ' ' || *start == '`')
			start++;
		for (char *e = end - 1; e >= start && (*e == ' ' || *e == '`'); e--)
			*e = '\0';
		cells[n++] = start;
		p = end;
	}
	return n;
}

/*
 * docs/authorization.md holds one row per action and relation:
 * | `account.read` | none | not found | not found | not found | allow |
 * (non-account actions: relation "any"). Every cell must match the expected matrix.
 */
TEST(document_matches)
{
	char path[4096], line[1024];
	const char *slash = strrchr(__FILE__, '/');
	int seen[N_EXPECTED][KAM_REL__COUNT];
	FILE *f;

	memset(seen, 0, sizeof(seen));
	snprintf(path, sizeof(path), "%.*s/../../docs/authorization.md",
		 slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
	f = fopen(path, "r");
	if (!f)
		TEST_FAIL_("cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		char *cells[8];
		int n;

		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "| `", 3) != 0)
			continue;
		n = split_row(line, cells, 8);
		if (n != 6)
			continue;
		for (size_t i = 0; i < N_EXPECTED; i++) {
			if (strcmp(cells[0], expected[i].name) != 0)
				continue;
			for (int rel = 0; rel < KAM_REL__COUNT; rel++) {
				bool match = expected[i].account_scoped ? strcmp(cells[1], doc_relation[rel]) == 0
									: strcmp(cells[1], "any") == 0;

				if (!match)
					continue;
				seen[i][rel]++;
				for (int role = KAM_ROLE_JUNIOR; role < KAM_ROLE__COUNT; role++) {
					char want = expected[i].cell[role][rel];
					char got = doc_cell_char(cells[1 + role]);

					if (got != want) {
						fprintf(stderr, "  doc %s / %s / %s: says '%s', expected %c\n",
							expected[i].name, cells[1], doc_role[role], cells[1 + role], want);
						fclose(f);
						TEST_FAIL_("%s", "docs/authorization.md disagrees with the matrix");
					}
				}
			}
		}
	}
	fclose(f);
	for (size_t i = 0; i < N_EXPECTED; i++)
		for (int rel = 0; rel < KAM_REL__COUNT; rel++)
			if (seen[i][rel] != 1)
				TEST_FAIL_("docs/authorization.md has %d rows for %s / %s (want 1)", seen[i][rel],
					   expected[i].name, expected[i].account_scoped ? doc_relation[rel] : "any");
}

TEST_MAIN(TEST_ENTRY(every_action_is_expected_once), TEST_ENTRY(matrix),
	  TEST_ENTRY(invisible_is_not_found_visible_is_forbidden), TEST_ENTRY(non_account_actions_ignore_relation),
	  TEST_ENTRY(out_of_range_fails_closed), TEST_ENTRY(names), TEST_ENTRY(document_matches))
