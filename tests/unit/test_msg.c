/*
 * The codec: every request and response type survives encode -> decode,
 * every validation rule rejects with the right field, and bytes that are not
 * a message at all are KAM_EPROTO. Hand-made wire bytes cover what the
 * encoder cannot produce (embedded NUL, broken varints).
 */
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "frame.h"
#include "msg.h"
#include "test.h"

static const uint8_t token_a[KAM_TOKEN_LEN] = "0123456789abcdef0123456789abcdef";

/* Encode req, decode it again into *out (arena a); returns the decode result. */
static int request_round_trip(const struct kam_request *req, struct kam_arena *a, struct kam_request *out,
			      const char **why, const char **field)
{
	struct kam_buf b;
	int rc;

	kam_buf_init(&b);
	rc = msg_request_encode(req, &b);
	if (rc == 0)
		rc = msg_request_decode(kam_buf_head(&b), kam_buf_avail(&b), a, out, why, field);
	kam_buf_free(&b);
	return rc;
}

static int response_round_trip(const struct kam_response *resp, struct kam_arena *a, struct kam_response *out)
{
	struct kam_buf b;
	const uint8_t *p;
	size_t n;
	long used;
	int rc;

	kam_buf_init(&b);
	rc = msg_response_encode_frame(resp, &b);
	if (rc == 0) {
		used = frame_decode(kam_buf_head(&b), kam_buf_avail(&b), KAM_FRAME_MAX_DEFAULT, &p, &n);
		rc = used == (long)kam_buf_avail(&b) ? msg_response_decode(p, n, a, out) : KAM_EINTERNAL;
	}
	kam_buf_free(&b);
	return rc;
}

/* ---- requests ---- */

TEST(request_login)
{
	struct kam_request in = { .id = 7, .op = KAM_OP_LOGIN }, out;
	struct kam_arena a;

	in.u.login.username = "alice";
	in.u.login.password = "correct horse";
	kam_arena_init(&a);
	ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
	ASSERT_EQ(out.id, 7);
	ASSERT_EQ(out.op, KAM_OP_LOGIN);
	ASSERT(!out.has_token);
	ASSERT_STR_EQ(out.u.login.username, "alice");
	ASSERT_STR_EQ(out.u.login.password, "correct horse");
	kam_arena_free(&a);
}

TEST(request_empty_bodies_with_token)
{
	static const enum kam_op ops[] = { KAM_OP_LOGOUT, KAM_OP_WHOAMI, KAM_OP_USER_LIST };
	struct kam_arena a;

	kam_arena_init(&a);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct kam_request in = { .id = UINT64_MAX - i, .op = ops[i], .has_token = true }, out;

		memcpy(in.token, token_a, KAM_TOKEN_LEN);
		ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
		ASSERT_EQ(out.op, ops[i]);
		ASSERT(out.id == UINT64_MAX - i);
		ASSERT(out.has_token);
		ASSERT_MEM_EQ(out.token, token_a, KAM_TOKEN_LEN);
	}
	kam_arena_free(&a);
}

TEST(request_user_add)
{
	struct kam_request in = { .id = 1, .op = KAM_OP_USER_ADD }, out;
	struct kam_arena a;

	in.u.user_add.username = "bob";
	in.u.user_add.role = KAM_ROLE_MANAGER;
	in.u.user_add.reports_to = "carol";
	in.u.user_add.password = "twelve chars";
	kam_arena_init(&a);
	ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
	ASSERT_EQ(out.op, KAM_OP_USER_ADD);
	ASSERT_STR_EQ(out.u.user_add.username, "bob");
	ASSERT_EQ(out.u.user_add.role, KAM_ROLE_MANAGER);
	ASSERT_STR_EQ(out.u.user_add.reports_to, "carol");
	ASSERT_STR_EQ(out.u.user_add.password, "twelve chars");
	/* An absent optional string decodes as "", never NULL. */
	in.u.user_add.reports_to = NULL;
	ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
	ASSERT_STR_EQ(out.u.user_add.reports_to, "");
	kam_arena_free(&a);
}

TEST(request_account_add)
{
	struct kam_request in = { .id = 2, .op = KAM_OP_ACCOUNT_ADD }, out;
	struct kam_arena a;

	in.u.account_add.name = "Société Générale ÄÖ 株式会社";
	in.u.account_add.tier = KAM_TIER_ORDINARY;
	in.u.account_add.owner = "dave";
	kam_arena_init(&a);
	ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
	ASSERT_EQ(out.op, KAM_OP_ACCOUNT_ADD);
	ASSERT_STR_EQ(out.u.account_add.name, "Société Générale ÄÖ 株式会社");
	ASSERT_EQ(out.u.account_add.tier, KAM_TIER_ORDINARY);
	ASSERT_STR_EQ(out.u.account_add.owner, "dave");
	kam_arena_free(&a);
}

TEST(request_account_list)
{
	struct kam_request in = { .id = 3, .op = KAM_OP_ACCOUNT_LIST }, out;
	struct kam_arena a;

	in.u.account_list.tier = KAM_TIER_TOP;
	in.u.account_list.stage = KAM_STAGE_OCCUPATION;
	in.u.account_list.owner = "erin";
	in.u.account_list.after_id = 12345678901LL;
	in.u.account_list.limit = KAM_LIST_MAX;
	kam_arena_init(&a);
	ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
	ASSERT_EQ(out.u.account_list.tier, KAM_TIER_TOP);
	ASSERT_EQ(out.u.account_list.stage, KAM_STAGE_OCCUPATION);
	ASSERT_STR_EQ(out.u.account_list.owner, "erin");
	ASSERT_EQ(out.u.account_list.after_id, 12345678901LL);
	ASSERT_EQ(out.u.account_list.limit, KAM_LIST_MAX);
	/* Everything unset: any tier/stage/owner, and the default page size. */
	memset(&in.u, 0, sizeof(in.u));
	ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
	ASSERT_EQ(out.u.account_list.tier, KAM_TIER_NONE);
	ASSERT_EQ(out.u.account_list.stage, KAM_STAGE_NONE);
	ASSERT_STR_EQ(out.u.account_list.owner, "");
	ASSERT_EQ(out.u.account_list.limit, KAM_LIST_DEFAULT);
	kam_arena_free(&a);
}

TEST(request_account_show)
{
	struct kam_request in = { .id = 4, .op = KAM_OP_ACCOUNT_SHOW }, out;
	struct kam_arena a;

	in.u.account_show.account = "42";
	kam_arena_init(&a);
	ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
	ASSERT_EQ(out.op, KAM_OP_ACCOUNT_SHOW);
	ASSERT_STR_EQ(out.u.account_show.account, "42");
	kam_arena_free(&a);
}

TEST(request_account_set)
{
	struct kam_field fields[] = { { "notes", "line one\nline two" }, { "revenue", "" }, { "tier", "top" } };
	struct kam_request in = { .id = 5, .op = KAM_OP_ACCOUNT_SET }, out;
	struct kam_arena a;

	in.u.account_set.account = "Acme";
	in.u.account_set.fields = fields;
	in.u.account_set.n_fields = 3;
	in.u.account_set.if_version = 9;
	kam_arena_init(&a);
	ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
	ASSERT_EQ(out.op, KAM_OP_ACCOUNT_SET);
	ASSERT_STR_EQ(out.u.account_set.account, "Acme");
	ASSERT_EQ(out.u.account_set.n_fields, 3);
	for (size_t i = 0; i < 3; i++) {
		ASSERT_STR_EQ(out.u.account_set.fields[i].name, fields[i].name);
		ASSERT_STR_EQ(out.u.account_set.fields[i].value, fields[i].value);
	}
	ASSERT_EQ(out.u.account_set.if_version, 9);
	kam_arena_free(&a);
}

