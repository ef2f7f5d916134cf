/*
 * A growable byte buffer with an explicit read offset. Used for frame input
 * (append network bytes, consume whole frames) and output assembly.
 */
#ifndef KAM_BUF_H
#define KAM_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct kam_buf {
	uint8_t *data;
	size_t len;    /* bytes valid in data[0..len) */
	size_t off;    /* bytes already consumed from the front */
	size_t cap;
};

void kam_buf_init(struct kam_buf *b);
void kam_buf_free(struct kam_buf *b);  /* accepts a zeroed buffer */
/* Make room for at least n more bytes after len. May move the unconsumed bytes to the
 * front and reallocate: pointers from kam_buf_head() are stale afterwards. */
int kam_buf_reserve(struct kam_buf *b, size_t n) KAM_MUST_CHECK;
int kam_buf_append(struct kam_buf *b, const void *p, size_t n) KAM_MUST_CHECK;
/* Unconsumed bytes. */
static inline const uint8_t *kam_buf_head(const struct kam_buf *b) { return b->data + b->off; }
static inline size_t kam_buf_avail(const struct kam_buf *b) { return b->len - b->off; }
/* Mark n bytes consumed; compacts when everything is consumed. */
void kam_buf_consume(struct kam_buf *b, size_t n);
/* Drop all content but keep the allocation (reused per connection). */
void kam_buf_reset(struct kam_buf *b);

#endif
