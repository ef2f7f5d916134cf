/*
 * The small shared pieces: arena, buf, hash helpers, keyword tables, log
 * level parsing. Pure checks; nothing here needs the network or a database.
 */
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "err.h"
#include "hash.h"
#include "log.h"
#include "model.h"
#include "test.h"

TEST(arena_alignment_and_zero)
{
	struct kam_arena a;

	kam_arena_init(&a);
	for (size_t n = 0; n < 100; n++) {
		unsigned char *p = kam_arena_alloc(&a, n);

		ASSERT(p != NULL);
		ASSERT_EQ((uintptr_t)p % 16, 0);
		for (size_t i = 0; i < n; i++)
			ASSERT_EQ(p[i], 0);
		memset(p, 0xab, n);
	}
	kam_arena_free(&a);
}

TEST(arena_large_and_reset)
{
	struct kam_arena a;
	char *small, *big;

	kam_arena_init(&a);
	small = kam_arena_strdup(&a, "first");
	big = kam_arena_alloc(&a, 100000);
	ASSERT(small && big);
	memset(big, 1, 100000);
	/* The head chunk keeps serving small allocations after a big one. */
	ASSERT(kam_arena_strdup(&a, "second") != NULL);
	ASSERT_STR_EQ(small, "first");
	ASSERT(a.total >= 100000);
	kam_arena_reset(&a);
	ASSERT_EQ(a.total, 0);
	ASSERT(kam_arena_alloc(&a, 10) != NULL);
	kam_arena_free(&a);
	kam_arena_free(&a);   /* twice is fine: free leaves it initialised */
	kam_arena_free(NULL);
}

TEST(arena_strings)
{
	struct kam_arena a;

	kam_arena_init(&a);
	ASSERT(kam_arena_strdup(&a, NULL) == NULL);
	ASSERT_STR_EQ(kam_arena_strndup(&a, "abcdef", 3), "abc");
	ASSERT_STR_EQ(kam_arena_strdup(&a, ""), "");
	ASSERT_STR_EQ(kam_arena_printf(&a, "%s-%d", "x", 42), "x-42");
	ASSERT(kam_arena_alloc(&a, SIZE_MAX) == NULL);
	ASSERT(kam_arena_alloc(&a, SIZE_MAX - 8) == NULL);
	kam_arena_free(&a);
}

TEST(buf_append_consume)
{
	struct kam_buf b;
	char big[5000];

	kam_buf_init(&b);
	ASSERT_EQ(kam_buf_avail(&b), 0);
	ASSERT_EQ(kam_buf_append(&b, "hello", 5), 0);
	ASSERT_EQ(kam_buf_append(&b, NULL, 0), 0);
	ASSERT_EQ(kam_buf_avail(&b), 5);
	kam_buf_consume(&b, 2);
	ASSERT_EQ(kam_buf_avail(&b), 3);
	ASSERT_MEM_EQ(kam_buf_head(&b), "llo", 3);
	/* Growing compacts the unread bytes to the front first. */
	memset(big, 'z', sizeof(big));
	ASSERT_EQ(kam_buf_append(&b, big, sizeof(big)), 0);
	ASSERT_EQ(b.off, 0);
	ASSERT_EQ(kam_buf_avail(&b), 3 + sizeof(big));
	ASSERT_MEM_EQ(kam_buf_head(&b), "lloz", 4);
	kam_buf_consume(&b, SIZE_MAX);   /* clamps; consuming everything rewinds */
	ASSERT_EQ(b.len, 0);
	ASSERT_EQ(b.off, 0);
	ASSERT_EQ(kam_buf_append(&b, "ab", 2), 0);
	kam_buf_reset(&b);
	ASSERT_EQ(kam_buf_avail(&b), 0);
	ASSERT(b.cap > 0);
	ASSERT_EQ(kam_buf_append(&b, "a", 1), 0);
	ASSERT_EQ(kam_buf_reserve(&b, SIZE_MAX), KAM_ENOMEM);   /* overflow, caught before malloc */
	kam_buf_free(&b);
	kam_buf_free(&b);
	kam_buf_free(NULL);
}

