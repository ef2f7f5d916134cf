/*
 * The service layer's pure value rules (server/svc/fields.c, passwd.c):
 * FIELD=VALUE parsing for `account set`, the actions a change needs, merge and
 * the audit change record, name/password checks, owner seniority, PHC strings.
 */
#include <argon2.h>
#include <string.h>

#include <jansson.h>

#include "svc/fields.h"
#include "svc/passwd.h"
#include "test.h"

/* One arena for the whole run: messages and copies pile up, which is fine for a test
 * (a zeroed arena is an initialised empty one; it stays reachable until exit). */
static struct kam_arena arena;

/* Parse "name=value" pairs given as alternating strings. */
static int parse(struct svc_changes *ch, struct svc_invalid *why, size_t n, const char *const *nv)
{
	struct kam_field f[16];

	for (size_t i = 0; i < n; i++)
		f[i] = (struct kam_field){ nv[2 * i], nv[2 * i + 1] };
	return svc_changes_parse(&arena, f, n, ch, why);
}

#define PARSE(ch, why, ...)                                                                   \
	parse((ch), (why), sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *) / 2, \
	      (const char *const[]){ __VA_ARGS__ })

/* One bad value: parse must refuse it naming the field. */
static int refuses(const char *name, const char *value, const char *field)
{
	struct svc_changes ch;
	struct svc_invalid why = { NULL, NULL };
	int rc = PARSE(&ch, &why, name, value);

	if (rc != KAM_EINVAL || !why.message || !why.field || strcmp(why.field, field) != 0) {
		fprintf(stderr, "  %s=%s: rc %d, field %s, message %s\n", name, value, rc,
			why.field ? why.field : "(null)", why.message ? why.message : "(null)");
		return 0;
	}
	return 1;
}

TEST(parse_good_values)
{
	struct svc_changes ch;
	struct svc_invalid why;

	ASSERT_EQ(PARSE(&ch, &why, "founded", "1998", "headcount", "0", "business", "Rail signalling",
			"revenue", "1250000000", "budget", "9223372036854775807", "currency", "EUR",
			"suppliers", "Siemens\nAlstom", "notes", "Décideur: Mme Dupont", "tier", "Top",
			"stage", "consolidation", "strategy", "attack"), 0);
	ASSERT_EQ(ch.set, (1u << SVC_F__COUNT) - 1);
	ASSERT(ch.values.info.founded.has);
	ASSERT_EQ(ch.values.info.founded.value, 1998);
	ASSERT(ch.values.info.headcount.has);
	ASSERT_EQ(ch.values.info.headcount.value, 0);
	ASSERT_EQ(ch.values.info.revenue.value, 1250000000);
	ASSERT_EQ(ch.values.info.budget.value, INT64_MAX);
	ASSERT_STR_EQ(ch.values.info.currency, "EUR");
	ASSERT_STR_EQ(ch.values.info.business, "Rail signalling");
	ASSERT_STR_EQ(ch.values.info.suppliers, "Siemens\nAlstom");
	ASSERT_EQ(ch.values.tier, KAM_TIER_TOP);
	ASSERT_EQ(ch.values.stage, KAM_STAGE_CONSOLIDATION);
	ASSERT_EQ(ch.values.strategy, KAM_STRATEGY_ATTACK);
}

TEST(parse_bounds)
{
	struct svc_changes ch;
	struct svc_invalid why;

	ASSERT_EQ(PARSE(&ch, &why, "founded", "1000"), 0);
	ASSERT_EQ(PARSE(&ch, &why, "founded", "2200"), 0);
	ASSERT(refuses("founded", "999", "founded"));
	ASSERT(refuses("founded", "2201", "founded"));
	ASSERT(refuses("founded", "-1998", "founded"));
	ASSERT(refuses("headcount", "-1", "headcount"));
	ASSERT(refuses("revenue", "-5", "revenue"));
	ASSERT(refuses("budget", "9223372036854775808", "budget"));
	ASSERT(refuses("headcount", "99999999999999999999999", "headcount"));
}

