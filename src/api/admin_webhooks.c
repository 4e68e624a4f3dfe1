/* admin_webhooks.c - the operator's view of the webhook queue (spec/api.md §7.3): GET and
 * DELETE /admin/webhooks, GET /admin/webhooks/stats, GET /admin/webhooks/{event_id}.
 * Offset-form timestamps; the tenant header is ignored (tenant_id is an explicit filter). */
#include "api/api.h"

#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/webhooks.h"
#include "util/jv.h"

/* An Event; with_tenant adds tenant_id (the list shows it, the lookup does not). */
static struct jv *render_event(struct arena *a, const struct webhook_event *ev, int with_tenant)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "id", jv_str(a, ev->id));
    jv_object_set(a, o, "event", jv_str(a, ev->event));
    jv_object_set(a, o, "status", jv_str(a, ev->status));
    jv_object_set(a, o, "attempts", jv_int(a, ev->attempts));
    jv_object_set(a, o, "max_attempts", jv_int(a, ev->max_attempts));
    jv_object_set(a, o, "last_attempt_at", render_ts_offset(a, ev->last_attempt_at));
    jv_object_set(a, o, "next_attempt_at", render_ts_offset(a, ev->next_attempt_at));
    jv_object_set(a, o, "last_error", render_str_or_null(a, ev->last_error));
    jv_object_set(a, o, "http_status",
                  ev->http_status > 0 ? jv_int(a, ev->http_status) : jv_null());
    jv_object_set(a, o, "created_at", render_ts_offset(a, ev->created_at));
    jv_object_set(a, o, "delivered_at", render_ts_offset(a, ev->delivered_at));
    if (with_tenant)
        jv_object_set(a, o, "tenant_id", render_str_or_null(a, ev->tenant_id));
    return o;
}

static void read_filter(struct req *req, struct webhook_filter *f)
{
    memset(f, 0, sizeof(*f));   /* every other member: no filter */
    f->status = req_query_filter(req, "status");
    f->event = req_query_filter(req, "event_type");
    f->tenant = req_query_filter(req, "tenant_id");
}

/* GET /admin/webhooks?status=&event_type=&tenant_id=&limit=&offset= */
int api_admin_webhooks_list(struct req *req)
{
    struct arena *a = req->arena;
    struct webhook_filter f;
    struct webhook_rows page;
    struct store_page pg;
    int64_t limit, offset;
    struct jv *out, *list;
    struct vctx v;
    size_t i;
    store *st;

    v_init(&v, a);
    v_query_int(&v, req, "limit", (struct v_int){ .def = 50, .min = 1, .max = 100 }, &limit);
    v_query_int(&v, req, "offset", (struct v_int){ .def = 0, .min = 0, .max = INT64_MAX / 2 },
                &offset);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    read_filter(req, &f);
    st = store_thread(&req->err);
    pg = (struct store_page){ .limit = (size_t)limit, .offset = (size_t)offset };
    if (!st || webhooks_list(a, st, &f, &pg, &page, &req->err) < 0)
        return -1;
    list = jv_array(a);
    for (i = 0; i < page.n; i++)
        jv_array_append(a, list, render_event(a, &page.items[i], 1));
    out = jv_object(a);
    jv_object_set(a, out, "events", list);
    jv_object_set(a, out, "total", jv_int(a, page.total));
    jv_object_set(a, out, "limit", jv_int(a, limit));
    jv_object_set(a, out, "offset", jv_int(a, offset));
    return http_reply_json(req, 200, out);
}

/* GET /admin/webhooks/stats */
int api_admin_webhooks_stats(struct req *req)
{
    struct arena *a = req->arena;
    struct webhook_stats s;
    struct jv *out;
    store *st = store_thread(&req->err);

    if (!st || webhooks_stats(st, &s, &req->err) < 0)
        return -1;
    out = jv_object(a);
    jv_object_set(a, out, "pending", jv_int(a, s.pending));
    jv_object_set(a, out, "delivered", jv_int(a, s.delivered));
    jv_object_set(a, out, "dead_letter", jv_int(a, s.dead_letter));
    jv_object_set(a, out, "total", jv_int(a, s.total));
    return http_reply_json(req, 200, out);
}

/* GET /admin/webhooks/{event_id} */
int api_admin_webhooks_get(struct req *req)
{
    char id[UUID_STR_LEN];
    struct webhook_event *ev;
    struct vctx v;
    store *st;

    v_init(&v, req->arena);
    v_path_uuid(&v, req, 0, "event_id", id);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st || webhooks_get(req->arena, st, id, &ev, &req->err) < 0)
        return -1;
    if (!ev)
        return err_set(&req->err, ERR_NOT_FOUND, "Webhook event not found");
    return http_reply_json(req, 200, render_event(req->arena, ev, 0));
}

/* DELETE /admin/webhooks?status=&event_type=&tenant_id=: purge terminal events (the rules of
 * the job purge, spec/api.md §7.2). */
int api_admin_webhooks_purge(struct req *req)
{
    struct webhook_filter f;
    int64_t deleted;
    struct jv *out;
    store *st;

    read_filter(req, &f);
    st = store_thread(&req->err);
    if (!st || webhooks_purge(st, &f, &deleted, &req->err) < 0)
        return -1;
    out = jv_object(req->arena);
    jv_object_set(req->arena, out, "deleted", jv_int(req->arena, deleted));
    return http_reply_json(req, 200, out);
}
