/* context_cache.c - the cache of context inputs (see context_cache.h). One mutex guards the
 * map, the recency list, the byte count and the reference counts; an entry's rows never
 * change once it is published, so holders read them without the lock. */
#include "service/context_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/hmap.h"
#include "util/xalloc.h"

struct ctx_entry {
    char *key; /* tenant, '\x1f', subject ('\x1e' alone: no tenant) */
    size_t keylen;
    int64_t gen;
    uint64_t epoch;            /* store_connection_epoch() before gen was read */
    struct arena *a; /* the rows */
    struct context_input in;
    size_t bytes;  /* what it holds, for the budget */
    unsigned refs; /* holders; the map counts as one while the entry is in it */
    struct ctx_entry *newer, *older;
};

static struct {
    pthread_mutex_t lock;
    struct hmap map; /* key → struct ctx_entry * */
    struct ctx_entry *newest, *oldest;
    size_t bytes, budget;
    uint64_t hits, misses;
} cc = { .lock = PTHREAD_MUTEX_INITIALIZER, .budget = (size_t)CONTEXT_CACHE_DEFAULT_MB << 20 };

/* The key of (tenant, subject) into a heap string. */
static char *entry_key(const char *tenant, const char *subject, size_t *len)
{
    size_t t = tenant ? strlen(tenant) + 1 : 1, s = strlen(subject);
    char *k = xmalloc(t + s + 1);

    if (tenant) {
        memcpy(k, tenant, t - 1);
        k[t - 1] = '\x1f';
    } else {
        k[0] = '\x1e';
    }
    memcpy(k + t, subject, s + 1);
    *len = t + s;
    return k;
}

static void entry_free(struct ctx_entry *e)
{
    arena_free(e->a);
    free(e->key);
    free(e);
}

/* Drop one reference; the last frees. Caller holds the lock. */
static void unref_locked(struct ctx_entry *e)
{
    if (--e->refs == 0)
        entry_free(e);
}

static void list_remove(struct ctx_entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        cc.newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        cc.oldest = e->newer;
    e->newer = e->older = NULL;
}

static void list_push(struct ctx_entry *e)
{
    e->older = cc.newest;
    e->newer = NULL;
    if (cc.newest)
        cc.newest->newer = e;
    else
        cc.oldest = e;
    cc.newest = e;
}

/* Take e out of the map and the list. Caller holds the lock. */
static void unlink_locked(struct ctx_entry *e)
{
    struct hmap_entry *h = hmap_get(&cc.map, e->key, e->keylen);

    if (h && h->val.ptr == e)
        hmap_remove(&cc.map, h);
    list_remove(e);
    cc.bytes -= e->bytes;
    unref_locked(e);
}

/* Evict the least recently used entries until `need` more bytes fit. Caller holds the lock. */
static void make_room_locked(size_t need)
{
    while (cc.oldest && cc.bytes + need > cc.budget)
        unlink_locked(cc.oldest);
}

void context_cache_configure(size_t bytes)
{
    pthread_mutex_lock(&cc.lock);
    cc.budget = bytes;
    make_room_locked(0);
    pthread_mutex_unlock(&cc.lock);
}

size_t context_cache_budget(void)
{
    size_t b;

    pthread_mutex_lock(&cc.lock);
    b = cc.budget;
    pthread_mutex_unlock(&cc.lock);
    return b;
}

struct ctx_entry *context_cache_get(const char *tenant, const char *subject, int64_t gen,
                                    uint64_t epoch)
{
    struct ctx_entry *e = NULL;
    struct hmap_entry *h;
    size_t len;
    char *key = entry_key(tenant, subject, &len);

    pthread_mutex_lock(&cc.lock);
    if (cc.map.slots && (h = hmap_get(&cc.map, key, len)) != NULL) {
        e = h->val.ptr;
        if (e->gen == gen && e->epoch == epoch) {
            e->refs++;
            list_remove(e);
            list_push(e);
        } else {
            e = NULL;
        }
    }
    if (e)
        cc.hits++;
    else
        cc.misses++;
    pthread_mutex_unlock(&cc.lock);
    free(key);
    return e;
}

void context_cache_release(struct ctx_entry *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&cc.lock);
    unref_locked(e);
    pthread_mutex_unlock(&cc.lock);
}

static void release_cb(void *e)
{
    context_cache_release(e);
}

void context_cache_release_with(struct arena *a, struct ctx_entry *e)
{
    arena_defer(a, release_cb, e);
}

struct ctx_entry *context_cache_builder(void)
{
    struct ctx_entry *b = xcalloc(1, sizeof(*b));

    b->a = arena_new();
    b->refs = 1;
    return b;
}

struct arena *context_cache_arena(struct ctx_entry *b)
{
    return b->a;
}

void context_cache_set_input(struct ctx_entry *b, const struct context_input *in)
{
    b->in = *in;
}

const struct context_input *context_cache_input(const struct ctx_entry *e)
{
    return &e->in;
}

void context_cache_put(struct ctx_entry *b, const char *tenant, const char *subject,
                       int64_t gen, uint64_t epoch, int keep)
{
    struct hmap_entry *h;

    b->bytes = arena_used(b->a) + sizeof(*b);
    pthread_mutex_lock(&cc.lock);
    if (!keep || b->bytes > cc.budget / 8) {
        pthread_mutex_unlock(&cc.lock);
        return;
    }
    b->gen = gen;
    b->epoch = epoch;
    b->key = entry_key(tenant, subject, &b->keylen);
    if (!cc.map.slots)
        hmap_init(NULL, &cc.map, 64);
    h = hmap_get(&cc.map, b->key, b->keylen);
    if (h)
        unlink_locked(h->val.ptr);
    make_room_locked(b->bytes);
    hmap_put(&cc.map, b->key, b->keylen, NULL)->val.ptr = b;
    list_push(b);
    b->refs++;
    cc.bytes += b->bytes;
    pthread_mutex_unlock(&cc.lock);
}

void context_cache_stats(struct context_cache_stats *out)
{
    pthread_mutex_lock(&cc.lock);
    out->hits = cc.hits;
    out->misses = cc.misses;
    out->entries = cc.map.slots ? cc.map.count : 0;
    out->bytes = cc.bytes;
    pthread_mutex_unlock(&cc.lock);
}

void context_cache_clear(void)
{
    pthread_mutex_lock(&cc.lock);
    while (cc.oldest)
        unlink_locked(cc.oldest);
    hmap_release(&cc.map);
    memset(&cc.map, 0, sizeof(cc.map));
    pthread_mutex_unlock(&cc.lock);
}
