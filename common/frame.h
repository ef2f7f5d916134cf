/*
 * Framing: a 4-byte big-endian length followed by that many bytes of one
 * protobuf message. Pure functions over buffers; no I/O.
 */
#ifndef KAM_FRAME_H
#define KAM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define KAM_FRAME_HEADER_LEN 4
/* Largest frame after login, unless configured otherwise (contract: 1 MiB). */
#define KAM_FRAME_MAX_DEFAULT (1u << 20)
/* Before login only a login fits: a small limit keeps unauthenticated peers cheap. */
#define KAM_FRAME_MAX_PRELOGIN 4096u

/*
 * Look for one whole frame at the start of buf[0..len).
 * Returns the bytes it occupies (header + payload) and sets *payload and
 * *payload_len; 0 if more bytes are needed; KAM_E2BIG if the announced length
 * exceeds max (checked from the header alone, before anything is buffered).
 * A zero-length frame is valid (an empty protobuf message).
 */
long frame_decode(const uint8_t *buf, size_t len, uint32_t max,
		  const uint8_t **payload, size_t *payload_len);

/* Write the 4-byte header for a payload of len bytes. */
void frame_put_header(uint8_t hdr[KAM_FRAME_HEADER_LEN], uint32_t len);

#endif
