/*
 * One connection to kamd and one request/response at a time: a blocking TCP
 * socket with timeouts, the common TLS engine pumped over it, frames and the
 * codec, and the trust decision (CA verification, or the pinned fingerprint)
 * before a single request byte is sent. Never prints results; retries a read,
 * or a write with its request key, whose connection dropped, once (issue 7,
 * retry.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "client.h"
#include "frame.h"
#include "msg.h"
#include "tls.h"

/* Connecting must not hang a script: give up on an address after this. */
#define CONN_CONNECT_TIMEOUT_MS 5000
/* A server silent this long on a live connection is treated as gone. */
#define CONN_IO_TIMEOUT_S 30
/* Above the daemon's default so a server configured higher still works, but
 * bounded so a hostile server cannot make us allocate without end. */
#define CONN_RESPONSE_MAX (16u << 20)
/* Ciphertext moved per socket call: one TLS record and then some. */
#define CONN_IO_CHUNK 16384
/* Enough for "Trust it and continue (yes/no)? " answers. */
#define CONN_ANSWER_MAX 64

struct conn {
	int fd;
	struct tls_ctx *ctx;
	struct tls_conn *tls;
	struct kam_buf in;        /* plaintext received, not yet a whole frame */
	uint64_t next_id;         /* request ids count from 1 per connection */
	bool authenticated;       /* the daemon accepts post-login frame sizes */
	uint8_t io[CONN_IO_CHUNK];
};

/* ---- transport: bytes between the socket and the TLS engine ---- */

static int send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? -ETIMEDOUT : -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Send every byte of ciphertext the engine has queued. */
static int conn_flush(struct conn *c)
{
	size_t n;
	int r;

	while ((n = tls_conn_take(c->tls, c->io, sizeof(c->io))) > 0)
		if ((r = send_all(c->fd, c->io, n)) < 0)
			return r;
	return 0;
}

/* Wait for ciphertext from the server and hand it to the engine. */
static int conn_fill(struct conn *c)
{
	ssize_t n;

	do
		n = recv(c->fd, c->io, sizeof(c->io), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? -ETIMEDOUT : -errno;
	if (n == 0)
		return KAM_ECLOSED;
	return tls_conn_feed(c->tls, c->io, (size_t)n);
}

static int conn_handshake(struct conn *c)
{
	for (;;) {
		int r = tls_conn_handshake(c->tls);
		int f = conn_flush(c);   /* also carries an alert out after a failure */
		if (r == 0)
			return f;
		if (r != KAM_EAGAIN)
			return r;
		if (f < 0)
			return f;
		if ((r = conn_fill(c)) < 0)
			return r;
	}
}

/* One address: a non-blocking connect bounded by the connect timeout, then blocking I/O with timeouts. */
static int tcp_try(const struct addrinfo *ai, int *out)
{
	struct timeval tv = { .tv_sec = CONN_IO_TIMEOUT_S };
	int fd, r, one = 1, flags;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int err = 0, n;
		socklen_t len = sizeof(err);

		if (errno != EINPROGRESS) {
			r = -errno;
			goto fail;
		}
		do
			n = poll(&p, 1, CONN_CONNECT_TIMEOUT_MS);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			r = n == 0 ? -ETIMEDOUT : -errno;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
			r = err ? -err : -errno;
			goto fail;
		}
	}
	if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		r = -errno;
		goto fail;
	}
	/* Small request frames should not wait for Nagle; failure only costs latency. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*out = fd;
	return 0;
fail:
	close(fd);
	return r;
}

/* Connect to the first address of cli->ep that answers. Reports. */
static int tcp_connect(struct cli *cli, int *out)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int r, last = -ECONNREFUSED;

	r = getaddrinfo(cli->ep.host, cli->ep.port, &hints, &res);
	if (r != 0)
		return cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL, "check --server or KAM_SERVER",
				"cannot resolve %s: %s", cli->ep.host, gai_strerror(r));
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
		if ((last = tcp_try(ai, out)) == 0)
			break;
	freeaddrinfo(res);
	if (last == 0)
		return KAM_EXIT_OK;
	if (last == -ETIMEDOUT)
		return cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL, "check --server or KAM_SERVER",
				"cannot connect to %s: no answer within %d s", cli->ep.key,
				CONN_CONNECT_TIMEOUT_MS / 1000);
	return cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL, "is kamd running there? check --server or KAM_SERVER",
			"cannot connect to %s: %s", cli->ep.key, kam_strerror(last));
}

