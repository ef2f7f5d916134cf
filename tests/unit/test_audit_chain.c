/*
 * The audit chain as kamd checks it (server/audit/chain.c) and its signed
 * checkpoints (server/audit/checkpoint.c): the entry text byte for byte, the
 * verifier on chains built here and then damaged every way verify must
 * notice, and checkpoints signed, parsed, forged and signed by another key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/chain.h"
#include "audit/checkpoint.h"
#include "test.h"

#define N_ROWS 6

static struct audit_chain_row rows[AUDIT_PARTS][N_ROWS];
static struct audit_head heads[AUDIT_PARTS];

/* Partition p gets n entries (ids interleaved as concurrent writers would make them). */
static void build(int n)
{
	for (uint32_t p = 0; p < AUDIT_PARTS; p++) {
		uint8_t prev[KAM_SHA256_LEN];

		audit_chain_genesis(p, prev);
		for (int i = 0; i < n; i++) {
			struct audit_chain_row *r = &rows[p][i];

			*r = (struct audit_chain_row){
				.part = p, .seq = i + 1, .id = (int64_t)(i * AUDIT_PARTS + p + 1),
				.at_us = 1700000000000000LL + i, .has_user = i != 2, .user_id = 7,
				.username = i == 2 ? "mallory" : "jan", .role = i == 2 ? 0 : 1,
				.action = i == 2 ? "login" : "account.show", .has_account = i != 2, .account_id = 42,
				.result = i == 2 ? "failed" : "allowed", .client_addr = "127.0.0.1:5000",
				.has_detail = i % 2 == 0, .detail = "{\"layers\": [\"information\"]}",
			};
			if (audit_chain_hash(prev, r, r->hash) != 0)
				abort();
			memcpy(prev, r->hash, sizeof(prev));
		}
		heads[p].seq = n;
		memcpy(heads[p].hash, prev, sizeof(prev));
	}
}

/* Walk every partition through a verifier, a page per partition: lim the heads at the
 * start (NULL: the true ones), cp the checkpoint, short/short_n one partition's page cut. */
static const struct audit_verifier *walk_cut(const struct audit_head *lim, const struct audit_head *cp, int n,
					     int short_part, int short_n)
{
	static struct audit_verifier v;

	audit_verify_init(&v, lim ? lim : heads, cp);
	for (int p = 0; p < AUDIT_PARTS && !v.done; p++)
		if (audit_verify_rows(&v, rows[p], (size_t)(p == short_part ? short_n : n)) < 0)
			abort();
	audit_verify_finish(&v);
	return &v;
}

static const struct audit_verifier *walk(const struct audit_head *cp, int n)
{
	return walk_cut(NULL, cp, n, -1, 0);
}

TEST(entry_text)
{
	struct kam_buf b;

	build(N_ROWS);
	kam_buf_init(&b);
	ASSERT_EQ(audit_chain_text(&rows[3][0], &b), 0);
	ASSERT_EQ(kam_buf_append(&b, "", 1), 0);
	/* Exactly what audit_entry_text() of 0003_audit.sql produces for this row. */
	ASSERT_STR_EQ((const char *)b.data, "kam-audit-v1\n3\n1\n4\n1700000000000000\n7\n3:jan\n1\n12:account.show\n42\n"
					    "allowed\n14:127.0.0.1:5000\n27:{\"layers\": [\"information\"]}\n");
	kam_buf_reset(&b);
	ASSERT_EQ(audit_chain_text(&rows[3][2], &b), 0);
	ASSERT_EQ(kam_buf_append(&b, "", 1), 0);
	ASSERT_STR_EQ((const char *)b.data, "kam-audit-v1\n3\n3\n20\n1700000000000002\n\n7:mallory\n0\n5:login\n\n"
					    "failed\n14:127.0.0.1:5000\n27:{\"layers\": [\"information\"]}\n");
	kam_buf_reset(&b);
	ASSERT_EQ(audit_chain_text(&rows[3][1], &b), 0);
	ASSERT_EQ(kam_buf_append(&b, "", 1), 0);
	ASSERT(strstr((const char *)b.data, "\n14:127.0.0.1:5000\n-\n") != NULL);
	kam_buf_free(&b);
}

