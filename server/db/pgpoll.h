/*
 * Internal to db/: a uv_poll on libpq's current socket, for the files that
 * drive libpq on the loop (the pool's connections, the revocation listener).
 * libpq may close a socket and open the next (another host of the conninfo),
 * even under the same number: the watch follows it, closing the old handle
 * and making a new one. PQfinish waits for the handle's close callback, so a
 * socket is never closed under libuv.
 */
#ifndef KAMD_DB_PGPOLL_H
#define KAMD_DB_PGPOLL_H

#include <libpq-fe.h>
#include <uv.h>

#include "err.h"

struct pg_poll;

/* Embedded in its owner; set loop, on_poll, data, live, release and owner before the first use. */
struct pg_watch {
	uv_loop_t *loop;
	uv_poll_cb on_poll;             /* the handle's callback; handle->data is data */
	void *data;
	unsigned *live;                 /* raised for each handle, until... */
	void (*release)(void *owner);   /* ...this runs after its close callback (and PQfinish) */
	void *owner;
	struct pg_poll *poll;           /* NULL: nothing watched */
	int events;                     /* what the handle watches (0 after an error stopped it) */
};

/* Watch pg's current socket for events (UV_READABLE, UV_WRITABLE). */
int pg_watch_set(struct pg_watch *w, PGconn *pg, int events) KAM_MUST_CHECK;
/* Let go of pg: close the handle, PQfinish(pg) once it is closed (at once when there is none). */
void pg_watch_drop(struct pg_watch *w, PGconn *pg);

#endif
