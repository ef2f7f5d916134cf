/*
 * A client connection as the service layer sees it: an opaque, refcounted
 * handle it can answer on. No libuv here. A session stays allocated while
 * anyone holds a reference; once closed, session_is_open() is false and
 * replies to it are dropped, so in-flight database work is orphaned safely.
 */
#ifndef KAMD_SESSION_H
#define KAMD_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "hash.h"
#include "model.h"
#include "types.h"

struct kam_session;

void session_ref(struct kam_session *s);
void session_unref(struct kam_session *s);
bool session_is_open(const struct kam_session *s);
/* "ip:port" of the peer, valid while a reference is held. */
const char *session_peer(const struct kam_session *s);

/* Encode, frame, encrypt and queue a response. Dropped (returns 0) if the session is closed. */
int session_send(struct kam_session *s, const struct kam_response *resp) KAM_MUST_CHECK;
/* Send resp (if not NULL), then close once it is flushed: after a protocol error. */
void session_send_and_close(struct kam_session *s, const struct kam_response *resp, const char *reason);
/* After a successful login: frames up to the post-login maximum are accepted. */
void session_set_authenticated(struct kam_session *s, bool yes);
/* svc tells net that one request finished (for backpressure and drain accounting). */
void session_request_done(struct kam_session *s);

/* -- hostile clients (issue 6) -- */
/* Whether a login or a token has authenticated the connection (svc's pre-login gate). */
bool session_is_authenticated(const struct kam_session *s);
/* The client's address as limits count it: IPv4, or the /64 of IPv6 ("" if unknown).
 * Valid while a reference is held. */
const char *session_addr(const struct kam_session *s);

/* -- performance (issue 5), faults and scale-out (issue 7) -- */
/*
 * The principal the last full session check (or the login) gave this
 * connection, under the token's hash: svc takes the fast path (a guard inside
 * the request's first job) for the connection's next requests (issue 5), and
 * a revocation of its session or user heard from PostgreSQL closes the
 * connection (net_close_sessions, issue 7). Just memory: svc decides.
 * session_set_authenticated(s, false) forgets it.
 */
void session_remember(struct kam_session *s, const uint8_t token_hash[KAM_SHA256_LEN],
		      const struct kam_principal *who);
/* True, filling who, if token_hash is the one remembered. */
bool session_recall(const struct kam_session *s, const uint8_t token_hash[KAM_SHA256_LEN],
		    struct kam_principal *who);
void session_forget(struct kam_session *s);

#endif
