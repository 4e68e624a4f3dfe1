/* episodes.c - recording episodes. */
#include "service/episodes.h"

#include <pthread.h>
#include <string.h>

#include "service/webhooks.h"
#include "util/config.h"
#include "util/jv.h"
#include "util/log.h"
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
 * Group commit (issue 22). Single-episode writes queue up and are written in groups: one
 * transaction, one commit (one WAL append, and with durable commits one fsync or WAL flush)
 * for every episode of the group. Whoever leads writes the group on its own connection while
 * the others wait: the ingest writer thread for the HTTP requests, which queue their episode
 * and give their worker thread back to its other connections until the writer wakes them
 * (episodes_record_async); or a synchronous caller (episodes_record_one, the MCP tool, tests)
 * that finds nobody leading. If any statement of a group fails, the group is rolled back and
 * its episodes are written again one transaction each, so each request still succeeds or
 * fails on its own row alone (all or nothing per request, as without grouping). A lone
 * episode is a group of one, written exactly as without the queue.
 *
 * SQLite queues always (one writer at a time anyway). PostgreSQL queues when its commits
 * wait for a WAL flush (fsync and synchronous_commit on): concurrent commits there share
 * flushes already, but each still waits for its own, and with fsync off the queue only adds
 * a hand-off (measured slower: docs/PERFORMANCE.md). STATEWAVE_INGEST_GROUP_COMMIT=on|off
 * overrides the choice.
 */
#define GROUP_MAX 256   /* episodes per shared transaction, at most */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* a group was written (synchronous waiters) */
    pthread_cond_t wcv;         /* work for the writer thread */
    struct episode_job *head, **tail;
    int leading;                /* a group is being written */
    int writer;                 /* the writer thread runs */
    int stop;                   /* the writer is asked to stop once the queue is empty */
    int queue_pg;               /* PostgreSQL: single episodes go through the queue */
    int off;                    /* STATEWAVE_INGEST_GROUP_COMMIT=off: no queue at all */
    pthread_t thread;
    struct episodes_group_stats stats;
} group = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
            .wcv = PTHREAD_COND_INITIALIZER };

/* One episode in its own transaction (with its webhook event), as record() writes it. */
static int write_one(store *st, struct episode_job *it)
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

/* Insert the n episodes of a group in the open transaction (pipelined on PostgreSQL); a
 * replayed episode's strings go to its own request's arena. */
static int insert_group(store *st, struct episode_job *items, size_t n, struct err *err)
{
    struct arena *as[GROUP_MAX];
    struct episode *eps[GROUP_MAX];
    int inserted[GROUP_MAX];
    struct episode_job *it;
    size_t k = 0;

    for (it = items; it && k < n; it = it->next, k++) {
        as[k] = it->a;
        eps[k] = it->ep;
    }
    if (store_episode_insert_group(st, as, eps, k, inserted, err) < 0)
        return -1;
    for (it = items, k = 0; it && k < n; it = it->next, k++)
        it->fresh = inserted[k] != 0;
    return 0;
}

/* Write the n items of a group on st: one transaction, else one each. A group of one is
 * written as record() writes it, its error its own. Returns the transactions committed. */
static size_t write_group(store *st, struct episode_job *items, size_t n, int *replayed)
{
    struct episode_job *it;
    struct err err = ERR_INIT;
    size_t commits = 0;
    int ok;

    if (n == 1) {
        items->rc = write_one(st, items);
        return 1;
    }
    ok = store_tx_begin(st, &err) == 0 && insert_group(st, items, n, &err) == 0;
    for (it = items; ok && it; it = it->next)
        ok = record_event(it->a, st, it->ep, &it->fresh, 1, 0, &err) == 0;
    if (ok && store_tx_commit(st, &err) == 0) {
        for (it = items; it; it = it->next)
            it->rc = 0;
        err_release(&err);
        return 1;
    }
    store_tx_rollback(st);
    err_release(&err);
    for (it = items; it; it = it->next) {
        it->fresh = 0;
        it->rc = write_one(st, it);
        commits++;
    }
    *replayed = 1;
    return commits;
}

