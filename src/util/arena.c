/* arena.c - bump allocator over a chain of blocks. Blocks grow as an arena grows; the large
 * ones are mapped from the kernel directly so that freeing a big request's arena gives its
 * memory back to the system at once, whatever malloc keeps for itself. */
#include "util/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util/xalloc.h"

#define ARENA_BLOCK 8192                  /* the first block, and the smallest */
#define ARENA_BLOCK_MAX (1024 * 1024)     /* block sizes double up to this */
#define ARENA_MMAP_MIN (128 * 1024)       /* blocks from this size on are mmap()ed */
#define ARENA_ALIGN 16

struct block {
    struct block *next;  /* older block */
    size_t size;         /* usable bytes in data */
    size_t used;         /* bytes handed out */
    int mapped;          /* 1: from mmap() (freed with munmap), 0: from malloc() */
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

struct deferred {
    struct deferred *next;   /* older */
    void (*fn)(void *);
    void *ctx;
};

struct arena {
    struct deferred *deferred; /* arena_defer() calls, newest first */
    struct block *head;  /* newest block; allocation happens here */
    struct block *first; /* the block arena_new() made; arena_reset() keeps it */
    size_t total;        /* bytes handed out over all blocks */
    size_t next_size;    /* size of the next regular block (doubles to ARENA_BLOCK_MAX) */
};

static struct block *block_new(size_t size)
{
    struct block *b;
    size_t bytes = sizeof(*b) + size;
    int mapped = size >= ARENA_MMAP_MIN;

    if (mapped) {
        bytes = (bytes + 4095) & ~(size_t)4095;
        b = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (b == MAP_FAILED)
            BUG("out of memory mapping an arena block");
        size = bytes - sizeof(*b);
    } else {
        b = xmalloc(bytes);
    }
    b->next = NULL;
    b->size = size;
    b->used = 0;
    b->mapped = mapped;
    return b;
}

static void block_free(struct block *b)
{
    if (b->mapped)
        munmap(b, sizeof(*b) + b->size);
    else
        free(b);
}

struct arena *arena_new(void)
{
    struct arena *a = xmalloc(sizeof(*a));

    a->deferred = NULL;
    a->head = a->first = block_new(ARENA_BLOCK);
    a->total = 0;
    a->next_size = ARENA_BLOCK;
    return a;
}

static void free_chain(struct block *b)
{
    while (b) {
        struct block *next = b->next;
        block_free(b);
        b = next;
    }
}

/* Run and forget the deferred calls (their records live in the blocks, freed after). */
static void run_deferred(struct arena *a)
{
    while (a->deferred) {
        struct deferred *d = a->deferred;

        a->deferred = d->next;
        d->fn(d->ctx);
    }
}

void arena_defer(struct arena *a, void (*fn)(void *), void *ctx)
{
    struct deferred *d = arena_alloc(a, sizeof(*d));

    d->fn = fn;
    d->ctx = ctx;
    d->next = a->deferred;
    a->deferred = d;
}

void arena_free(struct arena *a)
{
    if (!a)
        return;
    run_deferred(a);
    free_chain(a->head);
    free(a);
}

void arena_reset(struct arena *a)
{
    struct block *b;

    run_deferred(a);
    b = a->head;
    /* Not simply the oldest block: a one-off block may be chained behind the first one. */
    while (b) {
        struct block *next = b->next;

        if (b != a->first)
            block_free(b);
        b = next;
    }
    a->first->next = NULL;
    a->first->used = 0;
    a->head = a->first;
    a->total = 0;
    a->next_size = ARENA_BLOCK;
}

void *arena_alloc(struct arena *a, size_t n)
{
    struct block *b = a->head;
    size_t off = (b->used + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    void *p;

    if (n == 0)
        n = 1;
    if (off + n > b->size) {
        size_t size = n > a->next_size / 2 ? n : a->next_size;
        struct block *nb = block_new(size);

        if (size == n && b->used < b->size / 2) {
            /* A big one-off allocation: keep the current block as head. */
            nb->next = b->next;
            b->next = nb;
            nb->used = n;
            a->total += n;
            return nb->data;
        }
        if (a->next_size < ARENA_BLOCK_MAX)
            a->next_size *= 2;
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
