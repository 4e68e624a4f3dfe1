/* labels.c - replacing a memory's sensitivity labels. */
#include "service/labels.h"

#include "util/ts.h"

int labels_replace(struct arena *a, store *st, const char *tenant, const char *id,
                   const char *labels_json, struct memory **out, struct err *err)
{
    int found = 0;

    *out = NULL;
    if (store_memory_set_labels(st,
                                &(struct label_update){ .tenant = tenant, .memory_id = id,
                                                        .labels_json = labels_json,
                                                        .updated_at = ts_now() },
                                &found, err) < 0)
        return -1;
    if (!found)
        return 0;
    return store_memory_get(st, a, tenant, id, out, err);
}
