/*
 * Slow work off the event loop (password hashing): run work(arg) on the
 * thread pool, then done(arg, status) on the loop thread. status is 0, or
 * KAM_ECANCELED if the loop is shutting down. Implemented in net/work.c
 * (libuv's uv_queue_work), so callers need not include uv.h. The pool has
 * hash_threads threads (UV_THREADPOOL_SIZE, set by main.c), so at most that
 * many hashes run at once; work_submit returns KAM_EAGAIN when hash_threads +
 * hash_queue jobs are already outstanding.
 */
#ifndef KAMD_WORK_H
#define KAMD_WORK_H

#include "err.h"

int work_submit(void (*work)(void *arg), void (*done)(void *arg, int status), void *arg) KAM_MUST_CHECK;

#endif