TEST(request_account_members)
{
	static const enum kam_op ops[] = { KAM_OP_ACCOUNT_ASSIGN, KAM_OP_ACCOUNT_UNASSIGN };
	struct kam_arena a;

	kam_arena_init(&a);
	for (size_t i = 0; i < 2; i++) {
		struct kam_request in = { .id = 6, .op = ops[i] }, out;

		in.u.account_member.account = "Acme";
		in.u.account_member.username = "frank";
		ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
		ASSERT_EQ(out.op, ops[i]);
		ASSERT_STR_EQ(out.u.account_member.account, "Acme");
		ASSERT_STR_EQ(out.u.account_member.username, "frank");
	}
	kam_arena_free(&a);
}

TEST(request_frame_and_encode_errors)
{
	struct kam_request in = { .id = 8, .op = KAM_OP_WHOAMI }, out;
	struct kam_arena a;
	struct kam_buf b;
	const uint8_t *p;
	size_t n;

	kam_arena_init(&a);
	kam_buf_init(&b);
	ASSERT_EQ(msg_request_encode_frame(&in, &b), 0);
	ASSERT_EQ(msg_request_encode_frame(&in, &b), 0);   /* appends */
	ASSERT_EQ(frame_decode(kam_buf_head(&b), kam_buf_avail(&b), KAM_FRAME_MAX_PRELOGIN, &p, &n),
		  (long)kam_buf_avail(&b) / 2);
	ASSERT_EQ(msg_request_decode(p, n, &a, &out, NULL, NULL), 0);
	ASSERT_EQ(out.op, KAM_OP_WHOAMI);
	ASSERT_EQ(out.id, 8);
	in.op = KAM_OP_NONE;
	ASSERT_EQ(msg_request_encode(&in, &b), KAM_EINVAL);
	in.op = KAM_OP__COUNT;
	ASSERT_EQ(msg_request_encode(&in, &b), KAM_EINVAL);
	kam_buf_free(&b);
	kam_arena_free(&a);
}

/* ---- validation: each rule, with the field it names ---- */

/* Repeat c n times into the arena. */
static const char *rep(struct kam_arena *a, char c, size_t n)
{
	char *s = kam_arena_alloc(a, n + 1);

	memset(s, c, n);
	return s;
}

/* Expect KAM_EINVAL naming field, with the op and id still set. */
#define EXPECT_INVALID(req, want_field)                                                   \
	do {                                                                              \
		struct kam_request out_;                                                  \
		const char *why_ = NULL, *field_ = NULL;                                  \
		ASSERT_EQ(request_round_trip(&(req), &a, &out_, &why_, &field_), KAM_EINVAL); \
		ASSERT_STR_EQ(field_, want_field);                                        \
		ASSERT(why_ && *why_);                                                    \
		ASSERT_EQ(out_.op, (req).op);                                             \
		ASSERT_EQ(out_.id, (req).id);                                             \
	} while (0)

static struct kam_request login_req(const char *user, const char *pass)
{
	struct kam_request r = { .id = 11, .op = KAM_OP_LOGIN };

	r.u.login.username = user;
	r.u.login.password = pass;
	return r;
}

static struct kam_request user_add_req(const char *user, int role, const char *reports_to, const char *pass)
{
	struct kam_request r = { .id = 12, .op = KAM_OP_USER_ADD };

	r.u.user_add.username = user;
	r.u.user_add.role = (enum kam_role)role;
	r.u.user_add.reports_to = reports_to;
	r.u.user_add.password = pass;
	return r;
}

TEST(invalid_login)
{
	struct kam_arena a;
	struct kam_request r;

	kam_arena_init(&a);
	r = login_req("", "pw");
	EXPECT_INVALID(r, "username");
	r = login_req("alice", "");
	EXPECT_INVALID(r, "password");
	r = login_req(rep(&a, 'u', KAM_MAX_USERNAME + 1), "pw");
	EXPECT_INVALID(r, "username");
	r = login_req(rep(&a, 'u', KAM_MAX_USERNAME), rep(&a, 'p', KAM_MAX_PASSWORD + 1));
	EXPECT_INVALID(r, "password");
	/* Exactly at the caps is fine; login has no minimum (old passwords keep working). */
	r = login_req(rep(&a, 'u', KAM_MAX_USERNAME), rep(&a, 'p', KAM_MAX_PASSWORD));
	{
		struct kam_request out;

		ASSERT_EQ(request_round_trip(&r, &a, &out, NULL, NULL), 0);
		r = login_req("a", "p");
		ASSERT_EQ(request_round_trip(&r, &a, &out, NULL, NULL), 0);
	}
	kam_arena_free(&a);
}

TEST(invalid_login_messages)
{
	struct kam_arena a;
	struct kam_request r, out;
	const char *why = NULL, *field = NULL;

	kam_arena_init(&a);
	r = login_req(rep(&a, 'u', 64), "pw");
	ASSERT_EQ(request_round_trip(&r, &a, &out, &why, &field), KAM_EINVAL);
	ASSERT_STR_EQ(why, "username is longer than 63 bytes");
	r = login_req("", "pw");
	ASSERT_EQ(request_round_trip(&r, &a, &out, &why, &field), KAM_EINVAL);
	ASSERT_STR_EQ(why, "username is required");
	kam_arena_free(&a);
}

TEST(invalid_user_add)
{
	struct kam_arena a;
	struct kam_request r;
	const char *pw = "twelve chars";

	kam_arena_init(&a);
	r = user_add_req("", KAM_ROLE_JUNIOR, "", pw);
	EXPECT_INVALID(r, "username");
	r = user_add_req(rep(&a, 'u', KAM_MAX_USERNAME + 1), KAM_ROLE_JUNIOR, "", pw);
	EXPECT_INVALID(r, "username");
	r = user_add_req("bob", KAM_ROLE_NONE, "", pw);
	EXPECT_INVALID(r, "role");
	r = user_add_req("bob", KAM_ROLE__COUNT, "", pw);
	EXPECT_INVALID(r, "role");
	r = user_add_req("bob", -1, "", pw);
	EXPECT_INVALID(r, "role");
	r = user_add_req("bob", KAM_ROLE_GM, rep(&a, 'm', KAM_MAX_USERNAME + 1), pw);
	EXPECT_INVALID(r, "reports_to");
	r = user_add_req("bob", KAM_ROLE_GM, "", "");
	EXPECT_INVALID(r, "password");
	r = user_add_req("bob", KAM_ROLE_GM, "", rep(&a, 'p', KAM_MIN_PASSWORD - 1));
	EXPECT_INVALID(r, "password");
	r = user_add_req("bob", KAM_ROLE_GM, "", rep(&a, 'p', KAM_MAX_PASSWORD + 1));
	EXPECT_INVALID(r, "password");
	kam_arena_free(&a);
}

