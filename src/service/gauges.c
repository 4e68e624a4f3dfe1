/* gauges.c - database gauges for GET /metrics. */
#include "service/gauges.h"

#include <string.h>

int gauges_read(struct arena *a, struct gauges *g, struct err *err)
{
    store *st = store_thread(err);
    struct webhook_stats hooks;

    memset(g, 0, sizeof(*g));
    if (!st || store_job_count_by_status(st, a, &g->jobs, err) < 0)
        return -1;
    g->jobs_ok = 1;
    if (store_webhook_stats(st, &hooks, err) < 0)
        return -1;
    g->webhook_pending = hooks.pending;
    g->webhook_ok = 1;
    return 0;
}
