/* labels.c - replacing a memory's sensitivity labels. */
#include "service/labels.h"

#include "util/ts.h"

int labels_replace(struct arena *a, store *st, const char *tenant, const char *id,
                   const char *labels_json, struct memory **out, struct err *err)
{
    int found = 0;

    *out = NULL;
    struct label_update u = { .tenant = tenant, .memory_id = id, .labels_json = labels_json,
                              .updated_at = ts_now() };

    if (store_memory_set_labels(st, &u, &found, err) < 0)
        return -1;
    if (!found)
        return 0;
    return store_memory_get(st, a, tenant, id, out, err);
}
