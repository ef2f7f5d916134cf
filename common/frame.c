/*
 * Framing (frame.h): a 4-byte big-endian length, then the payload. Pure and
 * bounded: the announced length is checked against the limit from the header
 * alone, so an oversized frame is refused before any of it is buffered.
 */
#include <limits.h>

#include "frame.h"

/* The return value must hold any header + uint32 payload length. */
_Static_assert(LONG_MAX - KAM_FRAME_HEADER_LEN >= UINT32_MAX, "long too small for frame sizes");

long frame_decode(const uint8_t *buf, size_t len, uint32_t max,
		  const uint8_t **payload, size_t *payload_len)
{
	uint32_t n;

	if (len < KAM_FRAME_HEADER_LEN)
		return 0;
	n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	if (n > max)
		return KAM_E2BIG;
	if (len - KAM_FRAME_HEADER_LEN < n)
		return 0;
	*payload = buf + KAM_FRAME_HEADER_LEN;
	*payload_len = n;
	return (long)n + KAM_FRAME_HEADER_LEN;
}

void frame_put_header(uint8_t hdr[KAM_FRAME_HEADER_LEN], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}
