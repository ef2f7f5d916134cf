/*
 * The codec: serialized protobuf <-> internal model (model.h). Decoding is
 * unpack -> validate (oneof case, enum ranges, string and repeated caps,
 * required fields) -> convert into arena memory -> free the unpacked message,
 * all in one call, so nothing downstream ever sees a protobuf-c type.
 * Pure: no I/O. The fuzz target links this alone.
 */
#ifndef KAM_MSG_H
#define KAM_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "err.h"
#include "model.h"

/*
 * Decode a request payload (without frame header). Strings are copied into a.
 * Returns 0; KAM_EPROTO if it is not a valid Request message at all (the
 * caller closes the connection); KAM_EINVAL if it unpacked but failed
 * validation: then out->id and out->op are set when known, and *why (if not
 * NULL) names the problem in a static or arena string, and *field the field.
 * KAM_ENOMEM if the arena runs out. An account_list limit of 0 is returned as
 * KAM_LIST_DEFAULT, so handlers always see 1..KAM_LIST_MAX.
 */
int msg_request_decode(const uint8_t *payload, size_t len, struct kam_arena *a,
		       struct kam_request *out, const char **why, const char **field) KAM_MUST_CHECK;

/* Append the serialized request (no frame header) to out. */
int msg_request_encode(const struct kam_request *req, struct kam_buf *out) KAM_MUST_CHECK;

/* Append a whole frame (header + serialized response) to out. */
int msg_response_encode_frame(const struct kam_response *resp, struct kam_buf *out) KAM_MUST_CHECK;
/* Append a whole frame (header + serialized request) to out. */
int msg_request_encode_frame(const struct kam_request *req, struct kam_buf *out) KAM_MUST_CHECK;

/* Decode a response payload; strings into a, never NULL ("" when absent). 0,
 * KAM_EPROTO (also for content out of range, e.g. an unknown role), or KAM_ENOMEM. */
int msg_response_decode(const uint8_t *payload, size_t len, struct kam_arena *a,
			struct kam_response *out) KAM_MUST_CHECK;

#endif
