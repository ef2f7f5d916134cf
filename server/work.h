/*
 * Slow work off the event loop (password hashing): run work(arg) on the
 * thread pool, then done(arg, status) on the loop thread. status is 0, or
 * KAM_ECANCELED if the loop is shutting down. Implemented in net/work.c
 * (libuv's uv_queue_work), so callers need not include uv.h.
 */
#ifndef KAMD_WORK_H
#define KAMD_WORK_H

#include "err.h"

int work_submit(void (*work)(void *arg), void (*done)(void *arg, int status), void *arg) KAM_MUST_CHECK;

#endif