TEST(parse_rejects_sloppy_numbers)
{
	ASSERT(refuses("headcount", "12a", "headcount"));
	ASSERT(refuses("headcount", " 12", "headcount"));
	ASSERT(refuses("headcount", "12 ", "headcount"));
	ASSERT(refuses("headcount", "+12", "headcount"));
	ASSERT(refuses("headcount", "1,200", "headcount"));
	ASSERT(refuses("revenue", "12.50", "revenue"));
	ASSERT(refuses("revenue", "0x10", "revenue"));
	ASSERT(refuses("founded", "-", "founded"));
}

TEST(parse_currency_and_keywords)
{
	struct svc_changes ch;
	struct svc_invalid why;

	ASSERT(refuses("currency", "eur", "currency"));
	ASSERT(refuses("currency", "EURO", "currency"));
	ASSERT(refuses("currency", "EU1", "currency"));
	ASSERT(refuses("tier", "platinum", "tier"));
	ASSERT(refuses("stage", "won", "stage"));
	ASSERT(refuses("strategy", "defend", "strategy"));
	/* Tier and stage always have a value. */
	ASSERT(refuses("tier", "", "tier"));
	ASSERT(refuses("stage", "", "stage"));
	/* An empty strategy is "undecided". */
	ASSERT_EQ(PARSE(&ch, &why, "strategy", ""), 0);
	ASSERT_EQ(ch.values.strategy, KAM_STRATEGY_NONE);
	ASSERT_EQ(PARSE(&ch, &why, "tier", "strategic"), 0);
	ASSERT_EQ(ch.values.tier, KAM_TIER_STRATEGIC);
}

TEST(parse_text)
{
	char big[KAM_MAX_TEXT + 2];

	memset(big, 'x', sizeof(big));
	big[KAM_MAX_TEXT + 1] = '\0';
	ASSERT(refuses("notes", big, "notes"));
	big[KAM_MAX_TEXT] = '\0';
	{
		struct svc_changes ch;
		struct svc_invalid why;

		ASSERT_EQ(PARSE(&ch, &why, "notes", big), 0);
	}
	ASSERT(refuses("notes", "bell\a", "notes"));
	ASSERT(refuses("business", "esc \x1b[31m red", "business"));
	ASSERT(refuses("suppliers", "bad \xc3 utf8", "suppliers"));
	ASSERT(refuses("suppliers", "overlong \xc0\xaf", "suppliers"));
	ASSERT(refuses("suppliers", "surrogate \xed\xa0\x80", "suppliers"));
}

TEST(parse_clears)
{
	struct svc_changes ch;
	struct svc_invalid why;

	ASSERT_EQ(PARSE(&ch, &why, "founded", "", "notes", "", "currency", ""), 0);
	ASSERT_EQ(ch.set, SVC_F_BIT(SVC_F_FOUNDED) | SVC_F_BIT(SVC_F_NOTES) | SVC_F_BIT(SVC_F_CURRENCY));
	ASSERT(!ch.values.info.founded.has);
	ASSERT_STR_EQ(ch.values.info.notes, "");
	ASSERT_STR_EQ(ch.values.info.currency, "");
}

TEST(parse_names)
{
	struct svc_changes ch;
	struct svc_invalid why;

	ASSERT(refuses("colour", "red", "colour"));
	ASSERT(refuses("Founded", "1990", "Founded"));
	ASSERT_EQ(PARSE(&ch, &why, "notes", "a", "founded", "1990", "notes", "b"), KAM_EINVAL);
	ASSERT_STR_EQ(why.field, "notes");
	ASSERT(strstr(why.message, "more than once"));
	/* Nothing at all to set. */
	ASSERT_EQ(svc_changes_parse(&arena, NULL, 0, &ch, &why), KAM_EINVAL);
}

/* The first bad field is reported; nothing after it matters. */
TEST(parse_reports_first_error)
{
	struct svc_changes ch;
	struct svc_invalid why;

	ASSERT_EQ(PARSE(&ch, &why, "notes", "fine", "headcount", "many", "colour", "red"), KAM_EINVAL);
	ASSERT_STR_EQ(why.field, "headcount");
}

