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
/* DELETE /v1/subjects/{id}: delete everything of (tenant, subject) in one transaction and
 * record subject.deleted (even when nothing existed). */
int subjects_delete(store *st, const char *tenant, const char *subject,
                    int64_t *episodes_deleted, int64_t *memories_deleted, struct err *err);

/* ---- the admin deletes (spec/api.md §7.5) ----
 * Every one deletes (tenant, subject) pairs through the same per-pair step as
 * subjects_delete (rows, then a subject.deleted event when something was deleted), all pairs
 * in ONE transaction: on any failure nothing is deleted. */

struct subjects_deleted {
    int64_t subjects;                   /* pairs deleted */
    int64_t episodes;
    int64_t memories;
};

/* DELETE /admin/subjects/{id}?tenant_id=: every pair of subject (tenant NULL: in every
 * tenant; else that tenant's). 404 `Subject '<id>' not found` when none has episodes or
 * memories (a reserved id included). */
int subjects_admin_delete(struct arena *a, store *st, const char *subject, const char *tenant,
                          struct subjects_deleted *out, struct err *err);

/* 0 when sel (with match_all) names at least one filter, else 400 `At least one filter must
 * be set (...)`: an empty body never becomes "delete everything". */
int subjects_selector_check(const struct subject_selector *sel, int match_all,
                            struct err *err);

/* POST /admin/subjects/preview-delete: the pairs sel selects (rows in a). */
int subjects_preview_delete(struct arena *a, store *st, const struct subject_selector *sel,
                            struct subject_match_rows *out, struct err *err);

/* POST /admin/subjects/bulk-delete: in one transaction, select the pairs of sel again; 409
 * `Match count changed since preview (N now vs expected E). Re-preview before committing.`
 * when they are not `expected` many; else delete them all. */
int subjects_bulk_delete(struct arena *a, store *st, const struct subject_selector *sel,
                         int64_t expected, struct subjects_deleted *out, struct err *err);

#endif
