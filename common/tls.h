/*
 * The TLS engine: OpenSSL over memory BIOs. The caller moves ciphertext
 * between the engine and its transport (a libuv stream in kamd, a blocking
 * socket in kam); the engine never touches a socket. TLS 1.3 only.
 */
#ifndef KAM_TLS_H
#define KAM_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct tls_ctx;
struct tls_conn;

/* Server context from PEM certificate chain and key files. On failure *why gets a static/thread-local message. */
int tls_ctx_server_new(const char *cert_file, const char *key_file, struct tls_ctx **out, const char **why) KAM_MUST_CHECK;
/*
 * Client context. With ca_file, the peer must verify against it (and the host
 * name, given to tls_conn_new, must match). Without, verification is left to
 * the caller, who pins the certificate's fingerprint (tls_conn_peer_fingerprint).
 */
int tls_ctx_client_new(const char *ca_file, struct tls_ctx **out, const char **why) KAM_MUST_CHECK;
void tls_ctx_free(struct tls_ctx *ctx);

/* A connection; host is the expected server name for a client (SNI and verification), NULL on the server.
 * A client context with a CA file needs a host: KAM_EINVAL without one. An IP literal is matched
 * against the certificate's IP addresses and sends no SNI. */
int tls_conn_new(struct tls_ctx *ctx, const char *host, struct tls_conn **out) KAM_MUST_CHECK;
void tls_conn_free(struct tls_conn *c);

/* Hand ciphertext received from the network to the engine. */
int tls_conn_feed(struct tls_conn *c, const uint8_t *data, size_t len) KAM_MUST_CHECK;
/* Advance the handshake: 0 when complete, KAM_EAGAIN when it needs more input
 * (flush the output first), KAM_ETLS on failure (see tls_conn_error). */
int tls_conn_handshake(struct tls_conn *c) KAM_MUST_CHECK;
bool tls_conn_handshake_done(const struct tls_conn *c);
/* Read decrypted bytes: >0 bytes read, KAM_EAGAIN if none buffered, KAM_ECLOSED on close_notify, KAM_ETLS on error.
 * Reading may finish the handshake or queue ciphertext of its own: flush tls_conn_pending() after it. */
long tls_conn_read(struct tls_conn *c, uint8_t *buf, size_t cap);
/* Encrypt plaintext into the output BIO; 0 or KAM_ETLS. */
int tls_conn_write(struct tls_conn *c, const uint8_t *data, size_t len) KAM_MUST_CHECK;
/* Queue a close_notify. */
void tls_conn_shutdown(struct tls_conn *c);
/* Ciphertext waiting to be sent: bytes pending, and take up to cap of them. */
size_t tls_conn_pending(const struct tls_conn *c);
size_t tls_conn_take(struct tls_conn *c, uint8_t *buf, size_t cap);
/* SHA-256 of the peer's DER certificate; KAM_ENOTFOUND if none. */
int tls_conn_peer_fingerprint(struct tls_conn *c, uint8_t out[32]) KAM_MUST_CHECK;
/* The last error as one line (OpenSSL's reason, verification result). */
const char *tls_conn_error(const struct tls_conn *c);

#endif
