/*
 * One kam-bench connection to kamd: a uv_tcp_t carrying the common TLS
 * engine (common/tls.h, memory BIOs), whole frames up and down. The owner
 * embeds struct bconn and gets callbacks; this layer never looks inside a
 * frame and knows nothing of the benchmark.
 */
#ifndef KAM_BENCH_CONN_H
#define KAM_BENCH_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "buf.h"
#include "err.h"
#include "model.h"
#include "tls.h"

struct bconn;

struct bconn_ops {
	/* The TLS handshake is done: the owner may send. */
	void (*on_ready)(struct bconn *c);
	/* One whole frame's payload, valid during the call. */
	void (*on_frame)(struct bconn *c, const uint8_t *payload, size_t len);
	/* The connection broke (why is static or in c->why); on_closed follows. */
	void (*on_fail)(struct bconn *c, const char *why);
	/* The handle is closed; the owner may free or reuse the struct. */
	void (*on_closed)(struct bconn *c);
};

struct bconn {
	uv_tcp_t tcp;
	uv_connect_t connect;
	uv_write_t write;
	struct tls_conn *tls;
	const struct bconn_ops *ops;
	struct kam_buf in;       /* plaintext received, not yet a whole frame */
	struct kam_buf wq;       /* ciphertext handed to uv_write, until its callback */
	struct kam_buf out;      /* the frame being encoded; reused for every request */
	bool writing;            /* wq is being written */
	bool ready;              /* handshake done */
	bool opened;             /* tcp was initialised: it must be closed */
	bool closing;
	char why[160];
};

/* Connect to addr and start the handshake; host is the name the certificate must carry.
 * On failure nothing is left open and no callback runs. */
int bconn_start(struct bconn *c, uv_loop_t *loop, struct tls_ctx *ctx, const char *host,
		const struct sockaddr *addr, const struct bconn_ops *ops) KAM_MUST_CHECK;
/* Encode req as a frame, encrypt and send it. KAM_ECLOSED once closing. */
int bconn_send(struct bconn *c, const struct kam_request *req) KAM_MUST_CHECK;
/* Close (idempotent); on_closed runs from the loop once the handle is closed. */
void bconn_close(struct bconn *c);

#endif
