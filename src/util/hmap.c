/* hmap.c - open-addressing hash map with linear probing and backward-shift deletion. */
#include "util/hmap.h"

#include <stdlib.h>

#include "util/xalloc.h"

#define HMAP_MIN_CAP 16

static struct hmap_entry *slots_new(struct arena *a, size_t cap)
{
    if (a)
        return arena_calloc(a, cap, sizeof(struct hmap_entry));
    return xcalloc(cap, sizeof(struct hmap_entry));
}

void hmap_init(struct arena *a, struct hmap *m, size_t expect)
{
    size_t cap = HMAP_MIN_CAP;

    while (cap < 2 * expect)
        cap *= 2;
    m->slots = slots_new(a, cap);
    m->cap = cap;
    m->count = 0;
    m->arena = a;
}

void hmap_release(struct hmap *m)
{
    if (!m)
        return;
    if (!m->arena)
        free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

void hmap_clear(struct hmap *m)
{
    memset(m->slots, 0, m->cap * sizeof(*m->slots));
    m->count = 0;
}

/* The empty slot where an entry of hash h goes (the map has room). */
static struct hmap_entry *free_slot(const struct hmap *m, uint32_t h)
{
    size_t mask = m->cap - 1, i;

    for (i = h & mask; m->slots[i].key; i = (i + 1) & mask)
        ;
    return &m->slots[i];
}

static void grow(struct hmap *m)
{
    struct hmap_entry *old = m->slots;
    size_t i, n = m->cap;

    m->cap *= 2;
    m->slots = slots_new(m->arena, m->cap);
    for (i = 0; i < n; i++) {
        if (old[i].key)
            *free_slot(m, old[i].hash) = old[i];
    }
    if (!m->arena)
        free(old);
}

struct hmap_entry *hmap_put(struct hmap *m, const char *key, size_t len, int *added)
{
    return hmap_put_hashed(m, key, len, hmap_hash(key, len), added);
}

struct hmap_entry *hmap_add_growing(struct hmap *m, const char *key, size_t len, uint32_t h)
{
    struct hmap_entry *e;

    grow(m);
    e = free_slot(m, h);
    e->key = key;
    e->len = (uint32_t)len;
    e->hash = h;
    m->count++;
    return e;
}

void hmap_remove(struct hmap *m, struct hmap_entry *e)
{
    size_t mask = m->cap - 1, hole = (size_t)(e - m->slots), i, home;

    for (i = (hole + 1) & mask; m->slots[i].key; i = (i + 1) & mask) {
        home = m->slots[i].hash & mask;
        /* The entry at i may fill the hole unless its home lies cyclically in (hole, i]. */
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            m->slots[hole] = m->slots[i];
            hole = i;
        }
    }
    memset(&m->slots[hole], 0, sizeof(m->slots[hole]));
    m->count--;
}

void hmap_filter(struct hmap *m, int (*keep)(struct hmap_entry *e, void *ctx), void *ctx)
{
    size_t mask = m->cap - 1, start = 0, k, i;

    /* Start just after an empty slot: a removal only moves entries of the same probe run
     * back into the hole being visited, so every entry is seen exactly once. */
    while (m->slots[start].key)
        start++;
    for (k = 1; k <= m->cap; k++) {
        i = (start + k) & mask;
        while (m->slots[i].key && !keep(&m->slots[i], ctx))
            hmap_remove(m, &m->slots[i]);
    }
}

struct hmap_entry *hmap_next(const struct hmap *m, size_t *pos)
{
    while (*pos < m->cap) {
        struct hmap_entry *e = &m->slots[(*pos)++];

        if (e->key)
            return e;
    }
    return NULL;
}
