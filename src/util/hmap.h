/* hmap.h - the one hash map: byte-string keys to a pointer or a number, open addressing with
 * linear probing over a power-of-two slot array, FNV-1a hashes.
 *
 * Invariants: keys are borrowed (the map keeps the pointer, never a copy: the caller keeps
 * the bytes alive and unchanged while the key is in the map); at most half the slots are in
 * use, so a probe always ends at an empty slot; an entry pointer is valid until the next
 * hmap_put, hmap_remove, hmap_filter or hmap_clear. Not thread-safe: the owner locks.
 */
#ifndef ENGRAM_UTIL_HMAP_H
#define ENGRAM_UTIL_HMAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/arena.h"

struct hmap_entry {
    const char *key; /* NULL = empty slot */
    uint32_t len;    /* key length in bytes */
    uint32_t hash;   /* hmap_hash(key, len) */
    union {
        void *ptr;
        size_t num;
    } val; /* the caller's; zero when hmap_put adds the entry */
};

struct hmap {
    struct hmap_entry *slots; /* cap slots */
    size_t cap;               /* a power of two */
    size_t count;             /* entries in use */
    struct arena *arena;      /* where slots come from; NULL: the heap (hmap_release frees) */
};

/* Make *m an empty map sized for about expect entries without growing. Slots come from
 * arena a, or from the heap when a is NULL. */
void hmap_init(struct arena *a, struct hmap *m, size_t expect);
/* Free the slots (heap maps only; an arena map dies with its arena). The keys are the
 * caller's. Accepts a map never initialised if it was zeroed. */
void hmap_release(struct hmap *m);
/* Forget every entry, keeping the slots. */
void hmap_clear(struct hmap *m);

/* 32-bit FNV-1a of key[0..len). Inline: the tokenizer hashes every candidate merge. */
static inline uint32_t hmap_hash(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

/* The entry of key[0..len) whose hash is h (= hmap_hash(key, len)), or NULL. */
static inline struct hmap_entry *hmap_get_hashed(const struct hmap *m, const void *key, size_t len,
                                                 uint32_t h)
{
    size_t mask = m->cap - 1, i;

    for (i = h & mask; m->slots[i].key; i = (i + 1) & mask) {
        const struct hmap_entry *e = &m->slots[i];

        if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
            return &m->slots[i];
    }
    return NULL;
}

/* The entry of key[0..len), or NULL. */
static inline struct hmap_entry *hmap_get(const struct hmap *m, const void *key, size_t len)
{
    return hmap_get_hashed(m, key, len, hmap_hash(key, len));
}

/* The entry of key[0..len), added (value zero) when missing; *added (if not NULL) tells
 * which. The key pointer is kept, not copied; the caller may repoint e->key of an added entry
 * at an equal copy of the bytes (a key found in a transient buffer, then copied). Grows the
 * map when needed; never fails. */
struct hmap_entry *hmap_put(struct hmap *m, const char *key, size_t len, int *added);
/* The slow path of hmap_put_hashed: grow m, then add key (known to be absent). */
struct hmap_entry *hmap_add_growing(struct hmap *m, const char *key, size_t len, uint32_t h);

/* hmap_put for a caller that has the hash already (h = hmap_hash(key, len)): one probe run
 * finds the key or the empty slot it goes to. Inline: the JSON parser interns every key. */
static inline struct hmap_entry *hmap_put_hashed(struct hmap *m, const char *key, size_t len,
                                                 uint32_t h, int *added)
{
    size_t mask = m->cap - 1, i;
    struct hmap_entry *e;

    for (i = h & mask; m->slots[i].key; i = (i + 1) & mask) {
        e = &m->slots[i];
        if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0) {
            if (added)
                *added = 0;
            return e;
        }
    }
    if (added)
        *added = 1;
    if (2 * (m->count + 1) > m->cap)
        return hmap_add_growing(m, key, len, h);
    e = &m->slots[i];
    e->key = key;
    e->len = (uint32_t)len;
    e->hash = h;
    m->count++;
    return e;
}

/* Remove e (an entry of m). Later entries of its probe run move back to fill the hole. */
void hmap_remove(struct hmap *m, struct hmap_entry *e);
/* Call keep(e, ctx) once for every entry, in no set order, and remove the entries for which
 * it returns 0 (it may release what their value holds first). */
void hmap_filter(struct hmap *m, int (*keep)(struct hmap_entry *e, void *ctx), void *ctx);
/* Iterate: start with *pos = 0; each call returns the next entry, or NULL at the end. The
 * map must not change during the iteration (use hmap_filter to remove). */
struct hmap_entry *hmap_next(const struct hmap *m, size_t *pos);

#endif
