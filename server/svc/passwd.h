/*
 * Password hashes as PHC strings (argon2id), internal to svc/: reading the
 * cost parameters back out of a stored hash to decide on rehash-on-login.
 * svc_password_hash itself is declared in svc.h. Pure; no store, no I/O.
 */
#ifndef KAMD_SVC_PASSWD_H
#define KAMD_SVC_PASSWD_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "svc.h"

/* Room for any PHC string svc_password_hash makes: argon2_encodedlen of the largest
 * parameters argon2 accepts, with a 16-byte salt and a 32-byte hash, is 119 with the NUL. */
#define SVC_PHC_MAX 160
#define SVC_SALT_LEN 16
#define SVC_HASH_LEN 32

/* m (KiB), t and p of an argon2id PHC string; KAM_EINVAL if it is not one. */
int svc_phc_params(const char *phc, uint32_t *m_kib, uint32_t *t, uint32_t *p) KAM_MUST_CHECK;
/* True when phc was made with any cost below cfg's (or cannot be read): rehash after login. */
bool svc_phc_needs_rehash(const char *phc, const struct svc_config *cfg);

/* ---- hashing.c: a new password hashed off the loop (user add, user passwd) ---- */

struct svc_call;
/* Back on the loop: rc 0 and the PHC string in out, or why not. */
typedef void (*svc_hashed_fn)(struct svc_call *c, int rc);
/* Hash password with the configured costs on the thread pool into out (out_len bytes,
 * SVC_PHC_MAX is enough), then done(c, rc). password and out must live as long as the
 * call. On failure (KAM_EAGAIN: the hashing queue is full) done is not called. */
int svc_hash_password_async(struct svc_call *c, const char *password, char *out, size_t out_len,
			    svc_hashed_fn done) KAM_MUST_CHECK;
/* svc.c: back from the thread pool, run next(c, rc) as c's principal, so the jobs it starts
 * act for that user (issue 7's row-level security) and carry a write's request key. */
void svc_resume(struct svc_call *c, svc_hashed_fn next, int rc);

#endif
