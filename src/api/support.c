/* support.c - the support tier's reads: POST /v1/handoff, GET /v1/subjects/{id}/health and
 * GET /v1/subjects/{id}/sla (spec/api.md §4.2-§4.4, behavior.md §14.2-§14.5). */
#include "api/api.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/service.h"
#include "service/handoff.h"
#include "service/sla.h"
#include "service/subject_health.h"
#include "util/jv.h"
#include "util/ts.h"
#include "util/utf8.h"

/* ---- rendering ---- */

static struct jv *strs_json(struct arena *a, const char *const *items, size_t n)
{
    struct jv *arr = jv_array(a);
    size_t i;

    for (i = 0; i < n; i++)
        jv_array_append(a, arr, jv_str(a, items[i]));
    return arr;
}

/* HealthFactor objects: the first max factors of h. */
struct jv *support_factors_json(struct arena *a, const struct subject_health *h, size_t max)
{
    struct jv *arr = jv_array(a);
    size_t i;

    for (i = 0; i < h->nfactors && i < max; i++) {
        struct jv *f = jv_object(a);

        jv_object_set(a, f, "signal", jv_str(a, h->factors[i].signal));
        jv_object_set(a, f, "impact", jv_int(a, h->factors[i].impact));
        jv_object_set(a, f, "detail", jv_str(a, h->factors[i].detail));
        jv_array_append(a, arr, f);
    }
    return arr;
}

/* A float, or null for NAN. */
static struct jv *real_or_null(struct arena *a, double d)
{
    return isnan(d) ? jv_null() : jv_real(a, d);
}

static struct jv *sla_session_json(struct arena *a, const struct sla_session *s)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "session_id", jv_str(a, s->session_id));
    jv_object_set(a, o, "status", jv_str(a, s->status));
    jv_object_set(a, o, "first_message_at", render_ts_offset(a, s->first_message_at));
    jv_object_set(a, o, "first_response_at", render_ts_offset(a, s->first_response_at));
    jv_object_set(a, o, "resolved_at", render_ts_offset(a, s->resolved_at));
    jv_object_set(a, o, "first_response_seconds", real_or_null(a, s->first_response_seconds));
    jv_object_set(a, o, "resolution_seconds", real_or_null(a, s->resolution_seconds));
    jv_object_set(a, o, "open_duration_seconds", real_or_null(a, s->open_duration_seconds));
    jv_object_set(a, o, "first_response_breached", jv_bool(a, s->first_response_breached));
    jv_object_set(a, o, "resolution_breached", jv_bool(a, s->resolution_breached));
    return o;
}

struct jv *support_sla_json(struct arena *a, const char *subject, const struct sla_summary *s,
                            int with_sessions)
{
    struct jv *o = jv_object(a), *sessions = jv_array(a);
    size_t i;

    for (i = 0; i < s->nsessions; i++)
        jv_array_append(a, sessions, sla_session_json(a, &s->sessions[i]));
    if (subject)
        jv_object_set(a, o, "subject_id", jv_str(a, subject));
    jv_object_set(a, o, "total_sessions", jv_int(a, (int64_t)s->total_sessions));
    jv_object_set(a, o, "resolved_sessions", jv_int(a, (int64_t)s->resolved_sessions));
    jv_object_set(a, o, "open_sessions", jv_int(a, (int64_t)s->open_sessions));
    jv_object_set(a, o, "avg_first_response_seconds",
                  real_or_null(a, s->avg_first_response_seconds));
    jv_object_set(a, o, "avg_resolution_seconds", real_or_null(a, s->avg_resolution_seconds));
    jv_object_set(a, o, "first_response_breach_count",
                  jv_int(a, (int64_t)s->first_response_breach_count));
    jv_object_set(a, o, "resolution_breach_count", jv_int(a, (int64_t)s->resolution_breach_count));
    if (with_sessions)
        jv_object_set(a, o, "sessions", sessions);
    return o;
}

/* ResolutionSummaryItem objects. */
static struct jv *history_json(struct arena *a, const struct handoff *h)
{
    struct jv *arr = jv_array(a);
    size_t i;

