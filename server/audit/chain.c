/*
 * The audit chain, recomputed independently of the database: the entry text
 * (audit_entry_text() of deploy/sql/0003_audit.sql, byte for byte), its hash,
 * and the partition walk of `kam audit verify`. Must not trust anything the
 * database says about a row's validity; it only reads rows and heads.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "audit/chain.h"

#define CHAIN_TAG "kam-audit-v1"
#define GENESIS_TAG "kam-audit-genesis:"
/* Room for one decimal int64 and a separator. */
#define NUM_MAX 24

void audit_chain_genesis(uint32_t part, uint8_t out[KAM_SHA256_LEN])
{
	char text[sizeof(GENESIS_TAG) + NUM_MAX];
	int n = snprintf(text, sizeof(text), GENESIS_TAG "%" PRIu32, part);

	kam_sha256(text, (size_t)n, out);
}

static int put(struct kam_buf *b, const char *s, size_t n)
{
	return kam_buf_append(b, s, n);
}

/* A number (or nothing, for NULL) and the newline. */
static int put_num(struct kam_buf *b, bool has, int64_t v)
{
	char num[NUM_MAX];
	int n = has ? snprintf(num, sizeof(num), "%" PRId64 "\n", v) : snprintf(num, sizeof(num), "\n");

	return put(b, num, (size_t)n);
}

/* "LEN:TEXT\n", LEN in bytes. */
static int put_text(struct kam_buf *b, const char *s)
{
	size_t len = strlen(s);
	int rc = put_num(b, true, (int64_t)len);

	/* put_num ended the length with a newline; the format wants a colon there. */
	if (rc == 0)
		b->data[b->len - 1] = ':';
	if (rc == 0)
		rc = put(b, s, len);
	return rc ? rc : put(b, "\n", 1);
}

int audit_chain_text(const struct audit_chain_row *r, struct kam_buf *out)
{
	int rc = put(out, CHAIN_TAG "\n", sizeof(CHAIN_TAG));

	if (!rc)
		rc = put_num(out, true, r->part);
	if (!rc)
		rc = put_num(out, true, r->seq);
	if (!rc)
		rc = put_num(out, true, r->id);
	if (!rc)
		rc = put_num(out, true, r->at_us);
	if (!rc)
		rc = put_num(out, r->has_user, r->user_id);
	if (!rc)
		rc = put_text(out, r->username ? r->username : "");
	if (!rc)
		rc = put_num(out, true, r->role);
	if (!rc)
		rc = put_text(out, r->action ? r->action : "");
	if (!rc)
		rc = put_num(out, r->has_account, r->account_id);
	if (!rc)
		rc = put(out, r->result ? r->result : "", r->result ? strlen(r->result) : 0);
	if (!rc)
		rc = put(out, "\n", 1);
	if (!rc)
		rc = put_text(out, r->client_addr ? r->client_addr : "");
	if (!rc)
		rc = r->has_detail ? put_text(out, r->detail ? r->detail : "") : put(out, "-\n", 2);
	return rc;
}

int audit_chain_hash(const uint8_t prev[KAM_SHA256_LEN], const struct audit_chain_row *r,
		     uint8_t out[KAM_SHA256_LEN])
{
	struct kam_buf b;
	int rc;

	kam_buf_init(&b);
	rc = kam_buf_append(&b, prev, KAM_SHA256_LEN);
	if (!rc)
		rc = audit_chain_text(r, &b);
	if (!rc)
		kam_sha256(b.data, b.len, out);
	kam_buf_free(&b);
	return rc;
}

/* ---- the walk ---- */

