/* store_fault.c - what both backends share about failing: the classified "database cannot
 * serve" errors (503 with a code that says why) and the test-only fault injection hook that
 * fails the Nth statement a thread runs (SQLite's DO_OS_MALLOC_TEST in spirit). */
#include "store/store-internal.h"

_Thread_local int store_fault_armed;

static _Thread_local long fault_nth;             /* statement to fail, counted from arming */
static _Thread_local long fault_seen;            /* statements run since arming */
static _Thread_local enum store_fault fault_kind;

void store_fault_arm(long nth, enum store_fault kind)
{
    fault_nth = nth;
    fault_seen = 0;
    fault_kind = kind;
    store_fault_armed = nth > 0 && kind != STORE_FAULT_NONE;
}

void store_fault_disarm(void)
{
    store_fault_armed = 0;
    fault_nth = 0;
}

int store_fault_fired(void)
{
    return fault_nth > 0 && !store_fault_armed;
}

enum store_fault store_fault_slow(void)
{
    if (++fault_seen < fault_nth)
        return STORE_FAULT_NONE;
    store_fault_armed = 0;   /* one shot: the rollback that follows must run */
    return fault_kind;
}

int store_fail_unavailable(struct err *err, enum store_down why)
{
    switch (why) {
    case STORE_DOWN_FULL:
        return err_set_code(err, ERR_UNAVAILABLE, "database_full",
                            "The database is out of space; writes are refused until space "
                            "is freed.");
    case STORE_DOWN_READONLY:
        return err_set_code(err, ERR_UNAVAILABLE, "database_readonly",
                            "The database is read-only; writes are refused.");
    case STORE_DOWN_UNREACHABLE:
        break;
    }
    return err_set_code(err, ERR_UNAVAILABLE, "service_unavailable",
                        "The database is unavailable; retry shortly.");
}
