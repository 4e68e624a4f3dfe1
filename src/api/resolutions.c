/* resolutions.c - POST /v1/resolutions and GET /v1/resolutions (spec/api.md §4.1,
 * behavior.md §14.1). */
#include "api/api.h"

#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/resolutions.h"
#include "util/jv.h"
#include "util/ts.h"

#define STATUS_PATTERN "^(open|resolved|unresolved)$"

/* Record a 422 string_pattern_mismatch for a status outside open|resolved|unresolved. */
static void bad_status(struct vctx *v, struct jv *loc, const char *status)
{
    struct jv *ctx = jv_object(v->a);

    jv_object_set(v->a, ctx, "pattern", jv_str(v->a, STATUS_PATTERN));
    v_add(v, "string_pattern_mismatch", loc, "String should match pattern '" STATUS_PATTERN "'",
          jv_str(v->a, status), ctx);
}

/* status: absent → "open"; a string matching the pattern; anything else a 422. */
static const char *parse_status(struct vctx *v, const struct jv *body)
{
    struct jv *loc = v_loc(v, "body", "status");
    const char *s;
    int present = 0;

    s = v_string(v, body, loc, (struct v_str){ .present = &present });
    if (!present)
        return "open";
    if (s && !resolution_status_valid(s)) {
        bad_status(v, loc, s);
        return NULL;
    }
    return s;
}

/* metadata as sent (numbers kept), compact; "{}" when absent. NULL after a problem. */
static const char *parse_metadata(struct vctx *v, const struct jv *body)
{
    const struct jv *m = v_object(v, body, v_loc(v, "body", "metadata"), V_OPTIONAL);
    struct buf b = BUF_INIT;
    const char *out;

    if (!m)
        return "{}";
    jv_write_compact(&b, m);
    out = arena_strndup(v->a, b.data, b.len);
    buf_release(&b);
    return out;
}

static int parse_resolution_in(struct req *req, struct resolution_in *in, struct err *err)
{
    struct vctx v;
    struct jv *body;

    if (api_body_object(req, &body, err) < 0)
        return -1;
    v_init(&v, req->arena);
    memset(in, 0, sizeof(*in));
    in->subject_id = v_string(&v, body, v_loc(&v, "body", "subject_id"),
                              (struct v_str){ .flags = V_REQUIRED, .min = 1, .max = 256 });
    in->session_id = v_string(&v, body, v_loc(&v, "body", "session_id"),
                              (struct v_str){ .flags = V_REQUIRED, .min = 1, .max = 256 });
    in->status = parse_status(&v, body);
    in->resolution_summary =
        v_string(&v, body, v_loc(&v, "body", "resolution_summary"),
                 (struct v_str){ .flags = V_NULLABLE, .max = RESOLUTION_SUMMARY_MAX });
    in->metadata = parse_metadata(&v, body);
    return v_finish(&v, err);
}

struct jv *api_resolution_json(struct arena *a, const struct resolution *r)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "id", jv_str(a, r->id));
    jv_object_set(a, o, "subject_id", jv_str(a, r->subject_id));
    jv_object_set(a, o, "session_id", jv_str(a, r->session_id));
    jv_object_set(a, o, "status", jv_str(a, r->status));
    jv_object_set(a, o, "resolution_summary", render_str_or_null(a, r->resolution_summary));
    jv_object_set(a, o, "resolved_at", render_ts_z(a, r->resolved_at));
    jv_object_set(a, o, "metadata", render_stored_json(a, r->metadata, "{}"));
    jv_object_set(a, o, "created_at", render_ts_z(a, r->created_at));
    jv_object_set(a, o, "updated_at", render_ts_z(a, r->updated_at));
    return o;
}

/* POST /v1/resolutions: create or update; 200 with the Resolution. */
int api_resolutions_create(struct req *req)
{
    struct resolution_in in;
    struct resolution r;
    store *st;

    if (parse_resolution_in(req, &in, &req->err) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st || resolutions_record(req->arena, st, req->tenant, &in, ts_now(), &r, &req->err) < 0)
        return -1;
    return http_reply_json(req, 200, api_resolution_json(req->arena, &r));
}

/* GET /v1/resolutions?subject_id=&status=: a bare array, newest first, at most 50. */
int api_resolutions_list(struct req *req)
{
    struct arena *a = req->arena;
    const char *subject, *status;
    struct resolution *rows;
    struct jv *out;
    struct vctx v;
    size_t n, i;
    store *st;

    v_init(&v, a);
    subject = v_query_string(&v, req, "subject_id", (struct v_str){ .min = 1 });
    status =
        req_query(req, "status") ? v_query_string(&v, req, "status", (struct v_str){ 0 }) : NULL;
    if (status && !resolution_status_valid(status))
        bad_status(&v, v_loc(&v, "query", "status"), status);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st || resolutions_list(a, st, req->tenant, subject, status, &rows, &n, &req->err) < 0)
        return -1;
    out = jv_array(a);
    for (i = 0; i < n; i++)
        jv_array_append(a, out, api_resolution_json(a, &rows[i]));
    return http_reply_json(req, 200, out);
}
