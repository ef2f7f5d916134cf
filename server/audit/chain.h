/*
 * The audit chain as kamd checks it: the text an entry's hash covers (the
 * twin of audit_entry_text() in deploy/sql/0003_audit.sql, byte for byte),
 * the hash, and the verifier that walks the partitions page by page. Pure
 * computation over rows the store hands in; no I/O, no database.
 */
#ifndef KAMD_AUDIT_CHAIN_H
#define KAMD_AUDIT_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "hash.h"

/* Partitions of the chain (audit_chain.part is 0..7). */
#define AUDIT_PARTS 8
/* One line saying what does not match. */
#define AUDIT_PROBLEM_MAX 256

/* One audit_log row, as the chain covers it. */
struct audit_chain_row {
	uint32_t part;
	int64_t seq;
	int64_t id;
	int64_t at_us;               /* microseconds since the epoch */
	bool has_user;
	int64_t user_id;
	const char *username;
	int role;
	const char *action;
	bool has_account;
	int64_t account_id;
	const char *result;
	const char *client_addr;
	bool has_detail;
	const char *detail;          /* jsonb as PostgreSQL prints it */
	uint8_t hash[KAM_SHA256_LEN];
};

/* A partition's last sequence number and hash (seq 0: empty, hash the genesis). */
struct audit_head {
	int64_t seq;
	uint8_t hash[KAM_SHA256_LEN];
};

/* The "previous hash" of a partition's first entry. */
void audit_chain_genesis(uint32_t part, uint8_t out[KAM_SHA256_LEN]);
/* The text the hash covers, appended to out. */
int audit_chain_text(const struct audit_chain_row *r, struct kam_buf *out) KAM_MUST_CHECK;
/* sha256(prev || text(r)). */
int audit_chain_hash(const uint8_t prev[KAM_SHA256_LEN], const struct audit_chain_row *r,
		     uint8_t out[KAM_SHA256_LEN]) KAM_MUST_CHECK;

/*
 * The walk. Rows are fed in (part, seq) order, in pages; rows beyond the heads
 * read when the walk started were appended since and are skipped. Stops at the
 * first thing that does not match: a hash, a gap in seq, a tail shorter than
 * the heads or than the signed checkpoint, a checkpointed hash that differs.
 */
struct audit_verifier {
	struct audit_head limit[AUDIT_PARTS];   /* the heads at the start */
	bool has_checkpoint;
	struct audit_head checkpoint[AUDIT_PARTS];
	uint32_t part;                          /* being walked */
	int64_t seq;                            /* last seq checked in it */
	uint8_t prev[KAM_SHA256_LEN];
	int64_t entries;                        /* checked so far */
	bool done;
	bool broken;
	int64_t bad_id;
	uint32_t bad_part;
	int64_t bad_seq;
	char problem[AUDIT_PROBLEM_MAX];
};

/* cp NULL: no checkpoint to compare. */
void audit_verify_init(struct audit_verifier *v, const struct audit_head heads[AUDIT_PARTS],
		       const struct audit_head *cp);
/* Check a page; false once broken (feed no more). KAM_ENOMEM leaves it unfinished: < 0. */
int audit_verify_rows(struct audit_verifier *v, const struct audit_chain_row *rows, size_t n) KAM_MUST_CHECK;
/* After the last page: check the ends of the partitions not closed yet. */
void audit_verify_finish(struct audit_verifier *v);

#endif
