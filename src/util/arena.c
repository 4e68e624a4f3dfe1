/* arena.c - bump allocator over a chain of blocks. */
#include "util/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define ARENA_BLOCK 8192
#define ARENA_ALIGN 16

struct block {
    struct block *next;  /* older block */
    size_t size;         /* usable bytes in data */
    size_t used;         /* bytes handed out */
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena {
    struct block *head;  /* newest block; allocation happens here */
    struct block *first; /* the block arena_new() made; arena_reset() keeps it */
    size_t total;        /* bytes handed out over all blocks */
};

static struct block *block_new(size_t size)
{
    struct block *b = xmalloc(sizeof(*b) + size);

    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

struct arena *arena_new(void)
{
    struct arena *a = xmalloc(sizeof(*a));

    a->head = a->first = block_new(ARENA_BLOCK);
    a->total = 0;
    return a;
}

static void free_chain(struct block *b)
{
    while (b) {
        struct block *next = b->next;
        free(b);
        b = next;
    }
}

void arena_free(struct arena *a)
{
    if (!a)
        return;
    free_chain(a->head);
    free(a);
}

void arena_reset(struct arena *a)
{
    struct block *b = a->head;

    /* Not simply the oldest block: a one-off block may be chained behind the first one. */
    while (b) {
        struct block *next = b->next;

        if (b != a->first)
            free(b);
        b = next;
    }
    a->first->next = NULL;
    a->first->used = 0;
    a->head = a->first;
    a->total = 0;
}

void *arena_alloc(struct arena *a, size_t n)
{
    struct block *b = a->head;
    size_t off = (b->used + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    void *p;

    if (n == 0)
        n = 1;
    if (off + n > b->size) {
        size_t size = n > ARENA_BLOCK / 2 ? n : ARENA_BLOCK;
        struct block *nb = block_new(size);

        if (size == n && b->used < b->size / 2) {
            /* A big one-off allocation: keep the current block as head. */
            nb->next = b->next;
            b->next = nb;
            nb->used = n;
            a->total += n;
            return nb->data;
        }
        nb->next = b;
        a->head = nb;
        b = nb;
        off = 0;
    }
    p = b->data + off;
    b->used = off + n;
    a->total += n;
    return p;
}

void *arena_calloc(struct arena *a, size_t nmemb, size_t size)
{
    size_t n;
    void *p;

    if (size && nmemb > SIZE_MAX / size)
        BUG("arena_calloc overflow");
    n = nmemb * size;
    p = arena_alloc(a, n);
    memset(p, 0, n ? n : 1);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

void *arena_memdup(struct arena *a, const void *p, size_t n)
{
    void *q = arena_alloc(a, n);

    memcpy(q, p, n);
    return q;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    char *p;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return arena_strdup(a, "");
    p = arena_alloc(a, (size_t)n + 1);
    if ((size_t)n < sizeof(small)) {
        memcpy(p, small, (size_t)n + 1);
        return p;
    }
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

size_t arena_used(const struct arena *a)
{
    return a->total;
}
