/* embed.c - embedding providers (none, stub, openai), the in-process query cache (L1) and
 * the database query cache (L2) in front of it. */
#include "service/embed.h"

#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/llm.h"
#include "util/config.h"
#include "util/hmap.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/xalloc.h"

#define L1_CAPACITY 256
#define L1_TTL_US (3600LL * 1000000)            /* monotonic */
#define L2_TTL_US (86400LL * 1000000)           /* wall clock */
#define L2_PURGE_AGE_US (7LL * 86400 * 1000000) /* rows expired longer ago are deleted */

enum provider {
    PROVIDER_UNSET = 0,   /* embed_setup() not called */
    PROVIDER_NONE,
    PROVIDER_STUB,
    PROVIDER_OPENAI,
};

/* Set by embed_setup() before other threads start; read-only afterwards. */
static enum provider provider;
static size_t dim;

/* L1: the query cache of the semantic provider (spec/data-model.md §2.4): L1_CAPACITY
 * entries found by their text through a hash map, the least recently used one evicted. */
struct l1_entry {
    char *text;        /* the exact query text (heap); NULL = free slot */
    float *vec;        /* dim floats (heap) */
    int64_t expires;   /* ts_monotonic() deadline */
    uint64_t used;     /* recency tick: larger = used more recently */
};

static struct {
    pthread_mutex_t lock;
    struct l1_entry e[L1_CAPACITY];
    struct hmap index; /* text → its entry in e (val.ptr); slots NULL until first used */
    uint64_t tick;     /* last recency tick handed out */
} l1 = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ---- the stub provider ---- */

/* SHA-512 fetched once: an implicit fetch per digest costs as much as the hash itself. */
static EVP_MD *sha512_md;
static pthread_once_t sha512_once = PTHREAD_ONCE_INIT;

static void sha512_fetch(void)
{
    sha512_md = EVP_MD_fetch(NULL, "SHA512", NULL);
    if (!sha512_md)
        BUG("SHA-512 unavailable");
}

/* The text is hashed once into base; each block copies base and adds the 4 counter bytes,
 * which gives SHA-512(text ‖ counter) as the specification defines it. */
void embed_stub(const char *text, size_t len, size_t d, double *out)
{
    EVP_MD_CTX *base = EVP_MD_CTX_new(), *work = EVP_MD_CTX_new();
    unsigned char h[EVP_MAX_MD_SIZE], ctr[4];
    unsigned int hlen;
    uint32_t counter = 0;
    double mag = 0;
    size_t n = 0, off, i;

    pthread_once(&sha512_once, sha512_fetch);
    if (!base || !work || !EVP_DigestInit_ex(base, sha512_md, NULL) ||
        !EVP_DigestUpdate(base, text, len))
        BUG("SHA-512 failed");
    while (n < d) {
        ctr[0] = (unsigned char)(counter >> 24);
        ctr[1] = (unsigned char)(counter >> 16);
        ctr[2] = (unsigned char)(counter >> 8);
        ctr[3] = (unsigned char)counter;
        if (!EVP_MD_CTX_copy_ex(work, base) || !EVP_DigestUpdate(work, ctr, 4) ||
            !EVP_DigestFinal_ex(work, h, &hlen))
            BUG("SHA-512 failed");
        for (off = 0; off + 4 <= hlen && n < d; off += 4) {
            uint32_t raw = (uint32_t)h[off] << 24 | (uint32_t)h[off + 1] << 16 |
                           (uint32_t)h[off + 2] << 8 | (uint32_t)h[off + 3];

            out[n++] = (double)raw / 2147483647.5 - 1.0;
        }
        counter++;
    }
    EVP_MD_CTX_free(work);
    EVP_MD_CTX_free(base);
    for (i = 0; i < d; i++)   /* left to right, no compensation: as Python's sum() */
        mag += out[i] * out[i];
    mag = sqrt(mag);
    if (mag > 0) {
        for (i = 0; i < d; i++)
            out[i] /= mag;
    }
}

static void stub_texts(const char *const *texts, size_t n, float *out)
{
    double *v = xmalloc(dim * sizeof(*v));
    size_t i, j;

    for (i = 0; i < n; i++) {
        embed_stub(texts[i], strlen(texts[i]), dim, v);
        for (j = 0; j < dim; j++)
            out[i * dim + j] = (float)v[j];
    }
    free(v);
}

/* ---- setup ---- */

static void l1_drop(struct l1_entry *e);

static void l1_clear(void)
{
    size_t i;

    pthread_mutex_lock(&l1.lock);
    for (i = 0; i < L1_CAPACITY; i++)
        l1_drop(&l1.e[i]);
    hmap_release(&l1.index);   /* made again by the next lookup */
    l1.tick = 0;
    pthread_mutex_unlock(&l1.lock);
}

