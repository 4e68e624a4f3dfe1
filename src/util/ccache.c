/* ccache.c - the content-keyed cache of ccache.h: shards of (mutex, hmap, arena). */
#include "util/ccache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/hmap.h"
#include "util/xalloc.h"

#define SHARDS 16
#define SHARD_MIN (64 * 1024)

/* A blob value: its length, then its bytes (in the shard's arena). */
struct blob {
    size_t len;
    unsigned char bytes[];
};

struct shard {
    pthread_mutex_t mu;
    struct hmap map;
    struct arena *arena;       /* key copies and blobs */
    size_t evictions;
};

struct ccache {
    size_t shard_bytes;        /* arena bytes a shard may hold before it is emptied */
    struct shard shards[SHARDS];
};

struct ccache *ccache_new(size_t max_bytes)
{
    struct ccache *c = xcalloc(1, sizeof(*c));
    size_t i;

    c->shard_bytes = max_bytes / SHARDS > SHARD_MIN ? max_bytes / SHARDS : SHARD_MIN;
    for (i = 0; i < SHARDS; i++) {
        pthread_mutex_init(&c->shards[i].mu, NULL);
        hmap_init(NULL, &c->shards[i].map, 64);
        c->shards[i].arena = arena_new();
    }
    return c;
}

void ccache_free(struct ccache *c)
{
    size_t i;

    if (!c)
        return;
    for (i = 0; i < SHARDS; i++) {
        pthread_mutex_destroy(&c->shards[i].mu);
        hmap_release(&c->shards[i].map);
        arena_free(c->shards[i].arena);
    }
    free(c);
}

/* The shard of a key (its hash's top bits: the map probes with the low ones), locked. */
static struct shard *lock_shard(struct ccache *c, uint32_t h)
{
    struct shard *s = &c->shards[h >> 28];

    pthread_mutex_lock(&s->mu);
    return s;
}

/* The entry for key, added when missing (the key copied into the shard's arena, after
 * emptying the shard if it is full). Called with the shard locked. */
static struct hmap_entry *put_entry(struct ccache *c, struct shard *s, const void *key,
                                    size_t klen, uint32_t h, size_t extra)
{
    struct hmap_entry *e;
    int added;

    e = hmap_get_hashed(&s->map, key, klen, h);
    if (e)
        return e;
    if (arena_used(s->arena) + klen + extra > c->shard_bytes) {
        s->evictions += s->map.count;
        hmap_clear(&s->map);
        arena_reset(s->arena);
    }
    e = hmap_put_hashed(&s->map, key, klen, h, &added);
    e->key = arena_memdup(s->arena, key, klen ? klen : 1);
    return e;
}

int ccache_get_num(struct ccache *c, const void *key, size_t klen, size_t *num)
{
    uint32_t h = hmap_hash(key, klen);
    struct shard *s = lock_shard(c, h);
    struct hmap_entry *e = hmap_get_hashed(&s->map, key, klen, h);

    if (e)
        *num = e->val.num;
    pthread_mutex_unlock(&s->mu);
    return e != NULL;
}

void ccache_put_num(struct ccache *c, const void *key, size_t klen, size_t num)
{
    uint32_t h = hmap_hash(key, klen);
    struct shard *s = lock_shard(c, h);

    put_entry(c, s, key, klen, h, 0)->val.num = num;
    pthread_mutex_unlock(&s->mu);
}

void *ccache_get_blob(struct ccache *c, struct arena *a, const void *key, size_t klen,
                      size_t *len)
{
    uint32_t h = hmap_hash(key, klen);
    struct shard *s = lock_shard(c, h);
    struct hmap_entry *e = hmap_get_hashed(&s->map, key, klen, h);
    void *out = NULL;

    if (e && e->val.ptr) {
        const struct blob *b = e->val.ptr;

        out = arena_memdup(a, b->bytes, b->len ? b->len : 1);
        *len = b->len;
    }
    pthread_mutex_unlock(&s->mu);
    return out;
}

void ccache_put_blob(struct ccache *c, const void *key, size_t klen, const void *val,
                     size_t len)
{
    uint32_t h = hmap_hash(key, klen);
    struct shard *s = lock_shard(c, h);
    struct hmap_entry *e = put_entry(c, s, key, klen, h, sizeof(struct blob) + len);
    struct blob *b = arena_alloc(s->arena, sizeof(*b) + (len ? len : 1));

    b->len = len;
    if (len)
        memcpy(b->bytes, val, len);
    e->val.ptr = b;
    pthread_mutex_unlock(&s->mu);
}

size_t ccache_evictions(struct ccache *c)
{
    size_t i, n = 0;

    for (i = 0; i < SHARDS; i++) {
        pthread_mutex_lock(&c->shards[i].mu);
        n += c->shards[i].evictions;
        pthread_mutex_unlock(&c->shards[i].mu);
    }
    return n;
}
