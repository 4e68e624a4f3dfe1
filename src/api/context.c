/* context.c - POST /v1/context: assemble a context bundle (spec/api.md §3.6,
 * behavior.md §10). */
#include "api/api.h"

#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/service.h"
#include "service/context.h"
#include "service/receipts.h"
#include "util/config.h"
#include "util/jv.h"
#include "util/ts.h"

/* max_tokens: a lenient integer in 1..CONTEXT_MAX_TOKENS_MAX; absent or null → the default. */
static int64_t parse_budget(struct vctx *v, const struct jv *body)
{
    const struct jv *raw = jv_object_get(body, "max_tokens");
    int64_t budget = cfg ? cfg->default_max_context_tokens : 4000;

    if (raw && jv_type(raw) != JV_NULL)
        v_int_value(v, raw, v_loc(v, "body", "max_tokens"),
                    (struct v_int){ .min = 1, .max = CONTEXT_MAX_TOKENS_MAX }, &budget);
    return budget;
}

/* What POST /v1/context adds to a bundle (Engram's receipts and extensions). */
struct context_extras {
    int emit_receipt;             /* §5.4 */
    struct receipt_meta meta;
};

/* The receipt fields the SDKs send (§5.4) are never a 422 (§8): a value that is not a
 * lenient boolean reads as false, one that is not a string as absent. */
static int sdk_bool(struct arena *a, const struct jv *body, const char *key)
{
    const struct jv *raw = jv_object_get(body, key);
    struct vctx quiet;
    int out = 0;

    if (!raw || jv_type(raw) == JV_NULL)
        return 0;
    v_init(&quiet, a);
    v_bool_value(&quiet, raw, v_loc(&quiet, "body", key), &out);
    return quiet.details ? 0 : out;
}

static const char *sdk_string(const struct jv *body, const char *key)
{
    const struct jv *v = jv_object_get(body, key);

    return v && jv_type(v) == JV_STRING ? jv_string(v, NULL) : NULL;
}

/* The receipt fields (§5.4), as_of and explain (§11). */
static void parse_extras(struct vctx *v, const struct jv *body, struct context_request *rq,
                         struct context_extras *x)
{
    const char *as_of = v_string(v, body, v_loc(v, "body", "as_of"),
                                 (struct v_str){ .flags = V_NULLABLE, .max = 64 });
    const struct jv *explain = jv_object_get(body, "explain");

    v_as_of(v, as_of, v_loc(v, "body", "as_of"), &rq->has_as_of, &rq->as_of);
    if (explain && jv_type(explain) != JV_NULL)
        v_bool_value(v, explain, v_loc(v, "body", "explain"), &rq->explain);
    x->emit_receipt = sdk_bool(v->a, body, "emit_receipt");
    x->meta.query_id = sdk_string(body, "query_id");
    x->meta.task_id = sdk_string(body, "task_id");
    x->meta.parent_receipt_id = sdk_string(body, "parent_receipt_id");
    x->meta.caller_id = sdk_string(body, "caller_id");
    x->meta.caller_type = sdk_string(body, "caller_type");
}

/* Validate the body into rq and x (strings in the request arena). */
static int parse_context_request(struct req *req, struct context_request *rq,
                                 struct context_extras *x, struct err *err)
{
    struct vctx v;
    struct jv *body;

    if (api_body_object(req, &body, err) < 0)
        return -1;
    v_init(&v, req->arena);
    memset(rq, 0, sizeof(*rq));
    memset(x, 0, sizeof(*x));
    rq->subject_id = v_string(&v, body, v_loc(&v, "body", "subject_id"),
                              (struct v_str){ .flags = V_REQUIRED, .min = 1, .max = 256 });
    rq->task = v_string(&v, body, v_loc(&v, "body", "task"),
                        (struct v_str){ .flags = V_REQUIRED, .min = 1, .max = CONTEXT_TASK_MAX });
    rq->budget = parse_budget(&v, body);
    rq->session_id = v_string(&v, body, v_loc(&v, "body", "session_id"),
                              (struct v_str){ .flags = V_NULLABLE, .max = 256 });
    parse_extras(&v, body, rq, x);
    return v_finish(&v, err);
}

/* The response is written straight into the reply buffer: building it as a tree, writing
 * and freeing that once took two thirds of a context request's instructions. */

static void put_key(struct buf *out, const char *key, int first)
{
    if (!first)
        buf_putc(out, ',');
    jv_write_str(out, key, strlen(key));
    buf_putc(out, ':');
}

/* A memory or an episode: its bytes kept by the context cache, else written now. */
static void put_memory(struct buf *out, const struct context_bundle *b,
                       const struct memory *m)
{
    const struct context_json *j = context_memory_json(b, m);

    if (j)
        buf_append(out, j->s, j->n);
    else
        render_memory_to(out, m);
}

static void put_episode(struct buf *out, const struct context_bundle *b,
                        const struct episode *ep)
{
    const struct context_json *j = context_episode_json(b, ep);

    if (j)
        buf_append(out, j->s, j->n);
    else
        render_episode_to(out, ep);
}

static void put_memories(struct buf *out, const struct context_bundle *b,
                         const struct memory *const *mems, size_t n, int first)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!first || i)
            buf_putc(out, ',');
        put_memory(out, b, mems[i]);
    }
}

