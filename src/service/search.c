/* search.c - memory search: the semantic path over stored embeddings, scored in C, and the
 * literal text path (spec/behavior.md §9, §7.5). */
#include "service/search.h"

#include <stdlib.h>
#include <string.h>

#include "service/embed.h"
#include "util/xalloc.h"
#include "util/log.h"

static int is_empty(const char *s)
{
    return !s || !*s;
}

static unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

int search_contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle), i;
    const char *h;

    if (n == 0)
        return 1;
    for (h = hay; *h; h++) {
        for (i = 0; i < n && h[i]; i++) {
            if (fold((unsigned char)h[i]) != fold((unsigned char)needle[i]))
                break;
        }
        if (i == n)
            return 1;
        if (!h[i])
            return 0;   /* hay ran out: no later start can match either */
    }
    return 0;
}

/* One scanned row's place in the distance order. */
struct scored {
    double dist;
    int64_t created_at;   /* with seq, the list order: the tie-break */
    int64_t seq;
    const char *id;       /* arena copy */
};

/* search_nearest's scan: rows scored as they pass, four at a time (embed_cosine_nx4), kept
 * in a heap array. */
#define SCORE_BATCH 4
struct nearest_scan {
    struct arena *a;
    const float *q;
    double qnorm;                   /* embed_norm2(q) */
    size_t dim;
    float *vec[SCORE_BATCH];        /* decoded vectors waiting for their scores */
    size_t pending;                 /* how many: rows[n - pending .. n) */
    struct scored *rows;
    size_t n, cap;
};

static int cmp_scored(const void *x, const void *y)
{
    const struct scored *a = x, *b = y;

    if (a->dist != b->dist)
        return a->dist < b->dist ? -1 : 1;
    if (a->created_at != b->created_at)
        return a->created_at < b->created_at ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The stored form is float32 little-endian. */
static void decode_vector(float *out, const unsigned char *p, size_t dim)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(out, p, dim * sizeof(*out));
#else
    size_t k;

    for (k = 0; k < dim; k++) {
        uint32_t u = (uint32_t)p[4 * k] | (uint32_t)p[4 * k + 1] << 8 |
                     (uint32_t)p[4 * k + 2] << 16 | (uint32_t)p[4 * k + 3] << 24;

        memcpy(&out[k], &u, sizeof(u));
    }
#endif
}

/* Score the pending rows. */
static void score_pending(struct nearest_scan *sc)
{
    struct scored *r = sc->rows + sc->n - sc->pending;
    double cos[SCORE_BATCH];
    size_t i;

    if (sc->pending == SCORE_BATCH) {
        embed_cosine_nx4(sc->q, sc->qnorm, (const float *const *)sc->vec, sc->dim, cos);
    } else {
        for (i = 0; i < sc->pending; i++)
            cos[i] = embed_cosine_nx(sc->q, sc->qnorm, sc->vec[i], sc->dim);
    }
    for (i = 0; i < sc->pending; i++)
        r[i].dist = 1.0 - cos[i];
    sc->pending = 0;
}

static int score_row(void *ctx, const struct memory_vector *row, struct err *err)
{
    struct nearest_scan *sc = ctx;
    struct scored *r;

    if (row->bytes != sc->dim * sizeof(float))
        return err_set(err, ERR_INTERNAL, "stored embedding width differs from %zu", sc->dim);
    if (sc->n == sc->cap) {
        sc->cap = sc->cap ? 2 * sc->cap : 256;
        sc->rows = xrealloc(sc->rows, sc->cap * sizeof(*sc->rows));
    }
    decode_vector(sc->vec[sc->pending++], row->vec, sc->dim);
    r = &sc->rows[sc->n++];
    r->created_at = row->created_at;
    r->seq = row->seq;
    r->id = arena_strdup(sc->a, row->id);
    if (sc->pending == SCORE_BATCH)
        score_pending(sc);
    return 0;
}

static int cmp_memory_id(const void *x, const void *y)
{
    return strcmp(((const struct memory *)x)->id, ((const struct memory *)y)->id);
}

/* bsearch: an id (the key) against a memory. */
static int cmp_id_memory(const void *key, const void *m)
{
    return strcmp(key, ((const struct memory *)m)->id);
}