/* Report a failure on an open connection. */
static int conn_fail(struct cli *cli, struct conn *c, int err, const char *doing)
{
	const char *why;
	char timeout[64];

	if (err == KAM_ETLS)
		why = c->tls && tls_conn_error(c->tls) ? tls_conn_error(c->tls) : kam_strerror(err);
	else if (err == -ETIMEDOUT) {
		snprintf(timeout, sizeof(timeout), "no answer within %d s", CONN_IO_TIMEOUT_S);
		why = timeout;
	} else if (err == KAM_ECLOSED)
		why = "the server closed the connection";
	else
		why = kam_strerror(err);
	if (cli->drop_quiet && (err == KAM_ECLOSED || err == -ECONNRESET || err == -EPIPE)) {
		cli->dropped = true;   /* cli_send retries; a second drop is reported */
		return KAM_EXIT_UNAVAIL;
	}
	return cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL, NULL, "%s %s: %s", doing, cli->ep.key, why);
}

/* ---- trust ---- */

static int trust_changed(struct cli *cli, const char *seen, const uint8_t pinned[KAM_SHA256_LEN], const char *path)
{
	char old[STATE_FP_STR];

	state_fp_format(pinned, old);
	fprintf(stderr,
		"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
		"@    WARNING: SERVER CERTIFICATE HAS CHANGED!              @\n"
		"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
		"IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n"
		"Someone could be eavesdropping on you right now (man-in-the-middle attack)!\n"
		"It is also possible that the server's certificate has just been replaced.\n"
		"The certificate fingerprint sent by %s is\n"
		"%s\n"
		"The fingerprint pinned for it in %s is\n"
		"%s\n"
		"If the change is expected, remove the line for %s from %s\n"
		"and connect again.\n",
		cli->ep.key, seen, path, old, cli->ep.key, path);
	return cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL, NULL,
			"certificate of %s has changed; refusing to connect", cli->ep.key);
}

/* Unknown server: ask on a terminal, pin with --trust-on-first-use, refuse otherwise. Reports. */
static int trust_first_use(struct cli *cli, const uint8_t fp[KAM_SHA256_LEN], const char *seen, const char *path)
{
	char question[512], answer[CONN_ANSWER_MAX];
	int r;

	if (!cli->tofu) {
		if (!prompt_interactive())
			return cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL,
					"pass --ca FILE, or --trust-on-first-use to pin it",
					"unknown server %s (fingerprint %s)", cli->ep.key, seen);
		snprintf(question, sizeof(question),
			 "The authenticity of server %s can't be established.\n"
			 "Its certificate fingerprint is %s\n"
			 "Trust it and continue (yes/no)? ", cli->ep.key, seen);
		r = prompt_line(question, answer, sizeof(answer));
		if (r < 0 || strcmp(answer, "yes") != 0)
			return cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL, NULL,
					"server %s not trusted", cli->ep.key);
	}
	if ((r = state_pin_put(cli->ep.key, fp)) < 0)
		return cli_fail(cli, KAM_EXIT_LOCAL, CLI_CODE_LOCAL, NULL, "cannot write %s: %s", path,
				kam_strerror(r));
	/* Silent on success: stderr is for failures (the fingerprint is in the file). */
	return KAM_EXIT_OK;
}

/* Without --ca: the certificate must be the one pinned for this server. Reports. */
static int conn_trust(struct cli *cli, struct conn *c)
{
	uint8_t fp[KAM_SHA256_LEN], pinned[KAM_SHA256_LEN];
	char seen[STATE_FP_STR], path[STATE_PATH_MAX];
	int r;

	if (cli->ca)
		return KAM_EXIT_OK;   /* the engine verified chain and host name */
	if (tls_conn_peer_fingerprint(c->tls, fp) < 0)
		return cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL, NULL,
				"server %s sent no certificate", cli->ep.key);
	state_fp_format(fp, seen);
	state_path_shown(STATE_KNOWN_SERVERS, path, sizeof(path));
	r = state_pin_get(cli->ep.key, pinned);
	if (r == 0 && memcmp(fp, pinned, sizeof(fp)) == 0)
		return KAM_EXIT_OK;
	if (r == 0)
		return trust_changed(cli, seen, pinned, path);
	if (r == KAM_EPROTO)
		return cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL, "fix or remove that line",
				"malformed entry for %s in %s", cli->ep.key, path);
	if (r != KAM_ENOTFOUND)
		return cli_fail(cli, KAM_EXIT_LOCAL, CLI_CODE_LOCAL, NULL, "cannot read %s: %s", path,
				kam_strerror(r));
	return trust_first_use(cli, fp, seen, path);
}

/* ---- opening and closing ---- */

void conn_close(struct conn *c)
{
	if (!c)
		return;
	if (c->tls && c->fd >= 0 && tls_conn_handshake_done(c->tls)) {
		tls_conn_shutdown(c->tls);
		(void)conn_flush(c);   /* best effort: the answer is already in */
	}
	if (c->fd >= 0)
		close(c->fd);
	tls_conn_free(c->tls);
	tls_ctx_free(c->ctx);
	cli_wipe(c->in.data, c->in.cap);
	kam_buf_free(&c->in);
	free(c);
}

