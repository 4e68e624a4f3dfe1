/* vcache.c - the cache of subjects' compact vector codes (see vcache.h). One mutex guards the
 * map, the byte count and the reference counts; entries never change once published. */
#include "service/vcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/hmap.h"
#include "util/uuid.h"
#include "util/vcode.h"
#include "util/xalloc.h"

struct vc_entry {
    char *key; /* tenant '\x1f' subject ('\x1e' for no tenant) */
    size_t keylen;
    int64_t gen;
    size_t dim, stride; /* stride = vcode_size(dim) */
    size_t n, cap;
    char (*ids)[UUID_STR_LEN];
    unsigned char *kind; /* index into kinds */
    char *kinds[255];
    size_t nkinds;
    unsigned char *codes; /* n × stride */
    size_t bytes;         /* what it holds, for the budget */
    unsigned refs;        /* holders (the map counts as one while it is in it) */
    uint64_t used;        /* LRU clock */
};

static struct {
    pthread_mutex_t lock;
    struct hmap map; /* key → struct vc_entry * */
    size_t bytes;
    uint64_t clock;
} vc = { .lock = PTHREAD_MUTEX_INITIALIZER };

static char *make_key(const char *tenant, const char *subject, size_t *len)
{
    size_t t = tenant ? strlen(tenant) : 0, s = strlen(subject);
    char *k = xmalloc(t + s + 2);

    if (tenant)
        memcpy(k, tenant, t);
    k[t] = tenant ? '\x1f' : '\x1e';
    memcpy(k + t + 1, subject, s);
    k[t + s + 1] = '\0';
    *len = t + s + 1;
    return k;
}

static void entry_free(struct vc_entry *e)
{
    size_t i;

    for (i = 0; i < e->nkinds; i++)
        free(e->kinds[i]);
    free(e->key);
    free(e->ids);
    free(e->kind);
    free(e->codes);
    free(e);
}

/* Drop one reference; the last frees. Caller holds the lock. */
static void unref_locked(struct vc_entry *e)
{
    if (--e->refs == 0)
        entry_free(e);
}

/* Take e out of the map. Caller holds the lock. */
static void unlink_locked(struct vc_entry *e)
{
    struct hmap_entry *h = hmap_get(&vc.map, e->key, e->keylen);

    if (h && h->val.ptr == e) {
        hmap_remove(&vc.map, h);
        vc.bytes -= e->bytes;
        unref_locked(e);
    }
}

struct vc_entry *vcache_get(const char *tenant, const char *subject, int64_t gen, size_t dim)
{
    struct vc_entry *e = NULL;
    struct hmap_entry *h;
    size_t len;
    char *key = make_key(tenant, subject, &len);

    pthread_mutex_lock(&vc.lock);
    if (vc.map.slots && (h = hmap_get(&vc.map, key, len)) != NULL) {
        e = h->val.ptr;
        if (e->gen == gen && e->dim == dim) {
            e->refs++;
            e->used = ++vc.clock;
        } else {
            e = NULL;
        }
    }
    pthread_mutex_unlock(&vc.lock);
    free(key);
    return e;
}

void vcache_release(struct vc_entry *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&vc.lock);
    unref_locked(e);
    pthread_mutex_unlock(&vc.lock);
}

struct vc_entry *vcache_builder(size_t dim)
{
    struct vc_entry *b = xcalloc(1, sizeof(*b));

    b->dim = dim;
    b->stride = vcode_size(dim);
    return b;
}

int vcache_add(struct vc_entry *b, const struct memory_code *row)
{
    size_t k;

    if (row->bytes != b->stride || strlen(row->id) >= UUID_STR_LEN)
        return -1;
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 256;
        if (b->cap * (b->stride + UUID_STR_LEN + 1) > VCACHE_BUDGET)
            return -1;
        b->ids = xrealloc(b->ids, b->cap * sizeof(*b->ids));
        b->kind = xrealloc(b->kind, b->cap);
        b->codes = xrealloc(b->codes, b->cap * b->stride);
    }
    for (k = 0; k < b->nkinds && strcmp(b->kinds[k], row->kind) != 0; k++)
        ;
    if (k == b->nkinds) {
        if (k == sizeof(b->kinds) / sizeof(b->kinds[0]))
            return -1;
        b->kinds[b->nkinds++] = xstrdup(row->kind);
    }
    memcpy(b->ids[b->n], row->id, strlen(row->id) + 1);
    b->kind[b->n] = (unsigned char)k;
    memcpy(b->codes + b->n * b->stride, row->code, b->stride);
    b->n++;
    return 0;
}

void vcache_discard(struct vc_entry *b)
{
    if (b)
        entry_free(b);
}

/* Evict least recently used entries until `need` more bytes fit. Caller holds the lock. */
static void make_room_locked(size_t need)
{
    struct vc_entry *old;
    size_t i;

    while (vc.bytes + need > VCACHE_BUDGET && vc.map.count > 0) {
        old = NULL;
        for (i = 0; i < vc.map.cap; i++) {
            struct vc_entry *e = vc.map.slots[i].key ? vc.map.slots[i].val.ptr : NULL;

            if (e && (!old || e->used < old->used))
                old = e;
        }
        unlink_locked(old);
    }
}

void vcache_put(struct vc_entry *b, const char *tenant, const char *subject, int64_t gen)
{
    struct hmap_entry *h;
    int added;

    if (b->n < VCACHE_MIN_ROWS) {
        entry_free(b);
        return;
    }
    b->gen = gen;
    b->key = make_key(tenant, subject, &b->keylen);
    b->bytes = b->n * (b->stride + UUID_STR_LEN + 1) + sizeof(*b);
    b->refs = 1;
    pthread_mutex_lock(&vc.lock);
    if (!vc.map.slots)
        hmap_init(NULL, &vc.map, 64);
    h = hmap_get(&vc.map, b->key, b->keylen);
    if (h)
        unlink_locked(h->val.ptr);
    make_room_locked(b->bytes);
    b->used = ++vc.clock;
    hmap_put(&vc.map, b->key, b->keylen, &added)->val.ptr = b;
    vc.bytes += b->bytes;
    pthread_mutex_unlock(&vc.lock);
}

size_t vcache_rows(const struct vc_entry *e)
{
    return e->n;
}

const char *vcache_id(const struct vc_entry *e, size_t i)
{
    return e->ids[i];
}

const char *vcache_kind(const struct vc_entry *e, size_t i)
{
    return e->kinds[e->kind[i]];
}

const unsigned char *vcache_code(const struct vc_entry *e, size_t i)
{
    return e->codes + i * e->stride;
}

void vcache_clear(void)
{
    size_t i;

    pthread_mutex_lock(&vc.lock);
    for (i = 0; vc.map.slots && i < vc.map.cap; i++) {
        if (vc.map.slots[i].key) {
            struct vc_entry *e = vc.map.slots[i].val.ptr;

            vc.bytes -= e->bytes;
            unref_locked(e);
        }
    }
    hmap_release(&vc.map);
    memset(&vc.map, 0, sizeof(vc.map));
    pthread_mutex_unlock(&vc.lock);
}
