/*
 * The TLS engine (tls.h): OpenSSL over two memory BIOs, in h2o's manner. The
 * caller feeds ciphertext in and takes ciphertext out; this file never sees a
 * socket. TLS 1.3 only, no 0-RTT, no session tickets. No globals but
 * OpenSSL's own; every call clears the thread's error queue first.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls.h"

/* One line of error text: OpenSSL reasons and verify results are short. */
#define TLS_ERR_MAX 256
/*
 * The TLS 1.3 suites we allow: AEADs with a full 16-byte tag. Named rather than
 * left to OpenSSL's defaults, so a build whose defaults add CCM_8 (8-byte tag)
 * or the integrity-only suites of RFC 9150 still offers only these.
 */
#define TLS_SUITES "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"

struct tls_ctx {
	SSL_CTX *sc;
	bool server;
	bool verify;      /* client: verify against a CA file and the host name */
};

struct tls_conn {
	SSL *ssl;
	BIO *in;          /* network -> engine; owned by ssl */
	BIO *out;         /* engine -> network; owned by ssl */
	bool verify;      /* a verification result is meaningful (client with a CA file) */
	bool shut;        /* close_notify queued */
	char err[TLS_ERR_MAX];
};

/* The reason for a failed context set-up, per thread (tls.h). */
static _Thread_local char ctx_why[TLS_ERR_MAX];

/* "<what>: <OpenSSL's reason>" from the first queued error; clears the queue. */
static void format_ssl_error(char *buf, size_t cap, const char *what)
{
	unsigned long e = ERR_get_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	char code[TLS_ERR_MAX];

	if (e && !reason) {
		ERR_error_string_n(e, code, sizeof(code));
		reason = code;
	}
	if (what && reason) {
		/* A long OpenSSL reason may be cut short; the start is what matters. */
		if (snprintf(buf, cap, "%s: %s", what, reason) >= (int)cap)
			buf[cap - 1] = '\0';
	} else
		snprintf(buf, cap, "%s", what ? what : reason ? reason : "unknown TLS error");
	ERR_clear_error();
}