static void broken(struct audit_verifier *v, int64_t id, uint32_t part, int64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void broken(struct audit_verifier *v, int64_t id, uint32_t part, int64_t seq, const char *fmt, ...)
{
	va_list ap;

	v->broken = true;
	v->done = true;
	v->bad_id = id;
	v->bad_part = part;
	v->bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(v->problem, sizeof(v->problem), fmt, ap);
	va_end(ap);
}

void audit_verify_init(struct audit_verifier *v, const struct audit_head heads[AUDIT_PARTS],
		       const struct audit_head *cp)
{
	memset(v, 0, sizeof(*v));
	memcpy(v->limit, heads, sizeof(v->limit));
	if (cp) {
		v->has_checkpoint = true;
		memcpy(v->checkpoint, cp, sizeof(v->checkpoint));
	}
	audit_chain_genesis(0, v->prev);
}

/* The walk of v->part is over: its end must be where the heads and the checkpoint say. */
static void close_part(struct audit_verifier *v)
{
	const struct audit_head *lim = &v->limit[v->part];
	const struct audit_head *cp = &v->checkpoint[v->part];

	if (v->seq < lim->seq) {
		broken(v, 0, v->part, v->seq + 1,
		       "partition %" PRIu32 " ends at seq %" PRId64 " but its chain head says seq %" PRId64
		       ": entries %" PRId64 " to %" PRId64 " are missing (the tail was cut off)",
		       v->part, v->seq, lim->seq, v->seq + 1, lim->seq);
		return;
	}
	if (kam_memcmp_ct(v->prev, lim->hash, KAM_SHA256_LEN) != 0) {
		broken(v, 0, v->part, v->seq,
		       "partition %" PRIu32 " ends with a hash other than its chain head's", v->part);
		return;
	}
	if (v->has_checkpoint && cp->seq > v->seq) {
		broken(v, 0, v->part, v->seq + 1,
		       "the signed checkpoint has partition %" PRIu32 " at seq %" PRId64 ", the log ends at seq %"
		       PRId64 ": entries were removed from its tail",
		       v->part, cp->seq, v->seq);
		return;
	}
}

/* Move on to partition part, closing every one before it. */
static void enter_part(struct audit_verifier *v, uint32_t part)
{
	while (!v->done && v->part < part) {
		close_part(v);
		if (v->done)
			return;
		v->part++;
		v->seq = 0;
		audit_chain_genesis(v->part, v->prev);
	}
}

static int check_row(struct audit_verifier *v, const struct audit_chain_row *r)
{
	uint8_t h[KAM_SHA256_LEN];
	int rc;

	if (r->part >= AUDIT_PARTS) {
		broken(v, r->id, r->part, r->seq, "entry %" PRId64 " is in no partition of the chain (%" PRIu32 ")",
		       r->id, r->part);
		return 0;
	}
	if (r->part < v->part || (r->part == v->part && r->seq <= v->seq)) {
		broken(v, r->id, r->part, r->seq, "entry %" PRId64 " is out of order", r->id);
		return 0;
	}
	enter_part(v, r->part);
	if (v->done || r->seq > v->limit[r->part].seq)
		return 0;   /* written after the walk began (or already broken) */
	if (r->seq != v->seq + 1) {
		broken(v, r->id, r->part, r->seq,
		       "entry %" PRId64 " has seq %" PRId64 " in partition %" PRIu32 " where %" PRId64
		       " was due: entries are missing (deleted)", r->id, r->seq, r->part, v->seq + 1);
		return 0;
	}
	rc = audit_chain_hash(v->prev, r, h);
	if (rc < 0)
		return rc;
	if (kam_memcmp_ct(h, r->hash, KAM_SHA256_LEN) != 0) {
		broken(v, r->id, r->part, r->seq,
		       "entry %" PRId64 " does not match its hash: it, or the entry before it, was changed", r->id);
		return 0;
	}
	if (v->has_checkpoint && v->checkpoint[r->part].seq == r->seq &&
	    kam_memcmp_ct(v->checkpoint[r->part].hash, r->hash, KAM_SHA256_LEN) != 0) {
		broken(v, r->id, r->part, r->seq,
		       "entry %" PRId64 " differs from the signed checkpoint: the chain was rewritten up to it", r->id);
		return 0;
	}
	memcpy(v->prev, r->hash, KAM_SHA256_LEN);
	v->seq = r->seq;
	v->entries++;
	return 0;
}

int audit_verify_rows(struct audit_verifier *v, const struct audit_chain_row *rows, size_t n)
{
	for (size_t i = 0; i < n && !v->done; i++) {
		int rc = check_row(v, &rows[i]);

		if (rc < 0)
			return rc;
	}
	return !v->broken;
}

void audit_verify_finish(struct audit_verifier *v)
{
	enter_part(v, AUDIT_PARTS - 1);
	if (!v->done)
		close_part(v);
	v->done = true;
}
