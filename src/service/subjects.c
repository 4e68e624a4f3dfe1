/* subjects.c - timeline, subject listing, subject delete. */
#include "service/subjects.h"

#include <string.h>

#include "service/webhooks.h"
#include "util/jv.h"

int subjects_timeline(struct arena *a, store *st, const char *tenant, const char *subject,
                      struct timeline *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    if (store_subject_reserved(subject))
        return 0;
    if (store_episode_list(st, a, tenant, subject, TIMELINE_LIMIT, 0, &out->episodes,
                           &out->nepisodes, err) < 0)
        return -1;
    return store_memory_list(st, a, tenant, subject, TIMELINE_LIMIT, 0, &out->memories,
                             &out->nmemories, err);
}

int subjects_list(struct arena *a, store *st, const char *tenant, size_t limit, size_t offset,
                  struct subject_count **out, size_t *n, struct err *err)
{
    return store_subject_list(st, a, tenant, limit, offset, out, n, err);
}

/* subject.deleted (spec/api.md §1.12): fired by every delete, even of nothing. */
static int record_deleted(store *st, const char *subject, int64_t episodes, int64_t memories,
                          struct err *err)
{
    struct arena *a;
    struct jv *data;
    int rc;

    if (!webhooks_enabled())
        return 0;
    a = arena_new();
    data = jv_object(a);
    jv_object_set(a, data, "subject_id", jv_str(a, subject));
    jv_object_set(a, data, "episodes_deleted", jv_int(a, episodes));
    jv_object_set(a, data, "memories_deleted", jv_int(a, memories));
    rc = webhooks_record(st, "subject.deleted", data, err);
    arena_free(a);
    return rc;
}

/* Every row of the subject in tenant: episodes and memories (counted), and unlike the
 * reference also its resolutions and health-cache row, so a reused id starts clean. */
static int delete_rows(store *st, const char *tenant, const char *subject, int64_t *episodes,
                       int64_t *memories, struct err *err)
{
    struct copy_counts n;

    if (store_subject_purge(st, tenant, subject, &n, err) < 0)
        return -1;
    *episodes = n.episodes;
    *memories = n.memories;
    return 0;
}

int subjects_delete(store *st, const char *tenant, const char *subject,
                    int64_t *episodes_deleted, int64_t *memories_deleted, struct err *err)
{
    int reserved = store_subject_reserved(subject);

    *episodes_deleted = 0;
    *memories_deleted = 0;
    if (reserved && !webhooks_enabled())
        return 0;
    if (store_tx_begin(st, err) < 0)
        return -1;
    if ((!reserved && delete_rows(st, tenant, subject, episodes_deleted, memories_deleted,
                                  err) < 0) ||
        record_deleted(st, subject, *episodes_deleted, *memories_deleted, err) < 0 ||
        store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        return -1;
    }
    webhooks_wake();
    return 0;
}
