/*
 * One client connection: TCP bytes -> TLS engine -> frames -> svc_on_frame,
 * and responses back the same way, with backpressure, timeouts and an
 * explicit state machine. It only frames: it never decodes a request, and
 * it frees a session only after libuv's close callback and the last unref.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "log.h"
#include "msg.h"
#include "net/session.h"
#include "net_internal.h"
#include "svc/svc.h"
#include "tls.h"

/* Plaintext is pulled in steps of one TLS record, the most the engine decrypts at once. */
#define NET_PLAIN_STEP (16u * 1024u)
/* Per-connection buffers above this are released after use, so one big reply does not pin memory. */
#define NET_KEEP_BUF (64u * 1024u)
/* A closing connection whose peer will not read its last bytes is cut off after this. */
#define NET_FLUSH_TIMEOUT_MS 5000
/* Connections past max_connections that still get a BUSY answer; beyond, they are closed unanswered. */
#define NET_BUSY_EXTRA 64
/* Before it authenticates, a connection has one request at a time: a login storm over one
 * connection cannot queue hashes, and a hello is answered before the next frame is cut. */
#define NET_PRELOGIN_INFLIGHT 1u

enum session_state {
	/* TCP accepted; the TLS handshake is in progress. No frames are read yet. */
	SESSION_HANDSHAKE,
	/* Handshake done: frames go to svc, responses come back. */
	SESSION_OPEN,
	/* Input ignored; close as soon as the queued output has been written. */
	SESSION_DRAINING,
	/* uv_close() called; the struct waits for the close callback and the last unref. */
	SESSION_CLOSED,
};

struct kam_session {
	uv_tcp_t tcp;                  /* data points back to the session */
	struct net *net;
	struct net_tls *tls_ref;       /* the context this connection was made with */
	struct tls_conn *tls;
	enum session_state state;
	unsigned refs;                 /* the network layer's own (until close) + svc's + kick list */
	bool authenticated;
	bool reading;                  /* uv_read_start is in effect */
	bool busy;                     /* over a connection limit: answer BUSY after the handshake */
	bool counted;                  /* counted in net->peers under addr */
	const char *busy_msg;          /* which limit */
	bool kicked;                   /* on net->kick_head */
	/* Issue 7: the session or user of principal (below) was revoked since: no more reading,
	 * the error once the last reply is out. */
	bool revoked;
	struct kam_buf in;             /* decrypted bytes: at most one partial frame plus a read */
	struct kam_buf out;            /* one encoded response, reused */
	size_t queued;                 /* bytes handed to uv_write and not yet written */
	unsigned inflight;             /* frames handed to svc and not yet done */
	uint64_t since_ms;             /* accepted, or entered DRAINING */
	uint64_t last_frame_ms;        /* last frame received (idle timeout) */
	enum kam_log_level close_level;
	char close_reason[160];        /* the first reason given wins */
	char peer[NET_ADDR_LEN];
	char addr[PEER_KEY_LEN];       /* the address limits count (peers.h) */
	struct kam_session *prev, *next;   /* net->sessions while the handle is open */
	struct kam_session *kick_next;
	/* What session_remember was told (valid: known): the fast path's principal (issue 5),
	 * and the session and user whose revocation ends this connection (issue 7). */
	bool principal_valid;
	uint8_t principal_token[KAM_SHA256_LEN];
	struct kam_principal principal;
};

/* Ciphertext on its way out: the request and the bytes in one allocation, freed in on_write. */
struct net_write {
	uv_write_t req;                /* first: the request is the write */
	struct kam_session *s;
	size_t len;
	uint8_t data[];
};

static void session_pump(struct kam_session *s);
static int session_start_reading(struct kam_session *s);

static const char *session_state_str(enum session_state st)
{
	switch (st) {
	case SESSION_HANDSHAKE: return "handshake";
	case SESSION_OPEN: return "open";
	case SESSION_DRAINING: return "draining";
	case SESSION_CLOSED: return "closed";
	}
	return "?";
}

