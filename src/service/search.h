/* search.h - memory search (spec/behavior.md §9) and the exact nearest-neighbour query over
 * stored embeddings (§7.5) that context assembly shares. */
#ifndef ENGRAM_SERVICE_SEARCH_H
#define ENGRAM_SERVICE_SEARCH_H

#include <stddef.h>

#include "store/store.h"

#define SEARCH_LIMIT_DEFAULT 20
#define SEARCH_LIMIT_MAX 100

/* How search reads q (`mode`, an Engram extension, spec/api.md §11). */
enum search_mode {
    SEARCH_MODE_AUTO,     /* no mode sent: semantic when `semantic` is true, else text */
    SEARCH_MODE_TEXT,     /* case-insensitive substring, newest first (the reference's) */
    SEARCH_MODE_BM25,     /* ranked full text */
    SEARCH_MODE_SEMANTIC, /* = semantic=true */
    SEARCH_MODE_HYBRID,   /* BM25 and vector lists fused by reciprocal rank fusion */
};

/* The names `mode` accepts, in enum order from SEARCH_MODE_TEXT; NULL-terminated. */
extern const char *const search_mode_names[];

/* Reciprocal rank fusion's constant, and how deep each fused list is read. */
#define SEARCH_RRF_K 60
#define SEARCH_FUSE_DEPTH 100

/* One search. Designed to grow: callers fill it with designated initialisers, so a new
 * filter (a field) leaves every existing caller meaning what it meant. */
struct search_query {
    const char *subject_id;
    const char *kind;     /* NULL or "" = every kind (exact match otherwise) */
    const char *q;        /* NULL or "" = no text filter */
    int semantic;         /* 1: try the embedding path first (mode AUTO) */
    size_t limit;         /* 1..SEARCH_LIMIT_MAX */
    int has_as_of;        /* 1: as the subject stood at as_of (spec/api.md §11): the text
                           * path over the memories visible then (semantic is not used) */
    int64_t as_of;
    enum search_mode mode;
};

/* Active memories of (tenant, subject) matching sq, at most sq->limit, into *out (arena).
 * Semantic path (mode SEMANTIC, or AUTO with sq->semantic) when q is non-empty and a
 * provider exists: ascending cosine distance over the memories that have embeddings (an
 * empty result stands); any failure on that path is logged and the text path runs instead.
 * Text path: kind exact, q a literal ASCII-case-insensitive substring of content, newest
 * first. BM25 (q non-empty): the memories holding at least one of q's words
 * (search_terms), most words held first, then relevance, then newest
 * (store_memory_rank_text). HYBRID (q non-empty): the BM25 list and the semantic list (each
 * SEARCH_FUSE_DEPTH deep) fused by reciprocal rank fusion, score = sum of
 * 1 / (SEARCH_RRF_K + rank) over the lists a memory is in; ties by the best single rank, then
 * presence in the BM25 list, then id; without a provider (or when embedding q fails, logged)
 * the BM25 list alone. BM25 and HYBRID with an empty q are the text path. A reserved subject
 * id gives no rows. Returns -1 with err set when the store fails. */
int search_memories(struct arena *a, store *st, const char *tenant, const struct search_query *sq,
                    struct memory **out, size_t *n, struct err *err);

/* How many candidates per wanted row the compact scan keeps for the exact re-rank. */
#define SEARCH_RERANK_FACTOR 4

/* The §7.5 nearest-neighbour query: active memories of (tenant, subject) with embeddings
 * (kind NULL = any), ordered by cosine distance to qvec ascending, ties by list order
 * (created_at, then insertion order), at most limit (0 = all), without their embeddings.
 * *dist gets each row's distance (arena; may be NULL). Fails (ERR_INTERNAL, nothing logged)
 * when a stored vector's width differs from dim. With a limit, reads the compact codes of the
 * subject (store_memory_scan_codes, util/vcode.h), keeps the limit * SEARCH_RERANK_FACTOR
 * best by approximate distance, and orders those by their exact vectors: the answer is the
 * exact search's whenever the exact top `limit` are among those candidates (recall@10
 * against search_nearest_exact: bench/search_bench.c, docs/PERFORMANCE.md). Without a limit
 * it is search_nearest_exact. Then reads the winning rows; all in one read transaction: call
 * it outside a transaction. */
int search_nearest(struct arena *a, store *st, const char *tenant, const char *subject,
                   const char *kind, const float *qvec, size_t dim, size_t limit,
                   struct memory **out, double **dist, size_t *n, struct err *err);

/* search_nearest by reading and scoring every stored float vector: the reference the compact
 * path is measured against (bench/search_bench.c, tests). */
int search_nearest_exact(struct arena *a, store *st, const char *tenant, const char *subject,
                         const char *kind, const float *qvec, size_t dim, size_t limit,
                         struct memory **out, double **dist, size_t *n, struct err *err);

/* ---- pure helpers (no database), exposed for unit tests ---- */

/* The words of q for ranked full text, in the arena: maximal runs of ASCII letters and
 * digits and bytes >= 0x80 (so a multi-byte character stays whole), ASCII letters lowered,
 * first occurrence kept, at most STORE_RANK_TERMS_MAX. Returns how many. */
size_t search_terms(struct arena *a, const char *q, const char ***out);

/* 1 if needle occurs in hay as a literal substring under ASCII case folding ("" matches). */
int search_contains_ci(const char *hay, const char *needle);

#endif
