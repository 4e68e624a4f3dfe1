/* episodes.c - POST /v1/episodes and POST /v1/episodes/batch (spec/api.md §3.1, §3.2). */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/service.h"
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

static struct jv *loc_of(struct vctx *v, const struct item_at *at, const char *key)
{
    return at->in_batch ? v_loc_item(v, "body", "episodes", at->index, key)
                        : v_loc(v, "body", key);
}

/* Compact text of member key of the item as sent (jv keeps numbers intact); "{}" when the
 * key is absent. */
static const char *dump_member(struct arena *a, const struct jv *item, const char *key)
{
    const struct jv *v = jv_object_get(item, key);

    return v ? jv_compact_text(a, v) : "{}";
}

/* Engram (spec/api.md §11): without a top-level key, a metadata.idempotency_key string of
 * 1..256 code points is the key (the reference's MCP server puts it there). Anything else in
 * metadata is stored as sent and is no key. */
static const char *metadata_key(const struct jv *obj)
{
    const struct jv *meta = jv_object_get(obj, "metadata");
    const struct jv *val = meta ? jv_object_get(meta, "idempotency_key") : NULL;
    const char *s = val ? jv_string(val, NULL) : NULL;
    size_t len = 0, cps;

    if (!s)
        return NULL;
    jv_string(val, &len);
    cps = utf8_count(s, len);
    return cps >= 1 && cps <= 256 ? s : NULL;
}

static const char *idempotency_key(struct vctx *v, const struct jv *obj,
                                   const struct item_at *at)
{
    const struct jv *val = jv_object_get(obj, "idempotency_key");
    size_t len = 0;

    if (!val || jv_type(val) == JV_NULL || (jv_string(val, &len) && len == 0))
        return metadata_key(obj);
    return v_string(v, obj, loc_of(v, at, "idempotency_key"),
                    (struct v_str){ .flags = V_NULLABLE, .min = 1, .max = 256 });
}

/* Engram (spec/api.md §11): occurred_at, RFC 3339 or null; TS_NULL when not sent. */
static int64_t occurred_at(struct vctx *v, const struct jv *obj, const struct item_at *at)
{
    const struct jv *val = jv_object_get(obj, "occurred_at");
    const char *s;
    int64_t us;

    if (!val || jv_type(val) == JV_NULL)
        return TS_NULL;
    s = v_string(v, obj, loc_of(v, at, "occurred_at"), (struct v_str){ .flags = V_NULLABLE });
    if (!s)
        return TS_NULL;
    if (episodes_parse_time(s, &us) < 0) {
        v_add(v, "datetime_parsing", loc_of(v, at, "occurred_at"),
              "Input should be a valid datetime", val, NULL);
        return TS_NULL;
    }
    return us;
}

/* Validate one episode object into ep (strings in the request arena, as parsed). */
static void parse_episode(struct vctx *v, struct arena *a, const struct jv *obj,
                          const struct item_at *at, struct episode *ep)
{
    memset(ep, 0, sizeof(*ep));
    ep->subject_id = v_string(v, obj, loc_of(v, at, "subject_id"),
                              (struct v_str){ .flags = V_REQUIRED, .min = 1, .max = 256 });
    ep->source = v_string(v, obj, loc_of(v, at, "source"),
                          (struct v_str){ .flags = V_REQUIRED, .min = 1, .max = 256 });
    ep->type = v_string(v, obj, loc_of(v, at, "type"),
                        (struct v_str){ .flags = V_REQUIRED, .min = 1, .max = 128 });
    v_object(v, obj, loc_of(v, at, "payload"), V_REQUIRED);
    v_object(v, obj, loc_of(v, at, "metadata"), V_OPTIONAL);
    v_object(v, obj, loc_of(v, at, "provenance"), V_OPTIONAL);
    ep->session_id = v_string(v, obj, loc_of(v, at, "session_id"),
                              (struct v_str){ .flags = V_NULLABLE, .max = 256 });
    ep->idempotency_key = idempotency_key(v, obj, at);
    ep->occurred_at = occurred_at(v, obj, at);
    if (v->details)
        return;
    ep->payload = dump_member(a, obj, "payload");
    ep->metadata = dump_member(a, obj, "metadata");
    ep->provenance = dump_member(a, obj, "provenance");
}

