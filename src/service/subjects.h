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
int subjects_list(struct arena *a, store *st, const char *tenant, size_t limit, size_t offset,
                  struct subject_count **out, size_t *n, struct err *err);
/* Delete everything of (tenant, subject) in one transaction. */
int subjects_delete(store *st, const char *tenant, const char *subject,
                    int64_t *episodes_deleted, int64_t *memories_deleted, struct err *err);

#endif
