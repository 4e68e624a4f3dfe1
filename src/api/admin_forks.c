/* admin_forks.c - Engram extensions (README "Fork and diff"): POST
 * /admin/subjects/{subject_id}/fork, GET /admin/subjects/diff, GET
 * /admin/subjects/{subject_id}/lineage. Admin routes: the tenant header is ignored; each
 * (tenant, subject) pair is named by parameters, an absent tenant meaning the no-tenant space.
 */
#include "api/api.h"

#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/episodes.h"
#include "service/forks.h"
#include "service/service.h"
#include "util/jv.h"
#include "util/ts.h"
#include "util/utf8.h"

#define ID_MAX_CHARS 256 /* subject and tenant ids, code points */

static const struct v_str subject_rule = { .min = 1, .max = ID_MAX_CHARS };

/* An optional tenant query parameter ("?x=" is absent: the no-tenant space), at most
 * ID_MAX_CHARS code points of valid UTF-8. */
static const char *query_tenant(struct vctx *v, struct req *req, const char *name)
{
    const char *t = req_query_filter(req, name);
    size_t len = t ? strlen(t) : 0;

    if (!t)
        return NULL;
    if (utf8_valid_len(t, len) == len && utf8_count(t, len) <= ID_MAX_CHARS)
        return t;
    v_add(v, "string_too_long", v_loc(v, "query", name),
          "String should have at most 256 characters", jv_str(v->a, t),
          v_ctx_int(v, "max_length", ID_MAX_CHARS));
    return NULL;
}

/* ---- POST /admin/subjects/{subject_id}/fork ---- */

/* as_of from the body: RFC 3339 or null. */
static void body_as_of(struct vctx *v, const struct jv *body, struct fork_in *in)
{
    const struct jv *val = jv_object_get(body, "as_of");
    const char *s;

    if (!val || jv_type(val) == JV_NULL)
        return;
    s = v_string(v, body, v_loc(v, "body", "as_of"), (struct v_str){ .flags = V_NULLABLE });
    if (!s)
        return;
    if (episodes_parse_time(s, &in->as_of) < 0) {
        v_add(v, "datetime_parsing", v_loc(v, "body", "as_of"), "Input should be a valid datetime",
              val, NULL);
        return;
    }
    in->has_as_of = 1;
}

static int parse_fork(struct req *req, struct fork_in *in)
{
    struct jv *body;
    struct vctx v;

    memset(in, 0, sizeof(*in));
    v_init(&v, req->arena);
    in->source_subject = v_path_string(&v, req, 0, "subject_id", subject_rule);
    in->source_tenant = query_tenant(&v, req, "tenant_id");
    if (v_finish(&v, &req->err) < 0)
        return -1;
    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    in->target_subject = v_string(&v, body, v_loc(&v, "body", "target_subject_id"),
                                  (struct v_str){ .flags = V_REQUIRED });
    in->target_tenant = v_string(&v, body, v_loc(&v, "body", "target_tenant_id"),
                                 (struct v_str){ .flags = V_NULLABLE, .max = ID_MAX_CHARS });
    body_as_of(&v, body, in);
    return v_finish(&v, &req->err);
}

static struct jv *lineage_json(struct arena *a, const struct subject_lineage *l)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "source_subject_id", jv_str(a, l->source_subject_id));
    jv_object_set(a, o, "source_tenant_id", render_str_or_null(a, l->source_tenant_id));
    jv_object_set(a, o, "target_subject_id", jv_str(a, l->subject_id));
    jv_object_set(a, o, "target_tenant_id", render_str_or_null(a, l->tenant_id));
    jv_object_set(a, o, "as_of", render_ts_offset(a, l->as_of));
    jv_object_set(a, o, "forked_at", render_ts_offset(a, l->forked_at));
    jv_object_set(a, o, "episodes_copied", jv_int(a, l->episodes_copied));
    jv_object_set(a, o, "memories_copied", jv_int(a, l->memories_copied));
    return o;
}

int api_admin_subjects_fork(struct req *req)
{
    struct fork_result res;
    struct fork_in in;
    struct jv *out;
    store *st;

    if (parse_fork(req, &in) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || forks_create(req->arena, st, &in, &res, &req->err) < 0)
        return -1;
    out = lineage_json(req->arena, &res.lineage);
    jv_object_set(req->arena, out, "resolutions_copied",
                  jv_int(req->arena, res.resolutions_copied));
    return http_reply_json(req, 201, out);
}

/* ---- GET /admin/subjects/{subject_id}/lineage ---- */

int api_admin_subjects_lineage(struct req *req)
{
    struct subject_lineage *l = NULL;
    const char *subject, *tenant;
    struct vctx v;
    store *st;

    v_init(&v, req->arena);
    subject = v_path_string(&v, req, 0, "subject_id", subject_rule);
    tenant = query_tenant(&v, req, "tenant_id");
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || forks_lineage(req->arena, st, tenant, subject, &l, &req->err) < 0)
        return -1;
    return http_reply_json(req, 200, lineage_json(req->arena, l));
}

/* ---- GET /admin/subjects/diff ---- */

static struct jv *memory_list(struct arena *a, const struct memory *const *m, size_t n)
{
    struct jv *arr = jv_array(a);
    size_t i;

    for (i = 0; i < n; i++)
        jv_array_append(a, arr, render_memory(a, m[i]));
    return arr;
}

int api_admin_subjects_diff(struct req *req)
{
    struct arena *a = req->arena;
    struct diff_side x, y;
    struct diff_result d;
    struct jv *out, *changed;
    struct vctx v;
    size_t i;
    store *st;

    v_init(&v, a);
    x.subject = v_query_string(&v, req, "a", subject_rule);
    y.subject = v_query_string(&v, req, "b", subject_rule);
    x.tenant = query_tenant(&v, req, "a_tenant");
    y.tenant = query_tenant(&v, req, "b_tenant");
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || forks_diff(a, st, &x, &y, &d, &req->err) < 0)
        return -1;
    changed = jv_array(a);
    for (i = 0; i < d.nchanged; i++) {
        struct jv *pair = jv_object(a);

        jv_object_set(a, pair, "a", render_memory(a, d.changed[i].a));
        jv_object_set(a, pair, "b", render_memory(a, d.changed[i].b));
        jv_array_append(a, changed, pair);
    }
    out = jv_object(a);
    jv_object_set(a, out, "a", jv_str(a, x.subject));
    jv_object_set(a, out, "b", jv_str(a, y.subject));
    jv_object_set(a, out, "a_tenant", render_str_or_null(a, x.tenant));
    jv_object_set(a, out, "b_tenant", render_str_or_null(a, y.tenant));
    jv_object_set(a, out, "only_in_a", memory_list(a, d.only_a, d.nonly_a));
    jv_object_set(a, out, "only_in_b", memory_list(a, d.only_b, d.nonly_b));
    jv_object_set(a, out, "changed", changed);
    return http_reply_json(req, 200, out);
}
