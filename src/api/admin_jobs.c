/* admin_jobs.c - GET and DELETE /admin/jobs: the operator's view of compile jobs in every
 * tenant, and the purge of finished ones (spec/api.md §7.2, behavior.md §16.2). */
#include "api/api.h"

#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/jobs.h"
#include "util/jv.h"
#include "util/log.h"

static void read_filter(struct req *req, struct job_filter *f)
{
    memset(f, 0, sizeof(*f));   /* every other member: no filter */
    f->status = req_query_filter(req, "status");
    f->subject_id = req_query_filter(req, "subject_id");
    f->tenant_id = req_query_filter(req, "tenant_id");
}

static struct jv *render_job(struct arena *a, const struct compile_job *job)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "job_id", jv_str(a, job->id));
    jv_object_set(a, o, "subject_id", jv_str(a, job->subject_id));
    jv_object_set(a, o, "tenant_id", render_str_or_null(a, job->tenant_id));
    jv_object_set(a, o, "status", jv_str(a, job->status));
    jv_object_set(a, o, "memories_created", jv_int(a, job->memories_created));
    jv_object_set(a, o, "error", render_str_or_null(a, job->error));
    jv_object_set(a, o, "created_at", render_ts_offset(a, job->created_at));
    jv_object_set(a, o, "started_at", render_ts_offset(a, job->started_at));
    jv_object_set(a, o, "completed_at", render_ts_offset(a, job->completed_at));
    return o;
}

/* One page of matching jobs; a database failure gives an empty page, never a 500 (§7.2). */
static void list_page(struct req *req, const struct job_filter *f, const struct store_page *pg,
                      struct job_rows *page)
{
    struct err err = ERR_INIT;
    store *st = store_thread(&err);

    if (!st || jobs_list(req->arena, st, f, pg, page, &err) < 0) {
        log_write(LOG_WARN, "request %s: listing compile jobs failed: %s", req->request_id,
                  err.msg);
        memset(page, 0, sizeof(*page));
    }
    err_release(&err);
}

/* GET /admin/jobs?status=&subject_id=&tenant_id=&limit=&offset= */
int api_admin_jobs_list(struct req *req)
{
    struct arena *a = req->arena;
    struct job_filter f;
    struct job_rows page;
    int64_t limit, offset;
    struct jv *out, *list;
    struct vctx v;
    size_t i;

    v_init(&v, a);
    v_query_int(&v, req, "limit", (struct v_int){ .def = 50, .min = 1, .max = 100 }, &limit);
    v_query_int(&v, req, "offset", (struct v_int){ .def = 0, .min = 0, .max = INT64_MAX / 2 },
                &offset);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    read_filter(req, &f);
    list_page(req, &f, &(struct store_page){ .limit = (size_t)limit, .offset = (size_t)offset },
              &page);
    list = jv_array(a);
    for (i = 0; i < page.n; i++)
        jv_array_append(a, list, render_job(a, &page.items[i]));
    out = jv_object(a);
    jv_object_set(a, out, "jobs", list);
    jv_object_set(a, out, "total", jv_int(a, page.total));
    jv_object_set(a, out, "limit", jv_int(a, limit));
    jv_object_set(a, out, "offset", jv_int(a, offset));
    return http_reply_json(req, 200, out);
}

/* DELETE /admin/jobs?status=&subject_id=&tenant_id=: finished jobs only. */
int api_admin_jobs_delete(struct req *req)
{
    struct job_filter f;
    int64_t deleted = 0;
    struct jv *out;
    store *st;

    read_filter(req, &f);
    st = store_thread(&req->err);
    if (!st || jobs_purge(st, &f, &deleted, &req->err) < 0)
        return -1;
    out = jv_object(req->arena);
    jv_object_set(req->arena, out, "deleted", jv_int(req->arena, deleted));
    return http_reply_json(req, 200, out);
}