static int has_action(const enum authz_action *a, size_t n, enum authz_action want)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] == want)
			return 1;
	return 0;
}

TEST(actions)
{
	struct svc_changes ch;
	struct svc_invalid why;
	enum authz_action a[SVC_MAX_ACTIONS];
	size_t n;

	ASSERT_EQ(PARSE(&ch, &why, "notes", "x", "headcount", "3"), 0);
	n = svc_changes_actions(&ch, KAM_TIER_IMPORTANT, a);
	ASSERT_EQ(n, 1);
	ASSERT_EQ(a[0], AZ_ACCOUNT_WRITE_INFO);

	ASSERT_EQ(PARSE(&ch, &why, "stage", "occupation", "notes", "x", "strategy", "watch"), 0);
	n = svc_changes_actions(&ch, KAM_TIER_IMPORTANT, a);
	ASSERT_EQ(n, 2);
	ASSERT(has_action(a, n, AZ_ACCOUNT_WRITE_PLAN));
	ASSERT(has_action(a, n, AZ_ACCOUNT_WRITE_INFO));

	ASSERT_EQ(PARSE(&ch, &why, "tier", "top"), 0);
	n = svc_changes_actions(&ch, KAM_TIER_IMPORTANT, a);
	ASSERT_EQ(n, 1);
	ASSERT_EQ(a[0], AZ_ACCOUNT_WRITE_TIER);

	/* Into, or out of, the strategic tier also needs the GM. */
	ASSERT_EQ(PARSE(&ch, &why, "tier", "strategic"), 0);
	n = svc_changes_actions(&ch, KAM_TIER_TOP, a);
	ASSERT_EQ(n, 2);
	ASSERT(has_action(a, n, AZ_ACCOUNT_WRITE_TIER));
	ASSERT(has_action(a, n, AZ_ACCOUNT_SET_STRATEGIC));
	n = svc_changes_actions(&ch, KAM_TIER_STRATEGIC, a);
	ASSERT_EQ(n, 1);
	ASSERT_EQ(a[0], AZ_ACCOUNT_WRITE_TIER);

	ASSERT_EQ(PARSE(&ch, &why, "tier", "ordinary", "stage", "breakthrough", "founded", "2001"), 0);
	n = svc_changes_actions(&ch, KAM_TIER_STRATEGIC, a);
	ASSERT_EQ(n, 4);
	ASSERT(has_action(a, n, AZ_ACCOUNT_SET_STRATEGIC));
}

static void sample_account(struct kam_account *a)
{
	static const char *team[] = { "alice", "bob" };

	*a = (struct kam_account){
		.id = 7, .name = "ACME Rail", .tier = KAM_TIER_IMPORTANT, .stage = KAM_STAGE_BREAKTHROUGH,
		.strategy = KAM_STRATEGY_NONE, .owner = "alice", .n_team = 2, .team = team, .has_info = true,
		.info = { .founded = { true, 1990 }, .headcount = { false, 0 }, .business = "trains",
			  .revenue = { true, 100 }, .budget = { false, 0 }, .currency = "EUR",
			  .suppliers = "", .notes = "old" },
		.version = 3,
	};
}