TEST(invalid_account_add)
{
	struct kam_arena a;
	struct kam_request r = { .id = 13, .op = KAM_OP_ACCOUNT_ADD };

	kam_arena_init(&a);
	r.u.account_add.name = "";
	r.u.account_add.tier = KAM_TIER_TOP;
	EXPECT_INVALID(r, "name");
	r.u.account_add.name = rep(&a, 'n', KAM_MAX_NAME + 1);
	EXPECT_INVALID(r, "name");
	r.u.account_add.name = "Acme";
	r.u.account_add.tier = KAM_TIER_NONE;
	EXPECT_INVALID(r, "tier");
	r.u.account_add.tier = KAM_TIER__COUNT;
	EXPECT_INVALID(r, "tier");
	r.u.account_add.tier = KAM_TIER_TOP;
	r.u.account_add.owner = rep(&a, 'o', KAM_MAX_USERNAME + 1);
	EXPECT_INVALID(r, "owner");
	kam_arena_free(&a);
}

TEST(invalid_account_list)
{
	struct kam_arena a;
	struct kam_request r = { .id = 14, .op = KAM_OP_ACCOUNT_LIST };

	kam_arena_init(&a);
	r.u.account_list.tier = KAM_TIER__COUNT;
	EXPECT_INVALID(r, "tier");
	r.u.account_list.tier = KAM_TIER_NONE;
	r.u.account_list.stage = KAM_STAGE__COUNT;
	EXPECT_INVALID(r, "stage");
	r.u.account_list.stage = KAM_STAGE_NONE;
	r.u.account_list.owner = rep(&a, 'o', KAM_MAX_USERNAME + 1);
	EXPECT_INVALID(r, "owner");
	r.u.account_list.owner = NULL;
	r.u.account_list.limit = KAM_LIST_MAX + 1;
	EXPECT_INVALID(r, "limit");
	r.u.account_list.limit = 0;
	r.u.account_list.after_id = -1;
	EXPECT_INVALID(r, "after_id");
	kam_arena_free(&a);
}

TEST(invalid_account_refs)
{
	static const enum kam_op member_ops[] = { KAM_OP_ACCOUNT_ASSIGN, KAM_OP_ACCOUNT_UNASSIGN };
	struct kam_arena a;
	struct kam_request r = { .id = 15, .op = KAM_OP_ACCOUNT_SHOW };

	kam_arena_init(&a);
	r.u.account_show.account = "";
	EXPECT_INVALID(r, "account");
	r.u.account_show.account = rep(&a, 'x', KAM_MAX_NAME + 1);
	EXPECT_INVALID(r, "account");
	for (size_t i = 0; i < 2; i++) {
		struct kam_request m = { .id = 16, .op = member_ops[i] };

		m.u.account_member.account = "";
		m.u.account_member.username = "bob";
		EXPECT_INVALID(m, "account");
		m.u.account_member.account = rep(&a, 'x', KAM_MAX_NAME + 1);
		EXPECT_INVALID(m, "account");
		m.u.account_member.account = "Acme";
		m.u.account_member.username = "";
		EXPECT_INVALID(m, "username");
		m.u.account_member.username = rep(&a, 'u', KAM_MAX_USERNAME + 1);
		EXPECT_INVALID(m, "username");
	}
	kam_arena_free(&a);
}

TEST(invalid_account_set)
{
	struct kam_arena a;
	struct kam_field ok = { "notes", "x" }, many[KAM_MAX_REPEATED + 1];
	struct kam_field bad;
	struct kam_request r = { .id = 17, .op = KAM_OP_ACCOUNT_SET };

	kam_arena_init(&a);
	r.u.account_set.account = "";
	r.u.account_set.fields = &ok;
	r.u.account_set.n_fields = 1;
	EXPECT_INVALID(r, "account");
	r.u.account_set.account = "Acme";
	r.u.account_set.n_fields = 0;
	EXPECT_INVALID(r, "fields");
	for (size_t i = 0; i < KAM_MAX_REPEATED + 1; i++)
		many[i] = ok;
	r.u.account_set.fields = many;
	r.u.account_set.n_fields = KAM_MAX_REPEATED + 1;
	EXPECT_INVALID(r, "fields");
	r.u.account_set.n_fields = KAM_MAX_REPEATED;   /* at the cap: fine */
	{
		struct kam_request out;

		ASSERT_EQ(request_round_trip(&r, &a, &out, NULL, NULL), 0);
		ASSERT_EQ(out.u.account_set.n_fields, KAM_MAX_REPEATED);
	}
	r.u.account_set.fields = &bad;
	r.u.account_set.n_fields = 1;
	bad = (struct kam_field){ "", "x" };
	EXPECT_INVALID(r, "name");
	bad = (struct kam_field){ rep(&a, 'f', KAM_MAX_FIELD_NAME + 1), "x" };
	EXPECT_INVALID(r, "name");
	bad = (struct kam_field){ "notes", rep(&a, 'v', KAM_MAX_TEXT + 1) };
	EXPECT_INVALID(r, "value");
	bad = (struct kam_field){ "notes", rep(&a, 'v', KAM_MAX_TEXT) };
	r.u.account_set.if_version = -3;
	EXPECT_INVALID(r, "if_version");
	kam_arena_free(&a);
}

TEST(invalid_utf8)
{
	static const char *const bad[] = {
		"\xff",                 /* never valid */
		"a\x80",                /* lone continuation */
		"\xc3",                 /* truncated sequence */
		"\xc0\xaf",             /* overlong '/' */
		"\xe0\x80\xaf",         /* overlong, 3 bytes */
		"\xed\xa0\x80",         /* UTF-16 surrogate */
		"\xf4\x90\x80\x80",     /* above U+10FFFF */
	};
	struct kam_arena a;
	struct kam_field f = { "notes", "" };
	struct kam_request r;

	kam_arena_init(&a);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = login_req(bad[i], "pw");
		EXPECT_INVALID(r, "username");
		/* Nested two deep: Request > AccountSetRequest > FieldValue. */
		r = (struct kam_request){ .id = 18, .op = KAM_OP_ACCOUNT_SET };
		r.u.account_set.account = "Acme";
		r.u.account_set.fields = &f;
		r.u.account_set.n_fields = 1;
		f.value = bad[i];
		EXPECT_INVALID(r, "value");
	}
	/* Four-byte characters are fine. */
	r = login_req("\xf0\x9f\x98\x80", "pw");
	{
		struct kam_request out;

		ASSERT_EQ(request_round_trip(&r, &a, &out, NULL, NULL), 0);
	}
	kam_arena_free(&a);
}