/* The rows of the n ids (which all exist: the caller holds the read transaction that found
 * them) in the order of ids, into *out; pos[j] gets the index in ids of (*out)[j]. */
static int fetch_in_order(struct arena *a, store *st, const char *tenant,
                          const char *const *ids, size_t n, struct memory **out, size_t *pos,
                          size_t *nout, struct err *err)
{
    struct memory_rows found;
    struct memory *rows, *hit;
    size_t nrows, i;

    *nout = 0;
    if (store_memory_get_many(st, a, tenant, &(struct store_ids){ ids, n }, &found, err) < 0)
        return -1;
    rows = found.items;
    nrows = found.n;
    qsort(rows, nrows, sizeof(*rows), cmp_memory_id);
    *out = arena_calloc(a, n + 1, sizeof(**out));
    for (i = 0; i < n; i++) {
        hit = bsearch(ids[i], rows, nrows, sizeof(*rows), cmp_id_memory);
        if (!hit)   /* cannot happen inside the read transaction */
            continue;
        pos[*nout] = i;
        (*out)[(*nout)++] = *hit;
    }
    return 0;
}

/* The rows of the keep nearest, in distance order, into *out / *dist. */
static int fetch_nearest(struct arena *a, store *st, const char *tenant,
                         const struct scored *best, size_t keep, struct memory **out,
                         double **dist, size_t *n, struct err *err)
{
    const char **ids = arena_calloc(a, keep + 1, sizeof(*ids));
    size_t *pos = arena_calloc(a, keep + 1, sizeof(*pos)), i;

    for (i = 0; i < keep; i++)
        ids[i] = best[i].id;
    if (fetch_in_order(a, st, tenant, ids, keep, out, pos, n, err) < 0)
        return -1;
    if (dist) {
        *dist = arena_calloc(a, keep + 1, sizeof(**dist));
        for (i = 0; i < *n; i++)
            (*dist)[i] = best[pos[i]].dist;
    }
    return 0;
}

/* Scan (id, vector) pairs, score each as it passes, sort the scores, then read only the
 * winning rows; both reads in one read transaction, so they see the same memories. */
int search_nearest(struct arena *a, store *st, const char *tenant, const char *subject,
                   const char *kind, const float *qvec, size_t dim, size_t limit,
                   struct memory **out, double **dist, size_t *n, struct err *err)
{
    struct nearest_scan sc = { .a = a, .q = qvec, .qnorm = embed_norm2(qvec, dim), .dim = dim };
    size_t keep, i;
    int ret = -1;

    *out = NULL;
    *n = 0;
    if (dist)
        *dist = NULL;
    for (i = 0; i < SCORE_BATCH; i++)
        sc.vec[i] = arena_alloc(a, (dim ? dim : 1) * sizeof(**sc.vec));
    if (store_tx_begin_read(st, err) < 0)
        return -1;
    if (store_memory_scan_vectors(st, &(struct store_scope){ .tenant = tenant,
                                                             .subject = subject },
                                  kind, score_row, &sc, err) < 0)
        goto cleanup;
    ret = 0;
    if (sc.n == 0)   /* no row: rows is NULL */
        goto cleanup;
    score_pending(&sc);
    qsort(sc.rows, sc.n, sizeof(*sc.rows), cmp_scored);
    keep = limit && limit < sc.n ? limit : sc.n;
    ret = fetch_nearest(a, st, tenant, sc.rows, keep, out, dist, n, err);
cleanup:
    store_tx_rollback(st);   /* read only: nothing to keep */
    free(sc.rows);
    return ret;
}

/* The semantic path; -1 means "fall back to text" (the cause is logged here). */
static int search_semantic(struct arena *a, store *st, const char *tenant,
                           const struct search_query *sq, struct memory **out, size_t *n)
{
    struct err err = ERR_INIT;
    float *qvec;
    int ret = -1;

    if (embed_query(a, st, sq->q, &qvec, &err) < 0)
        goto cleanup;
    if (search_nearest(a, st, tenant, sq->subject_id, is_empty(sq->kind) ? NULL : sq->kind,
                       qvec, embed_dim(), sq->limit, out, NULL, n, &err) < 0)
        goto cleanup;
    ret = 0;
cleanup:
    if (ret < 0)
        log_write(LOG_WARN, "semantic search failed, falling back to text: %s", err.msg);
    err_release(&err);
    return ret;
}

