/* search.h - memory search (spec/behavior.md §9) and the exact nearest-neighbour query over
 * stored embeddings (§7.5) that context assembly shares. */
#ifndef ENGRAM_SERVICE_SEARCH_H
#define ENGRAM_SERVICE_SEARCH_H

#include <stddef.h>

#include "store/store.h"

#define SEARCH_LIMIT_DEFAULT 20
#define SEARCH_LIMIT_MAX 100

struct search_query {
    const char *subject_id;
    const char *kind;     /* NULL or "" = every kind (exact match otherwise) */
    const char *q;        /* NULL or "" = no text filter */
    int semantic;         /* 1: try the embedding path first */
    size_t limit;         /* 1..SEARCH_LIMIT_MAX */
    int has_as_of;        /* 1: as the subject stood at as_of (spec/api.md §11): the text
                           * path over the memories visible then (semantic is not used) */
    int64_t as_of;
};

/* Active memories of (tenant, subject) matching sq, at most sq->limit, into *out (arena).
 * Semantic path when sq->semantic, q is non-empty and a provider exists: ascending cosine
 * distance over the memories that have embeddings (an empty result stands); any failure on
 * that path is logged and the text path runs instead. Text path: kind exact, q a literal
 * ASCII-case-insensitive substring of content, newest first. A reserved subject id gives no
 * rows. Returns -1 with err set when the store fails. */
int search_memories(struct arena *a, store *st, const char *tenant,
                    const struct search_query *sq, struct memory **out, size_t *n,
                    struct err *err);

/* The §7.5 nearest-neighbour query: active memories of (tenant, subject) with embeddings
 * (kind NULL = any), ordered by cosine distance to qvec ascending, ties by list order
 * (created_at, then insertion order), at most limit (0 = all), without their embeddings.
 * *dist gets each row's distance (arena; may be NULL). Fails (ERR_INTERNAL, nothing logged)
 * when a stored vector's width differs from dim. Reads the vectors alone (scored as they
 * arrive), then the winning rows, in one read transaction: call it outside a transaction. */
int search_nearest(struct arena *a, store *st, const char *tenant, const char *subject,
                   const char *kind, const float *qvec, size_t dim, size_t limit,
                   struct memory **out, double **dist, size_t *n, struct err *err);

/* ---- pure helpers (no database), exposed for unit tests ---- */

/* 1 if needle occurs in hay as a literal substring under ASCII case folding ("" matches). */
int search_contains_ci(const char *hay, const char *needle);

#endif