int embed_setup(struct err *err)
{
    const char *name = cfg->embedding_provider ? cfg->embedding_provider : "stub";

    l1_clear();
    provider = PROVIDER_UNSET;
    if (cfg->embedding_dimensions < 1)
        return err_set(err, ERR_INTERNAL, "embedding dimensions must be positive");
    dim = (size_t)cfg->embedding_dimensions;
    if (strcmp(name, "none") == 0) {
        provider = PROVIDER_NONE;
    } else if (strcmp(name, "stub") == 0) {
        provider = PROVIDER_STUB;
    } else if (strcmp(name, "openai") == 0 || strcmp(name, "litellm") == 0) {
        if (llm_setup(err) < 0)
            return -1;
        provider = PROVIDER_OPENAI;
    } else {
        log_write(LOG_ERROR, "embeddings: unknown provider '%s'", name);
        return err_set(err, ERR_INTERNAL, "unknown embedding provider");
    }
    return 0;
}

void embed_shutdown(void)
{
    l1_clear();
    provider = PROVIDER_UNSET;
}

int embed_available(void)
{
    return provider == PROVIDER_STUB || provider == PROVIDER_OPENAI;
}

int embed_semantic(void)
{
    return provider == PROVIDER_OPENAI;
}

size_t embed_dim(void)
{
    return dim;
}

static const char *model_name(void)
{
    return cfg->llm_embedding_model && *cfg->llm_embedding_model ? cfg->llm_embedding_model
                                                                 : "unknown";
}

/* The model sent to the provider (config.c fills the default; a hand-made config may not). */
static const char *request_model(void)
{
    return cfg->llm_embedding_model ? cfg->llm_embedding_model : "text-embedding-3-small";
}

static int no_provider(struct err *err)
{
    if (provider == PROVIDER_UNSET)
        return err_set(err, ERR_INTERNAL, "embedding provider not set up");
    return err_set(err, ERR_UNAVAILABLE, "No embedding provider is configured");
}

int embed_texts(struct arena *a, const char *const *texts, size_t n, float **out,
                struct err *err)
{
    float *v;

    *out = NULL;
    if (!embed_available())
        return no_provider(err);
    if (n == 0)
        return 0;
    v = arena_alloc(a, n * dim * sizeof(*v));
    if (provider == PROVIDER_STUB)
        stub_texts(texts, n, v);
    else if (llm_embed(request_model(), texts, n, dim, v, err) < 0)
        return -1;
    *out = v;
    return 0;
}

/* ---- L1 ---- */

/* Free e and take it out of the index. Caller holds the lock. */
static void l1_drop(struct l1_entry *e)
{
    if (e->text)
        hmap_remove(&l1.index, hmap_get(&l1.index, e->text, strlen(e->text)));
    free(e->text);
    free(e->vec);
    memset(e, 0, sizeof(*e));
}

/* The live entry for text, or NULL; an expired one is dropped. Caller holds the lock. */
static struct l1_entry *l1_find(const char *text, int64_t now)
{
    struct hmap_entry *h;
    struct l1_entry *e;

    if (!l1.index.slots)
        hmap_init(NULL, &l1.index, L1_CAPACITY);
    h = hmap_get(&l1.index, text, strlen(text));
    if (!h)
        return NULL;
    e = h->val.ptr;
    if (now >= e->expires) {
        l1_drop(e);
        return NULL;
    }
    return e;
}

/* Copy the cached vector of text into v; 1 on a hit, 0 on a miss. */
static int l1_get(const char *text, float *v)
{
    struct l1_entry *e;

    pthread_mutex_lock(&l1.lock);
    e = l1_find(text, ts_monotonic());
    if (e) {
        e->used = ++l1.tick;
        memcpy(v, e->vec, dim * sizeof(*v));
    }
    pthread_mutex_unlock(&l1.lock);
    return e != NULL;
}

/* The slot an insert takes: a free one, else the least recently used. Caller holds the lock. */
static struct l1_entry *l1_victim(void)
{
    struct l1_entry *lru = &l1.e[0];
    size_t i;

    for (i = 0; i < L1_CAPACITY; i++) {
        if (!l1.e[i].text)
            return &l1.e[i];
        if (l1.e[i].used < lru->used)
            lru = &l1.e[i];
    }
    return lru;
}

static void l1_put(const char *text, const float *v)
{
    int64_t now = ts_monotonic();
    struct l1_entry *e;

    pthread_mutex_lock(&l1.lock);
    e = l1_find(text, now);   /* a concurrent miss may have filled it already */
    if (!e) {
        e = l1_victim();
        l1_drop(e);
        e->text = xstrdup(text);
        e->vec = xmalloc(dim * sizeof(*e->vec));
        hmap_put(&l1.index, e->text, strlen(e->text), NULL)->val.ptr = e;
    }
    memcpy(e->vec, v, dim * sizeof(*v));
    e->expires = now + L1_TTL_US;
    e->used = ++l1.tick;
    pthread_mutex_unlock(&l1.lock);
}

