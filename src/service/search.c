/* search.c - memory search: the semantic path over stored embeddings, scored in C, and the
 * literal text path (spec/behavior.md §9, §7.5). */
#include "service/search.h"

#include <stdlib.h>
#include <string.h>

#include "service/embed.h"
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

size_t search_filter_text(struct memory *mems, size_t n, const char *q, size_t limit)
{
    size_t kept = 0, i;

    for (i = 0; i < n && (limit == 0 || kept < limit); i++) {
        if (!search_contains_ci(mems[i].content ? mems[i].content : "", q))
            continue;
        if (kept != i)
            mems[kept] = mems[i];
        kept++;
    }
    return kept;
}

/* One row's place in the distance order. */
struct ranked {
    double dist;
    size_t index;   /* input position: the tie-break */
};

static int cmp_ranked(const void *x, const void *y)
{
    const struct ranked *a = x, *b = y;

    if (a->dist != b->dist)
        return a->dist < b->dist ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

int search_rank_by_distance(struct arena *a, const struct memory *mems, size_t n,
                            const float *qvec, size_t dim, size_t limit, struct memory **out,
                            double **dist, size_t *nout)
{
    struct ranked *r;
    size_t i, keep;

    *out = NULL;
    *nout = 0;
    if (dist)
        *dist = NULL;
    for (i = 0; i < n; i++) {
        if (!mems[i].embedding || mems[i].embedding_dim != dim)
            return -1;
    }
    if (n == 0)
        return 0;
    r = arena_calloc(a, n, sizeof(*r));
    for (i = 0; i < n; i++) {
        r[i].dist = 1.0 - embed_cosine(qvec, mems[i].embedding, dim);
        r[i].index = i;
    }
    qsort(r, n, sizeof(*r), cmp_ranked);
    keep = limit && limit < n ? limit : n;
    *out = arena_calloc(a, keep, sizeof(**out));
    if (dist)
        *dist = arena_calloc(a, keep, sizeof(**dist));
    for (i = 0; i < keep; i++) {
        (*out)[i] = mems[r[i].index];
        if (dist)
            (*dist)[i] = r[i].dist;
    }
    *nout = keep;
    return 0;
}

int search_nearest(struct arena *a, store *st, const char *tenant, const char *subject,
                   const char *kind, const float *qvec, size_t dim, size_t limit,
                   struct memory **out, double **dist, size_t *n, struct err *err)
{
    struct memory *all;
    size_t nall;

    if (store_memory_list_active(st, a, tenant, subject, kind, MEMORY_OLDEST_FIRST,
                                 MEMORY_WITH_EMBEDDING | MEMORY_LOAD_EMBEDDING, 0, &all, &nall,
                                 err) < 0)
        return -1;
    if (search_rank_by_distance(a, all, nall, qvec, dim, limit, out, dist, n) < 0)
        return err_set(err, ERR_INTERNAL, "stored embedding width differs from %zu", dim);
    return 0;
}

/* The semantic path; -1 means "fall back to text" (the cause is logged here). */
static int search_semantic(struct arena *a, store *st, const char *tenant,
                           const struct search_query *sq, struct memory **out, size_t *n)
{
    struct err err = ERR_INIT;
    float *qvec;
    int ret = -1;

    if (embed_query(a, st, sq->q, &qvec, &err) < 0)
        goto done;
    if (search_nearest(a, st, tenant, sq->subject_id, is_empty(sq->kind) ? NULL : sq->kind,
                       qvec, embed_dim(), sq->limit, out, NULL, n, &err) < 0)
        goto done;
    ret = 0;
done:
    if (ret < 0)
        log_write(LOG_WARN, "semantic search failed, falling back to text: %s", err.msg);
    err_release(&err);
    return ret;
}

static int search_text(struct arena *a, store *st, const char *tenant,
                       const struct search_query *sq, struct memory **out, size_t *n,
                       struct err *err)
{
    const char *kind = is_empty(sq->kind) ? NULL : sq->kind;

    if (is_empty(sq->q))
        return store_memory_list_active(st, a, tenant, sq->subject_id, kind,
                                        MEMORY_NEWEST_FIRST, 0, sq->limit, out, n, err);
    if (store_memory_list_active(st, a, tenant, sq->subject_id, kind, MEMORY_NEWEST_FIRST, 0,
                                 0, out, n, err) < 0)
        return -1;
    *n = search_filter_text(*out, *n, sq->q, sq->limit);
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
    if (sq->semantic && !is_empty(sq->q) && embed_available() &&
        search_semantic(a, st, tenant, sq, out, n) == 0)
        return 0;
    return search_text(a, st, tenant, sq, out, n, err);
}
