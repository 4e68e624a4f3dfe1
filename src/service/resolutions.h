/* resolutions.h - support resolutions (spec/api.md §4.1, behavior.md §14.1): one row per
 * (tenant, subject, session), created or updated by an upsert, listed newest first. */
#ifndef ENGRAM_SERVICE_RESOLUTIONS_H
#define ENGRAM_SERVICE_RESOLUTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define RESOLUTIONS_LIST_MAX 50     /* GET /v1/resolutions returns at most this many */
#define RESOLUTION_SUMMARY_MAX 2000 /* code points */

/* A validated POST /v1/resolutions body. */
struct resolution_in {
    const char *subject_id;
    const char *session_id;
    const char *status;             /* open | resolved | unresolved */
    const char *resolution_summary; /* NULL = none */
    const char *metadata;           /* compact JSON object text */
};

/* 1 if s is open, resolved or unresolved. */
int resolution_status_valid(const char *s);

/* Create or update the resolution of (tenant, in->subject_id, in->session_id) at now, in one
 * transaction: status, summary and metadata replaced, resolved_at = now when the status is
 * resolved (else NULL), updated_at = now; a new row gets a fresh id and created_at = now.
 * *out is the stored row (strings in a). A reserved subject id is refused (400). */
int resolutions_record(struct arena *a, store *st, const char *tenant,
                       const struct resolution_in *in, int64_t now, struct resolution *out,
                       struct err *err);

/* The resolutions of (tenant, subject), newest updated_at first, at most
 * RESOLUTIONS_LIST_MAX; status NULL = every status. A reserved subject has none. */
int resolutions_list(struct arena *a, store *st, const char *tenant, const char *subject,
                     const char *status, struct resolution **out, size_t *n, struct err *err);

#endif