/* The only place the state changes; anything not listed here is a bug. */
static void session_set_state(struct kam_session *s, enum session_state to)
{
	static const bool legal[4][4] = {
		[SESSION_HANDSHAKE] = { [SESSION_OPEN] = true, [SESSION_DRAINING] = true, [SESSION_CLOSED] = true },
		[SESSION_OPEN] = { [SESSION_DRAINING] = true, [SESSION_CLOSED] = true },
		[SESSION_DRAINING] = { [SESSION_CLOSED] = true },
		[SESSION_CLOSED] = { false },
	};

	if (!legal[s->state][to]) {
		kam_log(KAM_LOG_ERROR, s->peer, "bug: illegal state change %s -> %s",
			session_state_str(s->state), session_state_str(to));
		assert(!"illegal session state change");
	}
	kam_log(KAM_LOG_DEBUG, s->peer, "state %s -> %s", session_state_str(s->state), session_state_str(to));
	s->state = to;
}

static uint64_t session_now(const struct kam_session *s)
{
	return uv_now(s->net->loop);
}

/* Record why the connection ends; the first reason is the one logged. */
static void session_reason(struct kam_session *s, enum kam_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void session_reason(struct kam_session *s, enum kam_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (s->close_reason[0])
		return;
	s->close_level = level;
	va_start(ap, fmt);
	vsnprintf(s->close_reason, sizeof(s->close_reason), fmt, ap);
	va_end(ap);
}

/* The input buffer held plaintext requests (passwords): wipe it before it goes back to malloc. */
static void session_wipe_input(struct kam_session *s)
{
	if (s->in.data)
		explicit_bzero(s->in.data, s->in.cap);
	kam_buf_free(&s->in);
	kam_buf_init(&s->in);
}

static void session_free(struct kam_session *s)
{
	assert(s->state == SESSION_CLOSED);
	s->net->n_alloc--;
	tls_conn_free(s->tls);
	net_tls_unref(s->tls_ref);
	session_wipe_input(s);
	kam_buf_free(&s->out);
	free(s);
}

void session_ref(struct kam_session *s)
{
	s->refs++;
}

void session_unref(struct kam_session *s)
{
	assert(s->refs > 0);
	if (--s->refs == 0)
		session_free(s);
}

bool session_is_open(const struct kam_session *s)
{
	return s->state == SESSION_OPEN;
}

const char *session_peer(const struct kam_session *s)
{
	return s->peer;
}

bool session_is_authenticated(const struct kam_session *s)
{
	return s->authenticated;
}

const char *session_addr(const struct kam_session *s)
{
	return s->addr;
}

static void on_close(uv_handle_t *h)
{
	struct kam_session *s = h->data;
	struct net *n = s->net;

	if (s->prev)
		s->prev->next = s->next;
	else
		n->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	n->n_conns--;
	if (s->counted)
		peers_dec(&n->peers, s->addr);
	s->counted = false;
	session_unref(s);
	net_session_closed(n);
}

/* Close now (idempotent): pending writes are cancelled. Log the disconnect once. */
static void session_close(struct kam_session *s)
{
	if (s->state == SESSION_CLOSED)
		return;
	session_set_state(s, SESSION_CLOSED);
	s->reading = false;    /* uv_close stops reading */
	kam_log(s->close_reason[0] ? s->close_level : KAM_LOG_INFO, s->peer, "disconnected: %s",
		s->close_reason[0] ? s->close_reason : "closed");
	uv_close((uv_handle_t *)&s->tcp, on_close);
}

static void session_fail(struct kam_session *s, enum kam_log_level level, const char *why)
{
	session_reason(s, level, "%s", why);
	session_close(s);
}

static void on_write(uv_write_t *req, int status)
{
	struct net_write *w = (struct net_write *)req;
	struct kam_session *s = w->s;

	s->queued -= w->len;
	free(w);
	if (status < 0) {
		if (status != UV_ECANCELED) {
			session_reason(s, KAM_LOG_INFO, "write failed: %s", uv_strerror(status));
			session_close(s);
		}
		return;
	}
	if (s->state == SESSION_DRAINING && s->queued == 0) {
		session_close(s);
		return;
	}
	session_pump(s);   /* output shrank: reading may resume */
}

/* Move everything the TLS engine has for the peer into one write. Closes the session on failure. */
static int session_flush(struct kam_session *s)
{
	size_t pending;
	struct net_write *w;
	uv_buf_t b;
	int r;

	if (s->state == SESSION_CLOSED || !s->tls)
		return KAM_ECLOSED;
	pending = tls_conn_pending(s->tls);
	if (pending == 0)
		return 0;
	w = malloc(sizeof(*w) + pending);
	if (!w) {
		session_fail(s, KAM_LOG_ERROR, "out of memory");
		return KAM_ENOMEM;
	}
	w->s = s;
	w->len = tls_conn_take(s->tls, w->data, pending);
	b = uv_buf_init((char *)w->data, (unsigned)w->len);
	r = uv_write(&w->req, (uv_stream_t *)&s->tcp, &b, 1, on_write);
	if (r < 0) {
		free(w);
		session_reason(s, KAM_LOG_INFO, "write failed: %s", uv_strerror(r));
		session_close(s);
		return r;
	}
	s->queued += w->len;
	return 0;
}

/* End gracefully: no more input, close_notify, close once the output is written. */
static void session_end(struct kam_session *s, enum kam_log_level level, const char *reason)
{
	if (s->state == SESSION_CLOSED || s->state == SESSION_DRAINING)
		return;
	session_reason(s, level, "%s", reason);
	if (s->reading) {
		uv_read_stop((uv_stream_t *)&s->tcp);
		s->reading = false;
	}
	if (s->tls && tls_conn_handshake_done(s->tls))
		tls_conn_shutdown(s->tls);
	session_set_state(s, SESSION_DRAINING);
	s->since_ms = session_now(s);
	if (session_flush(s) == 0 && s->queued == 0)
		session_close(s);
}

static bool session_wants_input(const struct kam_session *s)
{
	if (s->state != SESSION_HANDSHAKE && s->state != SESSION_OPEN)
		return false;
	if (s->net->draining || s->revoked)
		return false;
	return s->queued <= s->net->max_queued_output &&
	       s->inflight < (s->authenticated ? s->net->max_inflight : NET_PRELOGIN_INFLIGHT);
}

static void session_kick(struct kam_session *s)
{
	struct net *n = s->net;

	if (s->kicked)
		return;
	s->kicked = true;
	session_ref(s);
	s->kick_next = n->kick_head;
	n->kick_head = s;
	if (!uv_is_active((uv_handle_t *)&n->kick))
		uv_idle_start(&n->kick, sessions_on_kick);
}

void sessions_on_kick(uv_idle_t *h)
{
	struct net *n = h->data;
	struct kam_session *list = n->kick_head;

	n->kick_head = NULL;
	uv_idle_stop(h);
	while (list) {
		struct kam_session *s = list;

		list = s->kick_next;
		s->kicked = false;
		session_pump(s);
		session_unref(s);
	}
}

static void session_release_big_buffers(struct kam_session *s)
{
	if (s->in.cap > NET_KEEP_BUF && kam_buf_avail(&s->in) == 0)
		session_wipe_input(s);
	if (s->out.cap > NET_KEEP_BUF) {
		kam_buf_free(&s->out);
		kam_buf_init(&s->out);
	}
}

/* Start or stop reading to match the limits. On resume, frames may already wait in the buffers. */
static void session_update_reading(struct kam_session *s)
{
	bool want = session_wants_input(s);

	if (want == s->reading)
		return;
	if (!want) {
		uv_read_stop((uv_stream_t *)&s->tcp);
		s->reading = false;
		kam_log(KAM_LOG_DEBUG, s->peer, "reading paused (%zu bytes queued, %u requests in flight)",
			s->queued, s->inflight);
		return;
	}
	kam_log(KAM_LOG_DEBUG, s->peer, "reading resumed");
	if (session_start_reading(s) == 0 && s->state == SESSION_OPEN)
		session_kick(s);
}

int session_send(struct kam_session *s, const struct kam_response *resp)
{
	size_t payload;
	int err;

	if (!session_is_open(s))
		return 0;
	kam_buf_reset(&s->out);
	err = msg_response_encode_frame(resp, &s->out);
	if (err)
		goto out;
	payload = kam_buf_avail(&s->out) - KAM_FRAME_HEADER_LEN;
	if (payload > s->net->max_frame) {
		/* The peer would refuse it: let svc answer with an error instead. */
		err = KAM_E2BIG;
		goto out;
	}
	if (tls_conn_write(s->tls, kam_buf_head(&s->out), kam_buf_avail(&s->out)) != 0) {
		session_reason(s, KAM_LOG_WARN, "TLS error: %s", tls_conn_error(s->tls));
		session_close(s);
		err = KAM_ETLS;
		goto out;
	}
	err = session_flush(s);
	if (err == 0)
		session_update_reading(s);
out:
	kam_buf_reset(&s->out);
	session_release_big_buffers(s);
	return err;
}

void session_send_and_close(struct kam_session *s, const struct kam_response *resp, const char *reason)
{
	if (resp && session_is_open(s)) {
		/* On failure the session is closed already, or it closes below. */
		(void)!session_send(s, resp);
	}
	session_end(s, KAM_LOG_WARN, reason ? reason : "closed by the server");
}

/* One error response with request id 0, then close: for faults before any request is read. */
static void session_refuse(struct kam_session *s, enum kam_status code, const char *message, const char *reason)
{
	struct kam_response r;

	memset(&r, 0, sizeof(r));
	r.id = 0;
	r.op = KAM_OP_NONE;
	r.error.code = code;
	r.error.message = message;
	r.error.field = "";
	session_send_and_close(s, &r, reason);
}

void session_set_authenticated(struct kam_session *s, bool yes)
{
	s->authenticated = yes;
	s->last_frame_ms = session_now(s);
	if (!yes)
		session_forget(s);   /* logged out here: its revocation is no news */
}

/* The session ended in PostgreSQL: say so (id 0, as kam expects for what no request caused), close. */
static void session_end_revoked(struct kam_session *s)
{
	session_reason(s, KAM_LOG_INFO, "session revoked");
	session_refuse(s, KAM_STATUS_UNAUTHENTICATED, "session ended: it was revoked or its user deactivated; "
		       "log in again", NULL);
}

void session_remember(struct kam_session *s, const uint8_t token_hash[KAM_SHA256_LEN],
		      const struct kam_principal *who)
{
	memcpy(s->principal_token, token_hash, KAM_SHA256_LEN);
	s->principal = *who;
	s->principal_valid = true;
}

bool session_recall(const struct kam_session *s, const uint8_t token_hash[KAM_SHA256_LEN],
		    struct kam_principal *who)
{
	if (!s->principal_valid || memcmp(s->principal_token, token_hash, KAM_SHA256_LEN) != 0)
		return false;
	*who = s->principal;
	return true;
}

void session_forget(struct kam_session *s)
{
	s->principal_valid = false;
	memset(s->principal_token, 0, sizeof(s->principal_token));
	memset(&s->principal, 0, sizeof(s->principal));
}

void session_request_done(struct kam_session *s)
{
	if (s->inflight == 0) {
		kam_log(KAM_LOG_ERROR, s->peer, "request finished twice (a bug in the service layer)");
		return;
	}
	s->inflight--;
	s->net->inflight--;
	if (s->revoked && s->inflight == 0 && session_is_open(s)) {
		session_end_revoked(s);   /* issue 7: the last reply went out before it */
		return;
	}
	/* Resuming defers the pump (kick): svc is on the stack and must not be re-entered. */
	session_update_reading(s);
}

static uint32_t frame_announced_len(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void session_frame_too_large(struct kam_session *s, uint32_t limit)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "frame of %u bytes exceeds the limit of %u",
		 frame_announced_len(kam_buf_head(&s->in)), limit);
	kam_log(KAM_LOG_WARN, s->peer, "%s", msg);
	session_refuse(s, KAM_STATUS_PROTOCOL, msg, "frame too large");
}

