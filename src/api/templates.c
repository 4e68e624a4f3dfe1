/* templates.c - GET /v1/version and the memory templates (spec/api.md §5.5):
 * GET /v1/memory-templates, GET /v1/memory-templates/{id}, POST …/{id}/apply. */
#include "api/api.h"

#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/service.h"
#include "service/templates.h"
#include "util/buf.h"
#include "util/jv.h"
#include "util/version.h"
#include "util/xalloc.h"

int api_version(struct req *req)
{
    struct jv *out = jv_object(req->arena);

    jv_object_set(req->arena, out, "version", jv_str(req->arena, ENGRAM_VERSION));
    jv_object_set(req->arena, out, "api_contract", jv_str(req->arena, "v1"));
    return http_reply_json(req, 200, out);
}

static struct jv *template_json(struct arena *a, const struct memory_template *t)
{
    struct jv *o = jv_object(a), *fields = jv_array(a);
    size_t i;

    for (i = 0; i < TEMPLATE_FIELDS_MAX && t->fields[i].name; i++) {
        struct jv *f = jv_object(a);

        jv_object_set(a, f, "name", jv_str(a, t->fields[i].name));
        jv_object_set(a, f, "type", jv_str(a, "string"));
        jv_object_set(a, f, "required", jv_bool(a, t->fields[i].required));
        jv_object_set(a, f, "description", jv_str(a, t->fields[i].description));
        jv_array_append(a, fields, f);
    }
    jv_object_set(a, o, "id", jv_str(a, t->id));
    jv_object_set(a, o, "version", jv_int(a, t->version));
    jv_object_set(a, o, "title", jv_str(a, t->title));
    jv_object_set(a, o, "description", jv_str(a, t->description));
    jv_object_set(a, o, "episode_type", jv_str(a, t->episode_type));
    jv_object_set(a, o, "fields", fields);
    jv_object_set(a, o, "content_template", jv_str(a, t->content_template));
    return o;
}

int api_templates_list(struct req *req)
{
    struct jv *out = jv_object(req->arena), *list = jv_array(req->arena);
    const struct memory_template *all;
    size_t n, i;

    all = templates_all(&n);
    for (i = 0; i < n; i++)
        jv_array_append(req->arena, list, template_json(req->arena, &all[i]));
    jv_object_set(req->arena, out, "templates", list);
    return http_reply_json(req, 200, out);
}

/* The template named by the path, or NULL after setting the error (422 or 404). */
static const struct memory_template *path_template(struct req *req)
{
    const struct memory_template *t;
    const char *id;
    struct vctx v;

    v_init(&v, req->arena);
    id = v_path_string(&v, req, 0, "template_id", (struct v_str){ .min = 1, .max = 128 });
    if (v_finish(&v, &req->err) < 0)
        return NULL;
    t = templates_find(id);
    if (!t)
        err_set(&req->err, ERR_NOT_FOUND, "Template not found");
    return t;
}

int api_templates_get(struct req *req)
{
    const struct memory_template *t = path_template(req);

    return t ? http_reply_json(req, 200, template_json(req->arena, t)) : -1;
}

static int template_has_field(const struct memory_template *t, const char *name)
{
    size_t i;

    for (i = 0; i < TEMPLATE_FIELDS_MAX && t->fields[i].name; i++) {
        if (strcmp(t->fields[i].name, name) == 0)
            return 1;
    }
    return 0;
}

/* A member key that the body or values must not hold. */
static void forbid(struct vctx *v, struct jv *loc, const struct jv *value)
{
    v_add(v, "extra_forbidden", loc, "Extra inputs are not permitted", (struct jv *)value,
          NULL);
}

/* body.values: an object (or null) of strings; the names against t when t is known. */
static size_t parse_values(struct vctx *v, struct arena *a, const struct jv *body,
                           const struct memory_template *t, const char ***names,
                           const char ***values)
{
    const struct jv *vals = v_object(v, body, v_loc(v, "body", "values"), V_NULLABLE);
    size_t n = vals ? jv_object_size(vals) : 0, i, k = 0;

    *names = arena_calloc(a, n + 1, sizeof(**names));
    *values = arena_calloc(a, n + 1, sizeof(**values));
    for (i = 0; i < n; i++) {
        const char *name = jv_object_key(vals, i, NULL);
        const struct jv *val = jv_object_value(vals, i);
        struct jv *loc = v_loc(v, "body", "values");

        jv_array_append(a, loc, jv_str(a, name));
        if (t && !template_has_field(t, name))
            forbid(v, loc, val);
        else if (jv_type(val) != JV_STRING)
            v_add(v, "string_type", loc, "Input should be a valid string", (struct jv *)val,
                  NULL);
        else
            (*names)[k] = name, (*values)[k++] = jv_string(val, NULL);
    }
    for (i = 0; t && i < TEMPLATE_FIELDS_MAX && t->fields[i].name; i++) {
        const struct jv *have = vals ? jv_object_get(vals, t->fields[i].name) : NULL;
        struct jv *loc = v_loc(v, "body", "values");

        if (!t->fields[i].required || have)
            continue;
        jv_array_append(a, loc, jv_str(a, t->fields[i].name));
        v_add(v, "missing", loc, "Field required", vals ? (struct jv *)vals : jv_null(),
              NULL);
    }
    return k;
}

/* The checks that need no template (the request pipeline's 422 comes before a 404): only
 * known members, subject_id, session_id, values an object of strings. */
static int parse_apply(struct req *req, const struct jv *body, const char **subject,
                       const char **session)
{
    static const char *const allowed[] = { "subject_id", "values", "session_id" };
    const char **names, **values;
    struct vctx v;
    size_t i, j;

    v_init(&v, req->arena);
    for (i = 0; i < jv_object_size(body); i++) {
        const char *key = jv_object_key(body, i, NULL);

        for (j = 0; j < ARRAY_SIZE(allowed) && strcmp(key, allowed[j]) != 0; j++)
            ;
        if (j == ARRAY_SIZE(allowed))
            forbid(&v, v_loc(&v, "body", key), jv_object_value(body, i));
    }
    *subject = v_string(&v, body, v_loc(&v, "body", "subject_id"),
                        (struct v_str){ .flags = V_REQUIRED, .min = 1, .max = 256 });
    *session = v_string(&v, body, v_loc(&v, "body", "session_id"),
                        (struct v_str){ .flags = V_NULLABLE, .max = 256 });
    parse_values(&v, req->arena, body, NULL, &names, &values);
    return v_finish(&v, &req->err);
}

int api_templates_apply(struct req *req)
{
    const struct memory_template *t;
    const char **names, **values, *subject, *session;
    struct buf out = BUF_INIT;
    struct episode ep;
    struct jv *body;
    struct vctx v;
    size_t n;
    store *st;

    if (api_body_object(req, &body, &req->err) < 0 ||
        parse_apply(req, body, &subject, &session) < 0 || !(t = path_template(req)))
        return -1;
    v_init(&v, req->arena);
    n = parse_values(&v, req->arena, body, t, &names, &values);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || templates_apply(req->arena, st, req->tenant, subject, session, t, names, values,
                               n, &ep, &req->err) < 0)
        return -1;
    render_episode_to(&out, &ep);
    return http_reply_buf(req, 201, &out);
}
