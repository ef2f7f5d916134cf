/*
 * Signed checkpoints of the audit chain heads, kept outside the database so
 * that cutting off the chain's tail (or rewriting it whole) is caught: the
 * Ed25519 key (generated on first use), the checkpoint text, its signature,
 * and writing it atomically. File I/O blocks: start-up, a worker, shutdown.
 */
#ifndef KAMD_AUDIT_CHECKPOINT_H
#define KAMD_AUDIT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "audit/chain.h"
#include "buf.h"
#include "err.h"

/* "SHA256:" and 64 hex digits of the raw public key. */
#define AUDIT_KEY_FP_MAX (7 + 2 * KAM_SHA256_LEN + 1)

struct audit_key;

struct audit_checkpoint {
	int64_t at;                               /* unix seconds */
	int64_t entries;                          /* the heads' seqs added up */
	struct audit_head heads[AUDIT_PARTS];
	char key_fp[AUDIT_KEY_FP_MAX];            /* of the key that signed it */
};

/* Load the PEM Ed25519 private key at path, or create one there (mode 0600) if
 * there is no file. On failure *why says why (one line). */
int audit_key_load_or_create(const char *path, struct audit_key **out, char *why, size_t why_len) KAM_MUST_CHECK;
void audit_key_free(struct audit_key *k);
const char *audit_key_fingerprint(const struct audit_key *k);

/* The signed text of a checkpoint of heads taken at `at`, appended to out. */
int audit_checkpoint_sign(const struct audit_key *k, int64_t at, const struct audit_head heads[AUDIT_PARTS],
			  struct kam_buf *out) KAM_MUST_CHECK;
/* Parse a checkpoint's text and check its signature against k's public key.
 * KAM_EINVAL with *why when it is malformed or not signed by k. */
int audit_checkpoint_parse(const char *text, size_t len, const struct audit_key *k, struct audit_checkpoint *out,
			   char *why, size_t why_len) KAM_MUST_CHECK;

/* Replace path with data: a temporary file beside it, fsync, rename. 0 or -errno. */
int audit_file_replace(const char *path, const void *data, size_t len) KAM_MUST_CHECK;
/* A whole small file into out (at most max bytes); 0, -errno, or KAM_E2BIG. */
int audit_file_read(const char *path, size_t max, struct kam_buf *out) KAM_MUST_CHECK;

#endif
