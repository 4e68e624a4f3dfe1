/* subjects.c - GET /v1/timeline, GET /v1/subjects, DELETE /v1/subjects/{subject_id}
 * (spec/api.md §3.7–§3.9). */
#include "api/api.h"

#include "api/render.h"
#include "api/validate.h"
#include "service/subjects.h"

int api_timeline(struct req *req)
{
    struct timeline tl;
    struct vctx v;
    const char *subject;
    json_t *out, *eps, *mems;
    store *st;
    size_t i;

    v_init(&v);
    subject = v_query_string(&v, req, "subject_id", 1, 256);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st || subjects_timeline(req->arena, st, req->tenant, subject, &tl, &req->err) < 0)
        return -1;
    eps = json_array();
    for (i = 0; i < tl.nepisodes; i++)
        json_array_append_new(eps, render_episode(&tl.episodes[i]));
    mems = json_array();
    for (i = 0; i < tl.nmemories; i++)
        json_array_append_new(mems, render_memory(&tl.memories[i]));
    out = json_object();
    json_object_set_new(out, "subject_id", json_string(subject));
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
