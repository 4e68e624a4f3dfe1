/* admin_packs.c - starter packs and the support docs subject (spec/api.md §7.7):
 * GET /admin/memory/starter-packs, POST /admin/memory/starter-packs/import,
 * GET /admin/memory/support/state, POST /admin/memory/support/reseed and its alias
 * POST /admin/docs-pack/reseed. Cross-tenant: the tenant header is ignored. */
#include "api/api.h"

#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/packs.h"
#include "service/service.h"
#include "util/jv.h"
#include "util/utf8.h"

#define REASON_MAX 200

static struct jv *render_pack(struct arena *a, const struct pack_info *p)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "pack_id", jv_str(a, p->pack_id));
    jv_object_set(a, o, "kind", jv_str(a, p->kind));
    if (p->error) {
        jv_object_set(a, o, "__error", jv_str(a, p->error));
        return o;
    }
    jv_object_set(a, o, "display_name", render_str_or_null(a, p->display_name));
    jv_object_set(a, o, "description", render_str_or_null(a, p->description));
    jv_object_set(a, o, "version", render_str_or_null(a, p->version));
    jv_object_set(a, o, "created_at", render_str_or_null(a, p->created_at));
    jv_object_set(a, o, "subject_id_suggestion", render_str_or_null(a, p->subject_id_suggestion));
    jv_object_set(a, o, "episode_count", jv_int(a, p->episode_count));
    jv_object_set(a, o, "memory_count", jv_int(a, p->memory_count));
    jv_object_set(a, o, "source_count", jv_int(a, p->source_count));
    jv_object_set(a, o, "tags", (struct jv *)p->tags);
    return o;
}

/* GET /admin/memory/starter-packs */
int api_admin_packs_list(struct req *req)
{
    struct arena *a = req->arena;
    struct pack_info *packs;
    struct jv *list = jv_array(a), *out = jv_object(a);
    size_t n = packs_list(a, &packs), i;

    for (i = 0; i < n; i++)
        jv_array_append(a, list, render_pack(a, &packs[i]));
    jv_object_set(a, out, "packs", list);
    return http_reply_json(req, 200, out);
}

static const struct v_str NULLABLE_ID = { .flags = V_NULLABLE, .max = 256 };

static void parse_import(struct vctx *v, const struct jv *body, struct pack_import_in *in)
{
    static const char *const strategies[] = { "create_copy", "merge", "cancel" };
    const struct jv *raw = jv_object_get(body, "allow_reserved_target");
    int strategy = PAYLOAD_CREATE_COPY;

    memset(in, 0, sizeof(*in));
    in->pack_id = v_string(v, body, v_loc(v, "body", "pack_id"),
                           (struct v_str){ .flags = V_REQUIRED, .max = 256 });
    in->target_subject_id = v_string(v, body, v_loc(v, "body", "target_subject_id"), NULLABLE_ID);
    in->display_name = v_string(v, body, v_loc(v, "body", "target_display_name"),
                                (struct v_str){ .flags = V_NULLABLE, .max = 256 });
    in->tenant = v_string(v, body, v_loc(v, "body", "target_tenant_id"), NULLABLE_ID);
    v_body_literal(v, body, "conflict_strategy", strategies, 3, PAYLOAD_CREATE_COPY, &strategy);
    in->strategy = (enum payload_strategy)strategy;
    if (raw && jv_type(raw) != JV_NULL)
        v_bool_value(v, raw, v_loc(v, "body", "allow_reserved_target"), &in->allow_reserved_target);
}

/* POST /admin/memory/starter-packs/import */
int api_admin_packs_import(struct req *req)
{
    struct arena *a = req->arena;
    struct pack_import_result res;
    struct pack_import_in in;
    struct jv *body, *out;
    struct vctx v;
    store *st;

    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    v_init(&v, a);
    parse_import(&v, body, &in);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || packs_import(a, st, &in, &res, &req->err) < 0)
        return -1;
    out = jv_object(a);
    jv_object_set(a, out, "pack_id", jv_str(a, in.pack_id));
    jv_object_set(a, out, "target_subject_id", jv_str(a, res.target_subject_id));
    jv_object_set(a, out, "imported_episodes", jv_int(a, (int64_t)res.episodes));
    jv_object_set(a, out, "imported_memories", jv_int(a, (int64_t)res.memories));
    jv_object_set(a, out, "imported_sources", jv_int(a, 0));
    jv_object_set(a, out, "conflict_strategy",
                  jv_str(a, memory_payload_strategy_name(in.strategy)));
    jv_object_set(a, out, "imported_at", render_ts_offset(a, res.imported_at));
    return http_reply_json(req, 200, out);
}

static struct jv *render_state(struct arena *a, const struct support_state *s)
{
    struct jv *o = jv_object(a), *last = jv_object(a);
    const struct pack_rows *r = &s->rows;