TEST(sha256_known_answer)
{
	uint8_t d[KAM_SHA256_LEN];
	char hex[2 * KAM_SHA256_LEN + 1];

	kam_sha256("abc", 3, d);
	kam_hex_encode(d, sizeof(d), hex);
	ASSERT_STR_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(hex_round_trip)
{
	uint8_t in[4] = { 0x00, 0x7f, 0xab, 0xff }, out[4];
	char hex[9];

	kam_hex_encode(in, 4, hex);
	ASSERT_STR_EQ(hex, "007fabff");
	ASSERT_EQ(kam_hex_decode(hex, out, 4), 0);
	ASSERT_MEM_EQ(in, out, 4);
	ASSERT_EQ(kam_hex_decode("007FABFF", out, 4), 0);
	ASSERT_MEM_EQ(in, out, 4);
	ASSERT_EQ(kam_hex_decode("007fab", out, 4), KAM_EINVAL);     /* short */
	ASSERT_EQ(kam_hex_decode("007fabf", out, 4), KAM_EINVAL);    /* odd */
	ASSERT_EQ(kam_hex_decode("007fabff00", out, 4), KAM_EINVAL); /* long */
	ASSERT_EQ(kam_hex_decode("007fabfg", out, 4), KAM_EINVAL);   /* not hex */
	ASSERT_EQ(kam_hex_decode("", out, 0), 0);
}

TEST(random_and_ct_compare)
{
	uint8_t a[KAM_TOKEN_LEN], b[KAM_TOKEN_LEN];

	ASSERT_EQ(kam_random_bytes(a, sizeof(a)), 0);
	ASSERT_EQ(kam_random_bytes(b, sizeof(b)), 0);
	ASSERT_NE(kam_memcmp_ct(a, b, sizeof(a)), 0);   /* 2^-256 to fail */
	memcpy(b, a, sizeof(a));
	ASSERT_EQ(kam_memcmp_ct(a, b, sizeof(a)), 0);
	b[31] ^= 1;
	ASSERT_NE(kam_memcmp_ct(a, b, sizeof(a)), 0);
}

/* Every keyword prints and parses back to the same value; NONE prints "" and never parses. */
#define KEYWORD_ROUND_TRIP(type, count, str, parse, ...)                           \
	do {                                                                       \
		static const char *const want[] = { __VA_ARGS__ };                 \
		type v;                                                            \
		ASSERT_EQ(sizeof(want) / sizeof(want[0]), count);                  \
		ASSERT_STR_EQ(str((type)0), "");                                   \
		ASSERT_STR_EQ(str((type)count), "");                               \
		ASSERT_STR_EQ(str((type)-1), "");                                  \
		ASSERT_EQ(parse("", &v), KAM_EINVAL);                              \
		ASSERT_EQ(parse(NULL, &v), KAM_EINVAL);                            \
		ASSERT_EQ(parse("nonsense", &v), KAM_EINVAL);                      \
		for (int i = 1; i < (int)(count); i++) {                           \
			ASSERT_STR_EQ(str((type)i), want[i]);                      \
			ASSERT_EQ(parse(want[i], &v), 0);                          \
			ASSERT_EQ(v, i);                                           \
		}                                                                  \
	} while (0)

TEST(keywords_round_trip)
{
	KEYWORD_ROUND_TRIP(enum kam_role, KAM_ROLE__COUNT, kam_role_str, kam_role_parse,
			   "", "junior", "solution", "manager", "gm");
	KEYWORD_ROUND_TRIP(enum kam_tier, KAM_TIER__COUNT, kam_tier_str, kam_tier_parse,
			   "", "strategic", "top", "important", "ordinary");
	KEYWORD_ROUND_TRIP(enum kam_stage, KAM_STAGE__COUNT, kam_stage_str, kam_stage_parse,
			   "", "breakthrough", "consolidation", "occupation");
	KEYWORD_ROUND_TRIP(enum kam_strategy, KAM_STRATEGY__COUNT, kam_strategy_str, kam_strategy_parse,
			   "", "attack", "watch");
}

TEST(keywords_ignore_case)
{
	enum kam_tier t;

	ASSERT_EQ(kam_tier_parse("TOP", &t), 0);
	ASSERT_EQ(t, KAM_TIER_TOP);
}

TEST(op_names)
{
	static const char *const want[KAM_OP__COUNT] = {
		"none", "login", "logout", "whoami", "user.add", "user.list", "account.add",
		"account.list", "account.show", "account.set", "account.assign", "account.unassign",
		/* -- layers (issue 3): the layered show is audited as the show it is -- */
		[KAM_OP_ACCOUNT_LAYERS] = "account.show", [KAM_OP_BARRIER_ADD] = "barrier.add",
		[KAM_OP_BARRIER_LIST] = "barrier.list", [KAM_OP_BARRIER_SET] = "barrier.set",
		[KAM_OP_BARRIER_CLEAR] = "barrier.clear", [KAM_OP_PROJECT_ADD] = "project.add",
		[KAM_OP_PROJECT_LIST] = "project.list", [KAM_OP_PROJECT_SHOW] = "project.show",
		[KAM_OP_PROJECT_ADVANCE] = "project.advance", [KAM_OP_PROJECT_CLOSE] = "project.close",
		[KAM_OP_PROJECT_SET] = "project.set", [KAM_OP_CONTACT_ADD] = "contact.add",
		[KAM_OP_CONTACT_LIST] = "contact.list", [KAM_OP_CONTACT_SET] = "contact.set",
		[KAM_OP_VALUE_ADD] = "value.add", [KAM_OP_VALUE_LIST] = "value.list",
		[KAM_OP_AGREEMENT_ADD] = "agreement.add", [KAM_OP_AGREEMENT_LIST] = "agreement.list",
		[KAM_OP_REVIEW_ACCOUNT] = "review.account", [KAM_OP_REVIEW_TEAM] = "review.team",
		/* -- audit and churn (issue 4) -- */
		[KAM_OP_AUDIT_LOG] = "audit.log", [KAM_OP_AUDIT_VERIFY] = "audit.verify",
		[KAM_OP_AUDIT_ALERTS] = "audit.alerts", [KAM_OP_AUDIT_CLEAR] = "audit.clear",
		[KAM_OP_USER_DEACTIVATE] = "user.deactivate", [KAM_OP_USER_HANDOVER] = "user.handover",
		[KAM_OP_EXPORT] = "export", [KAM_OP_IMPORT] = "import",
		/* -- hostile clients (issue 6) -- */
		[KAM_OP_USER_PASSWD] = "user.passwd", [KAM_OP_USER_UNLOCK] = "user.unlock",
	};

	for (int i = 0; i < KAM_OP__COUNT; i++)
		ASSERT_STR_EQ(kam_op_str((enum kam_op)i), want[i]);
	ASSERT_STR_EQ(kam_op_str(KAM_OP__COUNT), "");
}

TEST(status_names_and_exit_codes)
{
	static const struct { enum kam_status s; const char *name; int exit_code; } want[] = {
		{ KAM_STATUS_OK, "ok", 0 },
		{ KAM_STATUS_UNAUTHENTICATED, "unauthenticated", 3 },
		{ KAM_STATUS_PERMISSION_DENIED, "permission_denied", 4 },
		{ KAM_STATUS_NOT_FOUND, "not_found", 5 },
		{ KAM_STATUS_INVALID_ARGUMENT, "invalid_argument", 6 },
		{ KAM_STATUS_CONFLICT, "conflict", 6 },
		{ KAM_STATUS_UNAVAILABLE, "unavailable", 7 },
		{ KAM_STATUS_INTERNAL, "internal", 7 },
		{ KAM_STATUS_PROTOCOL, "protocol", 7 },
		{ KAM_STATUS_BUSY, "busy", 7 },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ASSERT_STR_EQ(kam_status_str(want[i].s), want[i].name);
		ASSERT_EQ(kam_status_exit_code(want[i].s), want[i].exit_code);
	}
	/* Unused and future codes. */
	ASSERT_STR_EQ(kam_status_str((enum kam_status)1), "unknown");
	ASSERT_STR_EQ(kam_status_str((enum kam_status)99), "unknown");
	ASSERT_EQ(kam_status_exit_code((enum kam_status)99), 7);
	ASSERT_EQ(kam_status_exit_code((enum kam_status)-5), 7);
}

TEST(log_levels)
{
	enum kam_log_level l;

	ASSERT_EQ(kam_log_parse_level("debug", &l), 0);
	ASSERT_EQ(l, KAM_LOG_DEBUG);
	ASSERT_EQ(kam_log_parse_level("error", &l), 0);
	ASSERT_EQ(l, KAM_LOG_ERROR);
	ASSERT_EQ(kam_log_parse_level("loud", &l), KAM_EINVAL);
	ASSERT_EQ(kam_log_parse_level(NULL, &l), KAM_EINVAL);
	kam_log_set_level(KAM_LOG_ERROR);
	log_info("not shown");
	kam_log(KAM_LOG_ERROR, "peer", "shown once, newline %s", "\nscrubbed");
	kam_log_set_level(KAM_LOG_INFO);
}

TEST(strerror_texts)
{
	ASSERT_STR_EQ(kam_strerror(0), "success");
	ASSERT_STR_EQ(kam_strerror(KAM_EPROTO), "malformed frame or message");
	ASSERT(strlen(kam_strerror(-2)) > 0);
}

TEST_MAIN(TEST_ENTRY(arena_alignment_and_zero), TEST_ENTRY(arena_large_and_reset),
	  TEST_ENTRY(arena_strings), TEST_ENTRY(buf_append_consume),
	  TEST_ENTRY(sha256_known_answer), TEST_ENTRY(hex_round_trip),
	  TEST_ENTRY(random_and_ct_compare), TEST_ENTRY(keywords_round_trip),
	  TEST_ENTRY(keywords_ignore_case), TEST_ENTRY(op_names),
	  TEST_ENTRY(status_names_and_exit_codes), TEST_ENTRY(log_levels),
	  TEST_ENTRY(strerror_texts))