TEST(genesis_differs_per_partition)
{
	uint8_t a[KAM_SHA256_LEN], b[KAM_SHA256_LEN];

	audit_chain_genesis(0, a);
	audit_chain_genesis(1, b);
	ASSERT(memcmp(a, b, sizeof(a)) != 0);
}

TEST(intact)
{
	struct audit_head early[AUDIT_PARTS];
	const struct audit_verifier *v;

	build(N_ROWS);
	v = walk(NULL, N_ROWS);
	ASSERT(!v->broken);
	ASSERT_EQ(v->entries, AUDIT_PARTS * N_ROWS);
	/* Against a checkpoint taken at the heads, and one taken earlier. */
	ASSERT(!walk(heads, N_ROWS)->broken);
	for (int p = 0; p < AUDIT_PARTS; p++) {
		early[p].seq = 3;
		memcpy(early[p].hash, rows[p][2].hash, KAM_SHA256_LEN);
	}
	ASSERT(!walk(early, N_ROWS)->broken);
}

TEST(rows_written_after_the_start_are_skipped)
{
	struct audit_head at_start[AUDIT_PARTS];
	const struct audit_verifier *v;

	build(N_ROWS);
	memcpy(at_start, heads, sizeof(at_start));
	at_start[5].seq = 4;
	memcpy(at_start[5].hash, rows[5][3].hash, KAM_SHA256_LEN);
	v = walk_cut(at_start, NULL, N_ROWS, -1, 0);
	ASSERT(!v->broken);
	ASSERT_EQ(v->entries, AUDIT_PARTS * N_ROWS - 2);
}

TEST(altered)
{
	const struct audit_verifier *v;

	build(N_ROWS);
	rows[2][3].username = "jane";
	v = walk(NULL, N_ROWS);
	ASSERT(v->broken);
	ASSERT_EQ(v->bad_id, rows[2][3].id);
	ASSERT_EQ(v->bad_part, 2);
	ASSERT_EQ(v->bad_seq, 4);
	ASSERT(strstr(v->problem, "does not match its hash") != NULL);
	/* Every entry before it was checked and counted. */
	ASSERT_EQ(v->entries, 2 * N_ROWS + 3);
}

TEST(altered_and_rehashed_breaks_the_next)
{
	uint8_t prev[KAM_SHA256_LEN];

	build(N_ROWS);
	rows[1][1].at_us += 1000;
	memcpy(prev, rows[1][0].hash, sizeof(prev));
	ASSERT_EQ(audit_chain_hash(prev, &rows[1][1], rows[1][1].hash), 0);
	ASSERT_EQ(walk(NULL, N_ROWS)->bad_id, rows[1][2].id);
}

TEST(deleted)
{
	const struct audit_verifier *v;

	build(N_ROWS);
	/* Entry seq 3 of partition 4 gone: the page holds 1, 2, 4, 5, 6. */
	memmove(&rows[4][2], &rows[4][3], 3 * sizeof(rows[4][0]));
	v = walk_cut(NULL, NULL, N_ROWS, 4, N_ROWS - 1);
	ASSERT(v->broken);
	ASSERT_EQ(v->bad_part, 4);
	ASSERT_EQ(v->bad_seq, 4);
	ASSERT(strstr(v->problem, "where 3 was due") != NULL);
}

TEST(reordered)
{
	struct audit_chain_row tmp;
	const struct audit_verifier *v;

	build(N_ROWS);
	/* Two entries swap places (and numbers). */
	tmp = rows[6][1];
	rows[6][1] = rows[6][2];
	rows[6][2] = tmp;
	rows[6][1].seq = 2;
	rows[6][2].seq = 3;
	v = walk(NULL, N_ROWS);
	ASSERT(v->broken);
	ASSERT_EQ(v->bad_part, 6);
	ASSERT_EQ(v->bad_seq, 2);
	/* Out of order on the wire (a bug or a lie of the database) is caught too. */
	build(N_ROWS);
	tmp = rows[6][1];
	rows[6][1] = rows[6][2];
	rows[6][2] = tmp;
	ASSERT(strstr(walk(NULL, N_ROWS)->problem, "seq 3") != NULL);
}

