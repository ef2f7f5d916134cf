/*
 * Row-level security and idempotency keys (issue 7): each job's acting user
 * and request key, sent as kam_act_as before its statements in the same sync,
 * for the policies (0005_rls.sql) and for the audit trigger that claims the
 * key (0006_request_keys.sql). No round trip added; it decides nothing itself.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "db/pool.h"
#include "db/sql.h"

/*
 * Local to the job's implicit transaction: the next sync starts without an
 * actor or a key. Both are set for every job, '' for no key, so a job that
 * shares a transaction with others (group commit) inherits neither.
 */
static const char sql_act_as[] =
	"SELECT set_config('kam.user_id', $1::text, true), "
	"set_config('kam.request_key', coalesce(encode($2::bytea, 'hex'), ''), true)";
/* Only when a keyed write was refused: whether its key was claimed before (svc.c). */
static const char sql_key_seen[] = "SELECT kam_request_key_seen($1::bytea)";

enum { ACT_AS, KEY_SEEN };

static const struct pg_stmt_def stmts[] = {
	[ACT_AS] = { SQL_ACT_AS_STMT, sql_act_as, 2 },
	[KEY_SEEN] = { "request_key_seen", sql_key_seen, 1 },
};

const struct pg_stmt_set sql_rls_set = { stmts, sizeof(stmts) / sizeof(stmts[0]) };

void store_act_as(struct store *st, int64_t user_id)
{
	if (st)
		st->actor = user_id > 0 ? user_id : 0;
}

void sql_actor_text(const struct pg_job *job, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRId64, job->actor);
}

/* ---- request keys ---- */

void store_request_key(struct store *st, const uint8_t *key, size_t len)
{
	if (st)
		st->key = key && len ? (struct pg_request_key){ key, len } : (struct pg_request_key){ NULL, 0 };
}

/* A job's callback with its key pending (unless the job claimed it), so the jobs it starts carry it on. */
static void finish_with_key(struct pg_job *job, int err)
{
	struct store *st = job->st;
	struct pg_request_key outer = st->key;

	st->key = job->key_claim ? (struct pg_request_key){ NULL, 0 } : job->key;
	job->key_next(job, err);
	st->key = outer;
}

void pg_job_take_key(struct pg_job *job)
{
	const struct pg_request_key *k = &job->st->key;
	uint8_t *copy;

	if (!k->bytes || !k->len)
		return;
	if (k->len > KAM_REQUEST_KEY_MAX || !(copy = kam_arena_alloc(&job->arena, k->len))) {
		pg_job_fail(job, k->len > KAM_REQUEST_KEY_MAX ? KAM_E2BIG : KAM_ENOMEM);
		return;
	}
	memcpy(copy, k->bytes, k->len);
	job->key = (struct pg_request_key){ copy, k->len };
	job->key_next = job->finish;
	job->finish = finish_with_key;
}

/*
 * The first allowed act of a request claims its key (its audit entry does,
 * in SQL: an act that changes nothing writes none); the store's pending key
 * is gone for the rest of this callback, so no later job claims it again.
 * (Jobs started before the claim, in the same callback, keep their copy: no
 * handler starts a lookup beside its write.)
 */
void pg_job_claim_key(struct pg_job *job)
{
	if (!job->key.bytes || job->key_claim || !job->st->key.bytes)
		return;
	job->key_claim = true;
	job->st->key = (struct pg_request_key){ NULL, 0 };
}

static void key_seen_done(struct pg_job *job, int err)
{
	const PGresult *r = pg_job_result(job, 0);

	if (!err)
		err = pg_job_expect_row(job, 0, 1, KAM_EINTERNAL);
	if (!err && !pg_get_bool(r, 0, 0))
		err = KAM_ENOTFOUND;
	job->cb.done(job->arg, err);
}

int store_request_key_seen(struct store *st, const uint8_t *key, size_t len, store_done_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!key || len == 0 || len > KAM_REQUEST_KEY_MAX || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, key_seen_done, arg, &job);
	if (err)
		return err;
	job->cb.done = cb;
	pg_job_stmt(job, &stmts[KEY_SEEN]);
	pg_job_bytes(job, key, len);
	return pool_submit(job);
}
