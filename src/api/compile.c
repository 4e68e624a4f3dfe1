/* compile.c - POST /v1/memories/compile and GET /v1/memories/compile/{job_id}
 * (spec/api.md §3.3, §3.4; behavior.md §5). */
#include "api/api.h"

#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/compile.h"
#include "service/jobs.h"
#include "util/jv.h"

struct compile_in {
    const char *subject_id;   /* request arena */
    int async;                /* body key "async": run as a background job */
    int force;                /* Engram: drop the subject's memories and recompile all */
};

/* An optional lenient boolean field; absent = 0. */
static void opt_bool(struct vctx *v, const struct jv *body, const char *key, int *out)
{
    const struct jv *val = jv_object_get(body, key);

    *out = 0;
    if (val)
        v_bool_value(v, val, v_loc(v, "body", key), out);
}

static int parse_compile_in(struct req *req, struct compile_in *in, struct err *err)
{
    struct vctx v;
    struct jv *body;

    if (api_body_object(req, &body, err) < 0)
        return -1;
    v_init(&v, req->arena);
    in->subject_id = v_string(&v, body, v_loc(&v, "body", "subject_id"),
                              (struct v_str){ .flags = V_REQUIRED, .min = 1, .max = 256 });
    opt_bool(&v, body, "async", &in->async);
    opt_bool(&v, body, "force", &in->force);
    return v_finish(&v, err);
}

static int reply_job_accepted(struct req *req, const struct compile_job *job)
{
    struct arena *a = req->arena;
    struct jv *out = jv_object(a);

    jv_object_set(a, out, "job_id", jv_str(a, job->id));
    jv_object_set(a, out, "status", jv_str(a, "pending"));
    jv_object_set(a, out, "subject_id", jv_str(a, job->subject_id));
    return http_reply_json(req, 202, out);
}

int api_memories_compile(struct req *req)
{
    struct arena *a = req->arena;
    struct compile_result res;
    struct compile_job job;
    struct compile_in in;
    struct jv *out;
    store *st;

    if (parse_compile_in(req, &in, &req->err) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st)
        return -1;
    if (in.async) {
        if (jobs_submit(a, st, req->tenant, in.subject_id, in.force, &job, &req->err) < 0)
            return -1;
        return reply_job_accepted(req, &job);
    }
    if (compile_subject(a, st, req->tenant, in.subject_id, in.force, &res, &req->err) < 0)
        return -1;
    out = jv_object(a);
    jv_object_set(a, out, "subject_id", jv_str(a, in.subject_id));
    jv_object_set(a, out, "memories_created", jv_int(a, (int64_t)res.nmemories));
    jv_object_set(a, out, "memories", render_memories(a, res.memories, res.nmemories));
    return http_reply_json(req, 200, out);
}

int api_memories_compile_status(struct req *req)
{
    struct arena *a = req->arena;
    struct compile_job *job;
    struct memory *mems;
    const char *id;
    struct vctx v;
    struct jv *out;
    size_t n;
    store *st;

    v_init(&v, a);
    id = v_path_string(&v, req, 0, "job_id", (struct v_str){ .min = 1 });
    if (v_finish(&v, &req->err) < 0)
        return -1;
    st = store_thread(&req->err);
    if (!st || jobs_lookup(a, st, req->tenant, id, &job, &mems, &n, &req->err) < 0)
        return -1;
    if (!job)
        return err_set(&req->err, ERR_NOT_FOUND, "Job not found or expired");
    out = jv_object(a);
    jv_object_set(a, out, "job_id", jv_str(a, job->id));
    jv_object_set(a, out, "status", jv_str(a, job->status));
    jv_object_set(a, out, "subject_id", jv_str(a, job->subject_id));
    if (strcmp(job->status, "completed") == 0) {
        jv_object_set(a, out, "memories_created", jv_int(a, job->memories_created));
        jv_object_set(a, out, "memories", render_memories(a, mems, mems ? n : 0));
    } else if (strcmp(job->status, "failed") == 0) {
        jv_object_set(a, out, "error", jv_str(a, job->error ? job->error : ""));
    }
    return http_reply_json(req, 200, out);
}
