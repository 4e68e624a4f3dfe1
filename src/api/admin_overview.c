/* admin_overview.c - the operator's overview (spec/api.md §7.6): GET /admin/tenants,
 * /admin/tenant-audit, /admin/usage and /admin/dashboard; and GET /ops/migrations (§5.2).
 * Cross-tenant: the tenant header is ignored, tenant_id is an explicit filter. Offset-form
 * timestamps. */
#include "api/api.h"

#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/overview.h"
#include "service/service.h"
#include "util/jv.h"
#include "util/ts.h"

/* The most tenants one page of GET /admin/tenants lists (the default page). */
#define TENANTS_PAGE_MAX 1000

/* GET /admin/tenants?limit=&offset= (limit and offset: Engram's bound on the reference's
 * unpaginated list). */
int api_admin_tenants(struct req *req)
{
    struct arena *a = req->arena;
    struct string_rows rows;
    struct jv *list, *out;
    int64_t limit, offset;
    struct vctx v;
    size_t i;
    store *st;

    v_init(&v, a);
    v_query_int(&v, req, "limit",
                (struct v_int){ .def = TENANTS_PAGE_MAX, .min = 1, .max = TENANTS_PAGE_MAX },
                &limit);
    v_query_int(&v, req, "offset", (struct v_int){ .def = 0, .min = 0, .max = INT64_MAX / 2 },
                &offset);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || overview_tenants(a, st,
                                &(struct store_page){ .limit = (size_t)limit,
                                                      .offset = (size_t)offset },
                                &rows, &req->err) < 0)
        return -1;
    list = jv_array(a);
    for (i = 0; i < rows.n; i++)
        jv_array_append(a, list, jv_str(a, rows.items[i]));
    out = jv_object(a);
    jv_object_set(a, out, "tenants", list);
    return http_reply_json(req, 200, out);
}

/* GET /admin/tenant-audit */
int api_admin_tenant_audit(struct req *req)
{
    struct arena *a = req->arena;
    struct null_tenant_counts c;
    struct jv *rows, *out;
    store *st = service_store(&req->err);

    if (!st || store_tenant_audit(st, &c, &req->err) < 0)
        return -1;
    rows = jv_object(a);
    jv_object_set(a, rows, "episodes", jv_int(a, c.episodes));
    jv_object_set(a, rows, "memories", jv_int(a, c.memories));
    jv_object_set(a, rows, "compile_jobs", jv_int(a, c.compile_jobs));
    out = jv_object(a);
    jv_object_set(a, out, "null_tenant_rows", rows);
    jv_object_set(a, out, "guidance", jv_str(a, overview_tenant_guidance));
    return http_reply_json(req, 200, out);
}

static struct jv *render_window(struct arena *a, const struct usage_counts *c)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "today", jv_int(a, c->today));
    jv_object_set(a, o, "7d", jv_int(a, c->d7));
    jv_object_set(a, o, "30d", jv_int(a, c->d30));
    jv_object_set(a, o, "total", jv_int(a, c->total));
    return o;
}

/* GET /admin/usage?tenant_id= */
int api_admin_usage(struct req *req)
{
    struct arena *a = req->arena;
    const char *tenant = req_query_filter(req, "tenant_id");
    int64_t now = ts_now(), start;
    struct usage_report u;
    struct jv *out, *active;
    store *st = service_store(&req->err);

    if (!st || overview_usage(st, tenant, now, &start, &u, &req->err) < 0)
        return -1;
    out = jv_object(a);
    jv_object_set(a, out, "period_start", render_ts_offset(a, start));
    jv_object_set(a, out, "generated_at", render_ts_offset(a, now));
    if (tenant)
        jv_object_set(a, out, "tenant_id", jv_str(a, tenant));
    jv_object_set(a, out, "episodes", render_window(a, &u.episodes));
    jv_object_set(a, out, "memories", render_window(a, &u.memories));
    jv_object_set(a, out, "compile_jobs", render_window(a, &u.compile_jobs));
    jv_object_set(a, out, "webhooks", render_window(a, &u.webhooks));
    active = jv_object(a);
    jv_object_set(a, active, "7d", jv_int(a, u.active_7d));
    jv_object_set(a, active, "30d", jv_int(a, u.active_30d));
    jv_object_set(a, active, "total", jv_int(a, u.active_total));
    jv_object_set(a, out, "active_subjects", active);
    return http_reply_json(req, 200, out);
}

