/* store-internal.h - what backends share: the generic handle they embed first, the
 * classified errors and the test-only fault injection hook (store_fault.c). */
#ifndef ENGRAM_STORE_STORE_INTERNAL_H
#define ENGRAM_STORE_STORE_INTERNAL_H

#include "store/store.h"

struct store {
    const struct store_ops *ops;   /* the backend's table */
    int in_tx;                      /* 1 while a transaction opened by tx_begin is open */
    int broken;                     /* 1 after a connection-level failure: reconnect */
    int replica;                    /* 1 on a read replica's connection: cache writes are
                                     * skipped (store_qcache_put), a context receipt goes
                                     * to the primary (store_receipt_insert) */
};

/* "Own transaction when none is open", for ops that write several statements: store_tx_enter()
 * begins a transaction unless the caller already has one open, and sets *own to say which.
 * store_tx_leave() ends what store_tx_enter() began: with ret < 0 it rolls back (only its
 * own) and returns -1; otherwise it commits its own and returns the commit's result. Inside a
 * caller's transaction the caller commits or rolls back, so a failure still leaves nothing
 * written. Both work through the backend's tx_begin / tx_commit / tx_rollback.
 *
 *     if (store_tx_enter(st, &own, err) < 0)
 *         return -1;
 *     ret = do_the_writes(s, err);
 *     return store_tx_leave(st, own, ret, err);
 */
int store_tx_enter(store *st, int *own, struct err *err);
/* Close st in store_shutdown() with the connections of store_thread(). */
void store_track(store *st);
/* Undo store_track (before closing st yourself). */
void store_untrack(store *st);
int store_tx_leave(store *st, int own, int ret, struct err *err);

/* ---- why the database cannot serve ----
 * A failure that is the database's state, not the request's or ours: the API answers 503
 * with Retry-After and a code that says why, never 500. */
enum store_down {
    STORE_DOWN_UNREACHABLE,   /* connection refused or lost, server shutting down:
                               * "service_unavailable" */
    STORE_DOWN_FULL,          /* SQLITE_FULL, SQLSTATE 53100 disk_full: "database_full" */
    STORE_DOWN_READONLY,      /* SQLITE_READONLY, SQLSTATE 25006: "database_readonly" */
};

/* Fill err with ERR_UNAVAILABLE and the code and message of why; returns -1. */
int store_fail_unavailable(struct err *err, enum store_down why);

/* ---- fault injection (tests) ----
 * Both backends ask store_fault_next() before each statement they run (SQLite: every step
 * of sq_step; PostgreSQL: every exec, streamed query, pipelined batch); when it answers a
 * fault the statement is not run and fails as that fault would (SQLite: SQLITE_FULL,
 * SQLITE_IOERR or SQLITE_READONLY; PostgreSQL: a failed exec classified the same way).
 * Armed per thread, so only the test's own statements count. Disarmed it costs one load of a
 * thread-local and one predictable branch. */
enum store_fault {
    STORE_FAULT_NONE = 0,
    STORE_FAULT_FULL,         /* disk full */
    STORE_FAULT_IOERR,        /* an I/O error: a 500 */
    STORE_FAULT_READONLY,     /* the database refuses writes */
};

extern _Thread_local int store_fault_armed;   /* 1 while a fault waits; read by the hook */

/* Fail the nth statement this thread runs from now on (1 = the next) with kind, once; the
 * statements after it run normally (so a rollback can). nth <= 0 disarms. */
void store_fault_arm(long nth, enum store_fault kind);
void store_fault_disarm(void);
/* 1 once the armed fault has been delivered (since the last store_fault_arm). */
int store_fault_fired(void);
/* The hook's slow path: counts the statement; the fault when it is the nth. */
enum store_fault store_fault_slow(void);

static inline enum store_fault store_fault_next(void)
{
    if (__builtin_expect(!store_fault_armed, 1))
        return STORE_FAULT_NONE;
    return store_fault_slow();
}

/* The usage op's one result row, v[0..18] (episodes, memories, compile jobs, webhook events:
 * today, 7d, 30d, total each; then the active subjects 7d, 30d, total), into *out; and the
 * overview op's, v[0..6] in struct overview_counts order. Both backends select them so. */
void store_usage_from_row(struct usage_report *out, const int64_t *v);
void store_overview_from_row(struct overview_counts *out, const int64_t *v);

/* The explorer's page statements (GET /admin/subjects), indexed [sort][descending][variant]
 * with the variant 2 * (a search through the subject-id index) + (a health filter). Each
 * backend names its statements SQL_LIST_<ORDER>_<ASC|DESC>[_SEARCH][_HEALTH]. */
#define EXPLORER_LIST_VARIANTS(n) { n, n##_HEALTH, n##_SEARCH, n##_SEARCH_HEALTH }
#define EXPLORER_LIST_TABLE                                                                  \
    {                                                                                        \
        [EXPLORER_SORT_LAST_ACTIVITY] = { EXPLORER_LIST_VARIANTS(SQL_LIST_LAST_ASC),         \
                                          EXPLORER_LIST_VARIANTS(SQL_LIST_LAST_DESC) },      \
        [EXPLORER_SORT_SUBJECT] = { EXPLORER_LIST_VARIANTS(SQL_LIST_SUBJECT_ASC),            \
                                    EXPLORER_LIST_VARIANTS(SQL_LIST_SUBJECT_DESC) },         \
        [EXPLORER_SORT_EPISODES] = { EXPLORER_LIST_VARIANTS(SQL_LIST_EPISODES_ASC),          \
                                     EXPLORER_LIST_VARIANTS(SQL_LIST_EPISODES_DESC) },       \
        [EXPLORER_SORT_MEMORIES] = { EXPLORER_LIST_VARIANTS(SQL_LIST_MEMORIES_ASC),          \
                                     EXPLORER_LIST_VARIANTS(SQL_LIST_MEMORIES_DESC) },       \
    }

#endif
