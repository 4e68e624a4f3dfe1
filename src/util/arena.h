/* arena.h - bump allocator: everything a request (or one background iteration) needs,
 * freed in one step by arena_free(). Allocation never fails (OOM aborts). */
#ifndef ENGRAM_UTIL_ARENA_H
#define ENGRAM_UTIL_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

struct arena *arena_new(void);
/* Free the arena and everything allocated from it; accepts NULL. */
void arena_free(struct arena *a);
/* Free everything allocated so far but keep the first block for reuse. */
void arena_reset(struct arena *a);
/* n bytes aligned for any type; contents undefined. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_calloc(struct arena *a, size_t nmemb, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
void *arena_memdup(struct arena *a, const void *p, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Call fn(ctx) when the arena is next freed or reset (the newest first): what a request
 * borrowed outside its arena goes back then. */
void arena_defer(struct arena *a, void (*fn)(void *), void *ctx);
/* Total bytes handed out (for tests and metrics). */
size_t arena_used(const struct arena *a);

#endif
