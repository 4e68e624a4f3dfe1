/* admin_webhooks.c - the operator's view of the webhook queue (spec/api.md §7.3): GET and
 * DELETE /admin/webhooks, GET /admin/webhooks/stats, GET /admin/webhooks/{event_id}.
 * Offset-form timestamps; the tenant header is ignored (tenant_id is an explicit filter). */
#include "api/api.h"

#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "store/store.h"
#include "util/ts.h"
#include "util/uuid.h"

/* An Event; with_tenant adds tenant_id (the list shows it, the lookup does not). */
static json_t *render_event(const struct webhook_event *ev, int with_tenant)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_string(ev->id));
    json_object_set_new(o, "event", json_string(ev->event));
    json_object_set_new(o, "status", json_string(ev->status));
    json_object_set_new(o, "attempts", json_integer(ev->attempts));
    json_object_set_new(o, "max_attempts", json_integer(ev->max_attempts));
    json_object_set_new(o, "last_attempt_at", render_ts_offset(ev->last_attempt_at));
    json_object_set_new(o, "next_attempt_at", render_ts_offset(ev->next_attempt_at));
    json_object_set_new(o, "last_error", render_str_or_null(ev->last_error));
    json_object_set_new(o, "http_status",
                        ev->http_status > 0 ? json_integer(ev->http_status) : json_null());
    json_object_set_new(o, "created_at", render_ts_offset(ev->created_at));
    json_object_set_new(o, "delivered_at", render_ts_offset(ev->delivered_at));
    if (with_tenant)
        json_object_set_new(o, "tenant_id", render_str_or_null(ev->tenant_id));
    return o;
}

/* A filter query parameter: absent and empty both mean "no filter". */
static const char *filter_param(struct req *req, const char *name)
{
    const char *v = req_query(req, name);

    return v && *v ? v : NULL;
}

static void read_filter(struct req *req, struct webhook_filter *f)
{
    f->status = filter_param(req, "status");
    f->event = filter_param(req, "event_type");
    f->tenant = filter_param(req, "tenant_id");
}

/* GET /admin/webhooks?status=&event_type=&tenant_id=&limit=&offset= */
int api_admin_webhooks_list(struct req *req)
{
    struct webhook_filter f;
    struct webhook_rows rows;
    int64_t limit, offset;
    json_t *out, *list;
    struct vctx v;
    size_t i;
    store *st;

    v_init(&v);
    v_query_int(&v, req, "limit", 50, 1, 100, &limit);
    v_query_int(&v, req, "offset", 0, 0, INT64_MAX / 2, &offset);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    read_filter(req, &f);
    st = store_thread(&req->err);
    if (!st ||
        store_webhook_list(st, req->arena, &f,
                           &(struct store_page){ .limit = (size_t)limit, .offset = (size_t)offset },
                           &rows, &req->err) < 0)
        return -1;
    list = json_array();
    for (i = 0; i < rows.n; i++)
        json_array_append_new(list, render_event(&rows.items[i], 1));
    out = json_object();
    json_object_set_new(out, "events", list);
    json_object_set_new(out, "total", json_integer(rows.total));
    json_object_set_new(out, "limit", json_integer(limit));
    json_object_set_new(out, "offset", json_integer(offset));
    return http_reply_json(req, 200, out);
}

/* GET /admin/webhooks/stats */
int api_admin_webhooks_stats(struct req *req)
{
    struct webhook_stats s;
    json_t *out;
    store *st = store_thread(&req->err);

    if (!st || store_webhook_stats(st, &s, &req->err) < 0)
        return -1;
    out = json_object();
    json_object_set_new(out, "pending", json_integer(s.pending));
    json_object_set_new(out, "delivered", json_integer(s.delivered));
    json_object_set_new(out, "dead_letter", json_integer(s.dead_letter));
    json_object_set_new(out, "total", json_integer(s.total));
    return http_reply_json(req, 200, out);
}

/* The path id as a lower-case canonical UUID into out, or -1 after recording a problem. */
static int parse_event_id(struct vctx *v, struct req *req, char out[UUID_STR_LEN])
{
    const char *id = v_path_string(v, req, 0, "event_id", 1, 0);
    json_t *input;
    size_t i;

    if (!id)
        return -1;
    if (!uuid_valid(id)) {
        input = json_string(id);
        v_add(v, "uuid_parsing", v_loc("path", "event_id"), "Input should be a valid UUID",
              input, NULL);
        json_decref(input);
        return -1;
    }
    for (i = 0; i < UUID_STR_LEN; i++)
        out[i] = (char)(id[i] >= 'A' && id[i] <= 'F' ? id[i] - 'A' + 'a' : id[i]);
    return 0;
}

/* GET /admin/webhooks/{event_id} */
int api_admin_webhooks_get(struct req *req)
{
    char id[UUID_STR_LEN];
    struct webhook_event *ev;
    struct vctx v;
    store *st;

    v_init(&v);
    parse_event_id(&v, req, id);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st || store_webhook_get(st, req->arena, id, &ev, &req->err) < 0)
        return -1;
    if (!ev)
        return err_set(&req->err, ERR_NOT_FOUND, "Webhook event not found");
    return http_reply_json(req, 200, render_event(ev, 0));
}

/* DELETE /admin/webhooks?status=&event_type=&tenant_id=: purge terminal events (the rules of
 * the job purge, spec/api.md §7.2). */
int api_admin_webhooks_purge(struct req *req)
{
    struct webhook_filter f;
    int64_t deleted;
    json_t *out;
    store *st;

    read_filter(req, &f);
    if (!f.status && !f.event && !f.tenant)
        return err_set(&req->err, ERR_INVALID, "at least one filter is required");
    if (f.status && strcmp(f.status, "delivered") != 0 && strcmp(f.status, "dead_letter") != 0)
        return err_set(&req->err, ERR_INVALID,
                       "status must be one of ('delivered', 'dead_letter'); got '%s'", f.status);
    st = store_thread(&req->err);
    if (!st || store_webhook_purge(st, &f, &deleted, &req->err) < 0)
        return -1;
    out = json_object();
    json_object_set_new(out, "deleted", json_integer(deleted));
    return http_reply_json(req, 200, out);
}
