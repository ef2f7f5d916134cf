/*
 * A uv_poll that follows libpq's current socket (pgpoll.h). It only watches:
 * it never reads or writes the socket, and it closes a PGconn only after the
 * handle that watched it is closed.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "db/pgpoll.h"

#define container_of(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))

/* A handle for one socket, allocated apart from its owner so a replacement can start while it closes. */
struct pg_poll {
	uv_poll_t handle;
	void (*release)(void *owner);
	void *owner;
	PGconn *finish;           /* a dropped connection: PQfinish once the handle no longer watches it */
	int fd;
	ino_t ino;                /* libpq may close a socket and get the same fd number for the next */
};

static void on_poll_closed(uv_handle_t *h)
{
	struct pg_poll *p = container_of(h, struct pg_poll, handle);
	void (*release)(void *owner) = p->release;
	void *owner = p->owner;

	PQfinish(p->finish);
	free(p);
	release(owner);
}

static void poll_close(struct pg_watch *w, PGconn *finish)
{
	w->poll->finish = finish;
	uv_close((uv_handle_t *)&w->poll->handle, on_poll_closed);
	w->poll = NULL;
	w->events = 0;
}

int pg_watch_set(struct pg_watch *w, PGconn *pg, int events)
{
	int fd = PQsocket(pg), err;
	struct pg_poll *p;
	struct stat sb;

	if (fd < 0)
		return KAM_EUNAVAIL;
	if (fstat(fd, &sb) != 0)
		return -errno;
	if (w->poll && (w->poll->fd != fd || w->poll->ino != sb.st_ino))
		poll_close(w, NULL);   /* libpq closed that socket itself */
	if (!w->poll) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return KAM_ENOMEM;
		err = uv_poll_init(w->loop, &p->handle, fd);
		if (err) {
			free(p);
			return err;
		}
		p->handle.data = w->data;
		p->release = w->release;
		p->owner = w->owner;
		p->fd = fd;
		p->ino = sb.st_ino;
		(*w->live)++;
		w->poll = p;
	}
	if (events != w->events) {
		err = uv_poll_start(&w->poll->handle, events, w->on_poll);
		if (err)
			return err;
		w->events = events;
	}
	return 0;
}

void pg_watch_drop(struct pg_watch *w, PGconn *pg)
{
	if (w->poll)
		poll_close(w, pg);
	else
		PQfinish(pg);
}