/* A single ingest waiting for its group commit (issue 22). */
struct ingest_wait {
    struct episode_job job;
    struct episode ep;
    struct req *req;
};

/* The writer thread wrote our group: let the connection's worker reply. */
static void ingest_written(struct episode_job *job)
{
    http_wake(((struct ingest_wait *)job->ctx)->req);
}

/* The reply of a single ingest, once its episode is written (on the worker thread). */
static int ingest_reply(struct req *req, void *ctx)
{
    struct ingest_wait *w = ctx;
    struct buf out = BUF_INIT;

    if (w->job.rc < 0) {
        req->err = w->job.err;
        return -1;
    }
    render_episode_to(&out, &w->ep);
    return http_reply_buf(req, 201, &out);
}

int api_episodes_create(struct req *req)
{
    struct ingest_wait *w = arena_calloc(req->arena, 1, sizeof(*w));
    struct item_at at = { 0, 0 };
    struct jv *body;
    struct vctx v;
    store *st;
    int rc;

    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    v_init(&v, req->arena);
    parse_episode(&v, req->arena, body, &at, &w->ep);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st)
        return -1;
    w->req = req;
    w->job = (struct episode_job){ .a = req->arena, .ep = &w->ep, .done = ingest_written,
                                   .ctx = w, .err = ERR_INIT };
    /* Deferred before it is queued: the writer may finish before we return. */
    http_defer(req, ingest_reply, w);
    rc = episodes_record_async(st, req->tenant, &w->job, &req->err);
    if (rc == 1)
        return 0;
    req->resume = NULL;
    if (rc < 0)
        return -1;
    return ingest_reply(req, w);
}

/* Validate body.episodes: a list of 1..100 episode objects. */
static struct episode *parse_batch(struct vctx *v, struct arena *a, const struct jv *body,
                                   size_t *n)
{
    const struct jv *list = jv_object_get(body, "episodes");
    struct episode *eps;
    size_t i;

    *n = 0;
    if (!list) {
        v_add(v, "missing", v_loc(v, "body", "episodes"), "Field required", body, NULL);
        return NULL;
    }
    if (jv_type(list) != JV_ARRAY) {
        v_add(v, "list_type", v_loc(v, "body", "episodes"), "Input should be a valid list",
              list, NULL);
        return NULL;
    }
    if (v_list_size(v, v_loc(v, "body", "episodes"), list, 1, EPISODES_BATCH_MAX) < 0)
        return NULL;
    *n = jv_array_size(list);
    eps = arena_calloc(a, *n, sizeof(*eps));
    for (i = 0; i < *n; i++) {
        struct item_at at = { 1, i };
        const struct jv *item = jv_array_get(list, i);

        if (jv_type(item) != JV_OBJECT) {
            v_add(v, "model_attributes_type", v_loc_item(v, "body", "episodes", i, NULL),
                  "Input should be a valid dictionary or object to extract fields from", item,
                  NULL);
            continue;
        }
        parse_episode(v, a, item, &at, &eps[i]);
    }
    return eps;
}

int api_episodes_batch(struct req *req)
{
    struct episode *eps;
    struct jv *body, *out;
    struct vctx v;
    size_t n;
    store *st;

    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    v_init(&v, req->arena);
    eps = parse_batch(&v, req->arena, body, &n);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || episodes_record_batch(req->arena, st, req->tenant, eps, n, &req->err) < 0)
        return -1;
    out = jv_object(req->arena);
    jv_object_set(req->arena, out, "episodes_created", jv_int(req->arena, (int64_t)n));
    jv_object_set(req->arena, out, "episodes", render_episodes(req->arena, eps, n));
    return http_reply_json(req, 201, out);
}
