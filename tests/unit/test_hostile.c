/*
 * Hostile clients (issue 6), the parts that need no daemon: the limits'
 * configuration keys, the per-address key and count, the codec of user
 * passwd and user unlock with its bounds, and the bounded hashing queue on
 * a real libuv loop. The daemon-level behaviour is in the integration tests.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config.h"
#include "msg.h"
#include "net/net.h"
#include "net/peers.h"
#include "test.h"
#include "work.h"

/* ---- configuration ---- */

TEST(config_defaults_are_the_issues)
{
	struct kamd_config c;

	config_defaults(&c);
	ASSERT_EQ(c.max_connections_per_address, 64);
	ASSERT_EQ(c.max_connections, 1024);
	ASSERT_EQ(c.max_frame_prelogin, 4096);
	ASSERT_EQ(c.max_frame, 1 << 20);
	ASSERT_EQ(c.login_timeout_s, 10);
	ASSERT_EQ(c.idle_timeout_s, 900);
	ASSERT_EQ(c.max_queued_output, 1 << 20);
	ASSERT_EQ(c.hash_threads, 4);
	ASSERT_EQ(c.hash_queue, 256);
	ASSERT_EQ(c.login_lockout_threshold, 5);
	ASSERT_EQ(c.login_lockout_initial_s, 1);
	ASSERT_EQ(c.login_lockout_max_s, 900);
	ASSERT_EQ(c.login_failures_per_hour, 100);
	ASSERT_EQ(c.login_failures_per_minute, 30);
	ASSERT_EQ(c.argon2_m_kib, 65536);
	ASSERT_EQ(c.argon2_t, 3);
	ASSERT_EQ(c.argon2_p, 1);
	config_free(&c);
}

TEST(config_keys_and_ranges)
{
	static const struct {
		const char *key, *good, *low, *high;
	} keys[] = {
		{ "max_connections_per_address", "2", "0", "65537" },
		{ "hash_threads", "64", "0", "65" },
		{ "hash_queue", "1", "0", "65537" },
		{ "login_lockout_threshold", "1000", "0", "1001" },
		{ "login_lockout_initial", "3600", "0", "3601" },
		{ "login_lockout_max", "1", "0", "2592001" },
		{ "login_failures_per_hour", "7", "0", "100001" },
		{ "login_failures_per_minute", "3", "0", "100001" },
	};
	struct kamd_config c;
	char why[256];

	config_defaults(&c);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		ASSERT_EQ(config_set(&c, keys[i].key, keys[i].good, why, sizeof(why)), 0);
		ASSERT_EQ(config_set(&c, keys[i].key, keys[i].low, why, sizeof(why)), KAM_EINVAL);
		ASSERT(strstr(why, keys[i].key) && strstr(why, "out of range"));
		ASSERT_EQ(config_set(&c, keys[i].key, keys[i].high, why, sizeof(why)), KAM_EINVAL);
	}
	config_free(&c);
}

/* The first lockout wait must not exceed the longest: tests/unit/test_config.c, cross_key_checks. */

/* ---- per-address keys and counts ---- */

static void key_of(const char *ip, char out[PEER_KEY_LEN])
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, ip, &a->sin6_addr) != 1)
			abort();
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		if (inet_pton(AF_INET, ip, &a->sin_addr) != 1)
			abort();
	}
	peer_key((const struct sockaddr *)&ss, out);
}

TEST(peer_keys)
{
	char k[PEER_KEY_LEN], k2[PEER_KEY_LEN];
	struct sockaddr sa = { .sa_family = AF_UNIX };

	key_of("192.0.2.7", k);
	ASSERT_STR_EQ(k, "192.0.2.7");
	/* An IPv4-mapped address counts as the IPv4 address. */
	key_of("::ffff:192.0.2.7", k2);
	ASSERT_STR_EQ(k2, "192.0.2.7");
	/* IPv6: one /64 is one client, whatever the interface id. */
	key_of("2001:db8:1:2:aaaa::1", k);
	key_of("2001:db8:1:2:bbbb:cccc:dddd:eeee", k2);
	ASSERT_STR_EQ(k, "2001:db8:1:2::/64");
	ASSERT_STR_EQ(k, k2);
	key_of("2001:db8:1:3::1", k2);
	ASSERT(strcmp(k, k2) != 0);
	key_of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", k);
	ASSERT_STR_EQ(k, "ffff:ffff:ffff:ffff::/64");
	peer_key(&sa, k);
	ASSERT_STR_EQ(k, "");
}

