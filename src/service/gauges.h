/* gauges.h - the values GET /metrics reads from the database at scrape time: compile jobs per
 * status (every tenant) and the webhook backlog. */
#ifndef ENGRAM_SERVICE_GAUGES_H
#define ENGRAM_SERVICE_GAUGES_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct gauges {
    struct status_count_rows jobs; /* compile jobs per status (arena); only when jobs_ok */
    int jobs_ok;             /* 0: the query failed */
    int64_t webhook_pending; /* webhook events waiting for delivery; only when webhook_ok */
    int webhook_ok;          /* 0: the query failed (or was not tried) */
};

/* Fill *g on the calling thread's store connection (rows in arena a). Returns 0 when every
 * query worked; -1 with err set when one failed, whose gauge is then left out (_ok = 0). */
int gauges_read(struct arena *a, struct gauges *g, struct err *err);

#endif
