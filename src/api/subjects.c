/* subjects.c - GET /v1/timeline, GET /v1/subjects, DELETE /v1/subjects/{subject_id}
 * (spec/api.md §3.7–§3.9). */
#include "api/api.h"

#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/service.h"
#include "service/episodes.h"
#include "service/subjects.h"
#include "util/jv.h"
#include "util/ts.h"
#include "util/utf8.h"

/* subject_id in the query and the path: 1..256 code points. */
static const struct v_str subject_rule = { .min = 1, .max = 256 };

/* Engram's timeline bound `name` (spec/api.md §11): RFC 3339, TS_NULL when absent. */
static int64_t query_time(struct vctx *v, struct req *req, const char *name)
{
    const char *s = req_query(req, name);
    int64_t us;

    if (!s)
        return TS_NULL;
    if (episodes_parse_time(s, &us) == 0)
        return us;
    v_add(v, "datetime_parsing", v_loc(v, "query", name), "Input should be a valid datetime",
          jv_str(req->arena, s), NULL);
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
    v_add(v, "value_error", v_loc(v, "query", "kinds"),
          "Value error, kinds must be 1 to 100 comma-separated episode types of 1 to 128 "
          "characters",
          jv_str(req->arena, s), NULL);
}

int api_timeline(struct req *req)
{
    struct timeline_query q = { .since = TS_NULL, .until = TS_NULL };
    struct arena *a = req->arena;
    struct timeline tl;
    struct vctx v;
    struct jv *out;
    int64_t limit;
    store *st;

    v_init(&v, a);
    q.subject = v_query_string(&v, req, "subject_id", subject_rule);
    q.since = query_time(&v, req, "since");
    q.until = query_time(&v, req, "until");
    query_kinds(&v, req, &q);
    v_as_of(&v, req_query(req, "as_of"), v_loc(&v, "query", "as_of"), &q.has_as_of, &q.as_of);
    if (v_query_int(&v, req, "limit",
                    (struct v_int){ .def = 0, .min = 1, .max = TIMELINE_LIMIT_MAX }, &limit) == 0)
        q.limit = (size_t)limit;
    if (q.since != TS_NULL && q.until != TS_NULL && q.since > q.until)
        v_add(&v, "value_error", v_loc(&v, "query", "until"),
              "Value error, until must not be before since", jv_str(a, req_query(req, "until")),
              NULL);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    q.tenant = req->tenant;
    st = service_store(&req->err);
    if (!st || subjects_timeline_query(a, st, &q, &tl, &req->err) < 0)
        return -1;
    out = jv_object(a);
    jv_object_set(a, out, "subject_id", jv_str(a, q.subject));
    jv_object_set(a, out, "episodes", render_episodes(a, tl.episodes, tl.nepisodes));
    jv_object_set(a, out, "memories", render_memories(a, tl.memories, tl.nmemories));
    return http_reply_json(req, 200, out);
}

int api_subjects_list(struct req *req)
{
    struct arena *a = req->arena;
    struct subject_count *subs;
    struct vctx v;
    int64_t limit, offset;
    struct jv *out, *list;
    size_t n, i;
    store *st;

    v_init(&v, a);
    v_query_int(&v, req, "limit", (struct v_int){ .def = 50, .min = 1, .max = 200 }, &limit);
    v_query_int(&v, req, "offset", (struct v_int){ .def = 0, .min = 0, .max = INT64_MAX / 2 },
                &offset);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || subjects_list(a, st, req->tenant, (size_t)limit, (size_t)offset, &subs, &n,
                             &req->err) < 0)
        return -1;
    list = jv_array(a);
    for (i = 0; i < n; i++) {
        struct jv *o = jv_object(a);

        jv_object_set(a, o, "subject_id", jv_str(a, subs[i].subject_id));
        jv_object_set(a, o, "episode_count", jv_int(a, subs[i].episode_count));
        jv_object_set(a, o, "memory_count", jv_int(a, subs[i].memory_count));
        jv_array_append(a, list, o);
    }
    out = jv_object(a);
    jv_object_set(a, out, "subjects", list);
    /* Quirk kept for parity (spec §1.10): total is this page's item count. */
    jv_object_set(a, out, "total", jv_int(a, (int64_t)n));
    return http_reply_json(req, 200, out);
}

int api_subjects_delete(struct req *req)
{
    struct arena *a = req->arena;
    const char *subject;
    int64_t eps = 0, mems = 0;
    struct vctx v;
    struct jv *out;
    store *st;

    v_init(&v, a);
    subject = v_path_string(&v, req, 0, "subject_id", subject_rule);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = service_store(&req->err);
    if (!st || subjects_delete(st, req->tenant, subject, &eps, &mems, &req->err) < 0)
        return -1;
    out = jv_object(a);
    jv_object_set(a, out, "subject_id", jv_str(a, subject));
    jv_object_set(a, out, "episodes_deleted", jv_int(a, eps));
    jv_object_set(a, out, "memories_deleted", jv_int(a, mems));
    return http_reply_json(req, 200, out);
}