static int ctx_fail(SSL_CTX *sc, const char **why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int ctx_fail(SSL_CTX *sc, const char **why, const char *fmt, ...)
{
	char what[TLS_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	format_ssl_error(ctx_why, sizeof(ctx_why), what);
	if (why)
		*why = ctx_why;
	SSL_CTX_free(sc);
	return KAM_ETLS;
}

/*
 * What both sides share: TLS 1.3 exactly, AEAD suites only, no early data (no
 * 0-RTT: it could be replayed), no resumption, and decrypted records wiped
 * once read (they hold passwords and tokens).
 */
static SSL_CTX *ctx_base(void)
{
	SSL_CTX *sc = SSL_CTX_new(TLS_method());

	if (!sc)
		return NULL;
	if (SSL_CTX_set_min_proto_version(sc, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(sc, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_ciphersuites(sc, TLS_SUITES) != 1 ||
	    SSL_CTX_set_max_early_data(sc, 0) != 1 ||
	    SSL_CTX_set_recv_max_early_data(sc, 0) != 1 ||
	    SSL_CTX_set_num_tickets(sc, 0) != 1) {
		SSL_CTX_free(sc);
		return NULL;
	}
	SSL_CTX_set_options(sc, SSL_OP_NO_TICKET | SSL_OP_CLEANSE_PLAINTEXT);
	SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_OFF);
	return sc;
}

static int ctx_wrap(SSL_CTX *sc, bool server, bool verify, struct tls_ctx **out, const char **why)
{
	struct tls_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx) {
		SSL_CTX_free(sc);
		if (why)
			*why = "out of memory";
		return KAM_ENOMEM;
	}
	ctx->sc = sc;
	ctx->server = server;
	ctx->verify = verify;
	*out = ctx;
	return 0;
}

int tls_ctx_server_new(const char *cert_file, const char *key_file, struct tls_ctx **out, const char **why)
{
	SSL_CTX *sc;

	*out = NULL;
	ERR_clear_error();
	if (!(sc = ctx_base()))
		return ctx_fail(NULL, why, "cannot create a TLS context");
	if (SSL_CTX_use_certificate_chain_file(sc, cert_file) != 1)
		return ctx_fail(sc, why, "cannot load certificate chain %s", cert_file);
	if (SSL_CTX_use_PrivateKey_file(sc, key_file, SSL_FILETYPE_PEM) != 1)
		return ctx_fail(sc, why, "cannot load private key %s", key_file);
	if (SSL_CTX_check_private_key(sc) != 1)
		return ctx_fail(sc, why, "private key %s does not match certificate %s", key_file, cert_file);
	return ctx_wrap(sc, true, false, out, why);
}

int tls_ctx_client_new(const char *ca_file, struct tls_ctx **out, const char **why)
{
	SSL_CTX *sc;

	*out = NULL;
	ERR_clear_error();
	if (!(sc = ctx_base()))
		return ctx_fail(NULL, why, "cannot create a TLS context");
	if (!ca_file) {
		/* The caller pins the certificate's fingerprint instead. */
		SSL_CTX_set_verify(sc, SSL_VERIFY_NONE, NULL);
		return ctx_wrap(sc, false, false, out, why);
	}
	if (SSL_CTX_load_verify_locations(sc, ca_file, NULL) != 1)
		return ctx_fail(sc, why, "cannot load CA file %s", ca_file);
	/* The file may hold the server's own (self-signed or leaf) certificate: any cert in it is an anchor. */
	X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(sc), X509_V_FLAG_PARTIAL_CHAIN);
	SSL_CTX_set_verify(sc, SSL_VERIFY_PEER, NULL);
	return ctx_wrap(sc, false, true, out, why);
}

void tls_ctx_free(struct tls_ctx *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->sc);
	free(ctx);
}

/* Record why the last call failed: a verification result first, else OpenSSL's reason. */
static int conn_fail(struct tls_conn *c, const char *what)
{
	long vr = c->verify ? SSL_get_verify_result(c->ssl) : X509_V_OK;

	if (vr != X509_V_OK) {
		snprintf(c->err, sizeof(c->err), "certificate verify failed: %s", X509_verify_cert_error_string(vr));
		ERR_clear_error();
	} else {
		format_ssl_error(c->err, sizeof(c->err), what);
	}
	return KAM_ETLS;
}

static int conn_host(struct tls_conn *c, const char *host, bool verify)
{
	X509_VERIFY_PARAM *param = SSL_get0_param(c->ssl);
	/* set1_ip_asc only accepts an IP address literal, so it doubles as the test for one. */
	bool is_ip = X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1;

	if (!is_ip) {
		/* SNI is for names only (RFC 6066). */
		if (SSL_set_tlsext_host_name(c->ssl, host) != 1)
			return conn_fail(c, "cannot set server name");
		if (verify) {
			X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			if (X509_VERIFY_PARAM_set1_host(param, host, 0) != 1)
				return conn_fail(c, "cannot set host name for verification");
		}
	}
	return 0;
}

