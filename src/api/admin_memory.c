/* admin_memory.c - POST /admin/memory/export and POST /admin/memory/import, the admin UI's
 * portable memory payload (spec/api.md §6.4, §6.5), and POST /admin/memory/clone (§7.1). The
 * tenant header is ignored here. */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

#include "api/validate.h"
#include "service/service.h"
#include "service/memory_clone.h"
#include "service/memory_payload.h"
#include "store/store.h"
#include "util/config.h"
#include "util/jv.h"
#include "util/ts.h"

static const char *const scopes[] = {
    "episodes",
    "memories",
    "episodes_and_memories",
    "episodes_memories_sources",
};
static const char *const strategies[] = { "create_copy", "merge", "cancel" };

static struct payload_limits limits(void)
{
    struct payload_limits lim = {
        .max_bytes = cfg->import_max_bytes,
        .max_subjects = cfg->import_max_subjects,
        .max_episodes = cfg->import_max_episodes,
        .max_memories = cfg->import_max_memories,
        .embedding_dim = (size_t)cfg->embedding_dimensions,
    };

    return lim;
}

/* body.subject_ids: a required list of strings (in the arena). */
static const char **subject_ids(struct vctx *v, struct arena *a, const struct jv *body, size_t *n)
{
    const struct jv *list = jv_object_get(body, "subject_ids");
    const char **ids;
    size_t i;

    *n = 0;
    if (!list) {
        v_add(v, "missing", v_loc(v, "body", "subject_ids"), "Field required", body, NULL);
        return NULL;
    }
    if (jv_type(list) != JV_ARRAY) {
        v_add(v, "list_type", v_loc(v, "body", "subject_ids"), "Input should be a valid list", list,
              NULL);
        return NULL;
    }
    ids = arena_alloc(a, (jv_array_size(list) + 1) * sizeof(*ids));
    for (i = 0; i < jv_array_size(list); i++) {
        const struct jv *item = jv_array_get(list, i);

        ids[i] = jv_string(item, NULL);
        if (!ids[i])
            v_add(v, "string_type", v_loc_item(v, "body", "subject_ids", i, NULL),
                  "Input should be a valid string", item, NULL);
    }
    *n = jv_array_size(list);
    return ids;
}

/* POST /admin/memory/export: the subjects' records as a memory payload. */
int api_admin_memory_export(struct req *req)
{
    struct payload_limits lim = limits();
    struct payload_export_in in = { 0 };
    struct jv *body, *doc;
    struct vctx v;
    int scope;
    store *st;

    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    v_init(&v, req->arena);
    in.subject_ids = subject_ids(&v, req->arena, body, &in.nsubjects);
    in.tenant =
        v_string(&v, body, v_loc(&v, "body", "tenant_id"), (struct v_str){ .flags = V_NULLABLE });
    v_body_literal(&v, body, "export_scope", scopes, 4, PAYLOAD_SCOPE_ALL, &scope);
    in.scope = (enum payload_scope)scope;
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st)
        return -1;
    doc = memory_payload_export(req->arena, st, &in, &lim, &req->err);
    return doc ? http_reply_json(req, 200, doc) : -1;
}

static struct jv *import_response(struct arena *a, const struct payload_import_result *res,
                                  enum payload_strategy strategy)
{
    struct jv *out = jv_object(a), *map = jv_object(a), *subjects = jv_array(a);
    char at[TS_STR_LEN];
    size_t i;

    ts_format_offset(res->plan.imported_at, at, sizeof(at));
    for (i = 0; i < res->nmap; i++) {
        jv_object_set(a, map, res->map_from[i], jv_str(a, res->map_to[i]));
        jv_array_append(a, subjects, jv_str(a, res->map_to[i]));
    }
    jv_object_set(a, out, "imported_at", jv_str(a, at));
    /* Written only, never changed: the cast shares the parsed node. */
    jv_object_set(a, out, "export_id", (struct jv *)res->plan.export_id);
    jv_object_set(a, out, "conflict_strategy", jv_str(a, memory_payload_strategy_name(strategy)));
    jv_object_set(a, out, "subject_id_map", map);
    jv_object_set(a, out, "imported_subjects", subjects);
    jv_object_set(a, out, "imported_episodes", jv_int(a, (int64_t)res->episodes));
    jv_object_set(a, out, "imported_memories", jv_int(a, (int64_t)res->memories));
    jv_object_set(a, out, "imported_sources", jv_int(a, 0));
    return out;
}

