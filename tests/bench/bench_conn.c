/*
 * kam-bench's transport (bench_conn.h): TCP on libuv, TLS through the common
 * memory-BIO engine, frames with frame_decode. Buffers belong to the
 * connection and are reused, so a request costs no allocation here once they
 * have grown. Must not interpret payloads or keep benchmark state.
 */
#include <stdio.h>
#include <string.h>

#include "bench_conn.h"
#include "frame.h"
#include "msg.h"

/* Plaintext read out of the engine per call: one TLS record. */
#define BCONN_READ_CHUNK 16384
/* Responses are at most 1 MiB (proto/README.md); refuse anything larger. */
#define BCONN_MAX_FRAME KAM_FRAME_MAX_DEFAULT

/* One loop, one thread: every read lands here and is fed to TLS before the next. */
static char read_buf[65536];

static void fail(struct bconn *c, const char *why)
{
	if (c->closing)
		return;
	if (why != c->why)
		snprintf(c->why, sizeof(c->why), "%s", why);
	c->ops->on_fail(c, c->why);
	bconn_close(c);
}

static void on_write(uv_write_t *w, int status);

/* Hand everything the engine has queued to libuv, unless a write is still out. */
static void flush(struct bconn *c)
{
	size_t n;
	uv_buf_t b;
	int rc;

	if (c->writing || c->closing || (n = tls_conn_pending(c->tls)) == 0)
		return;
	kam_buf_reset(&c->wq);
	if (kam_buf_reserve(&c->wq, n) < 0) {
		fail(c, "out of memory");
		return;
	}
	c->wq.len = tls_conn_take(c->tls, c->wq.data, n);
	b = uv_buf_init((char *)c->wq.data, (unsigned)c->wq.len);
	if ((rc = uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_write)) < 0) {
		snprintf(c->why, sizeof(c->why), "write: %s", uv_strerror(rc));
		fail(c, c->why);
		return;
	}
	c->writing = true;
}

static void on_write(uv_write_t *w, int status)
{
	struct bconn *c = w->data;

	c->writing = false;
	if (status < 0) {
		snprintf(c->why, sizeof(c->why), "write: %s", uv_strerror(status));
		fail(c, c->why);
		return;
	}
	flush(c);
}

/* Hand every whole frame to the owner; 0, or a negative error after fail(). */
static int deliver_frames(struct bconn *c)
{
	const uint8_t *payload;
	size_t len;
	long used;

	while (!c->closing && (used = frame_decode(kam_buf_head(&c->in), kam_buf_avail(&c->in), BCONN_MAX_FRAME,
						   &payload, &len)) != 0) {
		if (used < 0) {
			fail(c, "the server sent a frame over 1 MiB");
			return KAM_E2BIG;
		}
		c->ops->on_frame(c, payload, len);
		kam_buf_consume(&c->in, (size_t)used);
	}
	return 0;
}

/* Decrypt whatever the engine holds into c->in: 0, or why the stream ended (in c->why). The
 * caller still delivers the frames that came before the end, e.g. a BUSY answer before a close. */
static int drain_plaintext(struct bconn *c)
{
	for (;;) {
		long n;

		if (kam_buf_reserve(&c->in, BCONN_READ_CHUNK) < 0) {
			snprintf(c->why, sizeof(c->why), "out of memory");
			return KAM_ENOMEM;
		}
		n = tls_conn_read(c->tls, c->in.data + c->in.len, c->in.cap - c->in.len);
		if (n > 0) {
			c->in.len += (size_t)n;
			continue;
		}
		if (n == KAM_EAGAIN)
			return 0;
		snprintf(c->why, sizeof(c->why), "%s",
			 n == KAM_ECLOSED ? "the server closed the connection" : tls_conn_error(c->tls));
		return (int)n;
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	*b = uv_buf_init(read_buf, sizeof(read_buf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct bconn *c = s->data;
	int rc;

	if (nread == 0 || c->closing)
		return;
	if (nread < 0) {
		fail(c, nread == UV_EOF ? "the server closed the connection" : uv_strerror((int)nread));
		return;
	}
	if (tls_conn_feed(c->tls, (const uint8_t *)b->base, (size_t)nread) < 0) {
		fail(c, "out of memory");
		return;
	}
	if (!c->ready) {
		rc = tls_conn_handshake(c->tls);
		flush(c);
		if (rc == KAM_EAGAIN || c->closing)
			return;
		if (rc < 0) {
			snprintf(c->why, sizeof(c->why), "TLS handshake: %s", tls_conn_error(c->tls));
			fail(c, c->why);
			return;
		}
		c->ready = true;
		c->ops->on_ready(c);
	}
	rc = drain_plaintext(c);
	flush(c);
	if (deliver_frames(c) == 0 && rc < 0)
		fail(c, c->why);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct bconn *c = req->data;
	int rc;

	if (c->closing)
		return;
	if (status < 0) {
		snprintf(c->why, sizeof(c->why), "connect: %s", uv_strerror(status));
		fail(c, c->why);
		return;
	}
	(void)uv_tcp_nodelay(&c->tcp, 1);
	if ((rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) < 0) {
		snprintf(c->why, sizeof(c->why), "read: %s", uv_strerror(rc));
		fail(c, c->why);
		return;
	}
	rc = tls_conn_handshake(c->tls);   /* the ClientHello */
	if (rc < 0 && rc != KAM_EAGAIN) {
		snprintf(c->why, sizeof(c->why), "TLS: %s", tls_conn_error(c->tls));
		fail(c, c->why);
		return;
	}
	flush(c);
}

int bconn_start(struct bconn *c, uv_loop_t *loop, struct tls_ctx *ctx, const char *host,
		const struct sockaddr *addr, const struct bconn_ops *ops)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->ops = ops;
	if ((rc = tls_conn_new(ctx, host, &c->tls)) < 0)
		return rc;
	if ((rc = uv_tcp_init(loop, &c->tcp)) < 0)
		goto fail;
	c->opened = true;
	c->tcp.data = c;
	c->connect.data = c;
	c->write.data = c;
	if ((rc = uv_tcp_connect(&c->connect, &c->tcp, addr, on_connect)) < 0)
		goto fail;
	return 0;
fail:
	/* The caller sees no callback: close quietly and let the struct go once libuv is done. */
	if (c->opened) {
		c->closing = true;
		uv_close((uv_handle_t *)&c->tcp, NULL);
	}
	tls_conn_free(c->tls);
	c->tls = NULL;
	return rc;
}

int bconn_send(struct bconn *c, const struct kam_request *req)
{
	int rc;

	if (c->closing)
		return KAM_ECLOSED;
	kam_buf_reset(&c->out);
	if ((rc = msg_request_encode_frame(req, &c->out)) < 0 ||
	    (rc = tls_conn_write(c->tls, kam_buf_head(&c->out), kam_buf_avail(&c->out))) < 0)
		return rc;
	flush(c);
	return c->closing ? KAM_ECLOSED : 0;
}

static void on_close(uv_handle_t *h)
{
	struct bconn *c = h->data;

	tls_conn_free(c->tls);
	c->tls = NULL;
	kam_buf_free(&c->in);
	kam_buf_free(&c->wq);
	kam_buf_free(&c->out);
	c->ops->on_closed(c);
}

void bconn_close(struct bconn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->tcp, on_close);
}