    for (i = 0; i < h->nhistory; i++) {
        const struct resolution *r = &h->history[i];
        struct jv *o = jv_object(a);

        jv_object_set(a, o, "session_id", jv_str(a, r->session_id));
        jv_object_set(a, o, "status", jv_str(a, r->status));
        jv_object_set(a, o, "summary", render_str_or_null(a, r->resolution_summary));
        jv_object_set(a, o, "resolved_at", render_ts_z(a, r->resolved_at));
        jv_array_append(a, arr, o);
    }
    return arr;
}

static struct jv *provenance_json(struct arena *a, const struct handoff *h)
{
    struct jv *o = jv_object(a), *res = jv_array(a);
    size_t i;

    for (i = 0; i < h->nhistory; i++)
        jv_array_append(a, res, jv_str(a, h->history[i].id));
    jv_object_set(a, o, "fact_ids", strs_json(a, h->fact_ids.items, h->fact_ids.n));
    jv_object_set(a, o, "episode_ids", strs_json(a, h->episode_ids.items, h->episode_ids.n));
    jv_object_set(a, o, "resolution_ids", res);
    jv_object_set(a, o, "context_episode_ids",
                  strs_json(a, h->context_episode_ids.items, h->context_episode_ids.n));
    return o;
}

struct jv *api_handoff_json(struct arena *a, const struct handoff_request *rq,
                            const struct handoff *h, int64_t now)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "subject_id", jv_str(a, rq->subject_id));
    jv_object_set(a, o, "session_id", jv_str(a, rq->session_id));
    jv_object_set(a, o, "reason", jv_str(a, rq->reason));
    jv_object_set(a, o, "generated_at", render_ts_z(a, now));
    jv_object_set(a, o, "customer_summary", jv_str(a, h->customer_summary));
    jv_object_set(a, o, "active_issue", jv_str(a, h->active_issue));
    jv_object_set(a, o, "attempted_steps",
                  strs_json(a, h->attempted_steps.items, h->attempted_steps.n));
    jv_object_set(a, o, "key_facts", strs_json(a, h->key_facts.items, h->key_facts.n));
    jv_object_set(a, o, "resolution_history", history_json(a, h));
    jv_object_set(a, o, "recent_context",
                  strs_json(a, h->recent_context.items, h->recent_context.n));
    jv_object_set(a, o, "health_score", jv_int(a, h->health->score));
    jv_object_set(a, o, "health_state", jv_str(a, h->health->state));
    jv_object_set(a, o, "health_factors",
                  support_factors_json(a, h->health, SUBJECT_HEALTH_TOP_FACTORS));
    jv_object_set(a, o, "handoff_notes", jv_str(a, h->notes));
    jv_object_set(a, o, "token_estimate", jv_int(a, (int64_t)h->token_estimate));
    jv_object_set(a, o, "provenance", provenance_json(a, h));
    return o;
}

/* ---- POST /v1/handoff ---- */

/* max_tokens: a lenient integer in 1..16000; absent or null → 4000 (fixed). */
static int64_t parse_budget(struct vctx *v, const struct jv *body)
{
    const struct jv *raw = jv_object_get(body, "max_tokens");
    int64_t budget = HANDOFF_DEFAULT_TOKENS;

    if (raw && jv_type(raw) != JV_NULL)
        v_int_value(v, raw, v_loc(v, "body", "max_tokens"),
                    (struct v_int){ .min = 1, .max = HANDOFF_MAX_TOKENS }, &budget);
    return budget;
}