TEST(apply_and_json)
{
	struct kam_account before, after;
	struct svc_changes ch;
	struct svc_invalid why;
	json_t *j;
	char *text;

	sample_account(&before);
	ASSERT_EQ(PARSE(&ch, &why, "founded", "", "headcount", "120", "notes", "new", "stage", "consolidation",
			"strategy", "attack", "currency", "EUR"), 0);
	svc_changes_apply(&before, &ch, &after);
	ASSERT(!after.info.founded.has);
	ASSERT(after.info.headcount.has);
	ASSERT_EQ(after.info.headcount.value, 120);
	ASSERT_STR_EQ(after.info.notes, "new");
	ASSERT_STR_EQ(after.info.business, "trains");
	ASSERT_EQ(after.info.revenue.value, 100);
	ASSERT_EQ(after.stage, KAM_STAGE_CONSOLIDATION);
	ASSERT_EQ(after.tier, KAM_TIER_IMPORTANT);
	ASSERT_EQ(after.id, 7);
	ASSERT_EQ(after.version, 3);
	ASSERT_STR_EQ(after.name, "ACME Rail");

	j = svc_changes_json(&before, &after);
	ASSERT(j);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	ASSERT(text);
	/* currency=EUR did not change, so it is not in the record. */
	ASSERT_STR_EQ(text, "{\"changes\":{"
			    "\"founded\":{\"after\":null,\"before\":1990},"
			    "\"headcount\":{\"after\":120,\"before\":null},"
			    "\"notes\":{\"after\":\"new\",\"before\":\"old\"},"
			    "\"stage\":{\"after\":\"consolidation\",\"before\":\"breakthrough\"},"
			    "\"strategy\":{\"after\":\"attack\",\"before\":null}}}");
	free(text);
}

TEST(json_no_change)
{
	struct kam_account a;
	json_t *j;
	char *text;

	sample_account(&a);
	j = svc_changes_json(&a, &a);
	ASSERT(j);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	ASSERT_STR_EQ(text, "{\"changes\":{}}");
	free(text);
}

TEST(owner_seniority)
{
	static const struct { enum kam_tier tier; enum kam_role role; int ok; } cases[] = {
		{ KAM_TIER_STRATEGIC, KAM_ROLE_JUNIOR, 0 },   { KAM_TIER_STRATEGIC, KAM_ROLE_SOLUTION, 0 },
		{ KAM_TIER_STRATEGIC, KAM_ROLE_MANAGER, 1 },  { KAM_TIER_STRATEGIC, KAM_ROLE_GM, 1 },
		{ KAM_TIER_TOP, KAM_ROLE_JUNIOR, 0 },         { KAM_TIER_TOP, KAM_ROLE_SOLUTION, 1 },
		{ KAM_TIER_TOP, KAM_ROLE_MANAGER, 1 },        { KAM_TIER_TOP, KAM_ROLE_GM, 1 },
		{ KAM_TIER_IMPORTANT, KAM_ROLE_JUNIOR, 1 },   { KAM_TIER_ORDINARY, KAM_ROLE_JUNIOR, 1 },
		{ KAM_TIER_TOP, KAM_ROLE_NONE, 0 },
	};
	struct svc_invalid why;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = svc_owner_fits_tier(cases[i].tier, cases[i].role, &why);

		if (cases[i].ok) {
			ASSERT_EQ(rc, 0);
		} else {
			ASSERT_EQ(rc, KAM_EINVAL);
			ASSERT_STR_EQ(why.field, "owner");
		}
	}
	ASSERT_EQ(svc_owner_fits_tier(KAM_TIER_TOP, KAM_ROLE_JUNIOR, &why), KAM_EINVAL);
	ASSERT_STR_EQ(why.message, "a TOP account must be owned by a solution rep or above");
}

TEST(usernames)
{
	struct svc_invalid why;
	char long_name[KAM_MAX_USERNAME + 2];

	ASSERT_EQ(svc_check_username("alice", &why), 0);
	ASSERT_EQ(svc_check_username("a", &why), 0);
	ASSERT_EQ(svc_check_username("j.doe-2_x", &why), 0);
	ASSERT_EQ(svc_check_username("", &why), KAM_EINVAL);
	ASSERT_EQ(svc_check_username(".alice", &why), KAM_EINVAL);
	ASSERT_EQ(svc_check_username("al ice", &why), KAM_EINVAL);
	ASSERT_EQ(svc_check_username("alice!", &why), KAM_EINVAL);
	ASSERT_STR_EQ(why.field, "username");
	memset(long_name, 'a', sizeof(long_name));
	long_name[KAM_MAX_USERNAME] = '\0';
	ASSERT_EQ(svc_check_username(long_name, &why), 0);
	long_name[KAM_MAX_USERNAME] = 'a';
	long_name[KAM_MAX_USERNAME + 1] = '\0';
	ASSERT_EQ(svc_check_username(long_name, &why), KAM_EINVAL);
}