/* Connect, handshake and decide trust. Reports. */
static int conn_open(struct cli *cli, struct conn **out)
{
	struct conn *c;
	const char *why = NULL;
	int rc, r;

	/* A missing file is a mistake in the command line, not a network failure. */
	if (cli->ca && access(cli->ca, R_OK) < 0)
		return cli_fail(cli, KAM_EXIT_USAGE, CLI_CODE_USAGE, "check --ca or KAM_CA",
				"cannot read CA file %s: %s", cli->ca, strerror(errno));
	if (!(c = calloc(1, sizeof(*c))))
		return cli_fail_nomem(cli);
	c->fd = -1;
	c->next_id = 1;
	kam_buf_init(&c->in);
	if ((r = tls_ctx_client_new(cli->ca, &c->ctx, &why)) < 0) {
		rc = cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL, cli->ca ? "check --ca or KAM_CA" : NULL,
			      "cannot set up TLS: %s", why ? why : kam_strerror(r));
		goto fail;
	}
	if ((rc = tcp_connect(cli, &c->fd)) != 0)
		goto fail;
	if ((r = tls_conn_new(c->ctx, cli->ep.host, &c->tls)) < 0) {
		rc = cli_fail(cli, KAM_EXIT_LOCAL, CLI_CODE_LOCAL, NULL, "cannot set up TLS: %s", kam_strerror(r));
		goto fail;
	}
	if ((r = conn_handshake(c)) < 0) {
		rc = conn_fail(cli, c, r, "TLS handshake failed with");
		goto fail;
	}
	if ((rc = conn_trust(cli, c)) != 0)
		goto fail;
	*out = c;
	return KAM_EXIT_OK;
fail:
	conn_close(c);
	return rc;
}

/* ---- one request, one response ---- */

/* Wait for one whole frame in c->in; returns its total size for kam_buf_consume. */
static long conn_read_frame(struct conn *c, const uint8_t **payload, size_t *len)
{
	for (;;) {
		long n = frame_decode(kam_buf_head(&c->in), kam_buf_avail(&c->in), CONN_RESPONSE_MAX,
				      payload, len);
		if (n != 0)
			return n;
		long got = tls_conn_read(c->tls, c->io, sizeof(c->io));
		int r;
		if (got > 0) {
			if ((r = kam_buf_append(&c->in, c->io, (size_t)got)) < 0)
				return r;
			continue;
		}
		if (got != KAM_EAGAIN)
			return got;
		/* The engine may owe the server bytes (key updates) before it can read on. */
		if ((r = conn_flush(c)) < 0 || (r = conn_fill(c)) < 0)
			return r;
	}
}

/* Is resp the answer to req? An error with id 0 answers whatever was sent (protocol error, busy). */
static bool answers(const struct kam_request *req, const struct kam_response *resp)
{
	if (resp->error.code != KAM_STATUS_OK)
		return resp->id == req->id || resp->id == 0;
	/* Issue 7: "applied before" has no body, and answers only a keyed write. */
	if (resp->replayed)
		return resp->id == req->id && resp->op == KAM_OP_NONE && req->key_len > 0;
	return resp->id == req->id && resp->op == req->op;
}

/*
 * Send req and receive its response. A request too big for a connection the
 * daemon has not authenticated yet is preceded by a whoami with the same
 * token, which authenticates it; if that fails, its error is the answer.
 * Reports transport failures only.
 */
static int conn_roundtrip(struct cli *cli, struct conn *c, struct kam_request *req, struct kam_response *resp)
{
	struct kam_buf out;
	const uint8_t *payload;
	size_t len;
	long n;
	int rc = KAM_EXIT_OK, r;

	kam_buf_init(&out);
	for (;;) {
		req->id = c->next_id;
		if ((r = msg_request_encode_frame(req, &out)) < 0) {
			rc = cli_fail(cli, KAM_EXIT_LOCAL, CLI_CODE_LOCAL, NULL, "cannot encode the request: %s",
				      kam_strerror(r));
			goto out;
		}
		/* Compare the whole frame, header included: safe whichever way the limit is read. */
		if (c->authenticated || !req->has_token || out.len <= KAM_FRAME_MAX_PRELOGIN)
			break;
		struct kam_request who = { .op = KAM_OP_WHOAMI, .has_token = true };
		memcpy(who.token, req->token, sizeof(who.token));
		cli_wipe(out.data, out.cap);
		kam_buf_reset(&out);
		rc = conn_roundtrip(cli, c, &who, resp);
		cli_wipe(who.token, sizeof(who.token));
		if (rc != 0 || resp->error.code != KAM_STATUS_OK)
			goto out;
	}
	c->next_id++;
	if ((r = tls_conn_write(c->tls, out.data, out.len)) < 0 || (r = conn_flush(c)) < 0) {
		rc = conn_fail(cli, c, r, "cannot send to");
		goto out;
	}
	if ((n = conn_read_frame(c, &payload, &len)) < 0) {
		rc = n == KAM_E2BIG ? cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL, NULL,
					       "response from %s is larger than %u bytes", cli->ep.key,
					       CONN_RESPONSE_MAX)
				    : conn_fail(cli, c, (int)n, "lost the connection to");
		goto out;
	}
	memset(resp, 0, sizeof(*resp));
	r = msg_response_decode(payload, len, &cli->arena, resp);
	kam_buf_consume(&c->in, (size_t)n);
	if (r < 0 || !answers(req, resp)) {
		rc = cli_fail(cli, KAM_EXIT_UNAVAIL, CLI_CODE_UNAVAIL, NULL, "malformed response from %s",
			      cli->ep.key);
		goto out;
	}
	if (resp->error.code == KAM_STATUS_OK && (req->has_token || req->op == KAM_OP_LOGIN))
		c->authenticated = true;