/* search_text's filter: the ids of the first `limit` matching rows, in scan order. */
struct text_match {
    struct arena *a;
    const char *q;
    size_t limit;            /* 0 = every match */
    const char **ids;
    size_t n, cap;
};

static int match_row(void *ctx, const struct memory_text *row, struct err *err)
{
    struct text_match *m = ctx;

    (void)err;
    if (!search_contains_ci(row->content, m->q))
        return 0;
    if (m->n == m->cap) {
        const char **bigger = arena_calloc(m->a, m->cap ? 2 * m->cap : 32, sizeof(*bigger));

        if (m->n)
            memcpy(bigger, m->ids, m->n * sizeof(*bigger));
        m->ids = bigger;
        m->cap = m->cap ? 2 * m->cap : 32;
    }
    m->ids[m->n++] = arena_strdup(m->a, row->id);
    return m->limit && m->n == m->limit;   /* 1: enough, stop reading */
}

/* The text path: the contents stream newest first and the scan stops at the limit-th match;
 * then the matching rows are read whole. Both reads in one read transaction. */
static int search_text(struct arena *a, store *st, const char *tenant,
                       const struct search_query *sq, struct memory **out, size_t *n,
                       struct err *err)
{
    const char *kind = is_empty(sq->kind) ? NULL : sq->kind;
    const struct store_scope sc = { .tenant = tenant, .subject = sq->subject_id };
    struct text_match m = { .a = a, .q = sq->q, .limit = sq->limit };
    struct memory_rows rows;
    size_t *pos;
    int ret = -1;

    if (is_empty(sq->q)) {
        ret = store_memory_list_active(st, a, &sc,
                                       &(struct memory_query){ .kind = kind,
                                                               .order = MEMORY_NEWEST_FIRST,
                                                               .limit = sq->limit },
                                       &rows, err);
        *out = rows.items;
        *n = rows.n;
        return ret;
    }
    if (store_tx_begin_read(st, err) < 0)
        return -1;
    if (store_memory_scan_text(st, &sc, kind, match_row, &m, err) == 0) {
        pos = arena_calloc(a, m.n + 1, sizeof(*pos));
        ret = m.n ? fetch_in_order(a, st, tenant, m.ids, m.n, out, pos, n, err) : 0;
    }
    store_tx_rollback(st);   /* read only: nothing to keep */
    return ret;
}

/* The text path over the memories visible at sq->as_of, newest first. */
static int search_as_of(struct arena *a, store *st, const char *tenant,
                        const struct search_query *sq, struct memory **out, size_t *n,
                        struct err *err)
{
    const struct as_of_query aq = { .as_of = sq->as_of, .order = MEMORY_NEWEST_FIRST,
                                    .kind = is_empty(sq->kind) ? NULL : sq->kind };
    struct memory_rows rows;
    size_t i;

    if (store_memory_list_as_of(st, a, &(struct store_scope){ .tenant = tenant,
                                                              .subject = sq->subject_id },
                                &aq, &rows, err) < 0)
        return -1;
    for (i = 0; i < rows.n && *n < sq->limit; i++) {
        if (is_empty(sq->q) || search_contains_ci(rows.items[i].content, sq->q))
            rows.items[(*n)++] = rows.items[i];
    }
    *out = rows.items;
    return 0;
}

int search_memories(struct arena *a, store *st, const char *tenant,
                    const struct search_query *sq, struct memory **out, size_t *n,
                    struct err *err)
{
    *out = NULL;
    *n = 0;
    if (store_subject_reserved(sq->subject_id))
        return 0;
    if (sq->has_as_of)
        return search_as_of(a, st, tenant, sq, out, n, err);
    if (sq->semantic && !is_empty(sq->q) && embed_available() &&
        search_semantic(a, st, tenant, sq, out, n) == 0)
        return 0;
    return search_text(a, st, tenant, sq, out, n, err);
}
