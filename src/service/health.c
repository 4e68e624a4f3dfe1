/* health.c - the readiness checks: SELECT 1, stuck compile jobs. */
#include "service/health.h"

#include <math.h>
#include <stdio.h>

#include "store/store.h"
#include "util/ts.h"

#define STUCK_AFTER_US (30LL * 60 * 1000000)

static void set_check(struct health_check *c, const char *name, const char *status,
                      const char *detail, double ms)
{
    c->name = name;
    c->status = status;
    c->detail = detail && *detail ? detail : NULL;
    c->latency_ms = round(ms * 10.0) / 10.0; /* one decimal; omitted when it rounds to 0 */
}

/* SELECT 1 on this thread's connection; a failure drops the connection so the next
 * request reconnects. Returns -1 when the database failed. */
static int database_check(struct arena *a, struct health_check *c)
{
    struct err err = ERR_INIT;
    int64_t t0 = ts_monotonic();
    store *st = store_thread(&err);
    int rc = 0;

    if (st && store_ping(st, &err) == 0) {
        set_check(c, "database", "ok", NULL, (double)(ts_monotonic() - t0) / 1000.0);
    } else {
        rc = -1;
        store_thread_drop();
        set_check(c, "database", "fail", arena_strdup(a, err.msg[0] ? err.msg : "unreachable"),
                  0.0);
    }
    err_release(&err);
    return rc;
}

/* Compile jobs running for more than 30 minutes make the service "degraded". Returns -1
 * when degraded. */
static int queue_check(struct arena *a, struct health_check *c)
{
    struct err err = ERR_INIT;
    store *st = store_thread(&err);
    int64_t n = 0;
    int rc = -1;

    if (!st || store_job_count_stuck(st, ts_now() - STUCK_AFTER_US, &n, &err) < 0) {
        set_check(c, "queue", "degraded", arena_strdup(a, err.msg[0] ? err.msg : "query failed"),
                  0.0);
    } else if (n > 0) {
        set_check(c, "queue", "degraded",
                  arena_printf(a, "%lld stuck job(s) older than 30m", (long long)n), 0.0);
    } else {
        set_check(c, "queue", "ok", NULL, 0.0);
        rc = 0;
    }
    err_release(&err);
    return rc;
}

void health_readiness(struct arena *a, struct health_report *r)
{
    int degraded = 0;

    r->failed = database_check(a, &r->checks[0]) < 0;
    if (r->failed)
        set_check(&r->checks[1], "queue", "degraded", "database unavailable", 0.0);
    else
        degraded = queue_check(a, &r->checks[1]) < 0;
    set_check(&r->checks[2], "llm", "ok", "not configured (skip)", 0.0);
    r->status = r->failed ? "not_ready" : degraded ? "degraded" : "ready";
}