TEST(peer_counts)
{
	struct peer_table t;
	char key[PEER_KEY_LEN];

	memset(&t, 0, sizeof(t));
	ASSERT_EQ(peers_inc(&t, "192.0.2.1"), 1);
	ASSERT_EQ(peers_inc(&t, "192.0.2.1"), 2);
	ASSERT_EQ(peers_inc(&t, "192.0.2.2"), 1);
	ASSERT_EQ(t.n_keys, 2);
	ASSERT_EQ(peers_count(&t, "192.0.2.1"), 2);
	peers_dec(&t, "192.0.2.1");
	peers_dec(&t, "192.0.2.1");
	ASSERT_EQ(peers_count(&t, "192.0.2.1"), 0);
	ASSERT_EQ(t.n_keys, 1);
	peers_dec(&t, "192.0.2.9");   /* unknown: nothing happens */
	/* Many addresses share the buckets; every count stays its own. */
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "10.%d.%d.1", i / 256, i % 256);
		ASSERT_EQ(peers_inc(&t, key), 1);
	}
	ASSERT_EQ(t.n_keys, 5001);
	for (int i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof(key), "10.%d.%d.1", i / 256, i % 256);
		peers_dec(&t, key);
	}
	ASSERT_EQ(t.n_keys, 2501);
	ASSERT_EQ(peers_count(&t, "10.0.1.1"), 1);
	ASSERT_EQ(peers_count(&t, "10.0.2.1"), 0);
	peers_free(&t);
	ASSERT_EQ(t.n_keys, 0);
	ASSERT_EQ(peers_count(&t, "192.0.2.2"), 0);
}

/* ---- the codec of user passwd and user unlock ---- */

static char *rep(char c, size_t n)
{
	static char buf[2][2048];
	static int which;
	char *b = buf[which ^= 1];

	memset(b, c, n);
	b[n] = '\0';
	return b;
}

static int round_trip(const struct kam_request *in, struct kam_arena *a, struct kam_request *out, const char **field)
{
	struct kam_buf b;
	const char *why = NULL;
	int rc;

	kam_buf_init(&b);
	rc = msg_request_encode(in, &b);
	if (rc == 0)
		rc = msg_request_decode(kam_buf_head(&b), kam_buf_avail(&b), a, out, &why, field);
	kam_buf_free(&b);
	return rc;
}

static struct kam_request passwd_req(const char *user, const char *old, const char *new_)
{
	struct kam_request r = { .id = 9, .op = KAM_OP_USER_PASSWD, .has_token = true };

	memset(r.token, 'x', sizeof(r.token));
	r.u.user_passwd.username = user;
	r.u.user_passwd.old_password = old;
	r.u.user_passwd.new_password = new_;
	return r;
}

