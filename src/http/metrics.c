/* metrics.c - request counters and latency histograms per route, and their Prometheus text
 * rendering. */
#include "http/metrics.h"

#include <stdatomic.h>
#include <string.h>

#include "util/ts.h"
#include "util/xalloc.h"

/* Statuses with a slot of their own; anything else counts as "other". */
static const int statuses[] = { 200, 201, 202, 204, 206, 207, 301, 302, 304, 307, 308,
                                400, 401, 403, 404, 405, 406, 409, 410, 413, 414, 415,
                                422, 429, 431, 500, 501, 502, 503, 504, 505 };
#define NSTATUS (ARRAY_SIZE(statuses) + 1)

/* Methods of unmatched requests; anything else counts as "other". */
static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
                                       "HEAD", "other" };
#define NMETHODS ARRAY_SIZE(methods)

/* Upper bounds of the latency buckets, in microseconds (the last bucket is +Inf). */
static const int64_t bucket_us[] = { 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
                                     500000, 1000000, 2500000, 5000000, 10000000 };
#define NBUCKETS (ARRAY_SIZE(bucket_us) + 1)

#define UNMATCHED METRICS_MAX_ROUTES   /* histogram slot of unmatched requests */

static _Atomic(const struct route *) bound_routes;
static atomic_size_t bound_n;

/* requests[slot][status]: slot = route index, or UNMATCHED + method index. */
static atomic_ullong requests[METRICS_MAX_ROUTES + NMETHODS][NSTATUS];
/* Per route (UNMATCHED for the rest): non-cumulative bucket counts and the sum of durations.
 * The count is the sum of the buckets, so the +Inf bucket always equals it. */
static atomic_ullong hist[METRICS_MAX_ROUTES + 1][NBUCKETS];
static atomic_ullong hist_sum_us[METRICS_MAX_ROUTES + 1];
static atomic_ullong rate_limited;
static atomic_ullong db_errors;

void metrics_bind_routes(const struct route *routes, size_t n)
{
    const struct route *expected = NULL;

    if (atomic_load_explicit(&bound_routes, memory_order_acquire))
        return;
    atomic_store(&bound_n, n);
    atomic_compare_exchange_strong(&bound_routes, &expected, routes);
}

static size_t status_slot(int status)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(statuses); i++) {
        if (statuses[i] == status)
            return i;
    }
    return NSTATUS - 1;
}

static size_t method_slot(const char *method)
{
    size_t i;

    for (i = 0; i + 1 < NMETHODS; i++) {
        if (strcmp(methods[i], method) == 0)
            return i;
    }
    return NMETHODS - 1;
}

/* The route's index in the bound table, or -1 for an unmatched request. */
static long route_index(const struct route *r)
{
    const struct route *base = atomic_load_explicit(&bound_routes, memory_order_acquire);
    size_t n = atomic_load(&bound_n);

    if (!r || !base || r < base || r >= base + n || (size_t)(r - base) >= METRICS_MAX_ROUTES)
        return -1;
    return (long)(r - base);
}

static size_t bucket_of(int64_t us)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(bucket_us); i++) {
        if (us <= bucket_us[i])
            return i;
    }
    return NBUCKETS - 1;
}

