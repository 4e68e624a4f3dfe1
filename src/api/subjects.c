/* subjects.c - GET /v1/timeline, GET /v1/subjects, DELETE /v1/subjects/{subject_id}
 * (spec/api.md §3.7–§3.9). */
#include "api/api.h"

#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/episodes.h"
#include "service/subjects.h"
#include "util/ts.h"
#include "util/utf8.h"

/* Engram's timeline bound `name` (spec/api.md §11): RFC 3339, TS_NULL when absent. */
static int64_t query_time(struct vctx *v, struct req *req, const char *name)
{
    const char *s = req_query(req, name);
    int64_t us;
    json_t *input;

    if (!s)
        return TS_NULL;
    if (episodes_parse_time(s, &us) == 0)
        return us;
    input = json_string(s);
    if (!input)
        input = json_string("");
    v_add(v, "datetime_parsing", v_loc("query", name), "Input should be a valid datetime", input,
          NULL);
    json_decref(input);
    return TS_NULL;
}

/* Engram's `kinds`: comma-separated episode types, each 1..128 code points, at most
 * TIMELINE_KINDS_MAX of them. */
static void query_kinds(struct vctx *v, struct req *req, struct timeline_query *q)
{
    const char *s = req_query(req, "kinds");
    const char **kinds;
    const char *p, *end;
    size_t n = 1, len;
    json_t *input;

    if (!s)
        return;
    for (p = s; *p; p++)
        n += *p == ',';
    kinds = arena_calloc(req->arena, n, sizeof(*kinds));
    for (p = s, q->nkinds = 0; q->nkinds < n; p = end + 1) {
        end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        len = (size_t)(end - p);
        if (len == 0 || n > TIMELINE_KINDS_MAX || utf8_valid_len(p, len) != len ||
            utf8_count(p, len) > 128)
            break;
        kinds[q->nkinds++] = arena_strndup(req->arena, p, len);
    }
    if (q->nkinds == n) {
        q->kinds = kinds;
        return;
    }
    q->nkinds = 0;
    input = json_string(s);
    if (!input)
        input = json_string("");
    v_add(v, "value_error", v_loc("query", "kinds"),
          "Value error, kinds must be 1 to 100 comma-separated episode types of 1 to 128 "
          "characters", input, NULL);
    json_decref(input);
}

int api_timeline(struct req *req)
{
    struct timeline_query q = { .since = TS_NULL, .until = TS_NULL };
    struct timeline tl;
    struct vctx v;
    json_t *out, *eps, *mems;
    int64_t limit;
    store *st;
    size_t i;

    v_init(&v);
    q.subject = v_query_string(&v, req, "subject_id", 1, 256);
    q.since = query_time(&v, req, "since");
    q.until = query_time(&v, req, "until");
    query_kinds(&v, req, &q);
    if (v_query_int(&v, req, "limit", 0, 1, TIMELINE_LIMIT_MAX, &limit) == 0)
        q.limit = (size_t)limit;
    if (q.since != TS_NULL && q.until != TS_NULL && q.since > q.until) {
        json_t *input = json_string(req_query(req, "until"));

        v_add(&v, "value_error", v_loc("query", "until"),
              "Value error, until must not be before since", input, NULL);
        json_decref(input);
    }
    if (v_finish(&v, &req->err) < 0)
        return -1;
    q.tenant = req->tenant;
    st = store_thread(&req->err);
    if (!st || subjects_timeline_query(req->arena, st, &q, &tl, &req->err) < 0)
        return -1;
    eps = json_array();
    for (i = 0; i < tl.nepisodes; i++)
        json_array_append_new(eps, render_episode(&tl.episodes[i]));
    mems = json_array();
    for (i = 0; i < tl.nmemories; i++)
        json_array_append_new(mems, render_memory(&tl.memories[i]));
    out = json_object();
    json_object_set_new(out, "subject_id", json_string(q.subject));
    json_object_set_new(out, "episodes", eps);
    json_object_set_new(out, "memories", mems);
    return http_reply_json(req, 200, out);
}

int api_subjects_list(struct req *req)
{
    struct subject_count *subs;
    struct vctx v;
    int64_t limit, offset;
    json_t *out, *list;
    size_t n, i;
    store *st;

    v_init(&v);
    v_query_int(&v, req, "limit", 50, 1, 200, &limit);
    v_query_int(&v, req, "offset", 0, 0, INT64_MAX / 2, &offset);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st || subjects_list(req->arena, st, req->tenant, (size_t)limit, (size_t)offset, &subs,
                             &n, &req->err) < 0)
        return -1;
    list = json_array();
    for (i = 0; i < n; i++) {
        json_t *o = json_object();

        json_object_set_new(o, "subject_id", json_string(subs[i].subject_id));
        json_object_set_new(o, "episode_count", json_integer(subs[i].episode_count));
        json_object_set_new(o, "memory_count", json_integer(subs[i].memory_count));
        json_array_append_new(list, o);
    }
    out = json_object();
    json_object_set_new(out, "subjects", list);
    /* Quirk kept for parity (spec §1.10): total is this page's item count. */
    json_object_set_new(out, "total", json_integer((json_int_t)n));
    return http_reply_json(req, 200, out);
}

int api_subjects_delete(struct req *req)
{
    const char *subject;
    int64_t eps = 0, mems = 0;
    struct vctx v;
    json_t *out;
    store *st;

    v_init(&v);
    subject = v_path_string(&v, req, 0, "subject_id", 1, 256);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st || subjects_delete(st, req->tenant, subject, &eps, &mems, &req->err) < 0)
        return -1;
    out = json_object();
    json_object_set_new(out, "subject_id", json_string(subject));
    json_object_set_new(out, "episodes_deleted", json_integer(eps));
    json_object_set_new(out, "memories_deleted", json_integer(mems));
    return http_reply_json(req, 200, out);
}