TEST(codec_user_passwd)
{
	struct kam_request in, out;
	struct kam_arena a;
	const char *field = NULL;

	kam_arena_init(&a);
	in = passwd_req("", "old password!", "twelve chars");
	ASSERT_EQ(round_trip(&in, &a, &out, &field), 0);
	ASSERT_EQ(out.op, KAM_OP_USER_PASSWD);
	ASSERT_STR_EQ(out.u.user_passwd.username, "");
	ASSERT_STR_EQ(out.u.user_passwd.old_password, "old password!");
	ASSERT_STR_EQ(out.u.user_passwd.new_password, "twelve chars");
	/* The longest of everything fits. */
	in = passwd_req(rep('u', KAM_MAX_USERNAME), rep('o', KAM_MAX_PASSWORD), rep('n', KAM_MAX_PASSWORD));
	ASSERT_EQ(round_trip(&in, &a, &out, &field), 0);
	/* One byte more does not, and the field is named. */
	in = passwd_req(rep('u', KAM_MAX_USERNAME + 1), "", "twelve chars");
	ASSERT_EQ(round_trip(&in, &a, &out, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "username");
	in = passwd_req("", rep('o', KAM_MAX_PASSWORD + 1), "twelve chars");
	ASSERT_EQ(round_trip(&in, &a, &out, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "old_password");
	in = passwd_req("", "", rep('n', KAM_MAX_PASSWORD + 1));
	ASSERT_EQ(round_trip(&in, &a, &out, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "new_password");
	in = passwd_req("", "", "eleven char");
	ASSERT_EQ(round_trip(&in, &a, &out, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "new_password");
	in = passwd_req("", "", "");
	ASSERT_EQ(round_trip(&in, &a, &out, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "new_password");
	kam_arena_free(&a);
}

TEST(codec_user_unlock)
{
	struct kam_request in = { .id = 3, .op = KAM_OP_USER_UNLOCK, .has_token = true }, out;
	struct kam_arena a;
	const char *field = NULL;

	kam_arena_init(&a);
	in.u.user_unlock.username = "maria";
	ASSERT_EQ(round_trip(&in, &a, &out, &field), 0);
	ASSERT_EQ(out.op, KAM_OP_USER_UNLOCK);
	ASSERT_STR_EQ(out.u.user_unlock.username, "maria");
	in.u.user_unlock.username = "";
	ASSERT_EQ(round_trip(&in, &a, &out, &field), KAM_EINVAL);
	ASSERT_STR_EQ(field, "username");
	in.u.user_unlock.username = rep('u', KAM_MAX_USERNAME + 1);
	ASSERT_EQ(round_trip(&in, &a, &out, &field), KAM_EINVAL);
	kam_arena_free(&a);
}

TEST(codec_responses)
{
	struct kam_response in = { .id = 4, .op = KAM_OP_USER_UNLOCK }, out;
	struct kam_arena a;
	struct kam_buf b;

	kam_arena_init(&a);
	kam_buf_init(&b);
	in.u.user_unlock.user = (struct kam_user){ .id = 5, .username = "maria", .role = KAM_ROLE_MANAGER,
						   .reports_to = "gm", .active = true };
	in.u.user_unlock.failures = 7;
	in.u.user_unlock.locked_until = 1700000000;
	ASSERT_EQ(msg_response_encode_frame(&in, &b), 0);
	ASSERT_EQ(msg_response_decode(kam_buf_head(&b) + 4, kam_buf_avail(&b) - 4, &a, &out), 0);
	ASSERT_EQ(out.op, KAM_OP_USER_UNLOCK);
	ASSERT_STR_EQ(out.u.user_unlock.user.username, "maria");
	ASSERT_EQ(out.u.user_unlock.failures, 7);
	ASSERT_EQ(out.u.user_unlock.locked_until, 1700000000);
	kam_buf_reset(&b);
	in = (struct kam_response){ .id = 5, .op = KAM_OP_USER_PASSWD };
	in.u.user_passwd.user = (struct kam_user){ .id = 6, .username = "jan", .role = KAM_ROLE_JUNIOR, .reports_to = "" };
	in.u.user_passwd.sessions_revoked = 3;
	ASSERT_EQ(msg_response_encode_frame(&in, &b), 0);
	ASSERT_EQ(msg_response_decode(kam_buf_head(&b) + 4, kam_buf_avail(&b) - 4, &a, &out), 0);
	ASSERT_EQ(out.op, KAM_OP_USER_PASSWD);
	ASSERT_STR_EQ(out.u.user_passwd.user.username, "jan");
	ASSERT_EQ(out.u.user_passwd.sessions_revoked, 3);
	kam_buf_free(&b);
	kam_arena_free(&a);
}

/* ---- the hashing queue (work.h over libuv's pool) ---- */

static int work_ran, work_done_ok;

static void count_work(void *arg)
{
	__atomic_fetch_add(&work_ran, 1, __ATOMIC_SEQ_CST);
}

static void count_done(void *arg, int status)
{
	if (status == 0)
		work_done_ok++;
}

TEST(work_queue_is_bounded)
{
	uv_loop_t loop;
	int accepted = 0, busy = 0;

	ASSERT_EQ(uv_loop_init(&loop), 0);
	work_init(&loop);
	work_limit(3);
	for (int i = 0; i < 10; i++) {
		int rc = work_submit(count_work, count_done, NULL);

		if (rc == 0)
			accepted++;
		else if (rc == KAM_EAGAIN)
			busy++;
	}
	ASSERT_EQ(accepted, 3);
	ASSERT_EQ(busy, 7);
	ASSERT_EQ(work_pending(), 3);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_EQ(work_ran, 3);
	ASSERT_EQ(work_done_ok, 3);
	ASSERT_EQ(work_pending(), 0);
	/* Drained: room again. */
	ASSERT_EQ(work_submit(count_work, count_done, NULL), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	ASSERT_EQ(work_done_ok, 4);
	ASSERT_EQ(uv_loop_close(&loop), 0);
}

TEST_MAIN(TEST_ENTRY(config_defaults_are_the_issues), TEST_ENTRY(config_keys_and_ranges),
	  TEST_ENTRY(peer_keys), TEST_ENTRY(peer_counts),
	  TEST_ENTRY(codec_user_passwd), TEST_ENTRY(codec_user_unlock), TEST_ENTRY(codec_responses),
	  TEST_ENTRY(work_queue_is_bounded))