/* Pull decrypted bytes into s->in: >0 read, 0 none buffered, <0 the session closed. */
static long session_read_plaintext(struct kam_session *s)
{
	long got;

	if (kam_buf_reserve(&s->in, NET_PLAIN_STEP) != 0) {
		session_fail(s, KAM_LOG_ERROR, "out of memory");
		return KAM_ENOMEM;
	}
	got = tls_conn_read(s->tls, s->in.data + s->in.len, s->in.cap - s->in.len);
	if (got > 0) {
		s->in.len += (size_t)got;
		return got;
	}
	if (got == KAM_EAGAIN)
		return 0;
	if (got == KAM_ECLOSED) {
		session_fail(s, KAM_LOG_INFO, "peer closed");
	} else {
		session_reason(s, KAM_LOG_WARN, "TLS error: %s", tls_conn_error(s->tls));
		session_close(s);
	}
	return got < 0 ? got : KAM_ETLS;
}

/* Hand every whole frame to svc while the limits allow; read more plaintext as needed. */
static void session_pump(struct kam_session *s)
{
	struct net *n = s->net;

	session_ref(s);   /* svc may drop its references while we are on the stack */
	while (s->state == SESSION_OPEN && session_wants_input(s)) {
		uint32_t limit = s->authenticated ? n->max_frame : n->max_frame_prelogin;
		const uint8_t *payload = NULL;
		size_t len = 0;
		long used = frame_decode(kam_buf_head(&s->in), kam_buf_avail(&s->in), limit, &payload, &len);

		if (used == KAM_E2BIG) {
			session_frame_too_large(s, limit);
			break;
		}
		if (used < 0) {
			session_refuse(s, KAM_STATUS_PROTOCOL, "malformed frame", "malformed frame");
			break;
		}
		if (used == 0) {
			if (session_read_plaintext(s) <= 0)
				break;
			continue;
		}
		s->last_frame_ms = session_now(s);
		s->inflight++;
		n->inflight++;
		svc_on_frame(s, payload, len);
		/* svc copied what it needs: no plaintext request (a password) stays behind. */
		explicit_bzero((uint8_t *)s->in.data + s->in.off, (size_t)used);
		kam_buf_consume(&s->in, (size_t)used);
	}
	session_release_big_buffers(s);
	session_update_reading(s);
	session_unref(s);
}

