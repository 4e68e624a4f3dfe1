/* store-internal.h - what backends share: the generic handle they embed first, the
 * classified errors and the test-only fault injection hook (store_fault.c). */
#ifndef ENGRAM_STORE_STORE_INTERNAL_H
#define ENGRAM_STORE_STORE_INTERNAL_H

#include "store/store.h"

struct store {
    const struct store_ops *ops;   /* the backend's table */
    int in_tx;                      /* 1 while a transaction opened by tx_begin is open */
    int broken;                     /* 1 after a connection-level failure: reconnect */
};

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

#endif
