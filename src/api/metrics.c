/* metrics.c - GET /metrics: the process counters (http/metrics.c) plus gauges read from the
 * database at scrape time, in the Prometheus text format. Protected by the API key like
 * every path outside the probes. */
#include "api/api.h"

#include <stdlib.h>

#include "http/metrics.h"
#include "service/gauges.h"
#include "util/log.h"
#include "util/xalloc.h"

#define METRICS_CTYPE "text/plain; version=0.0.4; charset=utf-8"

/* Compile jobs per status and the webhook backlog (service/gauges); a failed query leaves its
 * gauge out. */
static void read_gauges(struct req *req, struct metrics_gauges *g)
{
    struct metrics_job_count *jobs;
    struct err err = ERR_INIT;
    struct gauges db;
    size_t i;

    if (gauges_read(req->arena, &db, &err) < 0)
        log_write(LOG_WARN, "request %s: metrics: reading the database failed: %s",
                  req->request_id, err.msg);
    err_release(&err);
    jobs = arena_alloc(req->arena, (db.jobs.n + 1) * sizeof(*jobs));
    for (i = 0; i < db.jobs.n; i++) {
        jobs[i].status = db.jobs.items[i].status;
        jobs[i].count = db.jobs.items[i].count;
    }
    g->jobs = jobs;
    g->njobs = db.jobs.n;
    g->jobs_ok = db.jobs_ok;
    g->webhook_pending = db.webhook_pending;
    g->webhook_ok = db.webhook_ok;
}

/* The body is rendered before the reply: hand it over in one piece. */
static int emit(void *ctx, struct buf *out)
{
    struct buf *body = ctx;

    buf_append(out, body->data, body->len);
    return 0;
}

static void release(void *ctx)
{
    struct buf *body = ctx;

    buf_release(body);
    free(body);
}

int api_metrics(struct req *req)
{
    struct metrics_gauges g = { 0 };
    struct buf *body = xmalloc(sizeof(*body));

    buf_init(body);
    read_gauges(req, &g);
    metrics_render(body, &g);
    return http_reply_stream(req, 200, METRICS_CTYPE, emit, release, body);
}
