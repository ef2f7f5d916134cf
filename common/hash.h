/*
 * Small crypto helpers shared by both sides: SHA-256, hex, random bytes.
 * (OpenSSL underneath; no I/O.)
 */
#ifndef KAM_HASH_H
#define KAM_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define KAM_SHA256_LEN 32
#define KAM_TOKEN_LEN 32   /* session tokens: 256 random bits */

void kam_sha256(const void *data, size_t len, uint8_t out[KAM_SHA256_LEN]);
/* out must hold 2*len+1 bytes; lowercase, NUL-terminated. */
void kam_hex_encode(const uint8_t *data, size_t len, char *out);
/* Decode exactly out_len bytes from 2*out_len hex digits; KAM_EINVAL otherwise. */
int kam_hex_decode(const char *hex, uint8_t *out, size_t out_len) KAM_MUST_CHECK;
/* Cryptographically secure random bytes; KAM_EINTERNAL if the CSPRNG fails. */
int kam_random_bytes(uint8_t *out, size_t len) KAM_MUST_CHECK;
/* Constant-time comparison; 0 when equal. */
int kam_memcmp_ct(const void *a, const void *b, size_t len);

#endif
