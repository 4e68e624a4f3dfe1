/* health.c - liveness and readiness (spec/api.md §3.10, behavior.md §16.1). */
#include "api/api.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "util/ts.h"

int api_healthz(struct req *req)
{
    return http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static json_t *check(const char *name, const char *status, const char *detail, double ms)
{
    json_t *c = json_pack("{s:s,s:s}", "name", name, "status", status);

    if (detail && *detail)
        json_object_set_new(c, "detail", json_string(detail));
    ms = round(ms * 10.0) / 10.0;   /* one decimal; omitted when it rounds to 0 */
    if (ms > 0.0)
        json_object_set_new(c, "latency_ms", json_real(ms));
    return c;
}

/* SELECT 1 on this thread's connection; a failure drops the connection so the next
 * request reconnects. */
static json_t *database_check(int *failed)
{
    struct err err = ERR_INIT;
    int64_t t0 = ts_monotonic();
    store *st = store_thread(&err);
    json_t *c;

    if (st && store_ping(st, &err) == 0) {
        c = check("database", "ok", NULL, (double)(ts_monotonic() - t0) / 1000.0);
    } else {
        *failed = 1;
        store_thread_drop();
        c = check("database", "fail", err.msg[0] ? err.msg : "unreachable", 0.0);
    }
    err_release(&err);
    return c;
}

#define STUCK_AFTER_US (30LL * 60 * 1000000)

/* Compile jobs running for more than 30 minutes make the service "degraded". */
static json_t *queue_check(int *degraded)
{
    struct err err = ERR_INIT;
    store *st = store_thread(&err);
    int64_t n = 0;
    json_t *c;

    if (!st || store_job_count_stuck(st, ts_now() - STUCK_AFTER_US, &n, &err) < 0) {
        *degraded = 1;
        c = check("queue", "degraded", err.msg[0] ? err.msg : "query failed", 0.0);
    } else if (n > 0) {
        char detail[64];

        *degraded = 1;
        snprintf(detail, sizeof(detail), "%lld stuck job(s) older than 30m", (long long)n);
        c = check("queue", "degraded", detail, 0.0);
    } else {
        c = check("queue", "ok", NULL, 0.0);
    }
    err_release(&err);
    return c;
}

int api_readyz(struct req *req)
{
    int failed = 0, degraded = 0;
    json_t *checks = json_array(), *out;
    const char *status;

    json_array_append_new(checks, database_check(&failed));
    json_array_append_new(checks, failed ? check("queue", "degraded", "database unavailable", 0.0)
                                         : queue_check(&degraded));
    json_array_append_new(checks, check("llm", "ok", "not configured (skip)", 0.0));
    status = failed ? "not_ready" : degraded ? "degraded" : "ready";
    out = json_pack("{s:s,s:o}", "status", status, "checks", checks);
    return http_reply_json(req, failed ? 503 : 200, out);
}
