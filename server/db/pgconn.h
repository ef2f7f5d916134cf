/*
 * Internal to db/: one asynchronous PostgreSQL connection (pgconn.c). It
 * resolves host names with uv_getaddrinfo, connects with PQconnectPoll on a
 * uv_poll, prepares every statement, then runs jobs in pipeline mode, their
 * results arriving in the order they were sent (a FIFO, like PgBouncer's
 * OutstandingRequest list). Jobs sent in one round share one sync: a group
 * commit (issue 5).
 */
#ifndef KAMD_DB_PGCONN_H
#define KAMD_DB_PGCONN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "db/job.h"
#include "db/pgpoll.h"

/* A conninfo names a primary and a few fallbacks, not a directory. */
#define PG_MAX_HOSTS 8
/* Longest numeric address uv_ip_name writes (INET6_ADDRSTRLEN), with its NUL. */
#define PG_ADDR_LEN 46

/* The conninfo's host list, parsed once: which entries need a lookup before libpq may connect. */
struct pg_hosts {
	int n;                           /* 0: nothing to resolve, connect as configured */
	char *names[PG_MAX_HOSTS];       /* NULL: a socket path or numeric address, no lookup */
};

/* Parse conninfo's host list (or PGHOST); KAM_EINVAL if the conninfo does not parse. */
int pg_hosts_parse(const char *conninfo, struct pg_hosts *out) KAM_MUST_CHECK;
void pg_hosts_free(struct pg_hosts *h);

enum pg_conn_state {
	PGC_IDLE = 0,     /* not connected: before the first attempt or waiting out the backoff */
	PGC_RESOLVING,    /* uv_getaddrinfo for a host name in flight */
	PGC_CONNECTING,   /* PQconnectPoll handshake in progress */
	PGC_PREPARING,    /* connected; the statements are being prepared */
	PGC_READY,        /* takes jobs */
	PGC_STOPPED,      /* the store is closing; never reconnects */
	PGC__COUNT
};

struct store;

struct pg_conn {
	struct store *st;
	char name[16];                    /* log prefix, "db[0]" */
	enum pg_conn_state state;
	PGconn *pg;
	struct pg_watch watch;            /* a uv_poll on PQsocket(), following it when it changes */
	uv_timer_t timer;                 /* connecting: timeout; ready: answer timeout; idle: backoff */
	uv_getaddrinfo_t gai;
	int resolve_i;                    /* host being resolved */
	char hostaddr[PG_MAX_HOSTS * (PG_ADDR_LEN + 1)];
	unsigned attempt;                 /* failed connects in a row; drives the backoff */
	bool seen;                        /* a result arrived for the current statement (a NULL then ends it) */
	bool prep_failed;                 /* PREPARING: a prepare failed */
	int prep_i;                       /* PREPARING: statements whose result arrived */
	bool unflushed;                   /* sent since the last flush */
	struct pg_job *head, *tail;       /* sent, awaiting their sync */
	struct pg_job *recv;              /* the first sent job with statements still unanswered */
	int batch_n;                      /* jobs sent since the last sync (the open batch) */
	size_t n_jobs;
};

void pg_conn_init(struct pg_conn *c, struct store *st, int index);
/* Begin (or, after the backoff, retry) connecting. */
void pg_conn_start(struct pg_conn *c);
/* Send a job (the connection is READY); on a send failure the connection fails, and the job with it. */
void pg_conn_send(struct pg_conn *c, struct pg_job *job);
/* Close the open batch with a sync, push what was sent to the socket; watch for writable
 * while libpq still holds output. */
void pg_conn_flush(struct pg_conn *c);
/* The store is closing: fail the FIFO with KAM_ECANCELED and close every handle. */
void pg_conn_stop(struct pg_conn *c);
const char *pg_conn_state_str(enum pg_conn_state s);

#endif