    jv_object_set(a, o, "subject_id", jv_str(a, s->subject_id));
    jv_object_set(a, o, "pack_id", jv_str(a, s->pack_id));
    jv_object_set(a, o, "bundled_version", jv_str(a, s->bundled_version));
    jv_object_set(a, o, "installed_version", render_str_or_null(a, s->installed_version));
    jv_object_set(
        a, o, "is_up_to_date",
        jv_bool(a, s->installed_version && strcmp(s->installed_version, s->bundled_version) == 0));
    jv_object_set(a, o, "total_episode_count", jv_int(a, r->total.episodes));
    jv_object_set(a, o, "total_memory_count", jv_int(a, r->total.memories));
    jv_object_set(a, o, "owned_episode_count", jv_int(a, r->owned.episodes));
    jv_object_set(a, o, "owned_memory_count", jv_int(a, r->owned.memories));
    jv_object_set(a, o, "operator_episode_count", jv_int(a, r->total.episodes - r->owned.episodes));
    jv_object_set(a, o, "operator_memory_count", jv_int(a, r->total.memories - r->owned.memories));
    jv_object_set(a, last, "imported_at", render_str_or_null(a, s->last_imported_at));
    jv_object_set(a, last, "reason", render_str_or_null(a, s->last_reason));
    jv_object_set(a, last, "version", render_str_or_null(a, s->installed_version));
    jv_object_set(a, o, "last_reseed", last);
    return o;
}

/* GET /admin/memory/support/state */
int api_admin_support_state(struct req *req)
{
    struct support_state s;
    store *st = service_store(&req->err);

    if (!st || packs_support_state(req->arena, st, &s, &req->err) < 0)
        return -1;
    return http_reply_json(req, 200, render_state(req->arena, &s));
}

/* reason: trimmed of surrounding whitespace; "" after trimming is no reason. */
static const char *trimmed(struct arena *a, const char *s)
{
    size_t len;

    if (!s)
        return NULL;
    while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        s++;
    len = strlen(s);
    while (len && (s[len - 1] == ' ' || (s[len - 1] >= '\t' && s[len - 1] <= '\r')))
        len--;
    return len ? arena_strndup(a, s, len) : NULL;
}

/* The optional body {reason?, force?}; an empty body is no body. */
static int parse_reseed(struct req *req, struct support_reseed *rs)
{
    const struct jv *body, *force;
    struct jv *loc;
    struct vctx v;

    memset(rs, 0, sizeof(*rs));
    if (req->body.len == 0)
        return 0;
    if (api_body_object(req, (struct jv **)&body, &req->err) < 0)
        return -1;
    v_init(&v, req->arena);
    rs->reason = trimmed(req->arena, v_string(&v, body, v_loc(&v, "body", "reason"),
                                              (struct v_str){ .flags = V_NULLABLE }));
    if (rs->reason && utf8_count(rs->reason, strlen(rs->reason)) > REASON_MAX) {
        loc = v_loc(&v, "body", "reason");
        v_add(&v, "string_too_long", loc, "String should have at most 200 characters",
              jv_str(req->arena, rs->reason), v_ctx_int(&v, "max_length", REASON_MAX));
    }
    force = jv_object_get(body, "force");
    if (force && jv_type(force) != JV_NULL)
        v_bool_value(&v, force, v_loc(&v, "body", "force"), &rs->force);
    return v_finish(&v, &req->err);
}

/* POST /admin/memory/support/reseed and POST /admin/docs-pack/reseed */
int api_admin_support_reseed(struct req *req)
{
    struct arena *a = req->arena;
    struct support_reseed rs;
    struct jv *out;
    store *st;

    if (parse_reseed(req, &rs) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || packs_support_reseed(a, st, &rs, &req->err) < 0)
        return -1;
    out = jv_object(a);
    jv_object_set(a, out, "subject_id", jv_str(a, rs.before.subject_id));
    jv_object_set(a, out, "pack_id", jv_str(a, rs.before.pack_id));
    jv_object_set(a, out, "pack_version", jv_str(a, rs.before.bundled_version));
    jv_object_set(a, out, "installed_version",
                  rs.updated ? jv_str(a, rs.before.bundled_version)
                             : render_str_or_null(a, rs.before.installed_version));
    if (rs.updated) {
        jv_object_set(a, out, "previous_version",
                      render_str_or_null(a, rs.before.installed_version));
        jv_object_set(a, out, "operator_episodes_preserved",
                      jv_int(a, rs.before.rows.total.episodes - rs.before.rows.owned.episodes));
        jv_object_set(a, out, "operator_memories_preserved",
                      jv_int(a, rs.before.rows.total.memories - rs.before.rows.owned.memories));
    }
    jv_object_set(a, out, "imported_episodes", jv_int(a, (int64_t)rs.episodes));
    jv_object_set(a, out, "imported_memories", jv_int(a, (int64_t)rs.memories));
    jv_object_set(a, out, "reseeded_at", render_ts_offset(a, rs.reseeded_at));
    jv_object_set(a, out, "reason", render_str_or_null(a, rs.reason));
    jv_object_set(a, out, "updated", jv_bool(a, rs.updated));
    jv_object_set(a, out, "outcome", jv_str(a, rs.outcome));
    return http_reply_json(req, 200, out);
}
