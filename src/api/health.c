/* health.c - liveness and readiness (spec/api.md §3.10, behavior.md §16.1). */
#include "api/api.h"

#include <math.h>
#include <pthread.h>
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

/* The write probe runs at most once per PROBE_EVERY_US; readiness calls in between reuse
 * its last answer. One probe for the process, whichever thread runs it. */
#define PROBE_EVERY_US 1000000LL

static struct {
    pthread_mutex_t lock;
    int64_t at;              /* ts_monotonic() of the last probe; 0 = never */
    int failed;              /* the last probe failed */
    char why[320];           /* its "<code>: <message>" */
} probe = { PTHREAD_MUTEX_INITIALIZER, 0, 0, "" };

/* The heartbeat write (store_heartbeat), or the last one's answer if it is recent: 0 when
 * writes commit, else -1 with the reason copied to why. */
static int write_probe(store *st, char *why, size_t size)
{
    struct err err = ERR_INIT;
    int64_t now = ts_monotonic();
    int ret;

    pthread_mutex_lock(&probe.lock);
    if (probe.at == 0 || now - probe.at >= PROBE_EVERY_US) {
        probe.failed = store_heartbeat(st, &err) < 0;
        if (probe.failed)
            snprintf(probe.why, sizeof(probe.why), "%s: %.256s",
                     err.code ? err.code : "http_error", err.msg);   /* messages are short */
        probe.at = ts_monotonic();
    }
    ret = probe.failed ? -1 : 0;
    snprintf(why, size, "%s", probe.failed ? probe.why : "");
    pthread_mutex_unlock(&probe.lock);
    err_release(&err);
    return ret;
}

/* SELECT 1 on this thread's connection, then the write probe; a failed SELECT drops the
 * connection so the next request reconnects. */
static json_t *database_check(int *failed)
{
    struct err err = ERR_INIT;
    int64_t t0 = ts_monotonic();
    store *st = store_thread(&err);
    char why[320];
    json_t *c;

    if (st && store_ping(st, &err) == 0) {
        if (write_probe(st, why, sizeof(why)) < 0) {
            *failed = 1;
            c = check("database", "fail", why, 0.0);
        } else {
            c = check("database", "ok", NULL, (double)(ts_monotonic() - t0) / 1000.0);
        }
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
