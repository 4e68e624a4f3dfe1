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
};

/* The timeline of q: its episodes inside the window, ordered by the time they happened
 * (occurred_at, else created_at), oldest first, at most q->limit; and the subject's oldest
 * q->limit memories of any status, as subjects_timeline gives them. A query without any
 * filter gives exactly subjects_timeline. A reserved subject gives empty lists. */
int subjects_timeline_query(struct arena *a, store *st, const struct timeline_query *q,
                            struct timeline *out, struct err *err);
int subjects_list(struct arena *a, store *st, const char *tenant, size_t limit, size_t offset,
                  struct subject_count **out, size_t *n, struct err *err);
/* ---- delete, with its receipt (README "Provable deletion") ---- */

struct subject_delete_in {
    const char *tenant;           /* NULL = the no-tenant space */
    const char *subject;
    int must_exist;               /* 1: nothing to delete (no episode, no memory) is a 404
                                   * "Subject '<id>' not found" and nothing is written (the
                                   * admin deletes, spec/api.md §7.5); 0: a zero-count delete
                                   * (DELETE /v1/subjects, §3.9) */
};

/*
 * Delete every row of (tenant, subject) (store subject_delete: episodes, memories,
 * resolutions, health cache, lineage) and record its deletion receipt, in one transaction
 * with the subject.deleted webhook event. *out gets the receipt (strings in a): a fresh id,
 * deleted_at (taken once the subject is locked, just before the delete), the counts, and the
 * digest of subjects_deletion_digest over the ids of every deleted episode, memory and
 * resolution. A reserved id deletes nothing and gets a zero-count receipt. Every call,
 * including one that deletes nothing, writes a receipt (unless must_exist refuses it).
 * Nothing is written on any failure.
 */
int subjects_delete(struct arena *a, store *st, const struct subject_delete_in *in,
                    struct deletion_receipt *out, struct err *err);

/* The digest of a deletion receipt: the lowercase hex SHA-256 of the ids (canonical
 * lower-case UUID text) sorted in ascending byte order, each followed by one "\n"; no ids
 * hash the empty string (e3b0c442...). Sorts ids in place. */
void subjects_deletion_digest(const char **ids, size_t n, char hex[DELETION_DIGEST_HEX]);

/* A receipt and whether it still holds. */
struct deletion_check {
    struct deletion_receipt receipt;
    int verified;                 /* 1: no row of the subject in the receipt's tenant created
                                   * at or before deleted_at remains */
    struct row_counts remaining;  /* such rows, per table */
};

/* The receipt id of the tenant (NULL = no tenant), checked now. 404 "Deletion receipt not
 * found" when the tenant has no such receipt (another tenant's, a malformed id). */
int subjects_deletion_get(struct arena *a, store *st, const char *tenant, const char *id,
                          struct deletion_check *out, struct err *err);

#endif
