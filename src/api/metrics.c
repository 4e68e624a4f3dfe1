/* metrics.c - GET /metrics: the process counters (http/metrics.c) plus gauges read from the
 * database at scrape time, in the Prometheus text format. Protected by the API key like
 * every path outside the probes. */
#include "api/api.h"

#include <stddef.h>
#include <stdlib.h>

#include "http/metrics.h"
#include "service/episodes.h"
#include "service/service.h"
#include "service/jobs.h"
#include "service/webhooks.h"
#include "util/log.h"
#include "util/xalloc.h"

#define METRICS_CTYPE "text/plain; version=0.0.4; charset=utf-8"

/* Compile jobs per status and the webhook backlog, through the services; a failed query
 * leaves its gauge out. http/metrics.h knows nothing of the store: the job counts are copied
 * into its own rows. */
static void read_gauges(struct req *req, struct metrics_gauges *g)
{
    struct status_count_rows jobs;
    struct metrics_job_count *rows;
    struct webhook_stats hooks;
    struct err err = ERR_INIT;
    store *st = service_store(&err);
    size_t i;

    if (st && jobs_count_by_status(req->arena, st, &jobs, &err) == 0) {
        rows = arena_alloc(req->arena, (jobs.n + 1) * sizeof(*rows));
        for (i = 0; i < jobs.n; i++) {
            rows[i].status = jobs.items[i].status;
            rows[i].count = jobs.items[i].count;
        }
        g->jobs = rows;
        g->njobs = jobs.n;
        g->jobs_ok = 1;
    }
    if (st && g->jobs_ok && webhooks_stats(st, &hooks, &err) == 0) {
        g->webhook_pending = hooks.pending;
        g->webhook_ok = 1;
    }
    if (!g->jobs_ok || !g->webhook_ok)
        log_write(LOG_WARN, "request %s: metrics: reading the database failed: %s",
                  req->request_id, err.msg);
    err_release(&err);
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

/* The single-episode group commit queue (issue 22; Engram's extension). */
static void render_ingest_groups(struct buf *out)
{
    static const struct {
        const char *name, *help;
        size_t off;
    } rows[] = {
        { "engram_ingest_groups_total", "Groups of single-episode writes committed together.",
          offsetof(struct episodes_group_stats, groups) },
        { "engram_ingest_group_episodes_total", "Single episodes written through those groups.",
          offsetof(struct episodes_group_stats, episodes) },
        { "engram_ingest_group_replays_total",
          "Groups rolled back on a failure and written again one episode per transaction.",
          offsetof(struct episodes_group_stats, replays) },
    };
    struct episodes_group_stats st;
    size_t i;

    episodes_group_stats(&st);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", rows[i].name,
                   rows[i].help, rows[i].name, rows[i].name,
                   *(const unsigned long long *)((const char *)&st + rows[i].off));
    }
}

int api_metrics(struct req *req)
{
    struct metrics_gauges g = { 0 };
    struct buf *body = xmalloc(sizeof(*body));

    buf_init(body);
    read_gauges(req, &g);
    metrics_render(body, &g);
    render_ingest_groups(body);
    return http_reply_stream(req, 200, METRICS_CTYPE, emit, release, body);
}
