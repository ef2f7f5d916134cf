/*
 * Signed checkpoints of the audit chain heads, written by kamd outside the
 * database: every audit_checkpoint_interval (the file written on a worker
 * thread) and once more at shutdown (directly: the loop serves nobody then).
 * Keeps the latest one in memory for kam audit verify. Never writes a
 * checkpoint it could not sign, nor blocks the loop while it serves.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/checkpoint.h"
#include "db/store.h"
#include "log.h"
#include "svc_call.h"
#include "work.h"

static struct {
	char *path;                       /* NULL: checkpoints are off */
	struct audit_key *key;
	bool have_latest;
	struct audit_checkpoint latest;
	char latest_problem[256];         /* why the file found at start was not taken */
	char rollback[256];               /* the chain no longer holds the latest checkpoint (logged once) */
	bool busy;                        /* a tick is reading heads or writing the file */
	struct kam_buf text;              /* what the worker writes */
	struct audit_checkpoint pending;  /* becomes latest once written */
	int write_rc;
	bool final_pending;
	void (*final_done)(void *arg);
	void *final_arg;
} cp;

static void run_final(void);

int svc_checkpoint_init(const char *path, const char *key_path, char *why, size_t why_len)
{
	struct kam_buf file;
	int rc;

	kam_buf_init(&cp.text);
	if (!path) {
		log_warn("no audit_checkpoint_file: cutting off the tail of the audit trail cannot be detected");
		return 0;
	}
	rc = audit_key_load_or_create(key_path, &cp.key, why, why_len);
	if (rc < 0)
		return rc;
	cp.path = strdup(path);
	if (!cp.path) {
		snprintf(why, why_len, "out of memory");
		return KAM_ENOMEM;
	}
	log_info("audit checkpoints go to %s, signed with %s (key %s)", path, key_path, audit_key_fingerprint(cp.key));
	kam_buf_init(&file);
	rc = audit_file_read(path, KAM_MAX_CHECKPOINT, &file);
	if (rc == 0)
		rc = audit_checkpoint_parse((const char *)file.data, file.len, cp.key, &cp.latest, why, why_len);
	else if (rc != -ENOENT)
		snprintf(why, why_len, "%s", kam_strerror(rc));
	if (rc == 0)
		cp.have_latest = true;
	/* Refused, not fatal: verify reports it until a new checkpoint replaces the file. */
	if (rc != 0 && rc != -ENOENT) {
		snprintf(cp.latest_problem, sizeof(cp.latest_problem), "the checkpoint file %s cannot be trusted: %s",
			 path, why);
		log_error("%s", cp.latest_problem);
		why[0] = '\0';
	}
	kam_buf_free(&file);
	return 0;
}

void svc_checkpoint_free(void)
{
	audit_key_free(cp.key);
	free(cp.path);
	kam_buf_free(&cp.text);
	memset(&cp, 0, sizeof(cp));
}

const struct audit_checkpoint *svc_checkpoint_latest(const char **problem)
{
	*problem = cp.have_latest || !cp.latest_problem[0] ? NULL : cp.latest_problem;
	return cp.have_latest ? &cp.latest : NULL;
}

int svc_checkpoint_check(const char *text, struct audit_checkpoint *out, char *why, size_t why_len)
{
	if (!cp.key) {
		snprintf(why, why_len, "this kamd keeps no checkpoint key (audit_checkpoint_file is not set)");
		return KAM_EINVAL;
	}
	return audit_checkpoint_parse(text, strlen(text), cp.key, out, why, why_len);
}

/* The signed text of heads into cp.text, and what it says into cp.pending. */
static int sign_heads(const struct audit_head heads[AUDIT_PARTS])
{
	int64_t now = (int64_t)time(NULL);

	kam_buf_reset(&cp.text);
	cp.pending = (struct audit_checkpoint){ .at = now };
	memcpy(cp.pending.heads, heads, sizeof(cp.pending.heads));
	for (int p = 0; p < AUDIT_PARTS; p++)
		cp.pending.entries += heads[p].seq;
	snprintf(cp.pending.key_fp, sizeof(cp.pending.key_fp), "%s", audit_key_fingerprint(cp.key));
	return audit_checkpoint_sign(cp.key, now, heads, &cp.text);
}

static void written(int rc)
{
	if (rc < 0) {
		log_error("cannot write the audit checkpoint %s: %s", cp.path, kam_strerror(rc));
		return;
	}
	cp.latest = cp.pending;
	cp.have_latest = true;
	cp.latest_problem[0] = '\0';
	log_debug("audit checkpoint written: %lld entries", (long long)cp.latest.entries);
}

