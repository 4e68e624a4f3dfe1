/* store-internal.h - what backends share: the generic handle they embed first. */
#ifndef ENGRAM_STORE_STORE_INTERNAL_H
#define ENGRAM_STORE_STORE_INTERNAL_H

#include "store/store.h"

struct store {
    const struct store_ops *ops;   /* the backend's table */
    int in_tx;                      /* 1 while a transaction opened by tx_begin is open */
    int broken;                     /* 1 after a connection-level failure: reconnect */
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
int store_tx_leave(store *st, int own, int ret, struct err *err);

#endif
