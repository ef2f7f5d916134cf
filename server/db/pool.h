/*
 * Internal to db/: the store itself (pool.c) as the connections and the
 * sql_<aggregate>.c files see it.
 */
#ifndef KAMD_DB_POOL_H
#define KAMD_DB_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "db/job.h"
#include "db/pgconn.h"
#include "db/sql.h"

struct store {
	uv_loop_t *loop;
	char *conninfo;
	char *listen_conninfo;            /* issue 7: the revocation listener's own; NULL: conninfo */
	struct pg_hosts hosts;
	int session_idle_s;
	int session_absolute_s;
	uint64_t request_timeout_ms;      /* issue 7: a job's wait for a connection, and for its answer */
	int n_conns;
	struct pg_conn *conns;
	struct pg_job *q_head, *q_tail;   /* waiting for a connection to take them */
	size_t pending;                   /* queued and on connections */
	uv_prepare_t dispatch;            /* hands queued jobs to connections before the loop blocks */
	uv_timer_t deadline;              /* fails jobs that waited too long for a connection */
	uint64_t deadline_failed;         /* ... how many since the last warning */
	uint64_t deadline_logged;         /* ... loop time of the last warning (0: none yet) */
	unsigned live;                    /* handles and requests whose final callback has not run */
	bool closing;
	void (*close_cb)(void *arg);
	void *close_arg;
	uint64_t rng;                     /* backoff jitter */
	int64_t actor;                    /* issue 7: the user new jobs act as (0: none); see sql_rls.c */
	struct pg_request_key key;        /* issue 7: the request key new jobs carry (sql_rls.c) */
	struct sql_guards guards;         /* issue 5: the fast path's checks for the next job (sql_guard.c) */
};

/* Validate the job's bindings and queue it; on error the job is freed and nothing is called. */
int pool_submit(struct pg_job *job) KAM_MUST_CHECK;
/* A connection became ready or finished a job: dispatch queued jobs before the loop blocks. */
void pool_kick(struct store *st);
/* Finish a job (the caller's callback) and free it. */
void pool_job_done(struct pg_job *job, int err);
/* Issue 5: jobs (a list linked by next) whose batch rolled back because of another job: back to
 * the front of the queue, in order, each to run in a sync of its own. */
void pool_requeue(struct store *st, struct pg_job *list);
/* A handle closed or a request completed; the last one after store_close frees the store. */
void pool_release(struct store *st);
/* A pseudo-random number for jitter. */
uint32_t pool_random(struct store *st);

#endif
