/*
 * The network layer as main.c drives it: start listening, swap the TLS
 * context on SIGHUP, drain and shut down. Internal to net/ and main.c; the
 * service layer sees only session.h and work.h.
 */
#ifndef KAMD_NET_H
#define KAMD_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "err.h"

struct net;
struct tls_ctx;

/*
 * A refcounted server TLS context: new connections take a reference to the
 * current one, so a SIGHUP reload can replace it while older connections
 * keep theirs until they close.
 */
struct net_tls;

/* Wrap ctx (ownership passes to the wrapper, even on failure); one reference for the caller. */
int net_tls_new(struct tls_ctx *ctx, struct net_tls **out) KAM_MUST_CHECK;
struct net_tls *net_tls_ref(struct net_tls *t);
void net_tls_unref(struct net_tls *t);   /* accepts NULL */
struct tls_ctx *net_tls_ctx(const struct net_tls *t);

/*
 * Bind and listen on cfg's address (host names are resolved here, blocking:
 * start-up only) and start the janitor. Takes its own reference to tls.
 * On failure *why holds one line for the operator.
 */
int net_start(uv_loop_t *loop, const struct kamd_config *cfg, struct net_tls *tls,
	      struct net **out, char *why, size_t why_len) KAM_MUST_CHECK;
/* "host:port" actually bound (the port is the real one when 0 was asked). */
const char *net_listen_addr(const struct net *n);
/* Use tls for connections accepted from now on (takes its own reference). */
void net_set_tls(struct net *n, struct net_tls *tls);
/* SIGTERM: close the listener and stop reading new requests; in-flight ones finish. */
void net_drain(struct net *n);
/* Requests handed to svc and not yet finished, over all sessions (closed ones too). */
size_t net_inflight(const struct net *n);
/* Flush and close every session, then close the layer's own handles; cb once all are closed. */
void net_shutdown(struct net *n, void (*cb)(void *arg), void *arg);
/*
 * Issue 7: a session was revoked (session_id) or a user deactivated (user_id; 0:
 * not this kind): end every connection acting for it (session_remember). An
 * idle one gets one UNAUTHENTICATED error with id 0, then closes; a busy one stops
 * reading, answers what it holds, then gets the error. Returns how many.
 */
size_t net_close_sessions(struct net *n, int64_t session_id, int64_t user_id);
/* After the loop has stopped: free what net_start allocated. Accepts NULL. */
void net_free(struct net *n);

/* ---- work.c: the thread pool behind work.h ---- */

void work_init(uv_loop_t *loop);
/* Jobs submitted and not yet completed. */
size_t work_pending(void);
/* At most this many jobs outstanding (running on the pool plus waiting); beyond it
 * work_submit answers KAM_EAGAIN. 0: no limit (the default after work_init). */
void work_limit(size_t max_outstanding);
/* Shutdown: cancel jobs not yet started; every completion from now on reports KAM_ECANCELED. */
void work_cancel_all(void);

#endif
