/* admin_snapshots.c - the flag-gated admin endpoints (spec/backup-snapshots.md §5, §7;
 * spec/api.md §6.6-§6.11): GET/POST /admin/snapshots, POST /admin/snapshots/{id}/restore,
 * POST /admin/snapshots/restore-by-name, POST /admin/cleanup; and their JSON shapes, which
 * the CLI prints too.
 *
 * With STATEWAVE_ENABLE_SNAPSHOTS off every one of them answers 404 "Not found" before it
 * looks at the request (§5.1 ENG: a malformed request must not reveal the route). The
 * tenant header is ignored (README "Admin and tenants").
 */
#include "api/api.h"

#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/cleanup.h"
#include "service/snapshots.h"
#include "util/config.h"
#include "util/jv.h"
#include "util/jsonw.h"
#include "util/ts.h"

#define ID_MAX_CHARS 256   /* subject and tenant ids in bodies, code points */

/* ---- JSON shapes ---- */

json_t *api_snapshot_json(const struct snapshot *s)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_string(s->id));
    json_object_set_new(o, "name", json_string(s->name));
    json_object_set_new(o, "version", json_integer(s->version));
    json_object_set_new(o, "source_subject_id", json_string(s->source_subject_id));
    json_object_set_new(o, "episode_count", json_integer(s->episode_count));
    json_object_set_new(o, "memory_count", json_integer(s->memory_count));
    json_object_set_new(o, "metadata", json_raw(s->metadata && *s->metadata ? s->metadata
                                                                            : "{}"));
    json_object_set_new(o, "created_at", render_ts_offset(s->created_at));
    return o;
}

json_t *api_snapshot_list_json(const struct snapshot *snaps, size_t n)
{
    json_t *o = json_object(), *list = json_array();
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(list, api_snapshot_json(&snaps[i]));
    json_object_set_new(o, "snapshots", list);
    return o;
}

json_t *api_snapshot_create_json(const struct snapshot_create_result *r)
{
    json_t *o = json_object();

    json_object_set_new(o, "status", json_string(r->created ? "created" : "exists"));
    json_object_set_new(o, "id", json_string(r->snap.id));
    json_object_set_new(o, "name", json_string(r->snap.name));
    json_object_set_new(o, "version", json_integer(r->snap.version));
    if (r->created) {
        json_object_set_new(o, "episode_count", json_integer(r->snap.episode_count));
        json_object_set_new(o, "memory_count", json_integer(r->snap.memory_count));
    }
    return o;
}

json_t *api_snapshot_restore_json(const struct snapshot_restore_result *r)
{
    json_t *o = json_object();

    json_object_set_new(o, "episodes_restored", json_integer(r->counts.episodes));
    json_object_set_new(o, "memories_restored", json_integer(r->counts.memories));
    json_object_set_new(o, "resolutions_restored", json_integer(r->counts.resolutions));
    json_object_set_new(o, "subject_id", json_string(r->subject_id));
    return o;
}

json_t *api_cleanup_json(const struct cleanup_result *r, int dry_run)
{
    json_t *o = json_object(), *list;
    size_t i;

    json_object_set_new(o, "subjects_cleaned", json_integer(r->subjects_cleaned));
    if (!dry_run)
        return o;
    json_object_set_new(o, "dry_run", json_true());
    list = json_array();
    for (i = 0; i < r->nsubjects; i++) {
        json_t *item = json_object();

        json_object_set_new(item, "subject_id", json_string(r->subjects[i].subject_id));
        json_object_set_new(item, "tenant_id", r->subjects[i].tenant_id
                                                   ? json_string(r->subjects[i].tenant_id)
                                                   : json_null());
        json_array_append_new(list, item);
    }
    json_object_set_new(o, "subjects", list);
    return o;
}

/* ---- shared parsing ---- */

/* The flag (§5.1): 404 "Not found" (lowercase f) for any request while it is off. */
static int gated(struct req *req)
{
    if (cfg && cfg->enable_snapshots)
        return 0;
    return err_set(&req->err, ERR_NOT_FOUND, "Not found");
}

