/* search.c - memory search: the semantic path over stored embeddings, scored in C, and the
 * literal text path (spec/behavior.md §9, §7.5). */
#include "service/search.h"

#include <stdlib.h>
#include <string.h>

#include "service/embed.h"
#include "service/vcache.h"
#include "util/vcode.h"
#include "util/xalloc.h"
#include "util/log.h"

static unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

const char *const search_mode_names[] = { "text", "bm25", "semantic", "hybrid", NULL };

static int is_empty(const char *s)
{
    return !s || !*s;
}

static int is_word_byte(unsigned char c)
{
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

size_t search_terms(struct arena *a, const char *q, const char ***out)
{
    const char **terms = arena_calloc(a, STORE_RANK_TERMS_MAX + 1, sizeof(*terms));
    size_t n = 0, len, i, k;
    const char *p = q;
    char *t;

    while (*p && n < STORE_RANK_TERMS_MAX) {
        while (*p && !is_word_byte((unsigned char)*p))
            p++;
        for (len = 0; p[len] && is_word_byte((unsigned char)p[len]); len++)
            ;
        if (len == 0)
            break;
        t = arena_strndup(a, p, len);
        for (k = 0; k < len; k++)
            t[k] = (char)fold((unsigned char)t[k]);
        for (i = 0; i < n && strcmp(terms[i], t) != 0; i++)
            ;
        if (i == n)
            terms[n++] = t;
        p += len;
    }
    *out = terms;
    return n;
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
int search_nearest_exact(struct arena *a, store *st, const char *tenant, const char *subject,
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

/* ---- the compact path: codes scanned, the best re-ranked with the exact vectors ---- */

/* One candidate of the code scan, in a max-heap on the approximate distance (the worst of
 * the kept candidates on top, so a better row replaces it). */
struct cand {
    double approx;
    const char *id;         /* arena copy */
};

struct code_scan {
    struct arena *a;
    const unsigned char *qcode;   /* the query's code */
    size_t dim;
    const char *kind;             /* NULL = every kind */
    struct cand *heap;            /* at most cap */
    size_t n, cap;
    struct vc_entry *build;       /* the cache entry the scan fills, or NULL */
};

static void heap_sift_down(struct cand *h, size_t n, size_t i)
{
    size_t l, r, big;
    struct cand t;

    for (;;) {
        l = 2 * i + 1;
        r = l + 1;
        big = i;
        if (l < n && h[l].approx > h[big].approx)
            big = l;
        if (r < n && h[r].approx > h[big].approx)
            big = r;
        if (big == i)
            return;
        t = h[i];
        h[i] = h[big];
        h[big] = t;
        i = big;
    }
}

static void heap_push(struct cand *h, size_t *n, struct cand c)
{
    size_t i = (*n)++, parent;
    struct cand t;

    h[i] = c;
    while (i > 0) {
        parent = (i - 1) / 2;
        if (h[parent].approx >= h[i].approx)
            return;
        t = h[i];
        h[i] = h[parent];
        h[parent] = t;
        i = parent;
    }
}

/* Score one code (of the right width) into the candidates. */
static void code_score(struct code_scan *cs, const char *id, const unsigned char *code)
{
    double approx = 1.0 - vcode_cosine(cs->qcode, code, cs->dim);

    if (cs->n < cs->cap) {
        heap_push(cs->heap, &cs->n, (struct cand){ approx, arena_strdup(cs->a, id) });
    } else if (approx < cs->heap[0].approx) {
        cs->heap[0] = (struct cand){ approx, arena_strdup(cs->a, id) };
        heap_sift_down(cs->heap, cs->n, 0);
    }
}

static int code_row(void *ctx, const struct memory_code *row, struct err *err)
{
    struct code_scan *cs = ctx;

    if (cs->build && vcache_add(cs->build, row) < 0) {
        vcache_discard(cs->build);
        cs->build = NULL;
    }
    if (cs->kind && strcmp(cs->kind, row->kind) != 0)
        return 0;
    if (vcode_dim(row->bytes) != cs->dim)
        return err_set(err, ERR_INTERNAL, "stored embedding width differs from %zu", cs->dim);
    code_score(cs, row->id, row->code);
    return 0;
}

/* The candidates of cs from the subject's codes: the cached entry of this generation, else
 * a scan of memory_codes (every kind) that refills the cache. Inside the read transaction. */
static int code_candidates(store *st, const char *tenant, const char *subject,
                           struct code_scan *cs, struct err *err)
{
    const struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct vc_entry *e;
    int64_t gen;
    size_t i;

    if (store_memory_codes_gen(st, &sc, &gen, err) < 0)
        return -1;
    e = vcache_get(tenant, subject, gen, cs->dim);
    if (e) {
        for (i = 0; i < vcache_rows(e); i++) {
            if (!cs->kind || strcmp(cs->kind, vcache_kind(e, i)) == 0)
                code_score(cs, vcache_id(e, i), vcache_code(e, i));
        }
        vcache_release(e);
        return 0;
    }
    cs->build = vcache_builder(cs->dim);
    if (store_memory_scan_codes(st, &sc, &(struct memory_code_scan){ .kind = NULL }, code_row,
                                cs, err) < 0) {
        vcache_discard(cs->build);
        return -1;
    }
    if (cs->build)
        vcache_put(cs->build, tenant, subject, gen);
    return 0;
}

/* The candidates' exact vectors scored as search_nearest_exact scores them. */
static int exact_row(void *ctx, const struct memory_vector *row, struct err *err)
{
    return score_row(ctx, row, err);
}

int search_nearest(struct arena *a, store *st, const char *tenant, const char *subject,
                   const char *kind, const float *qvec, size_t dim, size_t limit,
                   struct memory **out, double **dist, size_t *n, struct err *err)
{
    struct code_scan cs = { .a = a, .dim = dim, .kind = kind };
    struct nearest_scan sc = { .a = a, .q = qvec, .qnorm = embed_norm2(qvec, dim), .dim = dim };
    const char **ids;
    unsigned char *qcode;
    size_t keep, i;
    int ret = -1;

    /* Every row wanted, or a zero query vector (every distance 1, the order is the list's):
     * the exact scan. */
    if (limit == 0 || dim == 0 || sc.qnorm == 0)
        return search_nearest_exact(a, st, tenant, subject, kind, qvec, dim, limit, out, dist,
                                    n, err);
    *out = NULL;
    *n = 0;
    if (dist)
        *dist = NULL;
    qcode = arena_alloc(a, vcode_size(dim));
    vcode_encode(qvec, dim, qcode);
    cs.qcode = qcode;
    cs.cap = limit * SEARCH_RERANK_FACTOR;
    cs.heap = arena_calloc(a, cs.cap + 1, sizeof(*cs.heap));
    for (i = 0; i < SCORE_BATCH; i++)
        sc.vec[i] = arena_alloc(a, dim * sizeof(**sc.vec));
    if (store_tx_begin_read(st, err) < 0)
        return -1;
    if (code_candidates(st, tenant, subject, &cs, err) < 0)
        goto cleanup;
    ret = 0;
    if (cs.n == 0)
        goto cleanup;
    ids = arena_calloc(a, cs.n + 1, sizeof(*ids));
    for (i = 0; i < cs.n; i++)
        ids[i] = cs.heap[i].id;
    ret = -1;
    if (store_memory_vectors_by_ids(st, tenant, &(struct store_ids){ ids, cs.n }, exact_row,
                                    &sc, err) < 0)
        goto cleanup;
    ret = 0;
    if (sc.n == 0)
        goto cleanup;
    score_pending(&sc);
    qsort(sc.rows, sc.n, sizeof(*sc.rows), cmp_scored);
    keep = limit < sc.n ? limit : sc.n;
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
    /* The text index up to every memory first (a backend may defer it: SQLite), then
     * the read. */
    if (store_search_text_sync(st, err) < 0 || store_tx_begin_read(st, err) < 0)
        return -1;
    if (store_memory_scan_text(st, &sc,
                               &(struct memory_text_scan){ .kind = kind, .contains = sq->q,
                                                           .limit = sq->limit },
                               match_row, &m, err) == 0) {
        pos = arena_calloc(a, m.n + 1, sizeof(*pos));
        ret = m.n ? fetch_in_order(a, st, tenant, m.ids, m.n, out, pos, n, err) : 0;
    }
    store_tx_rollback(st);   /* read only: nothing to keep */
    return ret;
}

/* The ranked full-text ids of sq, at most limit; none when q has no word. */
static int rank_ids(struct arena *a, store *st, const char *tenant,
                    const struct search_query *sq, size_t limit, struct store_ids *ids,
                    struct err *err)
{
    const struct store_scope sc = { .tenant = tenant, .subject = sq->subject_id };
    const char **terms;
    size_t nterms = search_terms(a, sq->q, &terms);

    ids->items = NULL;
    ids->n = 0;
    if (nterms == 0)
        return 0;
    return store_memory_rank_text(st, a, &sc,
                                  &(struct memory_rank_query){
                                      .kind = is_empty(sq->kind) ? NULL : sq->kind,
                                      .terms = terms, .nterms = nterms, .limit = limit },
                                  ids, err);
}

/* The rows of ids in their order (inside the caller's read transaction). */
static int fetch_ids(struct arena *a, store *st, const char *tenant,
                     const struct store_ids *ids, struct memory **out, size_t *n,
                     struct err *err)
{
    size_t *pos = arena_calloc(a, ids->n + 1, sizeof(*pos));

    *out = NULL;
    *n = 0;
    if (ids->n == 0)
        return 0;
    return fetch_in_order(a, st, tenant, ids->items, ids->n, out, pos, n, err);
}

/* mode=bm25: the ranked list and its rows in one read transaction. */
static int search_bm25(struct arena *a, store *st, const char *tenant,
                       const struct search_query *sq, struct memory **out, size_t *n,
                       struct err *err)
{
    struct store_ids ids;
    int ret = -1;

    if (store_search_text_sync(st, err) < 0 || store_tx_begin_read(st, err) < 0)
        return -1;
    if (rank_ids(a, st, tenant, sq, sq->limit, &ids, err) == 0)
        ret = fetch_ids(a, st, tenant, &ids, out, n, err);
    store_tx_rollback(st);   /* read only: nothing to keep */
    return ret;
}

/* One memory in the fused lists. */
struct fused {
    const char *id;
    double score;          /* sum of 1 / (SEARCH_RRF_K + rank) */
    size_t best;           /* its best rank in either list (1-based) */
    int in_lex;            /* it is in the BM25 list */
};

static int cmp_fused(const void *x, const void *y)
{
    const struct fused *a = x, *b = y;

    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->best != b->best)
        return a->best < b->best ? -1 : 1;
    if (a->in_lex != b->in_lex)
        return a->in_lex ? -1 : 1;
    return strcmp(a->id, b->id);
}

/* Add list (ids in rank order) to the fused set f (n so far, room for every id). */
static void fuse_list(struct fused *f, size_t *n, const char *const *ids, size_t nids,
                      int lex)
{
    size_t r, i;

    for (r = 0; r < nids; r++) {
        for (i = 0; i < *n && strcmp(f[i].id, ids[r]) != 0; i++)
            ;
        if (i == *n) {
            f[i] = (struct fused){ .id = ids[r], .best = r + 1 };
            (*n)++;
        }
        f[i].score += 1.0 / (double)(SEARCH_RRF_K + r + 1);
        if (r + 1 < f[i].best)
            f[i].best = r + 1;
        f[i].in_lex |= lex;
    }
}

/* The semantic list of hybrid: ids nearest first, none without a provider or on failure
 * (logged). */
static void hybrid_nearest(struct arena *a, store *st, const char *tenant,
                           const struct search_query *sq, const char ***ids, size_t *n)
{
    struct err err = ERR_INIT;
    struct memory *near;
    float *qvec;
    size_t i;

    *ids = NULL;
    *n = 0;
    if (!embed_available())
        return;
    if (embed_query(a, st, sq->q, &qvec, &err) < 0 ||
        search_nearest(a, st, tenant, sq->subject_id, is_empty(sq->kind) ? NULL : sq->kind,
                       qvec, embed_dim(), SEARCH_FUSE_DEPTH, &near, NULL, n, &err) < 0) {
        log_write(LOG_WARN, "hybrid search: the vector list failed, BM25 alone: %s", err.msg);
        err_release(&err);
        *n = 0;
        return;
    }
    *ids = arena_calloc(a, *n + 1, sizeof(**ids));
    for (i = 0; i < *n; i++)
        (*ids)[i] = near[i].id;
}

/* mode=hybrid: reciprocal rank fusion of the BM25 and the vector lists. The fused rows are
 * read in the BM25 list's transaction; one that stopped being active since the vector list
 * was read is left out. */
static int search_hybrid(struct arena *a, store *st, const char *tenant,
                         const struct search_query *sq, struct memory **out, size_t *n,
                         struct err *err)
{
    const char **near, **keep;
    struct store_ids lex;
    struct memory *rows;
    struct fused *f;
    size_t nnear, nf = 0, i, nrows;
    int ret = -1;

    hybrid_nearest(a, st, tenant, sq, &near, &nnear);
    if (store_search_text_sync(st, err) < 0 || store_tx_begin_read(st, err) < 0)
        return -1;
    if (rank_ids(a, st, tenant, sq, SEARCH_FUSE_DEPTH, &lex, err) < 0)
        goto cleanup;
    f = arena_calloc(a, lex.n + nnear + 1, sizeof(*f));
    fuse_list(f, &nf, lex.items, lex.n, 1);
    fuse_list(f, &nf, near, nnear, 0);
    qsort(f, nf, sizeof(*f), cmp_fused);
    keep = arena_calloc(a, nf + 1, sizeof(*keep));
    for (i = 0; i < nf; i++)
        keep[i] = f[i].id;
    if (fetch_ids(a, st, tenant, &(struct store_ids){ keep, nf }, &rows, &nrows, err) < 0)
        goto cleanup;
    *out = arena_calloc(a, sq->limit + 1, sizeof(**out));
    for (i = 0; i < nrows && *n < sq->limit; i++) {
        if (strcmp(rows[i].status, "active") == 0)
            (*out)[(*n)++] = rows[i];
    }
    ret = 0;
cleanup:
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
    enum search_mode mode = sq->mode;

    *out = NULL;
    *n = 0;
    if (store_subject_reserved(sq->subject_id))
        return 0;
    if (sq->has_as_of)   /* every mode: the text path as the subject stood then */
        return search_as_of(a, st, tenant, sq, out, n, err);
    if (mode == SEARCH_MODE_AUTO)
        mode = sq->semantic ? SEARCH_MODE_SEMANTIC : SEARCH_MODE_TEXT;
    if (is_empty(sq->q))
        mode = SEARCH_MODE_TEXT;
    switch (mode) {
    case SEARCH_MODE_SEMANTIC:
        if (embed_available() && search_semantic(a, st, tenant, sq, out, n) == 0)
            return 0;
        break;
    case SEARCH_MODE_BM25:
        return search_bm25(a, st, tenant, sq, out, n, err);
    case SEARCH_MODE_HYBRID:
        return search_hybrid(a, st, tenant, sq, out, n, err);
    default:
        break;
    }
    return search_text(a, st, tenant, sq, out, n, err);
}
