/* episodes.c - recording episodes. */
#include "service/episodes.h"

#include <pthread.h>
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

/*
 * Group commit (SQLite, issue 22). Single-episode requests that arrive while another is
 * committing queue up; the first request that finds no commit running leads: it takes the
 * whole queue, inserts every episode in one transaction on its own connection and commits
 * once (one WAL append, and under STATEWAVE_SQLITE_SYNCHRONOUS=full one fsync, for all),
 * then hands each waiter its result. A lone request is a group of one. If any insert of a
 * group fails, the group is rolled back and the leader replays its episodes one transaction
 * each, so each request still succeeds or fails on its own row alone (all or nothing per
 * request, as without grouping). PostgreSQL already shares WAL flushes among concurrent
 * commits (and measured slower with this queue: docs/PERFORMANCE.md), so it does not use it.
 */
#define GROUP_MAX 256   /* episodes per shared transaction, at most */

struct group_item {
    struct arena *a;            /* the waiting request's arena (it is blocked meanwhile) */
    struct episode *ep;
    unsigned char fresh;
    int rc;
    struct err err;
    int done;
    struct group_item *next;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct group_item *head, **tail;
    int leading;                /* a group is being written */
} group = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0 };

/* One episode in its own transaction (with its webhook event), as record() writes it. */
static int write_one(store *st, struct group_item *it)
{
    if (!webhooks_enabled())   /* one statement: autocommit is its transaction */
        return insert_all(it->a, st, it->ep, 1, &it->fresh, &it->err);
    if (store_tx_begin(st, &it->err) < 0)
        return -1;
    if (insert_all(it->a, st, it->ep, 1, &it->fresh, &it->err) < 0 ||
        record_event(it->a, st, it->ep, &it->fresh, 1, 0, &it->err) < 0 ||
        store_tx_commit(st, &it->err) < 0) {
        store_tx_rollback(st);
        return -1;
    }
    return 0;
}

/* Write the n items of a group on st: one transaction, else one each. A group of one is
 * written as record() writes it, its error its own. */
static void write_group(store *st, struct group_item *items, size_t n)
{
    struct group_item *it;
    struct err err = ERR_INIT;
    int ok;

    if (n == 1) {
        items->rc = write_one(st, items);
        return;
    }
    ok = store_tx_begin(st, &err) == 0;
    for (it = items; ok && it; it = it->next) {
        ok = insert_all(it->a, st, it->ep, 1, &it->fresh, &err) == 0 &&
             record_event(it->a, st, it->ep, &it->fresh, 1, 0, &err) == 0;
    }
    if (ok && store_tx_commit(st, &err) == 0) {
        for (it = items; it; it = it->next)
            it->rc = 0;
        err_release(&err);
        return;
    }
    store_tx_rollback(st);
    err_release(&err);
    for (it = items; it; it = it->next)
        it->rc = write_one(st, it);
}

/* Record *ep through the group commit queue; fresh as in record(). */
static int record_grouped(struct arena *a, store *st, struct episode *ep, unsigned char *fresh,
                          struct err *err)
{
    struct group_item me = { .a = a, .ep = ep, .rc = -1, .err = ERR_INIT };

    pthread_mutex_lock(&group.mu);
    if (!group.head)
        group.tail = &group.head;
    *group.tail = &me;
    group.tail = &me.next;
    while (!me.done) {
        struct group_item *items, *it, *rest;
        size_t n = 0;

        if (group.leading) {
            pthread_cond_wait(&group.cv, &group.mu);
            continue;
        }
        /* Lead: take up to GROUP_MAX items from the head of the queue (ours among them
         * unless more than GROUP_MAX wait ahead of it; then the loop leads again). */
        group.leading = 1;
        items = group.head;
        for (it = items; it->next && n + 1 < GROUP_MAX; it = it->next)
            n++;
        rest = it->next;
        it->next = NULL;
        group.head = rest;
        if (!rest)
            group.tail = &group.head;
        pthread_mutex_unlock(&group.mu);
        write_group(st, items, n + 1);
        pthread_mutex_lock(&group.mu);
        for (it = items; it; it = it->next)
            it->done = 1;
        group.leading = 0;
        pthread_cond_broadcast(&group.cv);
    }
    pthread_mutex_unlock(&group.mu);
    *fresh = me.fresh;
    if (me.rc < 0) {
        *err = me.err;
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
    if (!batch && n == 1 && strcmp(store_backend_name(st), "sqlite") == 0) {
        if (record_grouped(a, st, eps, fresh, err) < 0)
            return -1;
        if (webhooks_enabled())
            webhooks_wake();
        return 0;
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