static int parse_handoff_request(struct req *req, struct handoff_request *rq, struct err *err)
{
    struct vctx v;
    struct jv *body;
    int present = 0;

    if (api_body_object(req, &body, err) < 0)
        return -1;
    v_init(&v, req->arena);
    memset(rq, 0, sizeof(*rq));
    rq->subject_id = v_string(&v, body, v_loc(&v, "body", "subject_id"),
                              (struct v_str){ .flags = V_REQUIRED, .min = 1, .max = 256 });
    rq->session_id = v_string(&v, body, v_loc(&v, "body", "session_id"),
                              (struct v_str){ .flags = V_REQUIRED, .min = 1, .max = 256 });
    rq->reason = v_string(&v, body, v_loc(&v, "body", "reason"),
                          (struct v_str){ .max = HANDOFF_REASON_MAX, .present = &present });
    if (!present)
        rq->reason = "escalation";
    rq->budget = parse_budget(&v, body);
    return v_finish(&v, err);
}

int api_handoff(struct req *req)
{
    struct handoff_request rq;
    struct handoff h;
    int64_t now = ts_now();
    store *st;

    if (parse_handoff_request(req, &rq, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || handoff_assemble(req->arena, st, req->tenant, &rq, now, &h, &req->err) < 0)
        return -1;
    return http_reply_json(req, 200, api_handoff_json(req->arena, &rq, &h, now));
}

/* ---- GET /v1/subjects/{id}/health ---- */

/* The {subject_id} path parameter: 1-256 code points (the stored column's width). */
static const char *path_subject(struct vctx *v, struct req *req)
{
    return v_path_string(v, req, 0, "subject_id", (struct v_str){ .min = 1, .max = 256 });
}

int api_subject_health(struct req *req)
{
    struct arena *a = req->arena;
    struct subject_health h;
    const char *subject;
    struct jv *out;
    struct vctx v;
    store *st;

    v_init(&v, a);
    subject = path_subject(&v, req);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || subject_health_assess(a, st, req->tenant, subject, ts_now(), &h, &req->err) < 0)
        return -1;
    out = jv_object(a);
    jv_object_set(a, out, "subject_id", jv_str(a, subject));
    jv_object_set(a, out, "score", jv_int(a, h.score));
    jv_object_set(a, out, "state", jv_str(a, h.state));
    jv_object_set(a, out, "factors", support_factors_json(a, &h, SUBJECT_HEALTH_FACTORS_MAX));
    return http_reply_json(req, 200, out);
}

/* ---- GET /v1/subjects/{id}/sla ---- */

/* A threshold query parameter: a float >= 0 (absent → def), else a 422 problem. */
static double query_threshold(struct vctx *v, struct req *req, const char *name, double def)
{
    const char *s = req_query(req, name);
    struct jv *loc = v_loc(v, "query", name), *ctx, *input;
    char *end = NULL;
    double d;

    if (!s)
        return def;
    input = utf8_valid_len(s, strlen(s)) == strlen(s) ? jv_str(v->a, s) : jv_null();
    errno = 0;
    d = *s && strspn(s, "0123456789+-.eE") == strlen(s) ? strtod(s, &end) : NAN;
    if (!end || *end || errno == ERANGE || !isfinite(d)) {
        v_add(v, "float_parsing", loc,
              "Input should be a valid number, unable to parse string "
              "as a number",
              input, NULL);
        return def;
    }
    if (d < 0) {
        ctx = jv_object(v->a);
        jv_object_set(v->a, ctx, "ge", jv_real(v->a, 0.0));
        v_add(v, "greater_than_equal", loc, "Input should be greater than or equal to 0", input,
              ctx);
    }
    return d;
}

int api_subject_sla(struct req *req)
{
    struct arena *a = req->arena;
    struct sla_thresholds t;
    struct sla_summary s;
    const char *subject;
    struct vctx v;
    store *st;

    v_init(&v, a);
    subject = path_subject(&v, req);
    t.first_response_minutes =
        query_threshold(&v, req, "first_response_threshold_minutes", SLA_FIRST_RESPONSE_MINUTES);
    t.resolution_hours =
        query_threshold(&v, req, "resolution_threshold_hours", SLA_RESOLUTION_HOURS);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || sla_assess(a, st, req->tenant, subject, &t, ts_now(), &s, &req->err) < 0)
        return -1;
    return http_reply_json(req, 200, support_sla_json(a, subject, &s, 1));
}
