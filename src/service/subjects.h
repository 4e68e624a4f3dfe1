/* subjects.h - reading and deleting a subject's data: timeline, listing, delete.
 * Reserved subject ids (`_snapshot/…`, `_bootstrap_tmp/…`) behave as subjects that do not
 * exist: empty reads, zero-count deletes. */
#ifndef ENGRAM_SERVICE_SUBJECTS_H
#define ENGRAM_SERVICE_SUBJECTS_H

#include <stddef.h>

#include "store/store.h"

#define TIMELINE_LIMIT 100

struct timeline {
    struct episode *episodes;   /* oldest first, at most TIMELINE_LIMIT */
    size_t nepisodes;
    struct memory *memories;    /* oldest first, every status, at most TIMELINE_LIMIT */
    size_t nmemories;
};

int subjects_timeline(struct arena *a, store *st, const char *tenant, const char *subject,
                      struct timeline *out, struct err *err);

#define TIMELINE_LIMIT_MAX 500
#define TIMELINE_KINDS_MAX 100

/* A timeline with Engram's filters (spec/api.md §11). */
struct timeline_query {
    const char *tenant;           /* NULL = the no-tenant space */
    const char *subject;
    int64_t since, until;         /* inclusive, on occurred_at falling back to created_at;
                                   * TS_NULL = open */
    const char *const *kinds;     /* episode types to keep; nkinds 0 = every type */
    size_t nkinds;
    size_t limit;                 /* 1..TIMELINE_LIMIT_MAX; 0 = TIMELINE_LIMIT */
    int has_as_of;                /* 1: as the subject stood at as_of (spec/api.md §11):
                                   * episodes created by then, memories visible then */
    int64_t as_of;
};

/* The timeline of q: its episodes inside the window, ordered by the time they happened
 * (occurred_at, else created_at), oldest first, at most q->limit; and the subject's oldest
 * q->limit memories of any status, as subjects_timeline gives them. A query without any
 * filter gives exactly subjects_timeline. A reserved subject gives empty lists. */
int subjects_timeline_query(struct arena *a, store *st, const struct timeline_query *q,
                            struct timeline *out, struct err *err);
int subjects_list(struct arena *a, store *st, const char *tenant, size_t limit, size_t offset,
                  struct subject_count **out, size_t *n, struct err *err);
/* Delete everything of (tenant, subject) in one transaction. */
int subjects_delete(store *st, const char *tenant, const char *subject,
                    int64_t *episodes_deleted, int64_t *memories_deleted, struct err *err);

#endif