/* ---- one round: read the heads, check they still hold the latest checkpoint, sign, write ---- */

static struct audit_head heads_now[AUDIT_PARTS];
static bool final_round;

static void final_over(void)
{
	void (*done)(void *arg) = cp.final_done;

	cp.final_pending = false;
	cp.final_done = NULL;
	if (done)
		done(cp.final_arg);
}

/* The round is over (rc < 0: nothing new was written). */
static void round_over(int rc)
{
	if (rc < 0 && rc != KAM_ECONFLICT)
		log_warn("no audit checkpoint this time: %s", kam_strerror(rc));
	cp.busy = false;
	if (final_round) {
		final_round = false;
		final_over();
		return;
	}
	if (cp.final_pending)
		run_final();
}

static void write_work(void *arg)
{
	cp.write_rc = audit_file_replace(cp.path, cp.text.data, cp.text.len);
}

static void write_done(void *arg, int status)
{
	if (status == 0)
		written(cp.write_rc);
	round_over(status ? status : cp.write_rc);
}

static void write_round(void)
{
	int rc = sign_heads(heads_now);

	if (rc == 0 && final_round) {
		/* At shutdown nobody is served any more: write it here, and make sure it is the last word. */
		rc = audit_file_replace(cp.path, cp.text.data, cp.text.len);
		written(rc);
		if (rc == 0)
			log_info("wrote the audit checkpoint %s: %lld entries", cp.path, (long long)cp.latest.entries);
		round_over(rc);
		return;
	}
	if (rc == 0)
		rc = work_submit(write_work, write_done, NULL);
	if (rc < 0)
		round_over(rc);
}

/*
 * A new checkpoint must extend the last one: every entry it named is still there with
 * the same hash. If not, the chain was cut or rewritten since: say so loudly and keep the
 * old checkpoint as the one verify compares with, rather than bless what is there now.
 */
static void on_continuity(void *arg, int err, const struct audit_head heads[AUDIT_PARTS],
			  const struct audit_head at[AUDIT_PARTS])
{
	if (err < 0) {
		round_over(err);
		return;
	}
	memcpy(heads_now, heads, sizeof(heads_now));   /* read with at[], in one snapshot */
	for (int p = 0; p < AUDIT_PARTS; p++) {
		if (at[p].seq >= 0 && kam_memcmp_ct(at[p].hash, cp.latest.heads[p].hash, KAM_SHA256_LEN) == 0)
			continue;
		/* Logged when first seen, not on every tick; verify compares with the checkpoint kept. */
		if (!cp.rollback[0])
			log_error("AUDIT TRAIL TAMPERED: partition %d no longer holds entry %lld with the hash the "
				  "checkpoint of %lld signed: the chain was cut or rewritten; keeping that checkpoint",
				  p, (long long)cp.latest.heads[p].seq, (long long)cp.latest.at);
		snprintf(cp.rollback, sizeof(cp.rollback), "partition %d", p);
		round_over(KAM_ECONFLICT);
		return;
	}
	if (cp.rollback[0])
		log_warn("the audit chain holds the checkpoint of %lld again", (long long)cp.latest.at);
	cp.rollback[0] = '\0';
	write_round();
}

/* The first checkpoint: nothing to extend. */
static void on_heads(void *arg, int err, const struct audit_head heads[AUDIT_PARTS])
{
	if (err < 0) {
		round_over(err);
		return;
	}
	memcpy(heads_now, heads, sizeof(heads_now));
	write_round();
}

static void start_round(bool final)
{
	int rc;

	if (!svc_store()) {
		if (final)
			final_over();
		return;
	}
	cp.busy = true;
	final_round = final;
	/* Later ones: the heads and the continuity check in one statement, so one snapshot. */
	rc = cp.have_latest ? store_audit_heads_at(svc_store(), cp.latest.heads, on_continuity, NULL)
			    : store_audit_heads(svc_store(), on_heads, NULL);
	if (rc < 0)
		round_over(rc);
}

void svc_checkpoint_tick(void)
{
	if (cp.key && !cp.busy && !cp.final_pending)
		start_round(false);
}

static void run_final(void)
{
	start_round(true);
}

void svc_checkpoint_final(void (*done)(void *arg), void *arg)
{
	if (!cp.key) {
		done(arg);
		return;
	}
	cp.final_pending = true;
	cp.final_done = done;
	cp.final_arg = arg;
	/* A round still running finishes first (round_over), so the last word is ours. */
	if (!cp.busy)
		run_final();
}