/* Lead one group (group.mu held; held again on return): take up to GROUP_MAX items from the
 * head of the queue, write them on st, then hand each its result: a synchronous waiter is
 * marked done, a queued request is woken through its callback (outside the lock; the item may
 * be gone once it returns). */
static void lead(store *st)
{
    struct episode_job *items = group.head, *it, *next, *wake = NULL, **wtail = &wake;
    size_t n = 1, commits;
    int replayed = 0;

    group.leading = 1;
    for (it = items; it->next && n < GROUP_MAX; it = it->next)
        n++;
    group.head = it->next;
    it->next = NULL;
    if (!group.head)
        group.tail = &group.head;
    pthread_mutex_unlock(&group.mu);
    commits = write_group(st, items, n, &replayed);
    if (webhooks_enabled())
        webhooks_wake();
    pthread_mutex_lock(&group.mu);
    group.stats.commits += commits;
    group.stats.replays += (unsigned long long)replayed;
    group.stats.groups++;
    group.stats.episodes += n;
    if (n > group.stats.largest)
        group.stats.largest = n;
    for (it = items; it; it = next) {
        next = it->next;
        if (it->done) {            /* queued: woken below, after the lock */
            *wtail = it;
            wtail = &it->next;
            it->next = NULL;
        } else {
            it->finished = 1;      /* a synchronous waiter may free it from now on */
        }
    }
    group.leading = 0;
    pthread_cond_broadcast(&group.cv);
    if (group.head && group.writer)
        pthread_cond_signal(&group.wcv);
    pthread_mutex_unlock(&group.mu);
    for (it = wake; it; it = next) {
        next = it->next;
        it->done(it);
    }
    pthread_mutex_lock(&group.mu);
}

/* Append it to the queue (group.mu held). */
static void enqueue(struct episode_job *it)
{
    it->next = NULL;
    if (!group.head)
        group.tail = &group.head;
    *group.tail = it;
    group.tail = &it->next;
}

/* Record *ep through the group commit queue, waiting for its group; fresh as in record(). */
static int record_grouped(struct arena *a, store *st, struct episode *ep, unsigned char *fresh,
                          struct err *err)
{
    struct episode_job me = { .a = a, .ep = ep, .rc = -1, .err = ERR_INIT };

    pthread_mutex_lock(&group.mu);
    enqueue(&me);
    if (group.writer)
        pthread_cond_signal(&group.wcv);
    while (!me.finished) {
        if (group.leading)
            pthread_cond_wait(&group.cv, &group.mu);
        else
            lead(st);   /* ours among the first GROUP_MAX, or the loop leads again */
    }
    pthread_mutex_unlock(&group.mu);
    *fresh = me.fresh;
    if (me.rc < 0) {
        *err = me.err;
        return -1;
    }
    return 0;
}

/* The ingest writer: leads a group whenever the queue holds episodes and nobody leads. */
static void *writer_main(void *arg)
{
    struct err err = ERR_INIT;
    store *st;

    (void)arg;
    pthread_mutex_lock(&group.mu);
    for (;;) {
        while (!(group.head && !group.leading) && !(group.stop && !group.head))
            pthread_cond_wait(&group.wcv, &group.mu);
        if (!group.head)
            break;
        pthread_mutex_unlock(&group.mu);
        st = store_thread(&err);
        pthread_mutex_lock(&group.mu);
        if (!st) {   /* no connection: every queued request fails with the reason */
            struct episode_job *it = group.head, *next;

            group.head = NULL;
            group.tail = &group.head;
            pthread_mutex_unlock(&group.mu);
            for (; it; it = next) {
                next = it->next;
                it->rc = -1;
                it->err = err;   /* a connection error: no details to share */
                it->done(it);
            }
            err_release(&err);
            err = (struct err)ERR_INIT;
            pthread_mutex_lock(&group.mu);
            continue;
        }
        lead(st);
    }
    pthread_mutex_unlock(&group.mu);
    store_thread_drop();
    return NULL;
}