int tls_conn_new(struct tls_ctx *ctx, const char *host, struct tls_conn **out)
{
	struct tls_conn *c = NULL;
	BIO *in = NULL, *out_bio = NULL;
	int rc = KAM_ENOMEM;

	*out = NULL;
	/* Verifying a chain without a name would accept any certificate the CA issued. */
	if (!ctx->server && ctx->verify && (!host || !*host))
		return KAM_EINVAL;
	ERR_clear_error();
	if (!(c = calloc(1, sizeof(*c))))
		goto fail;
	c->verify = ctx->verify;
	if (!(c->ssl = SSL_new(ctx->sc)) || !(in = BIO_new(BIO_s_mem())) || !(out_bio = BIO_new(BIO_s_mem())))
		goto fail;
	/* An empty input BIO means "wait for more", not end of file. */
	BIO_set_mem_eof_return(in, -1);
	BIO_set_mem_eof_return(out_bio, -1);
	SSL_set_bio(c->ssl, in, out_bio);
	c->in = in;
	c->out = out_bio;
	in = out_bio = NULL;
	if (ctx->server) {
		SSL_set_accept_state(c->ssl);
	} else {
		SSL_set_connect_state(c->ssl);
		if (host && *host && (rc = conn_host(c, host, ctx->verify)) < 0)
			goto fail;
	}
	*out = c;
	return 0;
fail:
	BIO_free(in);
	BIO_free(out_bio);
	tls_conn_free(c);
	ERR_clear_error();
	return rc;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	SSL_free(c->ssl);
	free(c);
}

int tls_conn_feed(struct tls_conn *c, const uint8_t *data, size_t len)
{
	ERR_clear_error();
	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		if (BIO_write(c->in, data, n) != n)
			return KAM_ENOMEM;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int tls_conn_handshake(struct tls_conn *c)
{
	int r;

	/* SSL_read may also have finished it, so ask OpenSSL rather than keep a flag. */
	if (SSL_is_init_finished(c->ssl))
		return 0;
	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1)
		return 0;
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return KAM_EAGAIN;
	default:
		return conn_fail(c, "handshake failed");
	}
}

bool tls_conn_handshake_done(const struct tls_conn *c)
{
	return SSL_is_init_finished(c->ssl);
}

long tls_conn_read(struct tls_conn *c, uint8_t *buf, size_t cap)
{
	int r;

	if (cap == 0)
		return KAM_EAGAIN;
	ERR_clear_error();
	r = SSL_read(c->ssl, buf, cap > INT_MAX ? INT_MAX : (int)cap);
	if (r > 0)
		return r;
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return KAM_EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return KAM_ECLOSED;
	default:
		return conn_fail(c, "read failed");
	}
}

int tls_conn_write(struct tls_conn *c, const uint8_t *data, size_t len)
{
	if (!SSL_is_init_finished(c->ssl) || c->shut) {
		snprintf(c->err, sizeof(c->err), "%s", c->shut ? "connection is shut down" : "handshake not complete");
		return KAM_ETLS;
	}
	ERR_clear_error();
	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;
		/* The output BIO grows as needed, so a write is never partial. */
		int r = SSL_write(c->ssl, data, n);

		if (r <= 0)
			return conn_fail(c, "write failed");
		data += r;
		len -= (size_t)r;
	}
	return 0;
}

void tls_conn_shutdown(struct tls_conn *c)
{
	if (c->shut)
		return;
	c->shut = true;
	ERR_clear_error();
	/* Only queues our close_notify; we do not wait for the peer's. */
	(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
}

size_t tls_conn_pending(const struct tls_conn *c)
{
	return BIO_ctrl_pending(c->out);
}

size_t tls_conn_take(struct tls_conn *c, uint8_t *buf, size_t cap)
{
	int r;

	if (cap == 0)
		return 0;
	r = BIO_read(c->out, buf, cap > INT_MAX ? INT_MAX : (int)cap);
	return r > 0 ? (size_t)r : 0;
}

int tls_conn_peer_fingerprint(struct tls_conn *c, uint8_t out[32])
{
	X509 *cert = SSL_get1_peer_certificate(c->ssl);
	unsigned int n = 32;
	int rc = 0;

	if (!cert)
		return KAM_ENOTFOUND;
	/* X509_digest hashes the DER encoding: the same as sha256 over `openssl x509 -outform der`. */
	if (X509_digest(cert, EVP_sha256(), out, &n) != 1 || n != 32)
		rc = KAM_ETLS;
	X509_free(cert);
	ERR_clear_error();
	return rc;
}

const char *tls_conn_error(const struct tls_conn *c)
{
	return c->err[0] ? c->err : "no error";
}
