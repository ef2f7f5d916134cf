/*
 * What listener.c and session.c share inside the network layer: the net
 * struct (listener, janitor, limits, the list of live connections) and the
 * session functions the listener drives. Nothing outside server/net/
 * includes this.
 */
#ifndef KAMD_NET_INTERNAL_H
#define KAMD_NET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "net.h"
#include "peers.h"

/* Ciphertext bytes libuv may hand us per read. */
#define NET_READ_CHUNK (64u * 1024u)
/* "[" IPv6 "]:" port NUL, with room to spare. */
#define NET_ADDR_LEN 64

struct kam_session;

struct net {
	uv_loop_t *loop;
	uv_tcp_t listener;
	uv_timer_t janitor;            /* one 1 s tick for every connection timeout */
	uv_idle_t kick;                /* runs session pumps deferred out of svc's call stacks */
	struct net_tls *tls;           /* for connections accepted from now on */

	/* Limits, copied from the configuration at start. */
	uint32_t max_frame;
	uint32_t max_frame_prelogin;
	size_t max_connections;
	uint64_t login_timeout_ms;
	uint64_t idle_timeout_ms;
	unsigned max_inflight;
	size_t max_queued_output;
	unsigned max_per_address;      /* connections per client address (issue 6) */

	struct kam_session *sessions;  /* every session whose TCP handle is not closed yet */
	size_t n_conns;                /* length of that list */
	size_t n_alloc;                /* sessions allocated, including closed ones svc still holds */
	size_t inflight;               /* requests in svc over all sessions */
	struct kam_session *kick_head; /* sessions waiting for a deferred pump */
	struct peer_table peers;       /* live connections per client address */

	bool listening;
	bool draining;                 /* SIGTERM: no new requests are read */
	bool shutting_down;            /* net_shutdown called: sessions are being closed */
	bool own_closing;              /* janitor and kick handles are closing */
	int handles_open;              /* listener, janitor, kick: not yet closed */
	void (*on_closed)(void *arg);  /* when handles_open reaches 0 */
	void *on_closed_arg;

	char addr[NET_ADDR_LEN];       /* bound address, for logs */
	/* One read buffer for all connections: every read is consumed inside its callback. */
	char rbuf[NET_READ_CHUNK];
};

/* "ip:port", or "[ipv6]:port". */
void net_format_addr(const struct sockaddr *sa, char *out, size_t len);
/* session.c tells the listener that a connection's handle has closed. */
void net_session_closed(struct net *n);

/* ---- session.c, driven by listener.c ---- */

/* Accept one pending connection from n->listener. */
void session_accept(struct net *n);
/* Janitor: apply login, idle and drain timeouts to every live session. */
void sessions_tick(struct net *n, uint64_t now_ms);
/* Stop reading requests on every session (n->draining is set). */
void sessions_pause(struct net *n);
/* Flush and close every live session ("shutdown"). */
void sessions_close_all(struct net *n);
/* The kick handle's callback. */
void sessions_on_kick(uv_idle_t *h);
/* Issue 7: end the sessions acting for session_id or user_id (net_close_sessions). */
size_t sessions_revoke(struct net *n, int64_t session_id, int64_t user_id);

#endif
