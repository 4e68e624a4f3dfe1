/* health.c - the readiness checks: SELECT 1 and a write probe, stuck compile jobs. */
#include "service/health.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

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

/* The write probe runs at most once per PROBE_EVERY_US; readiness calls in between reuse
 * its last answer. One probe for the process, whichever thread runs it. */
#define PROBE_EVERY_US 1000000LL

static struct {
    pthread_mutex_t lock;
    int64_t at;              /* ts_monotonic() of the last probe; 0 = never */
    int failed;              /* the last probe failed */
    char why[320];           /* its "<code>: <message>" */
} probe = { PTHREAD_MUTEX_INITIALIZER, 0, 0, "" };

/* The heartbeat write (store_heartbeat: a full disk or a read-only database fails it), or
 * the last one's answer if it is recent: NULL when writes commit, else the reason ("<code>:
 * <message>") in arena a. */
static const char *write_probe(struct arena *a, store *st)
{
    struct err err = ERR_INIT;
    int64_t now = ts_monotonic();
    const char *why = NULL;

    pthread_mutex_lock(&probe.lock);
    if (probe.at == 0 || now - probe.at >= PROBE_EVERY_US) {
        probe.failed = store_heartbeat(st, &err) < 0;
        if (probe.failed)
            snprintf(probe.why, sizeof(probe.why), "%s: %.256s",
                     err.code ? err.code : "http_error", err.msg);   /* messages are short */
        probe.at = ts_monotonic();
    }
    if (probe.failed)
        why = arena_strdup(a, probe.why);
    pthread_mutex_unlock(&probe.lock);
    err_release(&err);
    return why;
}

/* SELECT 1 on this thread's connection, then the write probe; a failed SELECT drops the
 * connection so the next request reconnects. Returns -1 when the database failed. */
static int database_check(struct arena *a, struct health_check *c)
{
    struct err err = ERR_INIT;
    int64_t t0 = ts_monotonic();
    store *st = store_thread(&err);
    const char *why;
    int rc = 0;

    if (st && store_ping(st, &err) == 0) {
        why = write_probe(a, st);
        if (why) {
            rc = -1;
            set_check(c, "database", "fail", why, 0.0);
        } else {
            set_check(c, "database", "ok", NULL, (double)(ts_monotonic() - t0) / 1000.0);
        }
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

/* One check per read replica, from the background state (never a 503: the primary serves
 * reads a replica cannot): "ok" with its lag, or "degraded" with why. */
static size_t replica_checks(struct arena *a, struct health_check *c)
{
    struct store_replica_state st[STORE_MAX_REPLICAS];
    size_t i, n = store_replica_report(st, HEALTH_MAX_CHECKS - HEALTH_CHECKS);

    for (i = 0; i < n; i++) {
        const char *name = arena_printf(a, "replica:%s", st[i].name);

        if (st[i].healthy)
            set_check(&c[i], name, "ok",
                      arena_printf(a, "replayed %s, lag %lld ms", st[i].replayed,
                                   (long long)st[i].lag_ms), 0.0);
        else
            set_check(&c[i], name, "degraded", arena_strdup(a, st[i].why), 0.0);
    }
    return n;
}

void health_readiness(struct arena *a, struct health_report *r)
{
    int degraded = 0;
    size_t i;

    r->failed = database_check(a, &r->checks[0]) < 0;
    if (r->failed)
        set_check(&r->checks[1], "queue", "degraded", "database unavailable", 0.0);
    else
        degraded = queue_check(a, &r->checks[1]) < 0;
    set_check(&r->checks[2], "llm", "ok", "not configured (skip)", 0.0);
    r->nchecks = HEALTH_CHECKS + replica_checks(a, &r->checks[HEALTH_CHECKS]);
    for (i = HEALTH_CHECKS; i < r->nchecks; i++)
        degraded |= strcmp(r->checks[i].status, "ok") != 0;
    r->status = r->failed ? "not_ready" : degraded ? "degraded" : "ready";
}
