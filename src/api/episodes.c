/* episodes.c - POST /v1/episodes and POST /v1/episodes/batch (spec/api.md §3.1, §3.2). */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/episodes.h"
#include "store/store.h"
#include "util/jv.h"
#include "util/ts.h"
#include "util/utf8.h"

/* Where an episode's fields sit in the body: top level, or body.episodes[index]. */
struct item_at {
    int in_batch;
    size_t index;
};

static json_t *loc_of(const struct item_at *at, const char *key)
{
    return at->in_batch ? v_loc_item("body", "episodes", at->index, key) : v_loc("body", key);
}

/* Compact text of member key of the item as sent (jv keeps numbers intact); "{}" when the
 * key is absent. */
static const char *dump_member(struct arena *a, const struct jv *item, const char *key)
{
    const struct jv *v = item ? jv_object_get(item, key) : NULL;
    struct buf b = BUF_INIT;
    const char *copy;

    if (!v)
        return "{}";
    jv_write_compact(&b, v);
    copy = arena_strndup(a, b.data, b.len);
    buf_release(&b);
    return copy;
}

/* Engram (spec/api.md §11): without a top-level key, a metadata.idempotency_key string of
 * 1..256 code points is the key (the reference's MCP server puts it there). Anything else in
 * metadata is stored as sent and is no key. */
static const char *metadata_key(json_t *obj)
{
    json_t *meta = json_object_get(obj, "metadata");
    json_t *val = json_is_object(meta) ? json_object_get(meta, "idempotency_key") : NULL;
    size_t cps;

    if (!json_is_string(val))
        return NULL;
    cps = utf8_count(json_string_value(val), json_string_length(val));
    return cps >= 1 && cps <= 256 ? json_string_value(val) : NULL;
}

static const char *idempotency_key(struct vctx *v, json_t *obj, const struct item_at *at)
{
    json_t *val = json_object_get(obj, "idempotency_key");
    const char *key;

    if (!val || json_is_null(val) ||
        (json_is_string(val) && json_string_length(val) == 0))
        return metadata_key(obj);
    key = v_string(v, obj, loc_of(at, "idempotency_key"), 0, 1, 256, 1, NULL);
    return key;
}

/* Engram (spec/api.md §11): occurred_at, RFC 3339 or null; TS_NULL when not sent. */
static int64_t occurred_at(struct vctx *v, json_t *obj, const struct item_at *at)
{
    json_t *val = json_object_get(obj, "occurred_at");
    const char *s;
    int64_t us;

    if (!val || json_is_null(val))
        return TS_NULL;
    s = v_string(v, obj, loc_of(at, "occurred_at"), 0, 0, 0, 1, NULL);
    if (!s)
        return TS_NULL;
    if (episodes_parse_time(s, &us) < 0) {
        v_add(v, "datetime_parsing", loc_of(at, "occurred_at"),
              "Input should be a valid datetime", val, NULL);
        return TS_NULL;
    }
    return us;
}

/* Validate one episode object into ep (strings in the request arena). */
static void parse_episode(struct vctx *v, struct arena *a, json_t *obj, const struct jv *raw,
                          const struct item_at *at, struct episode *ep)
{
    memset(ep, 0, sizeof(*ep));
    ep->subject_id = v_string(v, obj, loc_of(at, "subject_id"), 1, 1, 256, 0, NULL);
    ep->source = v_string(v, obj, loc_of(at, "source"), 1, 1, 256, 0, NULL);
    ep->type = v_string(v, obj, loc_of(at, "type"), 1, 1, 128, 0, NULL);
    v_object(v, obj, loc_of(at, "payload"), 1);
    v_object(v, obj, loc_of(at, "metadata"), 0);
    v_object(v, obj, loc_of(at, "provenance"), 0);
    ep->session_id = v_string(v, obj, loc_of(at, "session_id"), 0, 0, 256, 1, NULL);
    ep->idempotency_key = idempotency_key(v, obj, at);
    ep->occurred_at = occurred_at(v, obj, at);
    if (v->details)
        return;
    ep->subject_id = arena_strdup(a, ep->subject_id);
    ep->source = arena_strdup(a, ep->source);
    ep->type = arena_strdup(a, ep->type);
    ep->session_id = arena_strdup(a, ep->session_id);
    ep->idempotency_key = arena_strdup(a, ep->idempotency_key);
    ep->payload = dump_member(a, raw, "payload");
    ep->metadata = dump_member(a, raw, "metadata");
    ep->provenance = dump_member(a, raw, "provenance");
}

int api_episodes_create(struct req *req)
{
    struct item_at at = { 0, 0 };
    struct episode ep;
    struct vctx v;
    json_t *body;
    store *st;

    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    v_init(&v);
    parse_episode(&v, req->arena, body, req->body_jv, &at, &ep);
    json_decref(body);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st || episodes_record(req->arena, st, req->tenant, &ep, 1, &req->err) < 0)
        return -1;
    return http_reply_json(req, 201, render_episode(&ep));
}

/* Validate body.episodes: a list of 1..100 episode objects. */
static struct episode *parse_batch(struct vctx *v, struct arena *a, json_t *body,
                                   const struct jv *raw, size_t *n)
{
    const struct jv *raw_list = jv_object_get(raw, "episodes");
    json_t *list = json_object_get(body, "episodes");
    struct episode *eps;
    char msg[96];
    size_t i;

    *n = 0;
    if (!list) {
        v_add(v, "missing", v_loc("body", "episodes"), "Field required", body, NULL);
        return NULL;
    }
    if (!json_is_array(list)) {
        v_add(v, "list_type", v_loc("body", "episodes"), "Input should be a valid list", list,
              NULL);
        return NULL;
    }
    if (json_array_size(list) < 1 || json_array_size(list) > EPISODES_BATCH_MAX) {
        int few = json_array_size(list) < 1;
        json_t *ctx = json_pack("{s:s,s:i,s:i}", "field_type", "List",
                                few ? "min_length" : "max_length", few ? 1 : EPISODES_BATCH_MAX,
                                "actual_length", (int)json_array_size(list));

        snprintf(msg, sizeof(msg), "List should have at %s %d item%s after validation, not %zu",
                 few ? "least" : "most", few ? 1 : EPISODES_BATCH_MAX, few ? "" : "s",
                 json_array_size(list));
        v_add(v, few ? "too_short" : "too_long", v_loc("body", "episodes"), msg, list, ctx);
        return NULL;
    }
    *n = json_array_size(list);
    eps = arena_calloc(a, *n, sizeof(*eps));
    for (i = 0; i < *n; i++) {
        struct item_at at = { 1, i };
        json_t *item = json_array_get(list, i);

        if (!json_is_object(item)) {
            v_add(v, "model_attributes_type", v_loc_item("body", "episodes", i, NULL),
                  "Input should be a valid dictionary or object to extract fields from", item,
                  NULL);
            continue;
        }
        parse_episode(v, a, item, jv_array_get(raw_list, i), &at, &eps[i]);
    }
    return eps;
}

int api_episodes_batch(struct req *req)
{
    struct episode *eps;
    struct vctx v;
    json_t *body, *out, *list;
    size_t n, i;
    store *st;

    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    v_init(&v);
    eps = parse_batch(&v, req->arena, body, req->body_jv, &n);
    json_decref(body);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st || episodes_record_batch(req->arena, st, req->tenant, eps, n, &req->err) < 0)
        return -1;
    list = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(list, render_episode(&eps[i]));
    out = json_object();
    json_object_set_new(out, "episodes_created", json_integer((json_int_t)n));
    json_object_set_new(out, "episodes", list);
    return http_reply_json(req, 201, out);
}
