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
	/* -- hostile clients (issue 6): login throttling (deploy/kamd.conf.example) -- */
	int lockout_threshold;       /* consecutive failures before an account waits */
	int lockout_initial_s;       /* the first wait; doubles with every further failure */
	int lockout_max_s;           /* the longest wait */
	int failures_per_hour;       /* failed passwords evaluated per account and hour */
	int failures_per_minute;     /* failed passwords per client address and minute */
	/* -- audit and churn (issue 4): the bulk-read watch (deploy/kamd.conf.example) -- */
	uint32_t bulk_read_limit;          /* distinct accounts a rep may read per window; 0: off */
	uint32_t bulk_read_limit_manager;  /* the same for managers; 0: off (the GM is never limited) */
	uint32_t bulk_read_window_s;       /* the sliding window, seconds */
};

int svc_init(const struct svc_config *cfg, struct store *st) KAM_MUST_CHECK;
void svc_shutdown(void);

/* A whole frame's payload arrived on s. The payload is only valid during the call. */
void svc_on_frame(struct kam_session *s, const uint8_t *payload, size_t len);

/* -- audit and churn (issue 4): signed checkpoints of the audit chain (svc/checkpoint.c) -- */
/* Start-up (blocking): load or create the key at key_path and read the latest checkpoint from
 * path, if there is one. path NULL: checkpoints are off. */
int svc_checkpoint_init(const char *path, const char *key_path, char *why, size_t why_len) KAM_MUST_CHECK;
/* Write a checkpoint of the current heads (the file is written on a worker thread). */
void svc_checkpoint_tick(void);
/* Shutdown: write a last checkpoint, then done(arg) (at once when checkpoints are off). */
void svc_checkpoint_final(void (*done)(void *arg), void *arg);
void svc_checkpoint_free(void);

/* Password hashing, shared with --bootstrap-gm: PHC string into out. Blocking; call from a worker or at start-up. */
int svc_password_hash(const struct svc_config *cfg, const char *password, char *out, size_t out_len) KAM_MUST_CHECK;

#endif
