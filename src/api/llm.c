/* llm.c - POST /v1/llm/complete: the LLM pass-through (spec/api.md §5.1). The model always
 * comes from the configuration; a `model` field in the body is ignored like any unknown
 * field. */
#include "api/api.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/validate.h"
#include "service/llm_complete.h"
#include "util/jv.h"

#define MESSAGES_MAX 50
#define CONTENT_MAX 16000
#define MAX_TOKENS_MAX 4096
#define TEMPERATURE_MAX 2.0
#define ROLE_PATTERN "^(system|user|assistant|tool)$"

static int role_valid(const char *s)
{
    return strcmp(s, "system") == 0 || strcmp(s, "user") == 0 ||
           strcmp(s, "assistant") == 0 || strcmp(s, "tool") == 0;
}

static void parse_message(struct vctx *v, const struct jv *item, size_t i,
                          struct llm_message *out)
{
    struct jv *loc = v_loc_item(v, "body", "messages", i, "role");
    struct jv *ctx;

    if (jv_type(item) != JV_OBJECT) {
        v_add(v, "model_attributes_type", v_loc_item(v, "body", "messages", i, NULL),
              "Input should be a valid dictionary or object to extract fields from", item,
              NULL);
        return;
    }
    out->role = v_string(v, item, loc, (struct v_str){ .flags = V_REQUIRED });
    if (out->role && !role_valid(out->role)) {
        ctx = jv_object(v->a);
        jv_object_set(v->a, ctx, "pattern", jv_str(v->a, ROLE_PATTERN));
        v_add(v, "string_pattern_mismatch", loc,
              "String should match pattern '" ROLE_PATTERN "'", jv_str(v->a, out->role), ctx);
    }
    out->content = v_string(v, item, v_loc_item(v, "body", "messages", i, "content"),
                            (struct v_str){ .flags = V_REQUIRED, .max = CONTENT_MAX });
}

static struct llm_message *parse_messages(struct vctx *v, const struct jv *body, size_t *n)
{
    const struct jv *list = jv_object_get(body, "messages");
    struct jv *loc = v_loc(v, "body", "messages");
    struct llm_message *msgs;
    size_t i;

    *n = 0;
    if (!list) {
        v_add(v, "missing", loc, "Field required", body, NULL);
        return NULL;
    }
    if (jv_type(list) != JV_ARRAY) {
        v_add(v, "list_type", loc, "Input should be a valid list", list, NULL);
        return NULL;
    }
    if (v_list_size(v, loc, list, 1, MESSAGES_MAX) < 0)
        return NULL;
    *n = jv_array_size(list);
    msgs = arena_calloc(v->a, *n, sizeof(*msgs));
    for (i = 0; i < *n; i++)
        parse_message(v, jv_array_get(list, i), i, &msgs[i]);
    return msgs;
}

/* A lenient float (number or numeric string) in [0, TEMPERATURE_MAX]; -1 after a problem. */
static int parse_temperature(struct vctx *v, const struct jv *raw, double *out)
{
    struct jv *loc = v_loc(v, "body", "temperature"), *ctx = jv_object(v->a);
    const char *s;
    char *end;

    switch (jv_type(raw)) {
    case JV_INT:
    case JV_REAL:
        *out = jv_double(raw);
        break;
    case JV_STRING:
        s = jv_string(raw, NULL);
        *out = strtod(s, &end);
        if (end == s || *end) {
            v_add(v, "float_parsing", loc,
                  "Input should be a valid number, unable to parse string as a number", raw,
                  NULL);
            return -1;
        }
        break;
    default:
        v_add(v, "float_type", loc, "Input should be a valid number", raw, NULL);
        return -1;
    }
    if (isfinite(*out) && *out >= 0.0 && *out <= TEMPERATURE_MAX)
        return 0;
    if (!(*out >= 0.0)) {
        jv_object_set(v->a, ctx, "ge", jv_real(v->a, 0.0));
        v_add(v, "greater_than_equal", loc, "Input should be greater than or equal to 0", raw,
              ctx);
    } else {
        jv_object_set(v->a, ctx, "le", jv_real(v->a, TEMPERATURE_MAX));
        v_add(v, "less_than_equal", loc, "Input should be less than or equal to 2", raw, ctx);
    }
    return -1;
}

static void parse_options(struct vctx *v, const struct jv *body, struct llm_request *rq)
{
    const struct jv *mt = jv_object_get(body, "max_tokens");
    const struct jv *t = jv_object_get(body, "temperature");

    if (mt && jv_type(mt) != JV_NULL)
        v_int_value(v, mt, v_loc(v, "body", "max_tokens"),
                    (struct v_int){ .min = 1, .max = MAX_TOKENS_MAX }, &rq->max_tokens);
    if (t && jv_type(t) != JV_NULL && parse_temperature(v, t, &rq->temperature) == 0)
        rq->has_temperature = 1;
}

/* POST /v1/llm/complete */
int api_llm_complete(struct req *req)
{
    struct llm_request rq;
    const char *reply;
    struct jv *body, *out;
    struct vctx v;

    if (api_body_object(req, &body, &req->err) < 0)
        return -1;
    memset(&rq, 0, sizeof(rq));
    v_init(&v, req->arena);
    rq.messages = parse_messages(&v, body, &rq.n);
    parse_options(&v, body, &rq);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    if (llm_complete(req->arena, &rq, &reply, &req->err) < 0)
        return -1;
    out = jv_object(req->arena);
    jv_object_set(req->arena, out, "reply", jv_str(req->arena, reply));
    return http_reply_json(req, 200, out);
}
