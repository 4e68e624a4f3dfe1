/* compile.c - POST /v1/memories/compile and GET /v1/memories/compile/{job_id}
 * (spec/api.md §3.3, §3.4; behavior.md §5). */
#include "api/api.h"

#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/compile.h"
#include "service/jobs.h"

struct compile_in {
    const char *subject_id;   /* request arena */
    int async;                /* body key "async": run as a background job */
    int force;                /* Engram: drop the subject's memories and recompile all */
};

/* An optional lenient boolean field; absent = 0. */
static void opt_bool(struct vctx *v, json_t *body, const char *key, int *out)
{
    json_t *val = json_object_get(body, key);

    *out = 0;
    if (val)
        v_bool_value(v, val, v_loc("body", key), out);
}

static int parse_compile_in(struct req *req, struct compile_in *in, struct err *err)
{
    struct vctx v;
    json_t *body;

    if (api_body_object(req, &body, err) < 0)
        return -1;
    v_init(&v);
    in->subject_id = v_string(&v, body, v_loc("body", "subject_id"), 1, 1, 256, 0, NULL);
    in->subject_id = arena_strdup(req->arena, in->subject_id);
    opt_bool(&v, body, "async", &in->async);
    opt_bool(&v, body, "force", &in->force);
    json_decref(body);
    return v_finish(&v, err);
}

static json_t *render_memories(const struct memory *mems, size_t n)
{
    json_t *list = json_array();
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(list, render_memory(&mems[i]));
    return list;
}

static int reply_job_accepted(struct req *req, const struct compile_job *job)
{
    json_t *out = json_object();

    json_object_set_new(out, "job_id", json_string(job->id));
    json_object_set_new(out, "status", json_string("pending"));
    json_object_set_new(out, "subject_id", json_string(job->subject_id));
    return http_reply_json(req, 202, out);
}

int api_memories_compile(struct req *req)
{
    struct compile_result res;
    struct compile_job job;
    struct compile_in in;
    json_t *out;
    store *st;

    if (parse_compile_in(req, &in, &req->err) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st)
        return -1;
    if (in.async) {
        if (jobs_submit(req->arena, st, req->tenant, in.subject_id, in.force, &job,
                        &req->err) < 0)
            return -1;
        return reply_job_accepted(req, &job);
    }
    if (compile_subject(req->arena, st, req->tenant, in.subject_id, in.force, &res,
                        &req->err) < 0)
        return -1;
    out = json_object();
    json_object_set_new(out, "subject_id", json_string(in.subject_id));
    json_object_set_new(out, "memories_created", json_integer((json_int_t)res.nmemories));
    json_object_set_new(out, "memories", render_memories(res.memories, res.nmemories));
    return http_reply_json(req, 200, out);
}

int api_memories_compile_status(struct req *req)
{
    struct compile_job *job;
    struct memory *mems;
    const char *id;
    struct vctx v;
    json_t *out;
    size_t n;
    store *st;

    v_init(&v);
    id = v_path_string(&v, req, 0, "job_id", 1, 0);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st || jobs_lookup(req->arena, st, req->tenant, id, &job, &mems, &n, &req->err) < 0)
        return -1;
    if (!job)
        return err_set(&req->err, ERR_NOT_FOUND, "Job not found or expired");
    out = json_object();
    json_object_set_new(out, "job_id", json_string(job->id));
    json_object_set_new(out, "status", json_string(job->status));
    json_object_set_new(out, "subject_id", json_string(job->subject_id));
    if (strcmp(job->status, "completed") == 0) {
        json_object_set_new(out, "memories_created", json_integer(job->memories_created));
        json_object_set_new(out, "memories", render_memories(mems, mems ? n : 0));
    } else if (strcmp(job->status, "failed") == 0) {
        json_object_set_new(out, "error", json_string(job->error ? job->error : ""));
    }
    return http_reply_json(req, 200, out);
}
