/* cleanup.c - stale ephemeral subjects (spec/backup-snapshots.md §7): the one-transaction
 * cleanup, and the background loop.
 *
 * The loop is one thread that sleeps on a condition variable for the interval, so shutdown
 * wakes it at once. Each pass runs only in the process that wins store_maintenance_trylock()
 * (PostgreSQL: an advisory lock shared by every process on the database; SQLite: always
 * granted, its single writer lock already serialises passes). Flag off: no thread at all
 * (§7.4 ENG: the reference deletes `live_*` subjects even then).
 */
#include "service/cleanup.h"

#include <string.h>
#include <time.h>

#include "util/config.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/worker.h"

#define SEC INT64_C(1000000)
#define HOUR (3600 * SEC)
#define PURGE_BATCH 1000              /* candidates fetched per round of a real cleanup */
#define DRY_RUN_SCAN ((size_t)1 << 30) /* candidates a dry run counts: all, in practice */

int64_t cleanup_cutoff(int64_t now, int64_t max_age_hours)
{
    int64_t age;

    if (max_age_hours <= 0)
        return now;
    if (max_age_hours > INT64_MAX / HOUR)
        return CLEANUP_FAR_PAST;
    age = max_age_hours * HOUR;
    return now < CLEANUP_FAR_PAST + age ? CLEANUP_FAR_PAST : now - age;
}

/* At most limit candidates of the request, older than cutoff. */
static int candidates(struct arena *a, store *st, const struct cleanup_in *in, int64_t cutoff,
                      size_t limit, struct subject_ref_rows *out, struct err *err)
{
    const struct cleanup_query q = { .prefix = in->prefix, .tenant = in->tenant,
                                     .all_tenants = in->all_tenants, .cutoff = cutoff,
                                     .limit = limit };

    return store_cleanup_candidates(st, a, &q, out, err);
}

/* Count the candidates and keep the first CLEANUP_LIST_MAX. */
static int dry_run(struct arena *a, store *st, const struct cleanup_in *in, int64_t cutoff,
                   struct cleanup_result *out, struct err *err)
{
    struct subject_ref_rows refs;
    size_t n;

    if (candidates(a, st, in, cutoff, DRY_RUN_SCAN, &refs, err) < 0)
        return -1;
    n = refs.n;
    out->subjects_cleaned = (int64_t)n;
    out->subjects = refs.items;
    out->nsubjects = n < CLEANUP_LIST_MAX ? n : CLEANUP_LIST_MAX;
    return 0;
}

/* Purge one round of candidates; *more = 1 when another round may find more. No deletion
 * receipts (README "Provable deletion"): the cleanup sweeps ephemeral subjects by prefix for
 * the operator, it answers no erasure request, and nobody would be handed the receipt. */
static int purge_round(struct arena *a, store *st, const struct cleanup_in *in, int64_t cutoff,
                       int64_t *cleaned, int *more, struct err *err)
{
    struct subject_ref_rows refs;
    struct row_counts gone;
    int64_t rows = 0;
    size_t n, i;

    *more = 0;
    if (candidates(a, st, in, cutoff, PURGE_BATCH, &refs, err) < 0)
        return -1;
    n = refs.n;
    for (i = 0; i < n; i++) {
        const struct subject_ref *ref = &refs.items[i];

        if (store_subject_delete(st,
                                 &(struct store_scope){ .tenant = ref->tenant_id,
                                                        .subject = ref->subject_id },
                                 &gone, err) < 0)
            return -1;
        rows += gone.episodes + gone.memories;
    }
    *cleaned += (int64_t)n;
    /* A full round that removed no episode or memory would find the same pairs again. */
    *more = n == PURGE_BATCH && rows > 0;
    return 0;
}

static int purge_all(struct arena *a, store *st, const struct cleanup_in *in, int64_t cutoff,
                     struct cleanup_result *out, struct err *err)
{
    int more = 1;

