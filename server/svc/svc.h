/*
 * The service layer's entry point: one call per received frame. Decodes the
 * request and runs it through the pipeline every operation follows:
 * decode -> authenticate -> authorize -> execute in the store (with its audit
 * entry, same transaction) -> encode reply. Never touches a socket.
 */
#ifndef KAMD_SVC_H
#define KAMD_SVC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct kam_session;
struct store;

struct svc_config {
	uint32_t argon2_m_kib;       /* argon2id memory cost */
	uint32_t argon2_t;           /* argon2id iterations */
	uint32_t argon2_p;           /* argon2id lanes */
};

int svc_init(const struct svc_config *cfg, struct store *st) KAM_MUST_CHECK;
void svc_shutdown(void);

/* A whole frame's payload arrived on s. The payload is only valid during the call. */
void svc_on_frame(struct kam_session *s, const uint8_t *payload, size_t len);

/* Password hashing, shared with --bootstrap-gm: PHC string into out. Blocking; call from a worker or at start-up. */
int svc_password_hash(const struct svc_config *cfg, const char *password, char *out, size_t out_len) KAM_MUST_CHECK;

#endif
