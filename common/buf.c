/*
 * A growable byte buffer with a read offset (buf.h). Growth is geometric and
 * overflow-checked; consumed bytes are reclaimed by compaction, never by
 * moving data behind a caller's back while it still holds kam_buf_head().
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* First allocation: enough for a typical frame without regrowing. */
#define KAM_BUF_MIN_CAP 1024u

void kam_buf_init(struct kam_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void kam_buf_free(struct kam_buf *b)
{
	if (!b)
		return;
	free(b->data);
	kam_buf_init(b);
}

int kam_buf_reserve(struct kam_buf *b, size_t n)
{
	if (b->cap - b->len >= n)
		return 0;
	/* Reclaim consumed space before growing: only reserve moves unread bytes. */
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->cap - b->len >= n)
			return 0;
	}
	if (n > SIZE_MAX - b->len)
		return KAM_ENOMEM;
	size_t need = b->len + n;
	size_t cap = b->cap ? b->cap : KAM_BUF_MIN_CAP;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	uint8_t *p = realloc(b->data, cap);
	if (!p)
		return KAM_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int kam_buf_append(struct kam_buf *b, const void *p, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	if ((rc = kam_buf_reserve(b, n)) < 0)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void kam_buf_consume(struct kam_buf *b, size_t n)
{
	size_t avail = kam_buf_avail(b);

	b->off += n < avail ? n : avail;
	if (b->off == b->len)
		b->off = b->len = 0;
}

void kam_buf_reset(struct kam_buf *b)
{
	b->off = b->len = 0;
}
