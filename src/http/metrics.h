/* metrics.h - process counters for GET /metrics, in the Prometheus text format (0.0.4).
 *
 * Counting is lock-free: one relaxed atomic add per finished request into arrays indexed by
 * the route's position in the static route table (requests answered before routing, or by
 * no route, count under route "unmatched" with their method). Gauges that live in the
 * database (compile jobs, the webhook backlog) are read by the caller at scrape time and
 * passed to metrics_render.
 */
#ifndef ENGRAM_HTTP_METRICS_H
#define ENGRAM_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "http/router.h"
#include "util/buf.h"

#define METRICS_MAX_ROUTES 128   /* routes past this many count as "unmatched" */

/* Remember the route table requests are matched against (the first table given wins; later
 * calls cost one atomic load). Call before metrics_observe can see a routed request. */
void metrics_bind_routes(const struct route *routes, size_t n);
/* Count one finished request: its route, method, status and duration (requests that never
 * got a response are not counted). */
void metrics_observe(const struct req *req);
/* A request refused with 429 by the rate limiter. */
void metrics_count_rate_limited(void);
/* A request answered 500 internal_error (in practice, a store failure). */
void metrics_count_db_error(void);

/* A compile-job status and the number of jobs in it. */
struct metrics_job_count {
    const char *status;
    int64_t count;
};

/* Values read from the database at scrape time (by the caller, through the service layer);
 * a gauge whose query failed is left out. */
struct metrics_gauges {
    const struct metrics_job_count *jobs;   /* compile jobs per status */
    size_t njobs;
    int jobs_ok;                       /* 0: the query failed */
    int64_t webhook_pending;           /* webhook events waiting for delivery */
    int webhook_ok;                    /* 0: the query failed */
};

/* Append every metric in the Prometheus text exposition format to out. */
void metrics_render(struct buf *out, const struct metrics_gauges *g);

#endif
