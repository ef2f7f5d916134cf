/*
 * A bump allocator for everything one request or response owns: decoded
 * strings, arrays. Freed all at once; nothing in it is freed individually.
 */
#ifndef KAM_ARENA_H
#define KAM_ARENA_H

#include <stddef.h>

struct kam_arena_chunk;

struct kam_arena {
	struct kam_arena_chunk *head;
	size_t total;     /* bytes handed out, for limits and tests */
};

void kam_arena_init(struct kam_arena *a);
/* 16-byte aligned, zeroed memory; NULL when out of memory. */
void *kam_arena_alloc(struct kam_arena *a, size_t n);
/* Copy of s (NULL -> NULL, caller checks); n-limited variant copies n bytes and terminates. */
char *kam_arena_strdup(struct kam_arena *a, const char *s);
char *kam_arena_strndup(struct kam_arena *a, const char *s, size_t n);
/* printf into the arena. */
char *kam_arena_printf(struct kam_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Free every chunk but the first, which is kept for reuse. */
void kam_arena_reset(struct kam_arena *a);
void kam_arena_free(struct kam_arena *a);   /* accepts an initialised, empty arena */

#endif