out:
	cli_wipe(out.data, out.cap);   /* it may hold a password */
	kam_buf_free(&out);
	return rc;
}

int cli_token(struct cli *cli, bool *has)
{
	char path[STATE_PATH_MAX];
	int r;

	if (!cli->token_loaded) {
		r = state_token_get(cli->ep.key, cli->token);
		if (r < 0 && r != KAM_ENOTFOUND)
			return cli_fail(cli, KAM_EXIT_LOCAL, CLI_CODE_LOCAL, "set HOME or XDG_CONFIG_HOME",
					"cannot read %s: %s", state_path_shown(STATE_SESSIONS, path, sizeof(path)),
					kam_strerror(r));
		cli->has_token = r == 0;
		cli->token_loaded = true;
	}
	*has = cli->has_token;
	return KAM_EXIT_OK;
}

int cli_need_session(struct cli *cli)
{
	bool has;
	int rc;

	if ((rc = cli_token(cli, &has)) != 0)
		return rc;
	if (!has)
		return cli_fail(cli, KAM_EXIT_UNAUTH, kam_status_str(KAM_STATUS_UNAUTHENTICATED),
				"run 'kam login USER'", "not logged in to %s", cli->ep.key);
	return KAM_EXIT_OK;
}

int cli_send(struct cli *cli, struct kam_request *req, struct kam_response *resp)
{
	int rc;

	if (req->op != KAM_OP_LOGIN) {
		if ((rc = cli_need_session(cli)) != 0)
			return rc;
		req->has_token = true;
		memcpy(req->token, cli->token, sizeof(req->token));
	}
	if ((rc = cli_request_key(cli, req)) != 0)
		return rc;
	if (!cli->conn && (rc = conn_open(cli, &cli->conn)) != 0)
		return rc;
	/* Issue 7: a read, or a keyed write, whose connection dropped before the answer is sent
	 * once more; from the first send on, a write's failure names its key (print.c). */
	cli->drop_quiet = cli_op_retryable(req->op);
	cli->dropped = false;
	cli->key_pending = req->key_len > 0;
	rc = conn_roundtrip(cli, cli->conn, req, resp);
	cli->drop_quiet = false;
	if (rc != 0 && cli->dropped) {
		conn_close(cli->conn);
		cli->conn = NULL;
		if ((rc = conn_open(cli, &cli->conn)) == 0)
			rc = conn_roundtrip(cli, cli->conn, req, resp);
	}
	cli_wipe(req->token, sizeof(req->token));
	if (rc != 0)
		return rc;
	/* An answer settles the write, unless it says the server could not tell (exit 7). */
	if (kam_status_exit_code(resp->error.code) != KAM_EXIT_UNAVAIL)
		cli->key_pending = false;
	if (resp->replayed)
		return cli_replayed(cli);
	/* A wrong current password (field old_password) says nothing about the session. */
	if (req->has_token && resp->error.code == KAM_STATUS_UNAUTHENTICATED &&
	    strcmp(resp->error.field ? resp->error.field : "", "old_password") != 0) {
		/* Expired or revoked: keeping it would only fail again. A failure to
		 * forget it changes nothing for this answer. */
		int r = state_token_forget(cli->ep.key);
		(void)r;
		cli->has_token = false;
	}
	return KAM_EXIT_OK;
}

int cli_call(struct cli *cli, struct kam_request *req, struct kam_response *resp)
{
	int rc = cli_send(cli, req, resp);

	if (rc == 0 && resp->error.code != KAM_STATUS_OK)
		rc = cli_fail_status(cli, &resp->error);
	return rc;
}