/* POST /admin/memory/import: write a memory payload, all or nothing. */
int api_admin_memory_import(struct req *req)
{
    struct payload_limits lim = limits();
    struct payload_import_result res;
    const char *tenant;
    struct jv *body;
    struct vctx v;
    int strategy;
    store *st;

    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    v_init(&v, req->arena);
    v_object(&v, body, v_loc(&v, "body", "payload"), V_REQUIRED);
    tenant = v_string(&v, body, v_loc(&v, "body", "target_tenant_id"),
                      (struct v_str){ .flags = V_NULLABLE, .max = 256 });
    v_body_literal(&v, body, "conflict_strategy", strategies, 3, PAYLOAD_CREATE_COPY, &strategy);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || memory_payload_import(req->arena, st, jv_object_get(body, "payload"), tenant,
                                     (enum payload_strategy)strategy, &lim, &res, &req->err) < 0)
        return -1;
    return http_reply_json(req, 200,
                           import_response(req->arena, &res, (enum payload_strategy)strategy));
}

static struct jv *clone_response(struct arena *a, const struct clone_in *in,
                                 const struct clone_result *res)
{
    struct jv *out = jv_object(a);
    char at[TS_STR_LEN];

    ts_format_offset(res->cloned_at, at, sizeof(at));
    jv_object_set(a, out, "status", jv_str(a, "cloned"));
    jv_object_set(a, out, "source_subject_id", jv_str(a, in->source));
    jv_object_set(a, out, "target_subject_id", jv_str(a, res->target));
    jv_object_set(a, out, "target_display_name",
                  in->display_name ? jv_str(a, in->display_name) : jv_null());
    jv_object_set(a, out, "clone_scope", jv_str(a, memory_payload_scope_name(in->scope)));
    jv_object_set(a, out, "episode_count", jv_int(a, res->episodes));
    jv_object_set(a, out, "memory_count", jv_int(a, res->memories));
    /* Sources are no records of their own (as in the reference): always 0. */
    jv_object_set(a, out, "source_count", jv_int(a, 0));
    jv_object_set(a, out, "cloned_at", jv_str(a, at));
    return out;
}

/* POST /admin/memory/clone: copy a subject into a new one, all or nothing. */
int api_admin_memory_clone(struct req *req)
{
    struct payload_limits lim = limits();
    const struct v_str opt = { .flags = V_NULLABLE };
    struct clone_in in = { 0 };
    struct clone_result res;
    struct jv *body;
    struct vctx v;
    int scope;
    store *st;

    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    v_init(&v, req->arena);
    in.source = v_string(&v, body, v_loc(&v, "body", "source_subject_id"),
                         (struct v_str){ .flags = V_REQUIRED });
    in.target = v_string(&v, body, v_loc(&v, "body", "target_subject_id"), opt);
    in.display_name = v_string(&v, body, v_loc(&v, "body", "target_display_name"), opt);
    in.tenant = v_string(&v, body, v_loc(&v, "body", "target_tenant_id"), opt);
    v_body_literal(&v, body, "clone_scope", scopes, 4, PAYLOAD_SCOPE_ALL, &scope);
    in.scope = (enum payload_scope)scope;
    if (v_finish(&v, &req->err) < 0)
        return -1;
    /* Falsy values are absent, as in the reference (`if target_subject_id:`). */
    if (in.target && !*in.target)
        in.target = NULL;
    in.cloned_by = req_header(req, "X-Statewave-Operator-Email");
    if (in.cloned_by && !*in.cloned_by)
        in.cloned_by = NULL;
    st = service_store(&req->err);
    if (!st || memory_clone(req->arena, st, &in, &lim, &res, &req->err) < 0)
        return -1;
    return http_reply_json(req, 200, clone_response(req->arena, &in, &res));
}