/* ---- query embeddings ---- */

/* L1, then the provider; a provider failure is never cached. */
static int query_l1(struct arena *a, const char *text, float **out, struct err *err)
{
    float *v = arena_alloc(a, dim * sizeof(*v));

    if (l1_get(text, v)) {
        *out = v;
        return 0;
    }
    if (llm_embed(request_model(), &text, 1, dim, v, err) < 0)
        return -1;
    l1_put(text, v);
    *out = v;
    return 0;
}

/* L2 read: the stored vector, or NULL on a miss; a database error counts as a miss. */
static float *l2_get(struct arena *a, store *st, const char *text, int64_t now)
{
    struct err e = ERR_INIT;
    struct qcache_lookup q = { .text = text, .model = model_name(), .now = now };

    if (store_qcache_get(st, a, &q, &e) < 0) {
        log_write(LOG_WARN, "embeddings: query cache read failed: %s", e.msg);
        err_release(&e);
        return NULL;
    }
    return q.vec && q.dim == dim ? q.vec : NULL;
}

static void l2_put(store *st, const char *text, const float *v, int64_t now)
{
    struct err e = ERR_INIT;

    if (store_qcache_put(st,
                         &(struct qcache_write){ .text = text, .model = model_name(), .vec = v,
                                                 .dim = dim, .now = now,
                                                 .expires_at = now + L2_TTL_US,
                                                 .purge_before = now - L2_PURGE_AGE_US },
                         &e) < 0) {
        log_write(LOG_WARN, "embeddings: query cache write failed: %s", e.msg);
        err_release(&e);
    }
}

int embed_query(struct arena *a, store *st, const char *text, float **out, struct err *err)
{
    int64_t now;
    float *v;

    *out = NULL;
    if (!embed_available())
        return no_provider(err);
    if (provider == PROVIDER_STUB)
        return embed_texts(a, &text, 1, out, err);
    now = ts_now();
    if (st) {
        v = l2_get(a, st, text, now);
        if (v) {
            *out = v;
            return 0;
        }
    }
    if (query_l1(a, text, &v, err) < 0)
        return -1;
    if (st)
        l2_put(st, text, v, now);
    *out = v;
    return 0;
}

double embed_norm2(const float *x, size_t d)
{
    double nx = 0;
    size_t i;

    for (i = 0; i < d; i++)
        nx += (double)x[i] * x[i];
    return nx;
}

double embed_cosine_nx(const float *x, double nx, const float *y, size_t d)
{
    double dot = 0, ny = 0;
    size_t i;

    for (i = 0; i < d; i++) {
        dot += (double)x[i] * y[i];
        ny += (double)y[i] * y[i];
    }
    if (nx == 0 || ny == 0)
        return 0;
    return dot / (sqrt(nx) * sqrt(ny));
}

void embed_cosine_nx4(const float *x, double nx, const float *const y[4], size_t d,
                      double out[4])
{
    const float *y0 = y[0], *y1 = y[1], *y2 = y[2], *y3 = y[3];
    double dot0 = 0, dot1 = 0, dot2 = 0, dot3 = 0, ny0 = 0, ny1 = 0, ny2 = 0, ny3 = 0;
    double ny[4];
    size_t i;
    int k;

    /* Eight independent sums instead of two: the same additions per vector, in the same
     * order, overlapped across vectors rather than reordered within one. Plain variables,
     * so that every sum stays in a register. */
    for (i = 0; i < d; i++) {
        double xi = x[i], a0 = y0[i], a1 = y1[i], a2 = y2[i], a3 = y3[i];

        dot0 += xi * a0;
        dot1 += xi * a1;
        dot2 += xi * a2;
        dot3 += xi * a3;
        ny0 += a0 * a0;
        ny1 += a1 * a1;
        ny2 += a2 * a2;
        ny3 += a3 * a3;
    }
    out[0] = dot0;
    out[1] = dot1;
    out[2] = dot2;
    out[3] = dot3;
    ny[0] = ny0;
    ny[1] = ny1;
    ny[2] = ny2;
    ny[3] = ny3;
    for (k = 0; k < 4; k++)
        out[k] = nx == 0 || ny[k] == 0 ? 0 : out[k] / (sqrt(nx) * sqrt(ny[k]));
}

double embed_cosine(const float *x, const float *y, size_t d)
{
    return embed_cosine_nx(x, embed_norm2(x, d), y, d);
}
