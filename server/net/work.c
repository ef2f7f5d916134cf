/*
 * work.h over libuv's thread pool: blocking work (password hashing) runs on
 * a worker, its completion on the loop thread. The work function must not
 * touch the loop, sessions or the store; only done() may.
 */
#include <stdbool.h>
#include <stdlib.h>

#include <uv.h>

#include "net.h"
#include "work.h"

struct work_item {
	uv_work_t req;                 /* first: the request is the item */
	void (*work)(void *arg);
	void (*done)(void *arg, int status);
	void *arg;
	struct work_item *prev, *next; /* outstanding items, for cancel at shutdown */
};

static uv_loop_t *work_loop;
static struct work_item *work_items;
static size_t work_count;
static size_t work_max;        /* 0: no limit */
static bool work_stopping;

void work_init(uv_loop_t *loop)
{
	work_loop = loop;
	work_items = NULL;
	work_count = 0;
	work_max = 0;
	work_stopping = false;
}

void work_limit(size_t max_outstanding)
{
	work_max = max_outstanding;
}

size_t work_pending(void)
{
	return work_count;
}

static void work_run(uv_work_t *req)
{
	struct work_item *w = (struct work_item *)req;

	w->work(w->arg);
}

static void work_after(uv_work_t *req, int status)
{
	struct work_item *w = (struct work_item *)req;
	int st = (status == UV_ECANCELED || work_stopping) ? KAM_ECANCELED : 0;

	if (w->prev)
		w->prev->next = w->next;
	else
		work_items = w->next;
	if (w->next)
		w->next->prev = w->prev;
	work_count--;
	w->done(w->arg, st);
	free(w);
}

int work_submit(void (*work)(void *arg), void (*done)(void *arg, int status), void *arg)
{
	struct work_item *w;

	if (!work_loop || work_stopping)
		return KAM_ECANCELED;
	/* A login storm waits in a bounded queue; past it, callers answer "busy". */
	if (work_max && work_count >= work_max)
		return KAM_EAGAIN;
	w = calloc(1, sizeof(*w));
	if (!w)
		return KAM_ENOMEM;
	w->work = work;
	w->done = done;
	w->arg = arg;
	if (uv_queue_work(work_loop, &w->req, work_run, work_after) != 0) {
		free(w);
		return KAM_EINTERNAL;
	}
	w->next = work_items;
	if (work_items)
		work_items->prev = w;
	work_items = w;
	work_count++;
	return 0;
}

void work_cancel_all(void)
{
	work_stopping = true;
	/* Only jobs still queued can be cancelled; running ones finish and report KAM_ECANCELED. */
	for (struct work_item *w = work_items; w; w = w->next)
		(void)uv_cancel((uv_req_t *)&w->req);
}
