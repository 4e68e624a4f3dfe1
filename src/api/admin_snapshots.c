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
#include "util/ts.h"

#define ID_MAX_CHARS 256   /* subject and tenant ids in bodies, code points */

/* ---- JSON shapes ---- */

struct jv *api_snapshot_json(struct arena *a, const struct snapshot *s)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "id", jv_str(a, s->id));
    jv_object_set(a, o, "name", jv_str(a, s->name));
    jv_object_set(a, o, "version", jv_int(a, s->version));
    jv_object_set(a, o, "source_subject_id", jv_str(a, s->source_subject_id));
    jv_object_set(a, o, "episode_count", jv_int(a, s->episode_count));
    jv_object_set(a, o, "memory_count", jv_int(a, s->memory_count));
    jv_object_set(a, o, "metadata", render_stored_json(a, s->metadata, "{}"));
    jv_object_set(a, o, "created_at", render_ts_offset(a, s->created_at));
    return o;
}

struct jv *api_snapshot_list_json(struct arena *a, const struct snapshot *snaps, size_t n)
{
    struct jv *o = jv_object(a), *list = jv_array(a);
    size_t i;

    for (i = 0; i < n; i++)
        jv_array_append(a, list, api_snapshot_json(a, &snaps[i]));
    jv_object_set(a, o, "snapshots", list);
    return o;
}

struct jv *api_snapshot_create_json(struct arena *a, const struct snapshot_create_result *r)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "status", jv_str(a, r->created ? "created" : "exists"));
    jv_object_set(a, o, "id", jv_str(a, r->snap.id));
    jv_object_set(a, o, "name", jv_str(a, r->snap.name));
    jv_object_set(a, o, "version", jv_int(a, r->snap.version));
    if (r->created) {
        jv_object_set(a, o, "episode_count", jv_int(a, r->snap.episode_count));
        jv_object_set(a, o, "memory_count", jv_int(a, r->snap.memory_count));
    }
    return o;
}

struct jv *api_snapshot_restore_json(struct arena *a, const struct snapshot_restore_result *r)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "episodes_restored", jv_int(a, r->counts.episodes));
    jv_object_set(a, o, "memories_restored", jv_int(a, r->counts.memories));
    jv_object_set(a, o, "resolutions_restored", jv_int(a, r->counts.resolutions));
    jv_object_set(a, o, "subject_id", jv_str(a, r->subject_id));
    return o;
}

struct jv *api_cleanup_json(struct arena *a, const struct cleanup_result *r, int dry_run)
{
    struct jv *o = jv_object(a), *list;
    size_t i;

