/* conflicts.h - conflict resolution after every compile (spec/behavior.md §6): among a
 * subject's active memories of one kind, an older memory is superseded by the first newer one
 * whose lower-cased word set is similar enough (Jaccard >= 0.6 for profile_fact, >= 0.8 for
 * every other kind). Tenant-scoped (DESIGN.md strict isolation). */
#ifndef ENGRAM_SERVICE_CONFLICTS_H
#define ENGRAM_SERVICE_CONFLICTS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define CONFLICTS_LOAD_MAX 500   /* active memories considered, oldest first (a quirk kept) */

/* Jaccard similarity |A∩B| / |A∪B| of tokset(a) and tokset(b): the sets of words of
 * split(lower(s)), lower() being Python's str.lower() (utf8_lower). Returns -1 when either set
 * is empty: no conflict is possible. */
double conflicts_jaccard(struct arena *a, const char *x, const char *y);

/* The word set of one text as the conflict rule sees it (tokset(s) above), in the arena: for
 * callers that compare one text with many (the subject diff) without splitting it again. */
struct conflicts_words;
struct conflicts_words *conflicts_words(struct arena *a, const char *s);
/* conflicts_jaccard of two such sets. */
double conflicts_words_jaccard(const struct conflicts_words *x,
                               const struct conflicts_words *y);
/* The Jaccard at or above which two memories of kind state the same fact (0.6 for
 * profile_fact, 0.8 for every other kind). */
double conflicts_threshold(const char *kind);

/* The pure core. mems are active memories in load order: created_at ascending, ties by
 * insertion order. Every superseded memory is changed in place (status "superseded",
 * valid_to = the newer memory's valid_from, or now when that is TS_NULL; updated_at = now)
 * and flagged in superseded[i] when superseded is not NULL. Scratch space comes from a.
 * Returns the number superseded. */
size_t conflicts_resolve_list(struct arena *a, struct memory *mems, size_t n, int64_t now,
                              unsigned char *superseded);

/* Load (tenant, subject)'s active memories (at most CONFLICTS_LOAD_MAX, oldest first),
 * resolve them and write every supersede, inside the caller's transaction. *out (arena) gets
 * the superseded memories as they now stand, so the caller can update its own copies.
 * Returns -1 with err set on a store failure (the caller rolls back). */
int conflicts_resolve(struct arena *a, store *st, const char *tenant, const char *subject,
                      int64_t now, struct memory **out, size_t *nout, struct err *err);

#endif
