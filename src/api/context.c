/* context.c - POST /v1/context: assemble a context bundle (spec/api.md §3.6,
 * behavior.md §10). */
#include "api/api.h"

#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/context.h"
#include "util/config.h"
#include "util/ts.h"

/* max_tokens: a lenient integer in 1..CONTEXT_MAX_TOKENS_MAX; absent or null → the default. */
static int64_t parse_budget(struct vctx *v, json_t *body)
{
    json_t *raw = json_object_get(body, "max_tokens");
    int64_t budget = cfg ? cfg->default_max_context_tokens : 4000;

    if (raw && !json_is_null(raw))
        v_int_value(v, raw, v_loc("body", "max_tokens"), 1, CONTEXT_MAX_TOKENS_MAX, &budget);
    return budget;
}

/* Validate the body into rq (strings copied into the arena). */
static int parse_context_request(struct req *req, struct context_request *rq, struct err *err)
{
    struct vctx v;
    json_t *body;

    if (api_body_object(req, &body, err) < 0)
        return -1;
    v_init(&v);
    memset(rq, 0, sizeof(*rq));
    rq->subject_id = v_string(&v, body, v_loc("body", "subject_id"), 1, 1, 256, 0, NULL);
    rq->task = v_string(&v, body, v_loc("body", "task"), 1, 1, CONTEXT_TASK_MAX, 0, NULL);
    rq->budget = parse_budget(&v, body);
    rq->session_id = v_string(&v, body, v_loc("body", "session_id"), 0, 0, 256, 1, NULL);
    rq->subject_id = arena_strdup(req->arena, rq->subject_id);
    rq->task = arena_strdup(req->arena, rq->task);
    rq->session_id = arena_strdup(req->arena, rq->session_id);
    json_decref(body);
    return v_finish(&v, err);
}

static json_t *memory_list(const struct memory *const *mems, size_t n, json_t *list)
{
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(list, render_memory(mems[i]));
    return list;
}

static json_t *id_list(const struct memory *const *mems, size_t n, json_t *list)
{
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(list, json_string(mems[i]->id));
    return list;
}

static json_t *render_provenance(const struct context_bundle *b)
{
    json_t *o = json_object(), *eps = json_array();
    size_t i;

    for (i = 0; i < b->nepisodes; i++)
        json_array_append_new(eps, json_string(b->episodes[i]->id));
    json_object_set_new(o, "fact_ids", id_list(b->facts, b->nfacts, json_array()));
    json_object_set_new(o, "summary_ids", id_list(b->summaries, b->nsummaries, json_array()));
    json_object_set_new(o, "procedure_ids", id_list(b->procedures, b->nprocedures,
                                                    json_array()));
    json_object_set_new(o, "episode_ids", eps);
    return o;
}

static json_t *render_sessions(const struct context_bundle *b)
{
    json_t *list = json_array();
    size_t i;

    for (i = 0; i < b->nsessions; i++) {
        json_t *o = json_object();

        json_object_set_new(o, "session_id", json_string(b->sessions[i].session_id));
        json_object_set_new(o, "episode_count",
                            json_integer((json_int_t)b->sessions[i].episode_count));
        json_object_set_new(o, "first_at", render_ts_z(b->sessions[i].first_at));
        json_object_set_new(o, "last_at", render_ts_z(b->sessions[i].last_at));
        json_array_append_new(list, o);
    }
    return list;
}

static json_t *render_bundle(const struct context_request *rq, const struct context_bundle *b)
{
    json_t *o = json_object(), *facts = json_array(), *eps = json_array();
    size_t i;

    /* facts: the included profile facts, then the included summaries (§10.7) */
    memory_list(b->facts, b->nfacts, facts);
    memory_list(b->summaries, b->nsummaries, facts);
    for (i = 0; i < b->nepisodes; i++)
        json_array_append_new(eps, render_episode(b->episodes[i]));
    json_object_set_new(o, "subject_id", json_string(rq->subject_id));
    json_object_set_new(o, "task", json_string(rq->task));
    json_object_set_new(o, "facts", facts);
    json_object_set_new(o, "episodes", eps);
    json_object_set_new(o, "procedures", memory_list(b->procedures, b->nprocedures,
                                                           json_array()));
    json_object_set_new(o, "provenance", render_provenance(b));
    json_object_set_new(o, "assembled_context", json_string(b->text));
    json_object_set_new(o, "token_estimate", json_integer((json_int_t)b->token_estimate));
    json_object_set_new(o, "sessions", render_sessions(b));
    return o;
}

int api_context(struct req *req)
{
    struct context_request rq;
    struct context_bundle b;
    store *st;

    if (parse_context_request(req, &rq, &req->err) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st || context_assemble(req->arena, st, req->tenant, &rq, ts_now(), &b, &req->err) < 0)
        return -1;
    return http_reply_json(req, 200, render_bundle(&rq, &b));
}