/* The readiness part: every check with detail (null when none) and latency_ms. */
static struct jv *render_readiness(struct arena *a, const struct health_report *r)
{
    struct jv *o = jv_object(a), *checks = jv_array(a);
    size_t i;

    for (i = 0; i < HEALTH_CHECKS; i++) {
        const struct health_check *c = &r->checks[i];
        struct jv *item = jv_object(a);

        jv_object_set(a, item, "name", jv_str(a, c->name));
        jv_object_set(a, item, "status", jv_str(a, c->status));
        jv_object_set(a, item, "detail", render_str_or_null(a, c->detail));
        jv_object_set(a, item, "latency_ms", jv_real(a, c->latency_ms));
        jv_array_append(a, checks, item);
    }
    jv_object_set(a, o, "status", jv_str(a, r->status));
    jv_object_set(a, o, "checks", checks);
    return o;
}

/* The migration state; full adds pending_revisions, error and summary (GET /ops/migrations). */
static struct jv *render_schema(struct arena *a, const struct schema_status *s, int full)
{
    struct jv *o = jv_object(a), *pending;
    int64_t i;

    jv_object_set(a, o, "current_revision", render_str_or_null(a, s->current_revision));
    jv_object_set(a, o, "expected_head", render_str_or_null(a, s->expected_head));
    jv_object_set(a, o, "is_compatible", jv_bool(a, s->is_compatible));
    jv_object_set(a, o, "pending_count", jv_int(a, s->pending_count));
    if (!full)
        return o;
    pending = jv_array(a);
    for (i = 0; i < s->pending_count; i++)
        jv_array_append(a, pending, jv_str(a, s->pending_revisions[i]));
    jv_object_set(a, o, "pending_revisions", pending);
    jv_object_set(a, o, "error", render_str_or_null(a, s->error));
    jv_object_set(a, o, "summary", jv_str(a, s->summary));
    return o;
}

static struct jv *render_counts(struct arena *a, const struct dashboard *d)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "episodes", jv_int(a, d->counts.episodes));
    jv_object_set(a, o, "memories", jv_int(a, d->counts.memories));
    jv_object_set(a, o, "subjects", jv_int(a, d->counts.subjects));
    return o;
}

static struct jv *render_health(struct arena *a, const struct overview_counts *c)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "healthy", jv_int(a, c->healthy));
    jv_object_set(a, o, "watch", jv_int(a, c->watch));
    jv_object_set(a, o, "at_risk", jv_int(a, c->at_risk));
    jv_object_set(a, o, "unknown", jv_int(a, c->unknown));
    return o;
}

static struct jv *render_jobs_webhooks(struct arena *a, const struct dashboard *d,
                                       struct jv **webhooks)
{
    struct jv *jobs = jv_object(a);
    size_t i;

    for (i = 0; i < d->jobs.n; i++)
        jv_object_set(a, jobs, d->jobs.items[i].status, jv_int(a, d->jobs.items[i].count));
    *webhooks = jv_object(a);
    jv_object_set(a, *webhooks, "pending", jv_int(a, d->webhooks.pending));
    jv_object_set(a, *webhooks, "delivered", jv_int(a, d->webhooks.delivered));
    jv_object_set(a, *webhooks, "dead_letter", jv_int(a, d->webhooks.dead_letter));
    jv_object_set(a, *webhooks, "total", jv_int(a, d->webhooks.total));
    return jobs;
}

/* GET /admin/dashboard */
int api_admin_dashboard(struct req *req)
{
    struct arena *a = req->arena;
    struct dashboard d;
    struct jv *out, *jobs, *webhooks;
    store *st = service_store(&req->err);

    if (!st || overview_dashboard(a, st, &d, &req->err) < 0)
        return -1;
    jobs = render_jobs_webhooks(a, &d, &webhooks);
    out = jv_object(a);
    jv_object_set(a, out, "readiness", render_readiness(a, &d.readiness));
    jv_object_set(a, out, "migration", render_schema(a, &d.migration, 0));
    jv_object_set(a, out, "counts", render_counts(a, &d));
    jv_object_set(a, out, "jobs", jobs);
    jv_object_set(a, out, "webhooks", webhooks);
    jv_object_set(a, out, "health_distribution", render_health(a, &d.counts));
    return http_reply_json(req, 200, out);
}

/* GET /ops/migrations */
int api_ops_migrations(struct req *req)
{
    struct schema_status s;
    store *st = service_store(&req->err);

    if (!st)
        return -1;
    overview_schema_status(req->arena, st, &s);
    return http_reply_json(req, 200, render_schema(req->arena, &s, 1));
}