static void session_handshake(struct kam_session *s)
{
	int r = tls_conn_handshake(s->tls);

	/* Whatever the outcome, the engine may have bytes for the peer (a flight or an alert). */
	if (session_flush(s) != 0)
		return;
	if (r == KAM_EAGAIN)
		return;
	if (r != 0) {
		char why[sizeof(s->close_reason)];

		snprintf(why, sizeof(why), "TLS handshake failed: %s", tls_conn_error(s->tls));
		session_end(s, KAM_LOG_WARN, why);
		return;
	}
	session_set_state(s, SESSION_OPEN);
	s->last_frame_ms = session_now(s);
	if (s->busy) {
		kam_log(KAM_LOG_WARN, s->peer, "%s (max_connections %zu, max_connections_per_address %u)",
			s->busy_msg, s->net->max_connections, s->net->max_per_address);
		session_refuse(s, KAM_STATUS_BUSY, s->busy_msg, "server busy");
		return;
	}
	kam_log(KAM_LOG_DEBUG, s->peer, "TLS established");
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct kam_session *s = h->data;

	*buf = uv_buf_init(s->net->rbuf, sizeof(s->net->rbuf));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct kam_session *s = stream->data;

	if (nread == 0)
		return;
	if (nread < 0) {
		if (nread == UV_EOF)
			session_reason(s, KAM_LOG_INFO, "peer closed");
		else
			session_reason(s, KAM_LOG_INFO, "read failed: %s", uv_strerror((int)nread));
		session_close(s);
		return;
	}
	if (s->state != SESSION_HANDSHAKE && s->state != SESSION_OPEN)
		return;
	if (tls_conn_feed(s->tls, (const uint8_t *)buf->base, (size_t)nread) != 0) {
		session_fail(s, KAM_LOG_ERROR, "out of memory");
		return;
	}
	if (s->state == SESSION_HANDSHAKE)
		session_handshake(s);
	/* TLS 1.3 peers may send their first request in the same flight as Finished. */
	if (s->state == SESSION_OPEN)
		session_pump(s);
}

