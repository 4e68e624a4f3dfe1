/* store-internal.h - what backends share: the generic handle they embed first. */
#ifndef ENGRAM_STORE_STORE_INTERNAL_H
#define ENGRAM_STORE_STORE_INTERNAL_H

#include "store/store.h"

struct store {
    const struct store_ops *ops;   /* the backend's table */
    int in_tx;                      /* 1 while a transaction opened by tx_begin is open */
    int broken;                     /* 1 after a connection-level failure: reconnect */
};

#endif
