/* admin_memory.c - POST /admin/memory/export and POST /admin/memory/import, the admin UI's
 * portable memory payload (spec/api.md §6.4, §6.5). The tenant header is ignored here. */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

#include "api/validate.h"
#include "service/memory_payload.h"
#include "store/store.h"
#include "util/config.h"
#include "util/jsonw.h"
#include "util/jv.h"
#include "util/ts.h"

static const char *const scopes[] = {
    "episodes", "memories", "episodes_and_memories", "episodes_memories_sources",
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

/* A Literal[...] body field: absent → def, else one of the n names (its index in *out), else
 * a 422 literal_error. */
static void literal(struct vctx *v, json_t *body, const char *key, const char *const *names,
                    size_t n, int def, int *out)
{
    json_t *val = json_object_get(body, key), *ctx;
    const char *s = json_string_value(val);
    char expected[160] = "", msg[200];
    size_t i, len;

    *out = def;
    if (!val)
        return;
    for (i = 0; s && i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return;
        }
    }
    for (i = 0; i < n; i++) {
        len = strlen(expected);
        snprintf(expected + len, sizeof(expected) - len, "%s'%s'",
                 i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
    }
    snprintf(msg, sizeof(msg), "Input should be %s", expected);
    ctx = json_object();
    json_object_set_new(ctx, "expected", json_string(expected));
    v_add(v, "literal_error", v_loc("body", key), msg, val, ctx);
}

/* body.subject_ids: a required list of strings (borrowed from body). */
static const char **subject_ids(struct vctx *v, struct arena *a, json_t *body, size_t *n)
{
    json_t *list = json_object_get(body, "subject_ids");
    const char **ids;
    size_t i;

    *n = 0;
    if (!list) {
        v_add(v, "missing", v_loc("body", "subject_ids"), "Field required", body, NULL);
        return NULL;
    }
    if (!json_is_array(list)) {
        v_add(v, "list_type", v_loc("body", "subject_ids"), "Input should be a valid list",
              list, NULL);
        return NULL;
    }
    ids = arena_alloc(a, (json_array_size(list) + 1) * sizeof(*ids));
    for (i = 0; i < json_array_size(list); i++) {
        json_t *item = json_array_get(list, i);

        if (!json_is_string(item)) {
            v_add(v, "string_type", v_loc_item("body", "subject_ids", i, NULL),
                  "Input should be a valid string", item, NULL);
            continue;
        }
        ids[i] = arena_strdup(a, json_string_value(item));
    }
    *n = json_array_size(list);
    return ids;
}

/* Reply with a jv document written compactly (numbers exactly as stored). */
static int reply_jv(struct req *req, int status, const struct jv *doc)
{
    struct buf out = BUF_INIT;
    json_t *raw;

    jv_write_compact(&out, doc);
    raw = json_raw(out.data);
    buf_release(&out);
    return http_reply_json(req, status, raw);
}

/* POST /admin/memory/export: the subjects' records as a memory payload. */
int api_admin_memory_export(struct req *req)
{
    struct payload_limits lim = limits();
    struct payload_export_in in = { 0 };
    const char *tenant;
    struct vctx v;
    json_t *body;
    struct jv *doc;
    int scope;
    store *st;

    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    v_init(&v);
    in.subject_ids = subject_ids(&v, req->arena, body, &in.nsubjects);
    tenant = v_string(&v, body, v_loc("body", "tenant_id"), 0, 0, 0, 1, NULL);
    literal(&v, body, "export_scope", scopes, 4, PAYLOAD_SCOPE_ALL, &scope);
    in.tenant = arena_strdup(req->arena, tenant);
    in.scope = (enum payload_scope)scope;
    json_decref(body);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st)
        return -1;
    doc = memory_payload_export(req->arena, st, &in, &lim, &req->err);
    return doc ? reply_jv(req, 200, doc) : -1;
}

static json_t *import_response(const struct payload_import_result *res,
                               enum payload_strategy strategy)
{
    json_t *out = json_object(), *map = json_object(), *subjects = json_array();
    struct buf id = BUF_INIT;
    char at[TS_STR_LEN];
    size_t i;

    ts_format_offset(res->plan.imported_at, at, sizeof(at));
    jv_write_compact(&id, res->plan.export_id);
    for (i = 0; i < res->nmap; i++) {
        json_object_set_new(map, res->map_from[i], json_string(res->map_to[i]));
        json_array_append_new(subjects, json_string(res->map_to[i]));
    }
    json_object_set_new(out, "imported_at", json_string(at));
    json_object_set_new(out, "export_id", json_raw(id.data));
    json_object_set_new(out, "conflict_strategy",
                        json_string(memory_payload_strategy_name(strategy)));
    json_object_set_new(out, "subject_id_map", map);
    json_object_set_new(out, "imported_subjects", subjects);
    json_object_set_new(out, "imported_episodes", json_integer((json_int_t)res->episodes));
    json_object_set_new(out, "imported_memories", json_integer((json_int_t)res->memories));
    json_object_set_new(out, "imported_sources", json_integer(0));
    buf_release(&id);
    return out;
}

/* POST /admin/memory/import: write a memory payload, all or nothing. */
int api_admin_memory_import(struct req *req)
{
    struct payload_limits lim = limits();
    struct payload_import_result res;
    const char *tenant;
    struct vctx v;
    json_t *body;
    int strategy;
    store *st;

    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    v_init(&v);
    v_object(&v, body, v_loc("body", "payload"), 1);
    tenant = v_string(&v, body, v_loc("body", "target_tenant_id"), 0, 0, 256, 1, NULL);
    tenant = arena_strdup(req->arena, tenant);
    literal(&v, body, "conflict_strategy", strategies, 3, PAYLOAD_CREATE_COPY, &strategy);
    json_decref(body);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st || memory_payload_import(req->arena, st, jv_object_get(req->body_jv, "payload"),
                                     tenant, (enum payload_strategy)strategy, &lim, &res,
                                     &req->err) < 0)
        return -1;
    return http_reply_json(req, 200, import_response(&res, (enum payload_strategy)strategy));
}