static void put_ids(struct buf *out, const char *key, const struct memory *const *mems,
                    size_t n, int first)
{
    size_t i;

    put_key(out, key, first);
    buf_putc(out, '[');
    for (i = 0; i < n; i++) {
        if (i)
            buf_putc(out, ',');
        jv_write_str(out, mems[i]->id, strlen(mems[i]->id));
    }
    buf_putc(out, ']');
}

static void put_provenance(struct buf *out, const struct context_bundle *b)
{
    size_t i;

    buf_putc(out, '{');
    put_ids(out, "fact_ids", b->facts, b->nfacts, 1);
    put_ids(out, "summary_ids", b->summaries, b->nsummaries, 0);
    put_ids(out, "procedure_ids", b->procedures, b->nprocedures, 0);
    put_key(out, "episode_ids", 0);
    buf_putc(out, '[');
    for (i = 0; i < b->nepisodes; i++) {
        if (i)
            buf_putc(out, ',');
        jv_write_str(out, b->episodes[i]->id, strlen(b->episodes[i]->id));
    }
    buf_puts(out, "]}");
}

static void put_sessions(struct buf *out, const struct context_bundle *b)
{
    size_t i;

    buf_putc(out, '[');
    for (i = 0; i < b->nsessions; i++) {
        const char *sid = b->sessions[i].session_id;

        buf_puts(out, i ? ",{" : "{");
        put_key(out, "session_id", 1);
        jv_write_str(out, sid, strlen(sid));
        put_key(out, "episode_count", 0);
        buf_printf(out, "%lld", (long long)b->sessions[i].episode_count);
        put_key(out, "first_at", 0);
        render_ts_z_to(out, b->sessions[i].first_at);
        put_key(out, "last_at", 0);
        render_ts_z_to(out, b->sessions[i].last_at);
        buf_putc(out, '}');
    }
    buf_putc(out, ']');
}

/* subject_id, task, facts (the included profile facts, then the included summaries,
 * §10.7), episodes, procedures, provenance, assembled_context, token_estimate, sessions. */
static void context_render_bundle(struct buf *out, const struct context_request *rq,
                           const struct context_bundle *b)
{
    size_t i;

    buf_putc(out, '{');
    put_key(out, "subject_id", 1);
    jv_write_str(out, rq->subject_id, strlen(rq->subject_id));
    put_key(out, "task", 0);
    jv_write_str(out, rq->task, strlen(rq->task));
    put_key(out, "facts", 0);
    buf_putc(out, '[');
    put_memories(out, b, b->facts, b->nfacts, 1);
    put_memories(out, b, b->summaries, b->nsummaries, b->nfacts == 0);
    buf_putc(out, ']');
    put_key(out, "episodes", 0);
    buf_putc(out, '[');
    for (i = 0; i < b->nepisodes; i++) {
        if (i)
            buf_putc(out, ',');
        put_episode(out, b, b->episodes[i]);
    }
    buf_putc(out, ']');
    put_key(out, "procedures", 0);
    buf_putc(out, '[');
    put_memories(out, b, b->procedures, b->nprocedures, 1);
    buf_putc(out, ']');
    put_key(out, "provenance", 0);
    put_provenance(out, b);
    put_key(out, "assembled_context", 0);
    jv_write_str(out, b->text, strlen(b->text));
    put_key(out, "token_estimate", 0);
    buf_printf(out, "%lld", (long long)b->token_estimate);
    put_key(out, "sessions", 0);
    put_sessions(out, b);
}

/* The members only a receipt or an explanation adds, then the closing brace: without them
 * the bytes are exactly the reference's bundle. */
static void context_render_extras(struct buf *out, const char *receipt_id,
                                  const struct jv *explanation)
{
    if (receipt_id) {
        put_key(out, "receipt_id", 0);
        jv_write_str(out, receipt_id, strlen(receipt_id));
        put_key(out, "receipt_emitted", 0);
        buf_puts(out, "true");
    }
    if (explanation) {
        put_key(out, "explanation", 0);
        jv_write_compact(out, explanation);
    }
    buf_putc(out, '}');
}

int api_context(struct req *req)
{
    struct context_request rq;
    struct context_extras x;
    struct context_bundle b;
    struct buf out = BUF_INIT;
    struct jv *explanation = NULL;
    char receipt[32];
    int64_t now = ts_now();
    store *st;

    context_set_renderers(render_memory_to, render_episode_to);
    if (parse_context_request(req, &rq, &x, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || context_assemble(req->arena, st, req->tenant, &rq, now, &b, &req->err) < 0)
        return -1;
    if (rq.explain &&
        context_explain(req->arena, st, req->tenant, &rq, &b, now, &explanation, &req->err) < 0)
        return -1;
    if (x.emit_receipt && receipts_emit(req->arena, st, req->tenant, &rq, &b, &x.meta, now,
                                        receipt, &req->err) < 0)
        return -1;
    context_render_bundle(&out, &rq, &b);
    context_render_extras(&out, x.emit_receipt ? receipt : NULL, explanation);
    return http_reply_buf(req, 200, &out);
}