TEST(account_names)
{
	struct svc_invalid why;
	char long_name[KAM_MAX_NAME + 2];

	ASSERT_EQ(svc_check_account_name("ACME Rail GmbH", &why), 0);
	ASSERT_EQ(svc_check_account_name("Société Générale", &why), 0);
	ASSERT_EQ(svc_check_account_name("3M", &why), 0);
	ASSERT_EQ(svc_check_account_name("", &why), KAM_EINVAL);
	ASSERT_EQ(svc_check_account_name("12345", &why), KAM_EINVAL);
	ASSERT_EQ(svc_check_account_name(" ACME", &why), KAM_EINVAL);
	ASSERT_EQ(svc_check_account_name("ACME ", &why), KAM_EINVAL);
	ASSERT_EQ(svc_check_account_name("AC\tME", &why), KAM_EINVAL);
	ASSERT_EQ(svc_check_account_name("AC\xffME", &why), KAM_EINVAL);
	ASSERT_STR_EQ(why.field, "name");
	memset(long_name, 'x', sizeof(long_name));
	long_name[KAM_MAX_NAME] = '\0';
	ASSERT_EQ(svc_check_account_name(long_name, &why), 0);
	long_name[KAM_MAX_NAME] = 'x';
	long_name[KAM_MAX_NAME + 1] = '\0';
	ASSERT_EQ(svc_check_account_name(long_name, &why), KAM_EINVAL);
}

TEST(passwords)
{
	struct svc_invalid why;

	ASSERT_EQ(svc_check_password("correct horse", &why), 0);
	ASSERT_EQ(svc_check_password("123456789012", &why), 0);
	ASSERT_EQ(svc_check_password("12345678901", &why), KAM_EINVAL);
	ASSERT_STR_EQ(why.field, "password");
	/* Characters, not bytes: 11 two-byte letters are 22 bytes but still too short. */
	ASSERT_EQ(svc_check_password("ééééééééééé", &why), KAM_EINVAL);
	ASSERT_EQ(svc_check_password("éééééééééééé", &why), 0);
	ASSERT_EQ(svc_check_password("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4", &why), KAM_EINVAL);
}

TEST(refs)
{
	ASSERT(svc_ref_is_id("42"));
	ASSERT(svc_ref_is_id("0"));
	ASSERT(!svc_ref_is_id(""));
	ASSERT(!svc_ref_is_id("42a"));
	ASSERT(!svc_ref_is_id("-1"));
	ASSERT(!svc_ref_is_id("ACME"));
}

TEST(account_copy_is_deep)
{
	struct kam_account src, dst;
	char name[] = "ACME", owner[] = "alice", member[] = "bob", notes[] = "n";
	const char *team[] = { owner, member };

	sample_account(&src);
	src.name = name;
	src.owner = owner;
	src.team = team;
	src.info.notes = notes;
	src.info.suppliers = NULL;
	ASSERT_EQ(svc_account_copy(&arena, &src, &dst), 0);
	name[0] = owner[0] = member[0] = notes[0] = '#';
	team[1] = "changed";
	ASSERT_STR_EQ(dst.name, "ACME");
	ASSERT_STR_EQ(dst.owner, "alice");
	ASSERT_EQ(dst.n_team, 2);
	ASSERT_STR_EQ(dst.team[0], "alice");
	ASSERT_STR_EQ(dst.team[1], "bob");
	ASSERT_STR_EQ(dst.info.notes, "n");
	ASSERT_STR_EQ(dst.info.suppliers, "");
	ASSERT_EQ(dst.version, 3);
	ASSERT_EQ(dst.info.founded.value, 1990);
}