    if (store_tx_begin(st, err) < 0)
        return -1;
    while (more) {
        if (purge_round(a, st, in, cutoff, &out->subjects_cleaned, &more, err) < 0) {
            store_tx_rollback(st);
            out->subjects_cleaned = 0;
            return -1;
        }
    }
    if (store_tx_commit(st, err) < 0) {
        store_tx_rollback(st);
        out->subjects_cleaned = 0;
        return -1;
    }
    return 0;
}

int cleanup_run(struct arena *a, store *st, const struct cleanup_in *in, int64_t now,
                struct cleanup_result *out, struct err *err)
{
    int64_t cutoff;

    memset(out, 0, sizeof(*out));
    if (!in->prefix || !*in->prefix)
        return err_set(err, ERR_INVALID, "prefix must not be empty");
    cutoff = cleanup_cutoff(now, in->max_age_hours);
    if (in->dry_run)
        return dry_run(a, st, in, cutoff, out, err);
    return purge_all(a, st, in, cutoff, out, err);
}

/* ---- the background loop ---- */

static struct worker loop = WORKER_INIT;

static void run_cleanup(struct arena *a, store *st)
{
    struct cleanup_in in = { cfg->cleanup_prefix, cfg->cleanup_max_age_hours, 1, NULL, 0 };
    struct cleanup_result res;
    struct err err = ERR_INIT;

    if (cleanup_run(a, st, &in, ts_now(), &res, &err) < 0)
        log_write(LOG_WARN, "cleanup pass failed: %s", err.msg);
    else
        log_write(LOG_INFO, "cleanup pass: %lld subjects removed (prefix '%s', older than "
                  "%d hours)", (long long)res.subjects_cleaned, in.prefix,
                  cfg->cleanup_max_age_hours);
    err_release(&err);
}

/* One pass: the lock, the cleanup, the unlock. A connection that cannot be unlocked is
 * dropped, which releases a session lock on PostgreSQL. */
static void pass(struct arena *a)
{
    struct err err = ERR_INIT;
    int acquired = 0;
    store *st = store_thread(&err);

    if (!st || store_maintenance_trylock(st, &acquired, &err) < 0) {
        log_write(LOG_WARN, "cleanup pass skipped: %s", err.msg);
        goto cleanup;
    }
    if (!acquired) {
        log_write(LOG_DEBUG, "cleanup pass skipped: another process holds the lock");
        goto cleanup;
    }
    run_cleanup(a, st);
    if (store_maintenance_unlock(st, &err) < 0) {
        log_write(LOG_WARN, "cleanup: releasing the maintenance lock failed: %s", err.msg);
        store_thread_drop();
    }
cleanup:
    err_release(&err);
}

static void loop_main(struct worker *w, int slot)
{
    struct arena *a = arena_new();
    int64_t interval = (int64_t)cfg->cleanup_interval * SEC, next;
    unsigned long seen;

    (void)slot;
    next = ts_monotonic() + interval;
    while (!worker_stopping(w, &seen)) {
        int64_t now = ts_monotonic();

        if (now < next) {
            worker_sleep(w, seen, next - now);
            continue;
        }
        next = now + interval;
        arena_reset(a);
        pass(a);
    }
    arena_free(a);
    store_thread_drop();
}

int cleanup_loop_start(struct err *err)
{
    if (worker_running(&loop) || !cfg || !cfg->enable_snapshots)
        return 0;
    if (worker_start(&loop, 1, loop_main) < 0)
        return err_set(err, ERR_INTERNAL, "cannot start the cleanup thread");
    log_write(LOG_INFO, "cleanup loop: every %d s, prefix '%s', older than %d hours",
              cfg->cleanup_interval, cfg->cleanup_prefix, cfg->cleanup_max_age_hours);
    return 0;
}

void cleanup_loop_stop(void)
{
    worker_stop(&loop);
}
