/* episodes.c - recording episodes. */
#include "service/episodes.h"

#include <string.h>

#include "service/webhooks.h"
#include "util/jv.h"
#include "util/reserved.h"
#include "util/ts.h"

int subject_check_writable(const char *subject, struct err *err)
{
    const char *prefix = reserved_prefix_of(subject);

    if (prefix)
        return err_set(err, ERR_INVALID, "Subject id '%s' uses a reserved prefix (%s)",
                       subject, prefix);
    return 0;
}

/* Insert every episode; fresh[i] = 1 when eps[i] was new (not an idempotent replay). */
static int insert_all(struct arena *a, store *st, struct episode *eps, size_t n,
                      unsigned char *fresh, struct err *err)
{
    size_t i;
    int inserted;

    for (i = 0; i < n; i++) {
        if (store_episode_insert(st, a, &eps[i], &inserted, err) < 0)
            return -1;
        fresh[i] = inserted != 0;
    }
    return 0;
}

/* The webhook event of an ingest (spec/api.md §1.12) for the episodes it created: one
 * episode.created for a single ingest, one episodes.batch_created (subject ids distinct, in
 * order of first appearance) for a batch; none when every episode was a replay. */
static int record_event(struct arena *a, store *st, const struct episode *eps,
                        const unsigned char *fresh, size_t n, int batch, struct err *err)
{
    struct jv *data, *ids;
    size_t i, j, count = 0;

    if (!webhooks_enabled() || (!batch && !fresh[0]))
        return 0;
    data = jv_object(a);
    if (!batch) {
        jv_object_set(a, data, "id", jv_str(a, eps[0].id));
        jv_object_set(a, data, "subject_id", jv_str(a, eps[0].subject_id));
        return webhooks_record(st, "episode.created", data, err);
    }
    ids = jv_array(a);
    for (i = 0; i < n; i++) {
        if (!fresh[i])
            continue;
        count++;
        for (j = 0; j < jv_array_size(ids); j++) {
            if (strcmp(jv_string(jv_array_get(ids, j), NULL), eps[i].subject_id) == 0)
                break;
        }
        if (j == jv_array_size(ids))
            jv_array_append(a, ids, jv_str(a, eps[i].subject_id));
    }
    if (count == 0)
        return 0;
    jv_object_set(a, data, "count", jv_int(a, (int64_t)count));
    jv_object_set(a, data, "subject_ids", ids);
    return webhooks_record(st, "episodes.batch_created", data, err);
}

/* The first and last instants a stored timestamp column holds (years 0001 to 9999). */
#define TIME_MIN (-62135596800LL * 1000000)
#define TIME_MAX 253402300799999999LL

int episodes_parse_time(const char *s, int64_t *us)
{
    int64_t t;

    if (ts_parse(s, &t) < 0 || t < TIME_MIN || t > TIME_MAX)
        return -1;
    *us = t;
    return 0;
}

#define RECORD_ATTEMPTS 3

/* Insert the n episodes and record their event in one transaction. */
static int write_all(struct arena *a, store *st, struct episode *eps, size_t n, int batch,
                     unsigned char *fresh, struct err *err)
{
    if (store_tx_begin(st, err) < 0)
        return -1;
    if (insert_all(a, st, eps, n, fresh, err) < 0 ||
        record_event(a, st, eps, fresh, n, batch, err) < 0 || store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        return -1;
    }
    return 0;
}

/* episodes_record; batch: a POST /v1/episodes/batch, whatever n. fresh (n entries) gets
 * which episodes were new. */
static int record(struct arena *a, store *st, const char *tenant, struct episode *eps, size_t n,
                  int batch, unsigned char *fresh, struct err *err)
{
    int64_t now = ts_now();
    int attempt;
    size_t i;

    for (i = 0; i < n; i++) {
        if (subject_check_writable(eps[i].subject_id, err) < 0)
            return -1;
    }
    for (i = 0; i < n; i++) {
        uuid_v4(eps[i].id);
        eps[i].tenant_id = tenant;
        eps[i].created_at = now;
        eps[i].last_compiled_at = TS_NULL;
    }
    if (!batch && !webhooks_enabled())
        return insert_all(a, st, eps, n, fresh, err);
    for (attempt = 1;; attempt++) {
        if (write_all(a, st, eps, n, batch, fresh, err) == 0)
            break;
        /* A batch over several subjects can deadlock with another one on their
         * subject_stats rows (PostgreSQL aborts one): run it again, as it was. */
        if (attempt == RECORD_ATTEMPTS || !err->code || strcmp(err->code, STORE_RETRY_CODE))
            return -1;
        err_release(err);
        *err = (struct err)ERR_INIT;
        memset(fresh, 0, n);
    }
    webhooks_wake();
    return 0;
}

int episodes_record(struct arena *a, store *st, const char *tenant, struct episode *eps,
                    size_t n, struct err *err)
{
    return record(a, st, tenant, eps, n, n != 1, arena_calloc(a, n ? n : 1, 1), err);
}

int episodes_record_batch(struct arena *a, store *st, const char *tenant, struct episode *eps,
                          size_t n, struct err *err)
{
    return record(a, st, tenant, eps, n, 1, arena_calloc(a, n ? n : 1, 1), err);
}

int episodes_record_one(struct arena *a, store *st, const char *tenant, struct episode *ep,
                        int *duplicate, struct err *err)
{
    unsigned char fresh = 0;

    *duplicate = 0;
    if (record(a, st, tenant, ep, 1, 0, &fresh, err) < 0)
        return -1;
    *duplicate = !fresh;
    return 0;
}