static int session_start_reading(struct kam_session *s)
{
	int r = uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);

	if (r < 0) {
		session_reason(s, KAM_LOG_WARN, "read failed: %s", uv_strerror(r));
		session_close(s);
		return r;
	}
	s->reading = true;
	return 0;
}

/*
 * Count the connection under its address. Past max_connections_per_address it
 * gets a BUSY answer, and past that by NET_BUSY_EXTRA it is closed unanswered
 * (returns non-zero), so one address cannot hold many handshakes either.
 */
static int session_count_address(struct kam_session *s)
{
	struct net *n = s->net;
	unsigned count = peers_inc(&n->peers, s->addr);

	if (count == 0) {
		session_fail(s, KAM_LOG_ERROR, "out of memory");
		return KAM_ENOMEM;
	}
	s->counted = true;
	if (count > n->max_per_address + NET_BUSY_EXTRA) {
		session_fail(s, KAM_LOG_WARN, "server busy: too many connections from this address, closed "
			     "without an answer");
		return KAM_EAGAIN;
	}
	if (count > n->max_per_address) {
		s->busy = true;
		s->busy_msg = "server busy: too many connections from your address";
	}
	return 0;
}

void session_accept(struct net *n)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	struct kam_session *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s) {
		log_error("accept on %s: out of memory", n->addr);
		return;
	}
	if (uv_tcp_init(n->loop, &s->tcp) != 0) {
		log_error("accept on %s: cannot create a handle", n->addr);
		free(s);
		return;
	}
	/* From here on the session is freed by on_close like any other. */
	s->tcp.data = s;
	s->net = n;
	s->refs = 1;
	s->state = SESSION_HANDSHAKE;
	s->since_ms = uv_now(n->loop);
	kam_buf_init(&s->in);
	kam_buf_init(&s->out);
	snprintf(s->peer, sizeof(s->peer), "unknown");
	s->next = n->sessions;
	if (n->sessions)
		n->sessions->prev = s;
	n->sessions = s;
	n->n_conns++;
	n->n_alloc++;

	r = uv_accept((uv_stream_t *)&n->listener, (uv_stream_t *)&s->tcp);
	if (r < 0) {
		session_reason(s, KAM_LOG_WARN, "accept failed: %s", uv_strerror(r));
		session_close(s);
		return;
	}
	if (uv_tcp_getpeername(&s->tcp, (struct sockaddr *)&ss, &sslen) == 0) {
		net_format_addr((const struct sockaddr *)&ss, s->peer, sizeof(s->peer));
		peer_key((const struct sockaddr *)&ss, s->addr);
	}
	if (session_count_address(s) != 0)
		return;
	if (n->n_conns > n->max_connections + NET_BUSY_EXTRA) {
		session_fail(s, KAM_LOG_WARN, "server busy: too many connections, closed without an answer");
		return;
	}
	if (n->n_conns > n->max_connections) {
		s->busy = true;
		s->busy_msg = "server busy: too many connections";
	}
	s->tls_ref = net_tls_ref(n->tls);
	if (tls_conn_new(net_tls_ctx(s->tls_ref), NULL, &s->tls) != 0) {
		session_fail(s, KAM_LOG_ERROR, "cannot create a TLS connection");
		return;
	}
	(void)uv_tcp_nodelay(&s->tcp, 1);   /* small request/response frames: no Nagle delay */
	if (session_start_reading(s) != 0)
		return;
	kam_log(KAM_LOG_DEBUG, s->peer, "connected");
}

