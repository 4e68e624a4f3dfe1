/* resolutions.c - support resolutions (behavior.md §14.1). */
#include "service/resolutions.h"

#include <string.h>

#include "service/episodes.h"
#include "util/ts.h"

int resolution_status_valid(const char *s)
{
    return s &&
           (strcmp(s, "open") == 0 || strcmp(s, "resolved") == 0 || strcmp(s, "unresolved") == 0);
}

int resolutions_record(struct arena *a, store *st, const char *tenant,
                       const struct resolution_in *in, int64_t now, struct resolution *out,
                       struct err *err)
{
    if (subject_check_writable(in->subject_id, err) < 0)
        return -1;
    memset(out, 0, sizeof(*out));
    uuid_v4(out->id);
    out->subject_id = in->subject_id;
    out->tenant_id = tenant;
    out->session_id = in->session_id;
    out->status = in->status;
    out->resolution_summary = in->resolution_summary;
    out->resolved_at = strcmp(in->status, "resolved") == 0 ? now : TS_NULL;
    out->metadata = in->metadata ? in->metadata : "{}";
    out->created_at = out->updated_at = now;
    if (store_tx_begin(st, err) < 0)
        return -1;
    if (store_subject_lock(st, &(struct store_scope){ .tenant = tenant, .subject = in->subject_id },
                           err) < 0 ||
        store_resolution_upsert(st, a, out, err) < 0 || store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        return -1;
    }
    return 0;
}

int resolutions_list(struct arena *a, store *st, const char *tenant, const char *subject,
                     const char *status, struct resolution **out, size_t *n, struct err *err)
{
    struct store_scope sc = { .tenant = tenant, .subject = subject };
    struct resolution_query q = { .status = status, .limit = RESOLUTIONS_LIST_MAX };
    struct resolution_rows rows = { NULL, 0 };

    *out = NULL;
    *n = 0;
    if (store_subject_reserved(subject))
        return 0;
    if (store_resolution_query(st, a, &sc, &q, &rows, err) < 0)
        return -1;
    *out = rows.items;
    *n = rows.n;
    return 0;
}