TEST(tail_cut)
{
	const struct audit_verifier *v;
	struct audit_head forged[AUDIT_PARTS];

	build(N_ROWS);
	/* Two entries gone from the end of partition 7; the heads still know. */
	v = walk_cut(NULL, NULL, N_ROWS, 7, N_ROWS - 2);
	ASSERT(v->broken);
	ASSERT(strstr(v->problem, "tail was cut off") != NULL);
	/* The heads rewritten to match: only the checkpoint knows. */
	memcpy(forged, heads, sizeof(forged));
	forged[7].seq = N_ROWS - 2;
	memcpy(forged[7].hash, rows[7][N_ROWS - 3].hash, KAM_SHA256_LEN);
	ASSERT(!walk_cut(forged, NULL, N_ROWS, 7, N_ROWS - 2)->broken);
	v = walk_cut(forged, heads, N_ROWS, 7, N_ROWS - 2);
	ASSERT(v->broken);
	ASSERT(strstr(v->problem, "signed checkpoint has partition 7 at seq 6") != NULL);
}

TEST(rewritten_against_checkpoint)
{
	struct audit_head cp[AUDIT_PARTS];
	uint8_t prev[KAM_SHA256_LEN];

	build(N_ROWS);
	memcpy(cp, heads, sizeof(cp));
	/* A consistent rewrite of partition 0 from its first entry on. */
	rows[0][0].username = "someone else";
	audit_chain_genesis(0, prev);
	for (int i = 0; i < N_ROWS; i++) {
		ASSERT_EQ(audit_chain_hash(prev, &rows[0][i], rows[0][i].hash), 0);
		memcpy(prev, rows[0][i].hash, sizeof(prev));
	}
	memcpy(heads[0].hash, prev, sizeof(prev));
	ASSERT(!walk(NULL, N_ROWS)->broken);
	ASSERT(strstr(walk(cp, N_ROWS)->problem, "differs from the signed checkpoint") != NULL);
}

/* ---- checkpoints ---- */

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
	static char path[128];

	if (!tmpdir[0] && !mkdtemp(strcpy(tmpdir, "/tmp/kam_cp_XXXXXX")))
		abort();
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

