/*
 * libFuzzer target: bytes from the network as the kam client sees them.
 * Frames are cut with the default limit and each payload is decoded as a
 * Response; what decodes must re-encode and decode again.
 */
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"
#include "buf.h"
#include "frame.h"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct kam_response *resp, struct kam_arena *a)
{
	struct kam_response again;
	struct kam_buf b;
	const uint8_t *payload;
	size_t len;

	kam_buf_init(&b);
	if (msg_response_encode_frame(resp, &b) != 0)
		abort();
	if (frame_decode(kam_buf_head(&b), kam_buf_avail(&b), UINT32_MAX, &payload, &len) != (long)kam_buf_avail(&b))
		abort();
	if (msg_response_decode(payload, len, a, &again) != 0 || again.op != resp->op || again.id != resp->id)
		abort();
	kam_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kam_arena a;
	const uint8_t *payload;
	size_t off = 0, len;
	long used;

	while ((used = frame_decode(data + off, size - off, KAM_FRAME_MAX_DEFAULT, &payload, &len)) > 0) {
		struct kam_response resp;

		if (msg_response_decode(payload, len, &a, &resp) == 0)
			check_round_trip(&resp, &a);
		kam_arena_reset(&a);
		off += (size_t)used;
	}
	return 0;
}
