/*
 * libFuzzer target: bytes from the network as kamd sees them. Frames are cut
 * with the post-login limit and each payload is decoded as a Request; what
 * decodes must re-encode and decode again (round-trip invariant).
 */
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"
#include "buf.h"
#include "frame.h"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct kam_request *req, struct kam_arena *a)
{
	struct kam_request again;
	struct kam_buf b;

	kam_buf_init(&b);
	if (msg_request_encode(req, &b) != 0)
		abort();
	/* Everything the decoder accepted is within every limit, so it must decode again. */
	if (msg_request_decode(kam_buf_head(&b), kam_buf_avail(&b), a, &again, NULL, NULL) != 0 ||
	    again.op != req->op || again.id != req->id)
		abort();
	kam_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kam_arena a;   /* reused across runs, as a session reuses its arena */
	const uint8_t *payload;
	size_t off = 0, len;
	long used;

	while ((used = frame_decode(data + off, size - off, KAM_FRAME_MAX_DEFAULT, &payload, &len)) > 0) {
		struct kam_request req;
		const char *why, *field;
		int rc = msg_request_decode(payload, len, &a, &req, &why, &field);

		if (rc == 0)
			check_round_trip(&req, &a);
		else if (rc == KAM_EINVAL && (!why || !field))
			abort();   /* a rejection must say what and where */
		kam_arena_reset(&a);
		off += (size_t)used;
	}
	return 0;
}
