/* subjects.c - GET /v1/timeline, GET /v1/subjects, DELETE /v1/subjects/{subject_id}
 * (spec/api.md §3.7–§3.9). */
#include "api/api.h"

#include "api/render.h"
#include "api/validate.h"
#include "service/subjects.h"
#include "util/jv.h"

/* subject_id in the query and the path: 1..256 code points. */
static const struct v_str subject_rule = { .min = 1, .max = 256 };

int api_timeline(struct req *req)
{
    struct arena *a = req->arena;
    struct timeline tl;
    struct vctx v;
    const char *subject;
    struct jv *out;
    store *st;

    v_init(&v, a);
    subject = v_query_string(&v, req, "subject_id", subject_rule);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st || subjects_timeline(a, st, req->tenant, subject, &tl, &req->err) < 0)
        return -1;
    out = jv_object(a);
    jv_object_set(a, out, "subject_id", jv_str(a, subject));
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
    st = store_thread(&req->err);
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
    st = store_thread(&req->err);
    if (!st || subjects_delete(st, req->tenant, subject, &eps, &mems, &req->err) < 0)
        return -1;
    out = jv_object(a);
    jv_object_set(a, out, "subject_id", jv_str(a, subject));
    jv_object_set(a, out, "episodes_deleted", jv_int(a, eps));
    jv_object_set(a, out, "memories_deleted", jv_int(a, mems));
    return http_reply_json(req, 200, out);
}