    jv_object_set(a, o, "subjects_cleaned", jv_int(a, r->subjects_cleaned));
    if (!dry_run)
        return o;
    jv_object_set(a, o, "dry_run", jv_bool(a, 1));
    list = jv_array(a);
    for (i = 0; i < r->nsubjects; i++) {
        struct jv *item = jv_object(a);

        jv_object_set(a, item, "subject_id", jv_str(a, r->subjects[i].subject_id));
        jv_object_set(a, item, "tenant_id", render_str_or_null(a, r->subjects[i].tenant_id));
        jv_array_append(a, list, item);
    }
    jv_object_set(a, o, "subjects", list);
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

/* Optional lenient integer body field; *present = 0 when missing (or null and nullable). */
static void opt_int(struct vctx *v, const struct jv *body, const char *key, int nullable,
                    int64_t *out, int *present)
{
    const struct jv *raw = jv_object_get(body, key);

    *present = 0;
    if (!raw || (nullable && jv_type(raw) == JV_NULL))
        return;
    *present = v_int_value(v, raw, v_loc(v, "body", key),
                           (struct v_int){ .min = INT64_MIN, .max = INT64_MAX }, out) == 0;
}

/* target_tenant_id (string or null) from the body, else none. The tenant header is ignored:
 * /admin is cross-tenant under the one API key (README "Admin and tenants"). */
static const char *target_tenant(struct vctx *v, const struct jv *body)
{
    const char *t = v_string(v, body, v_loc(v, "body", "target_tenant_id"),
                             (struct v_str){ .flags = V_NULLABLE, .max = ID_MAX_CHARS });

    return t;
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
    return http_reply_json(req, 200, api_snapshot_list_json(req->arena, snaps, n));
}

/* ---- POST /admin/snapshots ---- */

static int parse_create(struct req *req, struct snapshot_create_in *in)
{
    const struct jv *meta;
    struct jv *body;
    struct vctx v;
    int present;

    memset(in, 0, sizeof(*in));
    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    v_init(&v, req->arena);
    in->name = v_string(&v, body, v_loc(&v, "body", "name"), (struct v_str){ .flags = V_REQUIRED });
    in->source_subject = v_string(&v, body, v_loc(&v, "body", "source_subject_id"),
                                  (struct v_str){ .flags = V_REQUIRED, .min = 1,
                                                  .max = ID_MAX_CHARS });
    in->version = 1;
    opt_int(&v, body, "version", 0, &in->version, &present);
    meta = jv_object_get(body, "metadata");
    if (meta && jv_type(meta) != JV_NULL)
        meta = v_object(&v, body, v_loc(&v, "body", "metadata"), V_OPTIONAL);
    else
        meta = NULL;
    in->source_tenant = v_string(&v, body, v_loc(&v, "body", "source_tenant_id"),
                                 (struct v_str){ .flags = V_NULLABLE, .max = ID_MAX_CHARS });
    in->source_all_tenants = in->source_tenant == NULL;
    if (!v.details)
        in->metadata = meta ? jv_compact_text(req->arena, meta) : NULL;
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
    return http_reply_json(req, 200, api_snapshot_create_json(req->arena, &res));
}

/* ---- POST /admin/snapshots/{snapshot_id}/restore ---- */

/* target_subject_id and target_tenant_id, shared by both restores. */
static void parse_target(struct vctx *v, const struct jv *body, struct snapshot_restore_in *in)
{
    in->target_subject = v_string(v, body, v_loc(v, "body", "target_subject_id"),
                                  (struct v_str){ .flags = V_REQUIRED });
    in->target_tenant = target_tenant(v, body);
}

static int parse_restore(struct req *req, struct snapshot_restore_in *in, char id[UUID_STR_LEN])
{
    struct jv *body;
    struct vctx v;
    size_t i;

    memset(in, 0, sizeof(*in));
    v_init(&v, req->arena);
    if (v_path_uuid(&v, req, 0, "snapshot_id", id) == 0)
        in->id = id;
    if (api_body_object(req, &body, &req->err) < 0) {
        if (v.details) {          /* the path's problem first, then the body's */
            for (i = 0; i < jv_array_size(req->err.details); i++)
                jv_array_append(req->arena, v.details, jv_array_get(req->err.details, i));
            req->err.details = v.details;
        }
        return -1;
    }
    parse_target(&v, body, in);
    return v_finish(&v, &req->err);
}

static int restore(struct req *req, const struct snapshot_restore_in *in)
{
    struct snapshot_restore_result res;
    store *st = store_thread(&req->err);

    if (!st || snapshots_restore(req->arena, st, in, &res, &req->err) < 0)
        return -1;
    return http_reply_json(req, 200, api_snapshot_restore_json(req->arena, &res));
}

int api_admin_snapshots_restore(struct req *req)
{
    struct snapshot_restore_in in;
    char id[UUID_STR_LEN];

    if (gated(req) < 0 || parse_restore(req, &in, id) < 0)
        return -1;
    return restore(req, &in);
}

/* ---- POST /admin/snapshots/restore-by-name ---- */

static int parse_restore_by_name(struct req *req, struct snapshot_restore_in *in)
{
    struct jv *body;
    struct vctx v;

    memset(in, 0, sizeof(*in));
    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    v_init(&v, req->arena);
    in->name = v_string(&v, body, v_loc(&v, "body", "name"), (struct v_str){ .flags = V_REQUIRED });
    opt_int(&v, body, "version", 1, &in->version, &in->has_version);
    parse_target(&v, body, in);
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

static int parse_cleanup(struct req *req, struct cleanup_in *in)
{
    /* "?tenant_id=" is no filter, as an empty tenant header is no tenant. */
    const char *prefix = req_query(req, "prefix"), *tenant = req_query_filter(req, "tenant_id");
    struct vctx v;

    memset(in, 0, sizeof(*in));
    v_init(&v, req->arena);
    v_query_int(&v, req, "max_age_hours",
                (struct v_int){ .def = CLEANUP_DEFAULT_MAX_AGE_HOURS, .min = 0, .max = INT64_MAX },
                &in->max_age_hours);
    v_query_bool(&v, req, "dry_run", &in->dry_run);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    in->prefix = prefix ? prefix : CLEANUP_DEFAULT_PREFIX;
    in->all_tenants = tenant == NULL;
    in->tenant = tenant;
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
    return http_reply_json(req, 200, api_cleanup_json(req->arena, &res, in.dry_run));
}
