/*
 * A bump allocator (arena.h): chunks are carved front to back and freed all
 * at once. Nothing here frees a single allocation, and every size is
 * overflow-checked before it is rounded.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ARENA_ALIGN 16u
/* Default chunk payload: one page holds a typical request's strings. */
#define ARENA_CHUNK_SIZE 4096u

struct kam_arena_chunk {
	struct kam_arena_chunk *next;   /* older chunk */
	size_t cap;
	size_t used;
};

/* Payload starts after the header, rounded up to the alignment. */
#define ARENA_HDR ((sizeof(struct kam_arena_chunk) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))

static unsigned char *chunk_data(struct kam_arena_chunk *c)
{
	return (unsigned char *)c + ARENA_HDR;
}

void kam_arena_init(struct kam_arena *a)
{
	a->head = NULL;
	a->total = 0;
}

static struct kam_arena_chunk *chunk_new(size_t need)
{
	size_t cap = need > ARENA_CHUNK_SIZE ? need : ARENA_CHUNK_SIZE;
	struct kam_arena_chunk *c;

	if (cap > SIZE_MAX - ARENA_HDR)
		return NULL;
	c = aligned_alloc(ARENA_ALIGN, ARENA_HDR + cap);
	if (!c)
		return NULL;
	c->next = NULL;
	c->cap = cap;
	c->used = 0;
	return c;
}

void *kam_arena_alloc(struct kam_arena *a, size_t n)
{
	struct kam_arena_chunk *c = a->head;
	void *p;

	if (n > SIZE_MAX - ARENA_HDR - ARENA_ALIGN)
		return NULL;
	n = n ? (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1) : ARENA_ALIGN;
	if (!c || c->cap - c->used < n) {
		struct kam_arena_chunk *fresh = chunk_new(n);

		if (!fresh)
			return NULL;
		if (c && n > ARENA_CHUNK_SIZE) {
			/* A big block gets its own chunk behind the head, so the head's space is not wasted. */
			fresh->next = c->next;
			c->next = fresh;
		} else {
			fresh->next = c;
			a->head = fresh;
		}
		c = fresh;
	}
	p = chunk_data(c) + c->used;
	c->used += n;
	a->total += n;
	memset(p, 0, n);
	return p;
}

char *kam_arena_strndup(struct kam_arena *a, const char *s, size_t n)
{
	char *p;

	if (!s || n == SIZE_MAX)
		return NULL;
	p = kam_arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *kam_arena_strdup(struct kam_arena *a, const char *s)
{
	return s ? kam_arena_strndup(a, s, strlen(s)) : NULL;
}

char *kam_arena_printf(struct kam_arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = kam_arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void kam_arena_reset(struct kam_arena *a)
{
	struct kam_arena_chunk *c = a->head, *next;

	if (!c)
		return;
	/* Keep the oldest chunk, the one every request starts from, unless it was an oversized one. */
	while (c->next) {
		next = c->next;
		free(c);
		c = next;
	}
	a->total = 0;
	if (c->cap > ARENA_CHUNK_SIZE) {
		free(c);
		a->head = NULL;
		return;
	}
	c->used = 0;
	a->head = c;
}

void kam_arena_free(struct kam_arena *a)
{
	struct kam_arena_chunk *c, *next;

	if (!a)
		return;
	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	kam_arena_init(a);
}