/* The compact text of body member key as sent (numbers intact), in the request arena. */
static const char *member_text(struct req *req, const char *key)
{
    const struct jv *v = jv_object_get(req->body_jv, key);
    struct buf b = BUF_INIT;
    const char *copy;

    if (!v)
        return NULL;
    jv_write_compact(&b, v);
    copy = arena_strndup(req->arena, b.data, b.len);
    buf_release(&b);
    return copy;
}

/* Optional lenient integer body field; *present = 0 when missing (or null and nullable). */
static void opt_int(struct vctx *v, json_t *body, const char *key, int nullable,
                    int64_t *out, int *present)
{
    json_t *raw = json_object_get(body, key);

    *present = 0;
    if (!raw || (nullable && json_is_null(raw)))
        return;
    *present = v_int_value(v, raw, v_loc("body", key), INT64_MIN, INT64_MAX, out) == 0;
}

/* target_tenant_id (string or null) from the body, else none. The tenant header is ignored:
 * /admin is cross-tenant under the one API key (README "Admin and tenants"). */
static const char *target_tenant(struct vctx *v, struct req *req, json_t *body)
{
    const char *t = v_string(v, body, v_loc("body", "target_tenant_id"), 0, 0, ID_MAX_CHARS, 1,
                             NULL);

    return t ? arena_strdup(req->arena, t) : NULL;
}

/* ---- GET /admin/snapshots ---- */

int api_admin_snapshots_list(struct req *req)
{
    struct snapshot *snaps = NULL;
    size_t n = 0;
    store *st;

    if (gated(req) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st || snapshots_list(req->arena, st, &snaps, &n, &req->err) < 0)
        return -1;
    return http_reply_json(req, 200, api_snapshot_list_json(snaps, n));
}

/* ---- POST /admin/snapshots ---- */

static int parse_create(struct req *req, struct snapshot_create_in *in)
{
    json_t *body, *meta;
    const char *s;
    struct vctx v;
    int present;

    memset(in, 0, sizeof(*in));
    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    v_init(&v);
    in->name = v_string(&v, body, v_loc("body", "name"), 1, 0, 0, 0, NULL);
    in->source_subject = v_string(&v, body, v_loc("body", "source_subject_id"), 1, 1,
                                  ID_MAX_CHARS, 0, NULL);
    in->version = 1;
    opt_int(&v, body, "version", 0, &in->version, &present);
    meta = json_object_get(body, "metadata");
    if (meta && !json_is_null(meta))
        v_object(&v, body, v_loc("body", "metadata"), 0);
    s = v_string(&v, body, v_loc("body", "source_tenant_id"), 0, 0, ID_MAX_CHARS, 1, NULL);
    in->source_all_tenants = s == NULL;
    in->source_tenant = s;
    if (!v.details) {
        in->name = arena_strdup(req->arena, in->name);
        in->source_subject = arena_strdup(req->arena, in->source_subject);
        in->source_tenant = s ? arena_strdup(req->arena, s) : NULL;
        in->metadata = meta && !json_is_null(meta) ? member_text(req, "metadata") : NULL;
    }
    json_decref(body);
    return v_finish(&v, &req->err);
}

int api_admin_snapshots_create(struct req *req)
{
    struct snapshot_create_result res;
    struct snapshot_create_in in;
    store *st;

    if (gated(req) < 0 || parse_create(req, &in) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st || snapshots_create(req->arena, st, &in, &res, &req->err) < 0)
        return -1;
    return http_reply_json(req, 200, api_snapshot_create_json(&res));
}

/* ---- POST /admin/snapshots/{snapshot_id}/restore ---- */

/* The path id as a lowercase canonical UUID (arena), or NULL after recording a 422. */
static const char *parse_snapshot_id(struct vctx *v, struct req *req)
{
    const char *id = v_path_string(v, req, 0, "snapshot_id", 1, 0);
    json_t *input;
    char *lower;
    size_t i;

    if (!id)
        return NULL;
    if (!uuid_valid(id)) {
        input = json_string(id);
        v_add(v, "uuid_parsing", v_loc("path", "snapshot_id"), "Input should be a valid UUID",
              input, NULL);
        json_decref(input);
        return NULL;
    }
    lower = arena_strdup(req->arena, id);
    for (i = 0; lower[i]; i++) {
        if (lower[i] >= 'A' && lower[i] <= 'F')
            lower[i] = (char)(lower[i] - 'A' + 'a');
    }
    return lower;
}