void sessions_tick(struct net *n, uint64_t now)
{
	for (struct kam_session *s = n->sessions; s; s = s->next) {
		switch (s->state) {
		case SESSION_HANDSHAKE:
		case SESSION_OPEN:
			if (!s->authenticated && now - s->since_ms >= n->login_timeout_ms)
				session_end(s, KAM_LOG_INFO, "login timeout");
			else if (s->authenticated && s->inflight == 0 && now - s->last_frame_ms >= n->idle_timeout_ms)
				session_end(s, KAM_LOG_INFO, "idle timeout");
			break;
		case SESSION_DRAINING:
			if (now - s->since_ms >= NET_FLUSH_TIMEOUT_MS)
				session_close(s);
			break;
		case SESSION_CLOSED:
			break;
		}
	}
}

void sessions_pause(struct net *n)
{
	for (struct kam_session *s = n->sessions; s; s = s->next)
		session_update_reading(s);
}

size_t sessions_revoke(struct net *n, int64_t session_id, int64_t user_id)
{
	size_t count = 0;

	/* Closing only starts here: the list loses a session in its close callback, later. */
	for (struct kam_session *s = n->sessions; s; s = s->next) {
		if (s->state != SESSION_OPEN || s->revoked ||
		    !((session_id && s->principal.session_id == session_id) ||
		      (user_id && s->principal.user_id == user_id)))
			continue;
		s->revoked = true;
		count++;
		if (s->inflight == 0)
			session_end_revoked(s);
		else
			session_update_reading(s);
	}
	return count;
}

void sessions_close_all(struct net *n)
{
	for (struct kam_session *s = n->sessions; s; s = s->next)
		session_end(s, KAM_LOG_INFO, "shutdown");
}