void metrics_observe(const struct req *req)
{
    long idx = route_index(req->route);
    size_t slot, hslot;
    int64_t us;

    if (req->status == 0)
        return;
    slot = idx >= 0 ? (size_t)idx : UNMATCHED + method_slot(req->method);
    hslot = idx >= 0 ? (size_t)idx : UNMATCHED;
    us = ts_monotonic() - req->started_us;
    if (us < 0)
        us = 0;
    atomic_fetch_add_explicit(&requests[slot][status_slot(req->status)], 1,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&hist[hslot][bucket_of(us)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&hist_sum_us[hslot], (unsigned long long)us,
                              memory_order_relaxed);
}

void metrics_count_rate_limited(void)
{
    atomic_fetch_add_explicit(&rate_limited, 1, memory_order_relaxed);
}

void metrics_count_db_error(void)
{
    atomic_fetch_add_explicit(&db_errors, 1, memory_order_relaxed);
}

/* ---- rendering ---- */

static unsigned long long load(atomic_ullong *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

/* A label value with \, " and newline escaped as the text format wants. */
static void put_label(struct buf *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            buf_putc(out, '\\');
        if (*v == '\n')
            buf_puts(out, "\\n");
        else
            buf_putc(out, *v);
    }
}

static void put_header(struct buf *out, const char *name, const char *type, const char *help)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_status(struct buf *out, size_t s)
{
    if (s < ARRAY_SIZE(statuses))
        buf_printf(out, "%d", statuses[s]);
    else
        buf_puts(out, "other");
}

/* One slot's non-zero request counters. */
static void render_request_slot(struct buf *out, size_t slot, const char *route,
                                const char *method)
{
    size_t s;

    for (s = 0; s < NSTATUS; s++) {
        unsigned long long v = load(&requests[slot][s]);

        if (v == 0)
            continue;
        buf_printf(out, "engram_http_requests_total{route=\"%s\",method=\"%s\",status=\"",
                   route, method);
        put_status(out, s);
        buf_printf(out, "\"} %llu\n", v);
    }
}

static void render_requests(struct buf *out, const struct route *routes, size_t n)
{
    size_t i;

    put_header(out, "engram_http_requests_total", "counter",
               "HTTP requests answered, by route, method and status.");
    for (i = 0; i < n; i++)
        render_request_slot(out, i, routes[i].name, routes[i].method);
    for (i = 0; i < NMETHODS; i++)
        render_request_slot(out, UNMATCHED + i, "unmatched", methods[i]);
}

/* One route's histogram, when it saw any request. */
static void render_histogram_slot(struct buf *out, size_t slot, const char *route)
{
    unsigned long long counts[NBUCKETS], total = 0;
    size_t b;

    for (b = 0; b < NBUCKETS; b++) {
        counts[b] = load(&hist[slot][b]);
        total += counts[b];
    }
    if (total == 0)
        return;
    total = 0;
    for (b = 0; b < NBUCKETS; b++) {
        total += counts[b];
        buf_printf(out, "engram_http_request_duration_seconds_bucket{route=\"%s\",le=\"", route);
        if (b + 1 < NBUCKETS)
            buf_printf(out, "%g", (double)bucket_us[b] / 1e6);
        else
            buf_puts(out, "+Inf");
        buf_printf(out, "\"} %llu\n", total);
    }
    buf_printf(out, "engram_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route,
               (double)load(&hist_sum_us[slot]) / 1e6);
    buf_printf(out, "engram_http_request_duration_seconds_count{route=\"%s\"} %llu\n", route,
               total);
}

static void render_durations(struct buf *out, const struct route *routes, size_t n)
{
    size_t i;

    put_header(out, "engram_http_request_duration_seconds", "histogram",
               "Time from a request's headers to its completed response, by route.");
    for (i = 0; i < n; i++)
        render_histogram_slot(out, i, routes[i].name);
    render_histogram_slot(out, UNMATCHED, "unmatched");
}

static void render_gauges(struct buf *out, const struct metrics_gauges *g)
{
    static const char *const job_states[] = { "pending", "running", "completed", "failed" };
    size_t i, j;

    if (g && g->jobs_ok) {
        put_header(out, "engram_compile_jobs", "gauge",
                   "Compile jobs by status in every tenant, counted at scrape time.");
        for (i = 0; i < ARRAY_SIZE(job_states); i++) {
            int64_t v = 0;

            for (j = 0; j < g->njobs; j++) {
                if (strcmp(g->jobs[j].status, job_states[i]) == 0)
                    v = g->jobs[j].count;
            }
            buf_printf(out, "engram_compile_jobs{status=\"%s\"} %lld\n", job_states[i],
                       (long long)v);
        }
        for (j = 0; j < g->njobs; j++) {
            for (i = 0; i < ARRAY_SIZE(job_states); i++) {
                if (strcmp(g->jobs[j].status, job_states[i]) == 0)
                    break;
            }
            if (i < ARRAY_SIZE(job_states))
                continue;
            buf_puts(out, "engram_compile_jobs{status=\"");
            put_label(out, g->jobs[j].status);
            buf_printf(out, "\"} %lld\n", (long long)g->jobs[j].count);
        }
    }
    if (g && g->webhook_ok) {
        put_header(out, "engram_webhook_queue_depth", "gauge",
                   "Webhook events waiting for delivery, counted at scrape time.");
        buf_printf(out, "engram_webhook_queue_depth %lld\n", (long long)g->webhook_pending);
    }
}

void metrics_render(struct buf *out, const struct metrics_gauges *g)
{
    const struct route *routes = atomic_load_explicit(&bound_routes, memory_order_acquire);
    size_t n = routes ? atomic_load(&bound_n) : 0;

    if (n > METRICS_MAX_ROUTES)
        n = METRICS_MAX_ROUTES;
    render_requests(out, routes, n);
    render_durations(out, routes, n);
    render_gauges(out, g);
    put_header(out, "engram_database_errors_total", "counter",
               "Requests that failed on the database (500 internal_error, 503 database_full, "
               "database_readonly, service_unavailable).");
    buf_printf(out, "engram_database_errors_total %llu\n", load(&db_errors));
    put_header(out, "engram_rate_limited_total", "counter",
               "Requests refused with 429 by the rate limiter.");
    buf_printf(out, "engram_rate_limited_total %llu\n", load(&rate_limited));
}