TEST(invalid_envelope)
{
	/* Request { id: 5, token: "abc" , whoami {} } and Request { id: 6 } by hand. */
	static const uint8_t short_token[] = { 0x08, 0x05, 0x12, 0x03, 'a', 'b', 'c', 0x62, 0x00 };
	static const uint8_t no_body[] = { 0x08, 0x06 };
	struct kam_arena a;
	struct kam_request out;
	const char *why = NULL, *field = NULL;

	kam_arena_init(&a);
	ASSERT_EQ(msg_request_decode(short_token, sizeof(short_token), &a, &out, &why, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "token");
	ASSERT_EQ(out.op, KAM_OP_WHOAMI);
	ASSERT_EQ(out.id, 5);
	ASSERT_EQ(msg_request_decode(no_body, sizeof(no_body), &a, &out, &why, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "body");
	ASSERT_STR_EQ(why, "empty request");
	ASSERT_EQ(out.op, KAM_OP_NONE);
	ASSERT_EQ(out.id, 6);
	/* A zero-length frame is an empty Request: valid protobuf, empty request. */
	ASSERT_EQ(msg_request_decode((const uint8_t *)"", 0, &a, &out, &why, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "body");
	kam_arena_free(&a);
}

TEST(embedded_nul_rejected)
{
	/* Request { login { username: "a\0b", password: "pw" } }: protobuf-c alone would cut it to "a". */
	static const uint8_t wire[] = { 0x52, 0x09, 0x0a, 0x03, 'a', 0x00, 'b', 0x12, 0x02, 'p', 'w' };
	struct kam_arena a;
	struct kam_request out;
	const char *why = NULL, *field = NULL;

	kam_arena_init(&a);
	ASSERT_EQ(msg_request_decode(wire, sizeof(wire), &a, &out, &why, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "username");
	ASSERT_STR_EQ(why, "username contains a NUL byte");
	ASSERT_EQ(out.op, KAM_OP_LOGIN);
	kam_arena_free(&a);
}

TEST(unknown_fields_ignored)
{
	/* Request { whoami {} } plus field 99 (varint) and field 98 (bytes) from a newer client. */
	static const uint8_t wire[] = { 0x62, 0x00, 0x98, 0x06, 0x01, 0x92, 0x06, 0x02, 0xff, 0x00 };
	struct kam_arena a;
	struct kam_request out;

	kam_arena_init(&a);
	ASSERT_EQ(msg_request_decode(wire, sizeof(wire), &a, &out, NULL, NULL), 0);
	ASSERT_EQ(out.op, KAM_OP_WHOAMI);
	kam_arena_free(&a);
}

TEST(garbage_is_proto_error)
{
	static const struct { const uint8_t *p; size_t n; } cases[] = {
		{ (const uint8_t *)"\xff", 1 },                                  /* unfinished varint */
		{ (const uint8_t *)"\x0a\x05\x61", 3 },                          /* length past the end */
		{ (const uint8_t *)"\x52\x80", 2 },                              /* body length cut */
		{ (const uint8_t *)"\x0b\x0c", 2 },                              /* group wire type */
		{ (const uint8_t *)"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12 }, /* 11-byte varint */
		{ (const uint8_t *)"\x52\x03\x0a\x05\x61", 5 },                  /* inner length past outer */
		{ (const uint8_t *)"\x00", 1 },                                  /* field number 0 */
		{ (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18 },
	};
	struct kam_arena a;
	struct kam_request req;
	struct kam_response resp;

	kam_arena_init(&a);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(msg_request_decode(cases[i].p, cases[i].n, &a, &req, NULL, NULL), KAM_EPROTO);
		ASSERT_EQ(msg_response_decode(cases[i].p, cases[i].n, &a, &resp), KAM_EPROTO);
	}
	kam_arena_free(&a);
}

TEST(unpack_budget_bounds_allocation)
{
	/* ~1 MiB of empty FieldValues would make protobuf-c allocate ~45 MiB: the budget refuses it. */
	size_t n = (KAM_FRAME_MAX_DEFAULT - 16) / 2, len = 0;
	uint8_t *wire = malloc(n * 2 + 16);
	struct kam_arena a;
	struct kam_request out;
	int rc;

	ASSERT(wire != NULL);
	/* Request.account_set (field 33, length-delimited): tag 0x8a 0x02, then the length as a varint. */
	wire[len++] = 0x8a;
	wire[len++] = 0x02;
	for (size_t v = n * 2; ; v >>= 7) {
		wire[len++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		if (v <= 0x7f)
			break;
	}
	for (size_t i = 0; i < n; i++) {
		wire[len++] = 0x12;   /* fields = 2, length-delimited */
		wire[len++] = 0x00;
	}
	kam_arena_init(&a);
	rc = msg_request_decode(wire, len, &a, &out, NULL, NULL);
	ASSERT_EQ(rc, KAM_EPROTO);
	kam_arena_free(&a);
	free(wire);
}

/* ---- responses ---- */

static const char *team3[] = { "alice", "bob", "carol" };

static struct kam_user sample_user(void)
{
	return (struct kam_user){ .id = 77, .username = "alice", .role = KAM_ROLE_SOLUTION,
				  .reports_to = "mgr", .active = true, .created_at = 1700000000 };
}

static struct kam_account sample_account(bool with_info)
{
	struct kam_account acc = {
		.id = 5, .name = "Acme GmbH", .tier = KAM_TIER_STRATEGIC, .stage = KAM_STAGE_CONSOLIDATION,
		.strategy = KAM_STRATEGY_ATTACK, .owner = "alice", .n_team = 3, .team = team3,
		.has_info = with_info, .created_at = 1, .updated_at = 2, .version = 3,
	};

	if (with_info) {
		acc.info.founded = (struct kam_opt_i64){ true, 1901 };
		acc.info.headcount = (struct kam_opt_i64){ true, 0 };   /* known zero, not unknown */
		acc.info.business = "machines";
		acc.info.revenue = (struct kam_opt_i64){ true, -5 };
		acc.info.budget = (struct kam_opt_i64){ false, 0 };
		acc.info.currency = "EUR";
		acc.info.suppliers = "";
		acc.info.notes = "n";
	}
	return acc;
}

static void check_user(const struct kam_user *got, const struct kam_user *want)
{
	ASSERT_EQ(got->id, want->id);
	ASSERT_STR_EQ(got->username, want->username);
	ASSERT_EQ(got->role, want->role);
	ASSERT_STR_EQ(got->reports_to, want->reports_to);
	ASSERT_EQ(got->active, want->active);
	ASSERT_EQ(got->created_at, want->created_at);
}

static void check_opt(struct kam_opt_i64 got, struct kam_opt_i64 want)
{
	ASSERT_EQ(got.has, want.has);
	ASSERT_EQ(got.value, want.value);
}

static void check_account(const struct kam_account *got, const struct kam_account *want)
{
	ASSERT_EQ(got->id, want->id);
	ASSERT_STR_EQ(got->name, want->name);
	ASSERT_EQ(got->tier, want->tier);
	ASSERT_EQ(got->stage, want->stage);
	ASSERT_EQ(got->strategy, want->strategy);
	ASSERT_STR_EQ(got->owner, want->owner);
	ASSERT_EQ(got->n_team, want->n_team);
	for (size_t i = 0; i < want->n_team; i++)
		ASSERT_STR_EQ(got->team[i], want->team[i]);
	ASSERT_EQ(got->has_info, want->has_info);
	if (want->has_info) {
		check_opt(got->info.founded, want->info.founded);
		check_opt(got->info.headcount, want->info.headcount);
		check_opt(got->info.revenue, want->info.revenue);
		check_opt(got->info.budget, want->info.budget);
		ASSERT_STR_EQ(got->info.business, want->info.business);
		ASSERT_STR_EQ(got->info.currency, want->info.currency);
		ASSERT_STR_EQ(got->info.suppliers, want->info.suppliers);
		ASSERT_STR_EQ(got->info.notes, want->info.notes);
	}
	ASSERT_EQ(got->created_at, want->created_at);
	ASSERT_EQ(got->updated_at, want->updated_at);
	ASSERT_EQ(got->version, want->version);
}

TEST(response_login_whoami_user_add)
{
	struct kam_response in = { .id = 1, .op = KAM_OP_LOGIN }, out;
	struct kam_user u = sample_user();
	struct kam_arena a;

	kam_arena_init(&a);
	memcpy(in.u.login.token, token_a, KAM_TOKEN_LEN);
	in.u.login.user = u;
	in.u.login.expires_at = 1800000000;
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_EQ(out.op, KAM_OP_LOGIN);
	ASSERT_EQ(out.id, 1);
	ASSERT_EQ(out.error.code, KAM_STATUS_OK);
	ASSERT_STR_EQ(out.error.message, "");
	ASSERT_STR_EQ(out.error.field, "");
	ASSERT_MEM_EQ(out.u.login.token, token_a, KAM_TOKEN_LEN);
	ASSERT_EQ(out.u.login.expires_at, 1800000000);
	check_user(&out.u.login.user, &u);

	in = (struct kam_response){ .id = 2, .op = KAM_OP_WHOAMI };
	in.u.whoami.user = u;
	in.u.whoami.expires_at = 99;
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_EQ(out.op, KAM_OP_WHOAMI);
	ASSERT_EQ(out.u.whoami.expires_at, 99);
	check_user(&out.u.whoami.user, &u);

	in = (struct kam_response){ .id = 3, .op = KAM_OP_USER_ADD };
	in.u.user = u;
	in.u.user.reports_to = NULL;   /* NULL encodes as "" */
	in.u.user.active = false;
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_EQ(out.op, KAM_OP_USER_ADD);
	ASSERT_STR_EQ(out.u.user.reports_to, "");
	ASSERT(!out.u.user.active);
	ASSERT_STR_EQ(out.u.user.username, "alice");
	kam_arena_free(&a);
}

TEST(response_logout)
{
	struct kam_response in = { .id = 4, .op = KAM_OP_LOGOUT }, out;
	struct kam_arena a;

	kam_arena_init(&a);
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_EQ(out.op, KAM_OP_LOGOUT);
	ASSERT_EQ(out.id, 4);
	kam_arena_free(&a);
}

TEST(response_user_list)
{
	struct kam_user users[3] = { sample_user(), sample_user(), sample_user() };
	struct kam_response in = { .id = 5, .op = KAM_OP_USER_LIST }, out;
	struct kam_arena a;

	users[1].username = "bob";
	users[1].role = KAM_ROLE_GM;
	users[2].username = "carol";
	users[2].role = KAM_ROLE_JUNIOR;
	in.u.user_list.n = 3;
	in.u.user_list.users = users;
	kam_arena_init(&a);
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_EQ(out.op, KAM_OP_USER_LIST);
	ASSERT_EQ(out.u.user_list.n, 3);
	for (size_t i = 0; i < 3; i++)
		check_user(&out.u.user_list.users[i], &users[i]);
	/* An empty list. */
	in.u.user_list.n = 0;
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_EQ(out.op, KAM_OP_USER_LIST);
	ASSERT_EQ(out.u.user_list.n, 0);
	kam_arena_free(&a);
}

TEST(response_account_bodies)
{
	static const enum kam_op ops[] = { KAM_OP_ACCOUNT_ADD, KAM_OP_ACCOUNT_SHOW, KAM_OP_ACCOUNT_SET,
					   KAM_OP_ACCOUNT_ASSIGN, KAM_OP_ACCOUNT_UNASSIGN };
	struct kam_arena a;

	kam_arena_init(&a);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		for (int info = 0; info < 2; info++) {
			struct kam_response in = { .id = 6 + i, .op = ops[i] }, out;

			in.u.account = sample_account(info);
			ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
			ASSERT_EQ(out.op, ops[i]);
			check_account(&out.u.account, &in.u.account);
		}
	}
	kam_arena_free(&a);
}

TEST(response_account_list)
{
	struct kam_account accs[2] = { sample_account(false), sample_account(false) };
	struct kam_response in = { .id = 20, .op = KAM_OP_ACCOUNT_LIST }, out;
	struct kam_arena a;

	accs[1].id = 6;
	accs[1].name = "Beta";
	accs[1].n_team = 0;
	accs[1].team = NULL;
	accs[1].strategy = KAM_STRATEGY_NONE;
	in.u.account_list.n = 2;
	in.u.account_list.accounts = accs;
	in.u.account_list.next_after_id = 6;
	kam_arena_init(&a);
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_EQ(out.op, KAM_OP_ACCOUNT_LIST);
	ASSERT_EQ(out.u.account_list.n, 2);
	ASSERT_EQ(out.u.account_list.next_after_id, 6);
	for (size_t i = 0; i < 2; i++)
		check_account(&out.u.account_list.accounts[i], &accs[i]);
	kam_arena_free(&a);
}

TEST(response_error)
{
	struct kam_response in = { .id = 21, .op = KAM_OP_NONE }, out;
	struct kam_arena a;

	in.error = (struct kam_error){ KAM_STATUS_INVALID_ARGUMENT, "username is longer than 63 bytes", "username" };
	kam_arena_init(&a);
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_EQ(out.op, KAM_OP_NONE);
	ASSERT_EQ(out.id, 21);
	ASSERT_EQ(out.error.code, KAM_STATUS_INVALID_ARGUMENT);
	ASSERT_STR_EQ(out.error.message, "username is longer than 63 bytes");
	ASSERT_STR_EQ(out.error.field, "username");
	/* A protocol error answers id 0, with no field. */
	in = (struct kam_response){ .id = 0 };
	in.error = (struct kam_error){ KAM_STATUS_PROTOCOL, "malformed frame", NULL };
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_EQ(out.error.code, KAM_STATUS_PROTOCOL);
	ASSERT_STR_EQ(out.error.field, "");
	kam_arena_free(&a);
}

TEST(response_bad_content_is_proto_error)
{
	struct kam_response in = { .id = 22, .op = KAM_OP_USER_ADD }, out;
	struct kam_arena a;
	struct kam_buf b;
	const uint8_t *p;
	size_t n;
	/* Response { login { token: 3 bytes } } and Response { whoami {} } (user missing). */
	static const uint8_t short_token[] = { 0x52, 0x05, 0x0a, 0x03, 'a', 'b', 'c' };
	static const uint8_t no_user[] = { 0x62, 0x00 };
	static const uint8_t bad_utf8[] = { 0x12, 0x03, 0x12, 0x01, 0xff };   /* error.message */

	kam_arena_init(&a);
	in.u.user = sample_user();
	in.u.user.role = (enum kam_role)9;
	ASSERT_EQ(response_round_trip(&in, &a, &out), KAM_EPROTO);
	in = (struct kam_response){ .id = 23, .op = KAM_OP_ACCOUNT_SHOW };
	in.u.account = sample_account(false);
	in.u.account.stage = (enum kam_stage)7;
	ASSERT_EQ(response_round_trip(&in, &a, &out), KAM_EPROTO);
	ASSERT_EQ(msg_response_decode(short_token, sizeof(short_token), &a, &out), KAM_EPROTO);
	ASSERT_EQ(msg_response_decode(no_user, sizeof(no_user), &a, &out), KAM_EPROTO);
	ASSERT_EQ(msg_response_decode(bad_utf8, sizeof(bad_utf8), &a, &out), KAM_EPROTO);
	/* An op out of range is refused by the encoder. */
	kam_buf_init(&b);
	in.op = KAM_OP__COUNT;
	ASSERT_EQ(msg_response_encode_frame(&in, &b), KAM_EINVAL);
	ASSERT_EQ(kam_buf_avail(&b), 0);
	(void)p;
	(void)n;
	kam_buf_free(&b);
	kam_arena_free(&a);
}

TEST(large_honest_messages_fit_the_budget)
{
	static struct kam_account accs[KAM_LIST_MAX];
	static struct kam_user users[KAM_MAX_REPEATED];
	struct kam_response in = { .id = 30, .op = KAM_OP_ACCOUNT_LIST }, out;
	struct kam_arena a;

	for (size_t i = 0; i < KAM_LIST_MAX; i++) {
		accs[i] = sample_account(true);
		accs[i].id = (int64_t)i + 1;
	}
	for (size_t i = 0; i < KAM_MAX_REPEATED; i++) {
		users[i] = sample_user();
		users[i].reports_to = "";
	}
	in.u.account_list.n = KAM_LIST_MAX;
	in.u.account_list.accounts = accs;
	kam_arena_init(&a);
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_EQ(out.u.account_list.n, KAM_LIST_MAX);
	check_account(&out.u.account_list.accounts[KAM_LIST_MAX - 1], &accs[KAM_LIST_MAX - 1]);
	in = (struct kam_response){ .id = 31, .op = KAM_OP_USER_LIST };
	in.u.user_list.n = KAM_MAX_REPEATED;
	in.u.user_list.users = users;
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_EQ(out.u.user_list.n, KAM_MAX_REPEATED);
	kam_arena_free(&a);
}

/* ---- layers (issue 3) ---- */

TEST(request_layer_shapes)
{
	struct kam_field fields[] = { { "kind", "competitor" }, { "description", "two\nlines" } };
	struct kam_request in = { .id = 3, .op = KAM_OP_BARRIER_ADD, .u.layer_add = { "Acme", 2, fields } }, out;
	const char *why, *field;
	struct kam_arena a;

	kam_arena_init(&a);
	ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
	ASSERT_EQ(out.op, KAM_OP_BARRIER_ADD);
	ASSERT_STR_EQ(out.u.layer_add.account, "Acme");
	ASSERT_EQ(out.u.layer_add.n_fields, 2);
	ASSERT_STR_EQ(out.u.layer_add.fields[1].value, "two\nlines");
	/* The same message shape serves several operations; the oneof member tells them apart. */
	in.op = KAM_OP_CONTACT_ADD;
	ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
	ASSERT_EQ(out.op, KAM_OP_CONTACT_ADD);
	in = (struct kam_request){ .id = 4, .op = KAM_OP_PROJECT_ADVANCE, .u.layer_item = { 42, 1, fields } };
	ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
	ASSERT_EQ(out.u.layer_item.id, 42);
	in.u.layer_item.id = 0;
	ASSERT_EQ(request_round_trip(&in, &a, &out, &why, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "id");
	in.u.layer_item.id = -5;
	ASSERT_EQ(request_round_trip(&in, &a, &out, &why, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "id");
	in = (struct kam_request){ .id = 5, .op = KAM_OP_REVIEW_ACCOUNT, .u.layer_list = { "" } };
	ASSERT_EQ(request_round_trip(&in, &a, &out, &why, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "account");
	in = (struct kam_request){ .id = 6, .op = KAM_OP_REVIEW_TEAM, .u.review_team = { "", 0, 0 } };
	ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
	ASSERT_EQ(out.u.review_team.limit, KAM_LIST_DEFAULT);
	in.u.review_team.limit = KAM_LIST_MAX + 1;
	ASSERT_EQ(request_round_trip(&in, &a, &out, &why, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "limit");
	kam_arena_free(&a);
}

TEST(response_layers_and_review)
{
	struct kam_stage_move moves[] = { { KAM_MOVE_START, KAM_PSTAGE_NONE, KAM_PSTAGE_NEED, "sol", 100 },
					  { KAM_MOVE_SKIP, KAM_PSTAGE_NEED, KAM_PSTAGE_BUDGET, "sol", 200 } };
	int64_t links[] = { 7, 9 };
	struct kam_barrier b = { .id = 1, .account_id = 2, .kind = KAM_BARRIER_CLEARANCE, .description = "d",
				 .status = KAM_BSTATUS_WORKING, .breakthrough = "", .due = "2027-01-31", .owner = "jan" };
	struct kam_project p = { .id = 7, .name = "Retrofit", .stage = KAM_PSTAGE_BUDGET, .status = KAM_PSTATUS_OPEN,
				 .reason = "", .owner = "sol", .involved = KAM_PSTAGE_NEED,
				 .stages_taken = KAM_PSTAGE_BIT(KAM_PSTAGE_NEED) | KAM_PSTAGE_BIT(KAM_PSTAGE_BUDGET),
				 .expected_value = { true, 0 }, .currency = "EUR", .close_date = "", .history = moves,
				 .n_history = 2, .support = { true, 80 }, .oppose = { true, 20 } };
	struct kam_contact c = { .id = 3, .name = "Jane", .title = "", .decision_role = "", .criteria = "",
				 .weight = { true, 0 }, .stance = KAM_STANCE_OPPOSE, .org_needs = "", .personal_needs = "",
				 .projects = links, .n_projects = 2 };
	struct kam_value v = { .id = 4, .level = KAM_VLEVEL_STRATEGIC, .text = "t", .author = "m" };
	struct kam_agreement g = { .id = 5, .signed_by = "s", .signed_on = "2026-01-10", .scope = "x",
				   .term_months = { false, 0 }, .recorded_by = "gm" };
	struct kam_gap gap = { "joined_late", "project 7: we joined late", 7 };
	struct kam_response in = { .id = 8, .op = KAM_OP_REVIEW_ACCOUNT }, out;
	struct kam_layers *l = &in.u.review.layers, *o;
	struct kam_team_row row = { .account = { .id = 2, .name = "Acme", .tier = KAM_TIER_TOP, .stage = KAM_STAGE_BREAKTHROUGH,
						 .owner = "sol" }, .open_projects = 1, .gaps = 3 };
	struct kam_arena a;

	kam_arena_init(&a);
	*l = (struct kam_layers){ .has_account = true, .account = { .id = 2, .name = "Acme", .tier = KAM_TIER_TOP,
								    .stage = KAM_STAGE_BREAKTHROUGH, .owner = "sol" },
				  .barriers = &b, .n_barriers = 1, .projects = &p, .n_projects = 1, .contacts = &c,
				  .n_contacts = 1, .values = &v, .n_values = 1, .agreements = &g, .n_agreements = 1,
				  .restricted = true };
	in.u.review.gaps = &gap;
	in.u.review.n_gaps = 1;
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	o = &out.u.review.layers;
	ASSERT(o->has_account && o->restricted);
	ASSERT_STR_EQ(o->account.name, "Acme");
	ASSERT_EQ(o->barriers[0].kind, KAM_BARRIER_CLEARANCE);
	ASSERT_STR_EQ(o->barriers[0].due, "2027-01-31");
	ASSERT_EQ(o->projects[0].stages_taken, p.stages_taken);
	ASSERT_EQ(o->projects[0].n_history, 2);
	ASSERT_EQ(o->projects[0].history[1].kind, KAM_MOVE_SKIP);
	ASSERT_STR_EQ(o->projects[0].history[1].by, "sol");
	/* A known zero is not an unknown: Int64 carries presence. */
	ASSERT(o->projects[0].expected_value.has && o->projects[0].expected_value.value == 0);
	ASSERT_EQ(o->projects[0].support.value, 80);
	ASSERT(o->contacts[0].weight.has);
	ASSERT_EQ(o->contacts[0].n_projects, 2);
	ASSERT_EQ(o->contacts[0].projects[1], 9);
	ASSERT_EQ(o->values[0].level, KAM_VLEVEL_STRATEGIC);
	ASSERT(!o->agreements[0].term_months.has);
	ASSERT_EQ(out.u.review.n_gaps, 1);
	ASSERT_STR_EQ(out.u.review.gaps[0].code, "joined_late");
	ASSERT_EQ(out.u.review.gaps[0].ref, 7);

	in = (struct kam_response){ .id = 9, .op = KAM_OP_REVIEW_TEAM,
				    .u.review_team = { .n = 1, .rows = &row, .next_after_id = 2 } };
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_EQ(out.u.review_team.n, 1);
	ASSERT_EQ(out.u.review_team.rows[0].gaps, 3);
	ASSERT(!out.u.review_team.rows[0].support.has);
	ASSERT_EQ(out.u.review_team.next_after_id, 2);

	/* A value out of the enum's range from a server is a protocol error for the client. */
	b.kind = KAM_BARRIER__COUNT;
	in = (struct kam_response){ .id = 10, .op = KAM_OP_BARRIER_LIST,
				    .u.layers = { .barriers = &b, .n_barriers = 1 } };
	ASSERT_EQ(response_round_trip(&in, &a, &out), KAM_EPROTO);
	kam_arena_free(&a);
}

/* ---- audit and churn (issue 4) ---- */

TEST(request_audit_shapes)
{
	const char *refs[] = { "Acme", "42" };
	struct kam_field f[] = { { "founded", "1998" } };
	struct kam_import_row rowsv[] = { { 2, "Acme", KAM_TIER_TOP, "sol", 1, f }, { 3, "Bolt", KAM_TIER_NONE, "", 0, NULL } };
	struct kam_request in = { .id = 80, .op = KAM_OP_AUDIT_LOG,
				  .u.audit_log = { "Acme", "jan", 100, 200, "account.*", 77, 0 } }, out;
	const char *why, *field;
	struct kam_arena a;

	kam_arena_init(&a);
	ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
	ASSERT_STR_EQ(out.u.audit_log.action, "account.*");
	ASSERT_EQ(out.u.audit_log.until, 200);
	ASSERT_EQ(out.u.audit_log.before_id, 77);
	ASSERT_EQ(out.u.audit_log.limit, KAM_LIST_DEFAULT);
	in.u.audit_log.since = -1;
	ASSERT_EQ(request_round_trip(&in, &a, &out, &why, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "since");
	in.u.audit_log.since = 0;
	in.u.audit_log.limit = KAM_LIST_MAX + 1;
	ASSERT_EQ(request_round_trip(&in, &a, &out, &why, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "limit");

	in = (struct kam_request){ .id = 85, .op = KAM_OP_USER_HANDOVER, .u.handover = { "jan", "maria", 2, refs } };
	ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
	ASSERT_EQ(out.u.handover.n_accounts, 2);
	ASSERT_STR_EQ(out.u.handover.accounts[1], "42");
	in.op = KAM_OP_USER_DEACTIVATE;
	ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
	ASSERT_STR_EQ(out.u.handover.to, "maria");
	ASSERT_EQ(out.u.handover.n_accounts, 0);
	in.u.handover.to = "";
	ASSERT_EQ(request_round_trip(&in, &a, &out, &why, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "handover_to");

	in = (struct kam_request){ .id = 87, .op = KAM_OP_IMPORT, .u.import = { 2, rowsv } };
	ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
	ASSERT_EQ(out.u.import.n_rows, 2);
	ASSERT_EQ(out.u.import.rows[0].line, 2);
	ASSERT_STR_EQ(out.u.import.rows[0].fields[0].value, "1998");
	/* A missing tier gets to the service, which names the line. */
	ASSERT_EQ(out.u.import.rows[1].tier, KAM_TIER_NONE);
	in.u.import.n_rows = 0;
	ASSERT_EQ(request_round_trip(&in, &a, &out, &why, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "rows");

	in = (struct kam_request){ .id = 81, .op = KAM_OP_AUDIT_VERIFY, .u.audit_verify = { "kam-audit-checkpoint 1\n" } };
	ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
	ASSERT_STR_EQ(out.u.audit_verify.checkpoint, "kam-audit-checkpoint 1\n");
	in = (struct kam_request){ .id = 86, .op = KAM_OP_EXPORT, .u.export_page = { -1, 0 } };
	ASSERT_EQ(request_round_trip(&in, &a, &out, &why, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "export_id");
	kam_arena_free(&a);
}

TEST(response_audit_shapes)
{
	struct kam_audit_entry e = { 9, 1700000000, "jan", KAM_ROLE_NONE, "login", 0, "", "failed", "10.0.0.1:4",
				     "{\"reason\":\"unknown user\"}" };
	struct kam_alert al = { "jan", "maria", 1700000001, 31, 30, 600 };
	const char *names[] = { "Acme", "Bolt" };
	struct kam_export_item item = { .account = { .id = 4, .name = "Acme", .tier = KAM_TIER_TOP,
						     .stage = KAM_STAGE_BREAKTHROUGH, .owner = "sol", .has_info = true },
					.layers = "{\"barriers\":[]}" };
	int64_t ids[] = { 5, 6 };
	struct kam_response in = { .id = 80, .op = KAM_OP_AUDIT_LOG, .u.audit_log = { 1, &e, 9 } }, out;
	struct kam_arena a;

	kam_arena_init(&a);
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_EQ(out.u.audit_log.n, 1);
	ASSERT_STR_EQ(out.u.audit_log.entries[0].detail, "{\"reason\":\"unknown user\"}");
	ASSERT_EQ(out.u.audit_log.entries[0].role, KAM_ROLE_NONE);
	ASSERT_EQ(out.u.audit_log.next_before_id, 9);
	in = (struct kam_response){ .id = 81, .op = KAM_OP_AUDIT_VERIFY,
				    .u.audit_verify = { .intact = false, .entries = 12, .partitions = 8, .bad_entry_id = 13,
							.bad_partition = 3, .bad_seq = 2, .problem = "p",
							.checkpoint_used = true, .checkpoint_key = "SHA256:ab" } };
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT(!out.u.audit_verify.intact && out.u.audit_verify.checkpoint_used);
	ASSERT_EQ(out.u.audit_verify.bad_entry_id, 13);
	ASSERT_STR_EQ(out.u.audit_verify.checkpoint_key, "SHA256:ab");
	in = (struct kam_response){ .id = 82, .op = KAM_OP_AUDIT_ALERTS, .u.audit_alerts = { 1, &al } };
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_EQ(out.u.audit_alerts.alerts[0].reads, 31);
	in = (struct kam_response){ .id = 83, .op = KAM_OP_AUDIT_CLEAR, .u.alert = al };
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_STR_EQ(out.u.alert.reports_to, "maria");
	in = (struct kam_response){ .id = 84, .op = KAM_OP_USER_DEACTIVATE,
				    .u.handover = { .user = { .id = 2, .username = "jan", .role = KAM_ROLE_JUNIOR,
							      .reports_to = "", .active = false },
						    .to = "maria", .n_accounts = 2, .accounts = names, .projects = 3,
						    .sessions_revoked = 1, .n_reports = 0 } };
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_STR_EQ(out.u.handover.accounts[1], "Bolt");
	ASSERT_EQ(out.u.handover.projects, 3);
	ASSERT(!out.u.handover.user.active);
	in = (struct kam_response){ .id = 86, .op = KAM_OP_EXPORT, .u.export_page = { 11, 40, 1, &item, 4 } };
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_EQ(out.u.export_page.export_id, 11);
	ASSERT_STR_EQ(out.u.export_page.items[0].layers, "{\"barriers\":[]}");
	ASSERT(out.u.export_page.items[0].account.has_info);
	in = (struct kam_response){ .id = 87, .op = KAM_OP_IMPORT, .u.import = { 2, 2, ids } };
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_EQ(out.u.import.ids[1], 6);
	kam_arena_free(&a);
}

/* ---- faults (issue 7): request keys, replayed answers, the op kinds ---- */

TEST(request_key_bounds)
{
	static const size_t ok[] = { 0, KAM_REQUEST_KEY_MIN, 32, KAM_REQUEST_KEY_MAX };
	static const size_t bad[] = { 1, KAM_REQUEST_KEY_MIN - 1, KAM_REQUEST_KEY_MAX + 1, 200 };
	struct kam_request in = { .id = 3, .op = KAM_OP_ACCOUNT_ADD, .has_token = true }, out;
	struct kam_arena a;
	struct kam_buf b;
	uint8_t wire[512];
	const char *why = NULL, *field = NULL;
	size_t n;

	in.u.account_add.name = "Acme";
	in.u.account_add.tier = KAM_TIER_TOP;
	memcpy(in.token, token_a, KAM_TOKEN_LEN);
	kam_arena_init(&a);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		in.key_len = ok[i];
		for (size_t k = 0; k < ok[i]; k++)
			in.key[k] = (uint8_t)(0xa0 + k);
		ASSERT_EQ(request_round_trip(&in, &a, &out, NULL, NULL), 0);
		ASSERT_EQ(out.key_len, ok[i]);
		ASSERT_MEM_EQ(out.key, in.key, ok[i]);
		ASSERT_STR_EQ(out.u.account_add.name, "Acme");
	}
	/* The encoder cannot make a key longer than the struct holds. */
	in.key_len = KAM_REQUEST_KEY_MAX + 1;
	kam_buf_init(&b);
	ASSERT_EQ(msg_request_encode(&in, &b), KAM_EINVAL);
	kam_buf_free(&b);
	/* By hand: Request { id: 4, request_key: n bytes, whoami {} }. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 0;
		wire[n++] = 0x08, wire[n++] = 0x04;
		wire[n++] = 0x1a;
		if (bad[i] >= 0x80)
			wire[n++] = (uint8_t)(0x80 | (bad[i] & 0x7f)), wire[n++] = (uint8_t)(bad[i] >> 7);
		else
			wire[n++] = (uint8_t)bad[i];
		memset(wire + n, 0x5a, bad[i]);
		n += bad[i];
		wire[n++] = 0x62, wire[n++] = 0x00;
		ASSERT_EQ(msg_request_decode(wire, n, &a, &out, &why, &field), KAM_EINVAL);
		ASSERT_STR_EQ(field, "request_key");
		ASSERT(strstr(why, "16 to 64 bytes") != NULL);
		ASSERT_EQ(out.id, 4);
		ASSERT_EQ(out.key_len, 0);
	}
	kam_arena_free(&a);
}

TEST(response_replayed)
{
	struct kam_response in = { .id = 12, .op = KAM_OP_NONE, .replayed = true }, out;
	struct kam_arena a;

	kam_arena_init(&a);
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT_EQ(out.id, 12);
	ASSERT(out.replayed);
	ASSERT_EQ(out.op, KAM_OP_NONE);
	ASSERT_EQ(out.error.code, KAM_STATUS_OK);
	in = (struct kam_response){ .id = 13, .op = KAM_OP_LOGOUT };
	ASSERT_EQ(response_round_trip(&in, &a, &out), 0);
	ASSERT(!out.replayed);
	kam_arena_free(&a);
}

TEST(op_kinds)
{
	static const enum kam_op reads[] = { KAM_OP_WHOAMI, KAM_OP_ACCOUNT_SHOW, KAM_OP_PROJECT_SHOW,
					     KAM_OP_REVIEW_TEAM, KAM_OP_AUDIT_VERIFY };
	static const enum kam_op writes[] = { KAM_OP_ACCOUNT_ADD, KAM_OP_ACCOUNT_SET, KAM_OP_BARRIER_CLEAR,
					      KAM_OP_PROJECT_ADVANCE, KAM_OP_IMPORT, KAM_OP_USER_UNLOCK };
	static const enum kam_op once[] = { KAM_OP_LOGIN, KAM_OP_EXPORT, KAM_OP_USER_PASSWD };

	/* Every operation has a kind: a new one must say whether it may be sent twice. */
	for (int op = KAM_OP_NONE + 1; op < KAM_OP__COUNT; op++)
		ASSERT_NE(kam_op_kind((enum kam_op)op), KAM_OP_KIND_NONE);
	ASSERT_EQ(kam_op_kind(KAM_OP_NONE), KAM_OP_KIND_NONE);
	ASSERT_EQ(kam_op_kind(KAM_OP__COUNT), KAM_OP_KIND_NONE);
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
		ASSERT_EQ(kam_op_kind(reads[i]), KAM_OP_KIND_READ);
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
		ASSERT_EQ(kam_op_kind(writes[i]), KAM_OP_KIND_WRITE);
	for (size_t i = 0; i < sizeof(once) / sizeof(once[0]); i++)
		ASSERT_EQ(kam_op_kind(once[i]), KAM_OP_KIND_ONCE);
}

TEST_MAIN(TEST_ENTRY(request_login), TEST_ENTRY(request_empty_bodies_with_token),
	  TEST_ENTRY(request_user_add), TEST_ENTRY(request_account_add),
	  TEST_ENTRY(request_account_list), TEST_ENTRY(request_account_show),
	  TEST_ENTRY(request_account_set), TEST_ENTRY(request_account_members),
	  TEST_ENTRY(request_frame_and_encode_errors),
	  TEST_ENTRY(invalid_login), TEST_ENTRY(invalid_login_messages), TEST_ENTRY(invalid_user_add),
	  TEST_ENTRY(invalid_account_add), TEST_ENTRY(invalid_account_list),
	  TEST_ENTRY(invalid_account_refs), TEST_ENTRY(invalid_account_set),
	  TEST_ENTRY(invalid_utf8), TEST_ENTRY(invalid_envelope), TEST_ENTRY(embedded_nul_rejected),
	  TEST_ENTRY(unknown_fields_ignored), TEST_ENTRY(garbage_is_proto_error),
	  TEST_ENTRY(unpack_budget_bounds_allocation),
	  TEST_ENTRY(response_login_whoami_user_add), TEST_ENTRY(response_logout),
	  TEST_ENTRY(response_user_list), TEST_ENTRY(response_account_bodies),
	  TEST_ENTRY(response_account_list), TEST_ENTRY(response_error),
	  TEST_ENTRY(response_bad_content_is_proto_error), TEST_ENTRY(large_honest_messages_fit_the_budget),
	  /* -- layers (issue 3) -- */
	  TEST_ENTRY(request_layer_shapes), TEST_ENTRY(response_layers_and_review),
	  /* -- audit and churn (issue 4) -- */
	  TEST_ENTRY(request_audit_shapes), TEST_ENTRY(response_audit_shapes),
	  /* -- faults (issue 7) -- */
	  TEST_ENTRY(request_key_bounds), TEST_ENTRY(response_replayed), TEST_ENTRY(op_kinds))