TEST(phc_params)
{
	uint32_t m, t, p;
	struct svc_config cfg = { .argon2_m_kib = 65536, .argon2_t = 3, .argon2_p = 1 };

	ASSERT_EQ(svc_phc_params("$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", &m, &t, &p), 0);
	ASSERT_EQ(m, 65536);
	ASSERT_EQ(t, 3);
	ASSERT_EQ(p, 1);
	ASSERT_EQ(svc_phc_params("$argon2id$m=1024,t=2,p=4$c2FsdA$aGFzaA", &m, &t, &p), 0);
	ASSERT_EQ(m, 1024);
	ASSERT_EQ(p, 4);
	ASSERT_EQ(svc_phc_params("$argon2i$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA", &m, &t, &p), KAM_EINVAL);
	ASSERT_EQ(svc_phc_params("$argon2id$v=19$m=,t=3,p=1$x$y", &m, &t, &p), KAM_EINVAL);
	ASSERT_EQ(svc_phc_params("$argon2id$v=19$m=99999999999,t=3,p=1$x$y", &m, &t, &p), KAM_EINVAL);
	ASSERT_EQ(svc_phc_params("", &m, &t, &p), KAM_EINVAL);

	ASSERT(!svc_phc_needs_rehash("$argon2id$v=19$m=65536,t=3,p=1$x$y", &cfg));
	ASSERT(!svc_phc_needs_rehash("$argon2id$v=19$m=131072,t=4,p=2$x$y", &cfg));
	ASSERT(svc_phc_needs_rehash("$argon2id$v=19$m=32768,t=3,p=1$x$y", &cfg));
	ASSERT(svc_phc_needs_rehash("$argon2id$v=19$m=65536,t=2,p=1$x$y", &cfg));
	ASSERT(svc_phc_needs_rehash("garbage", &cfg));
}

TEST(password_hash_roundtrip)
{
	/* Small costs: this tests the plumbing, not argon2. */
	struct svc_config cfg = { .argon2_m_kib = 64, .argon2_t = 1, .argon2_p = 1 };
	char out[SVC_PHC_MAX], out2[SVC_PHC_MAX], tiny[16];
	uint32_t m, t, p;

	ASSERT_EQ(svc_password_hash(&cfg, "correct horse battery", out, sizeof(out)), 0);
	ASSERT_EQ(strncmp(out, "$argon2id$v=19$m=64,t=1,p=1$", 28), 0);
	ASSERT_EQ(argon2id_verify(out, "correct horse battery", strlen("correct horse battery")), ARGON2_OK);
	ASSERT_NE(argon2id_verify(out, "correct horse batterz", strlen("correct horse batterz")), ARGON2_OK);
	ASSERT_EQ(svc_phc_params(out, &m, &t, &p), 0);
	ASSERT_EQ(m, 64);
	/* A fresh salt every time. */
	ASSERT_EQ(svc_password_hash(&cfg, "correct horse battery", out2, sizeof(out2)), 0);
	ASSERT(strcmp(out, out2) != 0);
	ASSERT_EQ(svc_password_hash(&cfg, "correct horse battery", tiny, sizeof(tiny)), KAM_EINVAL);
	/* The buffer size holds the largest parameters argon2 accepts. */
	ASSERT(argon2_encodedlen(UINT32_MAX, UINT32_MAX, ARGON2_MAX_LANES, SVC_SALT_LEN, SVC_HASH_LEN, Argon2_id)
	       <= SVC_PHC_MAX);
}

TEST_MAIN(TEST_ENTRY(parse_good_values), TEST_ENTRY(parse_bounds), TEST_ENTRY(parse_rejects_sloppy_numbers),
	  TEST_ENTRY(parse_currency_and_keywords), TEST_ENTRY(parse_text), TEST_ENTRY(parse_clears),
	  TEST_ENTRY(parse_names), TEST_ENTRY(parse_reports_first_error), TEST_ENTRY(actions),
	  TEST_ENTRY(apply_and_json), TEST_ENTRY(json_no_change), TEST_ENTRY(owner_seniority),
	  TEST_ENTRY(usernames), TEST_ENTRY(account_names), TEST_ENTRY(passwords), TEST_ENTRY(refs),
	  TEST_ENTRY(account_copy_is_deep), TEST_ENTRY(phc_params), TEST_ENTRY(password_hash_roundtrip))
