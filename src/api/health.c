/* health.c - liveness and readiness (spec/api.md §3.10, behavior.md §16.1). */
#include "api/api.h"

#include "service/health.h"
#include "util/jv.h"

int api_healthz(struct req *req)
{
    struct jv *out = jv_object(req->arena);

    jv_object_set(req->arena, out, "status", jv_str(req->arena, "ok"));
    return http_reply_json(req, 200, out);
}

static struct jv *render_check(struct arena *a, const struct health_check *c)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "name", jv_str(a, c->name));
    jv_object_set(a, o, "status", jv_str(a, c->status));
    if (c->detail)
        jv_object_set(a, o, "detail", jv_str(a, c->detail));
    if (c->latency_ms > 0.0)
        jv_object_set(a, o, "latency_ms", jv_real(a, c->latency_ms));
    return o;
}

int api_readyz(struct req *req)
{
    struct arena *a = req->arena;
    struct health_report r;
    struct jv *out, *checks;
    size_t i;

    health_readiness(a, &r);
    checks = jv_array(a);
    for (i = 0; i < r.nchecks; i++)
        jv_array_append(a, checks, render_check(a, &r.checks[i]));
    out = jv_object(a);
    jv_object_set(a, out, "status", jv_str(a, r.status));
    jv_object_set(a, out, "checks", checks);
    return http_reply_json(req, r.failed ? 503 : 200, out);
}