TEST(key_created_once)
{
	struct audit_key *k1 = NULL, *k2 = NULL;
	struct stat st;
	char why[256];

	ASSERT_EQ(audit_key_load_or_create(tmp_path("k"), &k1, why, sizeof(why)), 0);
	ASSERT_EQ(stat(tmp_path("k"), &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	ASSERT_EQ(audit_key_load_or_create(tmp_path("k"), &k2, why, sizeof(why)), 0);
	ASSERT_STR_EQ(audit_key_fingerprint(k1), audit_key_fingerprint(k2));
	ASSERT_EQ(strncmp(audit_key_fingerprint(k1), "SHA256:", 7), 0);
	audit_key_free(k1);
	audit_key_free(k2);
	/* A key others can read is refused, as is a file that is no key. */
	ASSERT_EQ(chmod(tmp_path("k"), 0644), 0);
	ASSERT_EQ(audit_key_load_or_create(tmp_path("k"), &k1, why, sizeof(why)), KAM_EINVAL);
	ASSERT(strstr(why, "chmod 600") != NULL);
	ASSERT_EQ(audit_file_replace(tmp_path("junk"), "hello\n", 6), 0);
	ASSERT_EQ(chmod(tmp_path("junk"), 0600), 0);
	ASSERT_EQ(audit_key_load_or_create(tmp_path("junk"), &k1, why, sizeof(why)), KAM_EINVAL);
	ASSERT_EQ(audit_key_load_or_create("/nonexistent/dir/k", &k1, why, sizeof(why)) < 0, 1);
}

TEST(checkpoint_round_trip_and_forgery)
{
	struct audit_key *k = NULL, *other = NULL;
	struct audit_checkpoint cp;
	struct kam_buf text, back;
	char why[256], *p;

	build(N_ROWS);
	ASSERT_EQ(audit_key_load_or_create(tmp_path("k2"), &k, why, sizeof(why)), 0);
	ASSERT_EQ(audit_key_load_or_create(tmp_path("k3"), &other, why, sizeof(why)), 0);
	kam_buf_init(&text);
	kam_buf_init(&back);
	ASSERT_EQ(audit_checkpoint_sign(k, 1700000000, heads, &text), 0);
	ASSERT_EQ(audit_checkpoint_parse((const char *)text.data, text.len, k, &cp, why, sizeof(why)), 0);
	ASSERT_EQ(cp.at, 1700000000);
	ASSERT_EQ(cp.entries, AUDIT_PARTS * N_ROWS);
	ASSERT_MEM_EQ(cp.heads, heads, sizeof(heads));
	ASSERT_STR_EQ(cp.key_fp, audit_key_fingerprint(k));
	/* Written atomically and read back unchanged. */
	ASSERT_EQ(audit_file_replace(tmp_path("cp"), text.data, text.len), 0);
	ASSERT_EQ(audit_file_read(tmp_path("cp"), 4096, &back), 0);
	ASSERT_EQ(back.len, text.len);
	ASSERT_MEM_EQ(back.data, text.data, text.len);
	ASSERT_EQ(audit_file_read(tmp_path("cp"), 10, &back), KAM_E2BIG);
	/* Another daemon's key: refused, naming both. */
	ASSERT_EQ(audit_checkpoint_parse((const char *)text.data, text.len, other, &cp, why, sizeof(why)), KAM_EINVAL);
	ASSERT(strstr(why, "not by this kamd's key") != NULL);
	/* One hex digit of a head changed: the signature fails. */
	p = strstr((char *)text.data, "head 5 ");
	p += strlen("head 5 6 ");
	*p = *p == 'a' ? 'b' : 'a';
	ASSERT_EQ(audit_checkpoint_parse((const char *)text.data, text.len, k, &cp, why, sizeof(why)), KAM_EINVAL);
	ASSERT(strstr(why, "signature does not verify") != NULL);
	/* Truncated, garbage, trailing bytes. */
	ASSERT_EQ(audit_checkpoint_parse((const char *)text.data, text.len / 2, k, &cp, why, sizeof(why)), KAM_EINVAL);
	ASSERT_EQ(audit_checkpoint_parse("hello\n", 6, k, &cp, why, sizeof(why)), KAM_EINVAL);
	kam_buf_reset(&text);
	ASSERT_EQ(audit_checkpoint_sign(k, 1700000000, heads, &text), 0);
	ASSERT_EQ(kam_buf_append(&text, "x\n", 2), 0);
	ASSERT_EQ(audit_checkpoint_parse((const char *)text.data, text.len, k, &cp, why, sizeof(why)), KAM_EINVAL);
	kam_buf_free(&text);
	kam_buf_free(&back);
	audit_key_free(k);
	audit_key_free(other);
}

TEST(cleanup)
{
	const char *names[] = { "k", "junk", "k2", "k3", "cp" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(tmp_path(names[i]));
	ASSERT_EQ(rmdir(tmpdir), 0);
}

TEST_MAIN(TEST_ENTRY(entry_text), TEST_ENTRY(genesis_differs_per_partition), TEST_ENTRY(intact),
	  TEST_ENTRY(rows_written_after_the_start_are_skipped), TEST_ENTRY(altered),
	  TEST_ENTRY(altered_and_rehashed_breaks_the_next), TEST_ENTRY(deleted), TEST_ENTRY(reordered),
	  TEST_ENTRY(tail_cut), TEST_ENTRY(rewritten_against_checkpoint), TEST_ENTRY(key_created_once),
	  TEST_ENTRY(checkpoint_round_trip_and_forgery), TEST_ENTRY(cleanup))