int episodes_writer_start(struct err *err)
{
    int mode = cfg ? cfg->ingest_group_commit : -1;
    store *st = store_thread(err);
    int durable = mode == 1;

    if (!st)
        return -1;
    __atomic_store_n(&group.off, mode == 0, __ATOMIC_RELAXED);
    if (mode == 0) {
        log_write(LOG_INFO, "single-episode group commit: off (STATEWAVE_INGEST_GROUP_COMMIT)");
        return 0;
    }
    if (strcmp(store_backend_name(st), "sqlite") != 0) {
        if (mode < 0 && store_commits_flush(st, &durable, err) < 0)
            return -1;
        __atomic_store_n(&group.queue_pg, durable, __ATOMIC_RELAXED);
        log_write(LOG_INFO, "single-episode group commit: %s",
                  mode > 0   ? "on (STATEWAVE_INGEST_GROUP_COMMIT)"
                  : durable ? "on (PostgreSQL commits wait for a WAL flush)"
                            : "off (PostgreSQL commits do not flush: fsync or "
                              "synchronous_commit is off)");
    }
    pthread_mutex_lock(&group.mu);
    group.stop = 0;
    group.writer = pthread_create(&group.thread, NULL, writer_main, NULL) == 0;
    pthread_mutex_unlock(&group.mu);
    if (!group.writer)
        return err_set(err, ERR_INTERNAL, "cannot start the ingest writer thread");
    return 0;
}

void episodes_writer_stop(void)
{
    pthread_mutex_lock(&group.mu);
    if (!group.writer) {
        pthread_mutex_unlock(&group.mu);
        return;
    }
    group.stop = 1;
    pthread_cond_signal(&group.wcv);
    pthread_mutex_unlock(&group.mu);
    pthread_join(group.thread, NULL);
    pthread_mutex_lock(&group.mu);
    group.writer = 0;
    __atomic_store_n(&group.queue_pg, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&group.mu);
}

void episodes_group_stats(struct episodes_group_stats *out)
{
    pthread_mutex_lock(&group.mu);
    *out = group.stats;
    pthread_mutex_unlock(&group.mu);
}

/* Single episodes of st's backend go through the queue. */
static int grouped(store *st)
{
    if (__atomic_load_n(&group.off, __ATOMIC_RELAXED))
        return 0;
    return strcmp(store_backend_name(st), "sqlite") == 0 ||
           __atomic_load_n(&group.queue_pg, __ATOMIC_RELAXED);
}

/* The id, tenant and created_at of n episodes about to be written, after the reserved-prefix
 * check. */
static int stamp(const char *tenant, struct episode *eps, size_t n, struct err *err)
{
    int64_t now = ts_now();
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
    return 0;
}

static int record(struct arena *a, store *st, const char *tenant, struct episode *eps, size_t n,
                  int batch, unsigned char *fresh, struct err *err);

int episodes_record_async(store *st, const char *tenant, struct episode_job *job,
                          struct err *err)
{
    unsigned char fresh = 0;
    int queue;

    pthread_mutex_lock(&group.mu);
    queue = group.writer && !group.stop && grouped(st);
    pthread_mutex_unlock(&group.mu);
    if (!queue) {   /* no writer (a tool without the service loop), or not queued here */
        if (record(job->a, st, tenant, job->ep, 1, 0, &fresh, err) < 0)
            return -1;
        job->fresh = fresh;
        job->rc = 0;
        return 0;
    }
    if (stamp(tenant, job->ep, 1, err) < 0)
        return -1;
    pthread_mutex_lock(&group.mu);
    if (group.writer && !group.stop) {
        job->rc = -1;
        job->finished = 0;
        enqueue(job);
        if (!group.leading)
            pthread_cond_signal(&group.wcv);
        pthread_mutex_unlock(&group.mu);
        return 1;
    }
    pthread_mutex_unlock(&group.mu);
    /* The writer stopped in between: lead a group here. */
    if (record_grouped(job->a, st, job->ep, &fresh, err) < 0)
        return -1;
    job->fresh = fresh;
    job->rc = 0;
    return 0;
}

/* episodes_record; batch: a POST /v1/episodes/batch, whatever n. fresh (n entries) gets
 * which episodes were new. */
static int record(struct arena *a, store *st, const char *tenant, struct episode *eps, size_t n,
                  int batch, unsigned char *fresh, struct err *err)
{
    int attempt;

    if (stamp(tenant, eps, n, err) < 0)
        return -1;
    if (!batch && n == 1 && grouped(st))
        return record_grouped(a, st, eps, fresh, err);
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