/* target_subject_id and target_tenant_id, shared by both restores. */
static void parse_target(struct vctx *v, struct req *req, json_t *body,
                         struct snapshot_restore_in *in)
{
    const char *t = v_string(v, body, v_loc("body", "target_subject_id"), 1, 0, 0, 0, NULL);

    in->target_subject = t ? arena_strdup(req->arena, t) : NULL;
    in->target_tenant = target_tenant(v, req, body);
}

static int parse_restore(struct req *req, struct snapshot_restore_in *in)
{
    struct vctx v;
    json_t *body;

    memset(in, 0, sizeof(*in));
    v_init(&v);
    in->id = parse_snapshot_id(&v, req);
    if (api_body_object(req, &body, &req->err) < 0) {
        if (v.details) {          /* the path's problem first, then the body's */
            json_array_extend(v.details, req->err.details);
            json_decref(req->err.details);
            req->err.details = v.details;
        }
        return -1;
    }
    parse_target(&v, req, body, in);
    json_decref(body);
    return v_finish(&v, &req->err);
}

static int restore(struct req *req, const struct snapshot_restore_in *in)
{
    struct snapshot_restore_result res;
    store *st = store_thread(&req->err);

    if (!st || snapshots_restore(req->arena, st, in, &res, &req->err) < 0)
        return -1;
    return http_reply_json(req, 200, api_snapshot_restore_json(&res));
}

int api_admin_snapshots_restore(struct req *req)
{
    struct snapshot_restore_in in;

    if (gated(req) < 0 || parse_restore(req, &in) < 0)
        return -1;
    return restore(req, &in);
}

/* ---- POST /admin/snapshots/restore-by-name ---- */

static int parse_restore_by_name(struct req *req, struct snapshot_restore_in *in)
{
    struct vctx v;
    json_t *body;
    const char *name;

    memset(in, 0, sizeof(*in));
    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    v_init(&v);
    name = v_string(&v, body, v_loc("body", "name"), 1, 0, 0, 0, NULL);
    in->name = name ? arena_strdup(req->arena, name) : NULL;
    opt_int(&v, body, "version", 1, &in->version, &in->has_version);
    parse_target(&v, req, body, in);
    json_decref(body);
    return v_finish(&v, &req->err);
}

int api_admin_snapshots_restore_by_name(struct req *req)
{
    struct snapshot_restore_in in;

    if (gated(req) < 0 || parse_restore_by_name(req, &in) < 0)
        return -1;
    return restore(req, &in);
}

/* ---- POST /admin/cleanup ---- */

static void query_bool(struct vctx *v, struct req *req, const char *name, int *out)
{
    const char *s = req_query(req, name);
    json_t *raw;

    *out = 0;
    if (!s)
        return;
    raw = json_string(s);
    if (!raw)
        raw = json_string("");
    v_bool_value(v, raw, v_loc("query", name), out);
    json_decref(raw);
}

static int parse_cleanup(struct req *req, struct cleanup_in *in)
{
    const char *prefix = req_query(req, "prefix"), *tenant = req_query(req, "tenant_id");
    struct vctx v;

    memset(in, 0, sizeof(*in));
    v_init(&v);
    v_query_int(&v, req, "max_age_hours", CLEANUP_DEFAULT_MAX_AGE_HOURS, 0, INT64_MAX,
                &in->max_age_hours);
    query_bool(&v, req, "dry_run", &in->dry_run);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    in->prefix = prefix ? prefix : CLEANUP_DEFAULT_PREFIX;
    /* "?tenant_id=" is no filter, as an empty tenant header is no tenant. */
    in->all_tenants = !tenant || !*tenant;
    in->tenant = in->all_tenants ? NULL : tenant;
    return 0;
}

int api_admin_cleanup(struct req *req)
{
    struct cleanup_result res;
    struct cleanup_in in;
    store *st;

    if (gated(req) < 0 || parse_cleanup(req, &in) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st || cleanup_run(req->arena, st, &in, ts_now(), &res, &req->err) < 0)
        return -1;
    return http_reply_json(req, 200, api_cleanup_json(&res, in.dry_run));
}
