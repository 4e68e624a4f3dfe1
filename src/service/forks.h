/* forks.h - fork and diff of subjects (Engram extension, README "Fork and diff"): copy a
 * subject, as it stands or as it stood at an instant, into a new subject that remembers where
 * it came from; and compare two subjects' active memories. Try a prompt or compiler change on
 * a fork, then see exactly what it learned differently. Knows neither HTTP nor SQL.
 *
 * A subject here is one (tenant, subject) pair: tenant NULL is the no-tenant space.
 */
#ifndef ENGRAM_SERVICE_FORKS_H
#define ENGRAM_SERVICE_FORKS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define FORKS_DIFF_MAX 5000 /* active memories per side a diff compares, at most */

struct fork_in {
    const char *source_subject;
    const char *source_tenant;  /* NULL = the no-tenant space */
    const char *target_subject; /* the snapshot restore rule: 1-256 code points, not reserved */
    const char *target_tenant;  /* every copied row gets it; NULL = no tenant */
    int has_as_of;              /* 1: the source as it stood at as_of (struct subject_copy) */
    int64_t as_of;
};

struct fork_result {
    struct subject_lineage lineage; /* as recorded on the target (strings in the arena) */
    int64_t resolutions_copied;
};

/*
 * Fork: copy the source's episodes, memories and resolutions into the target in one
 * transaction, through the same set-based copy as snapshot restore (store_subject_copy): fresh
 * ids, source_episode_ids remapped, timestamps kept (with as_of: times after it clamped to it),
 * idempotency keys dropped; then record the lineage (source, as_of) on the target. Errors:
 * 400 bad or reserved target; 409 "Target subject '<id>' already has data ..." when the target
 * has episodes or memories in the target tenant; 404 "Subject '<id>' not found" when there is
 * nothing to copy (a reserved source, or no row at as_of). Nothing is written on any failure.
 */
int forks_create(struct arena *a, store *st, const struct fork_in *in, struct fork_result *out,
                 struct err *err);

/* The lineage of (tenant, subject); 404 "Subject '<id>' is not a fork" when it has none. */
int forks_lineage(struct arena *a, store *st, const char *tenant, const char *subject,
                  struct subject_lineage **out, struct err *err);

struct diff_side {
    const char *subject;
    const char *tenant; /* NULL = the no-tenant space */
};

struct diff_pair {
    const struct memory *a;
    const struct memory *b;
};

struct diff_result {
    const struct memory **only_a; /* in a's order (oldest first) */
    size_t nonly_a;
    const struct memory **only_b; /* in b's order */
    size_t nonly_b;
    struct diff_pair *changed; /* in a's order */
    size_t nchanged;
};

/*
 * Diff the active memories of a and b (each oldest first). Step 1 pairs memories of the same
 * kind whose normalised content (forks_normalise) is equal: those are the same in both and
 * are not reported. Step 2 takes each memory of a left over, in order, and pairs it with the
 * left-over memory of b of the same kind that the compiler's conflict rule would treat as the
 * same fact (the highest word-set Jaccard at or above conflicts_threshold, the earliest on a
 * tie): those pairs are `changed`. What is left is only_a and only_b. 400 when a side has
 * more than FORKS_DIFF_MAX active memories.
 */
int forks_diff(struct arena *a, store *st, const struct diff_side *x, const struct diff_side *y,
               struct diff_result *out, struct err *err);

/* Content as the diff compares it, in the arena: lower-cased (Python's str.lower, as the
 * conflict rule), each run of whitespace one space, none at either end. */
char *forks_normalise(struct arena *a, const char *content);

#endif
