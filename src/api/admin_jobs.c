/* admin_jobs.c - GET and DELETE /admin/jobs: the operator's view of compile jobs in every
 * tenant, and the purge of finished ones (spec/api.md §7.2, behavior.md §16.2). */
#include "api/api.h"

#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "store/store.h"
#include "util/log.h"
#include "util/ts.h"
#include "util/utf8.h"

/* The filters of the query string. An empty value is no filter, as in the reference. */
struct jobs_query {
    struct job_filter f;
    int impossible;   /* a filter that is not UTF-8 text, so no stored job can match it */
};

static const char *filter_param(struct req *req, const char *name, int *impossible)
{
    const char *v = req_query(req, name);

    if (!v || !*v)
        return NULL;
    if (utf8_valid_len(v, strlen(v)) != strlen(v))
        *impossible = 1;
    return v;
}

static void parse_filters(struct req *req, struct jobs_query *q)
{
    memset(q, 0, sizeof(*q));
    q->f.status = filter_param(req, "status", &q->impossible);
    q->f.subject_id = filter_param(req, "subject_id", &q->impossible);
    q->f.tenant_id = filter_param(req, "tenant_id", &q->impossible);
}

static json_t *render_job(const struct compile_job *job)
{
    json_t *o = json_object();

    json_object_set_new(o, "job_id", json_string(job->id));
    json_object_set_new(o, "subject_id", json_string(job->subject_id));
    json_object_set_new(o, "tenant_id", render_str_or_null(job->tenant_id));
    json_object_set_new(o, "status", json_string(job->status));
    json_object_set_new(o, "memories_created", json_integer(job->memories_created));
    json_object_set_new(o, "error", render_str_or_null(job->error));
    json_object_set_new(o, "created_at", render_ts_offset(job->created_at));
    json_object_set_new(o, "started_at", render_ts_offset(job->started_at));
    json_object_set_new(o, "completed_at", render_ts_offset(job->completed_at));
    return o;
}

/* One page of matching jobs; a database failure gives an empty page, never a 500 (§7.2). */
static void list_page(struct req *req, const struct jobs_query *q, size_t limit, size_t offset,
                      json_t *list, int64_t *total)
{
    struct job_rows rows = { NULL, 0, 0 };
    struct err err = ERR_INIT;
    size_t i;
    store *st;

    *total = 0;
    if (q->impossible)
        return;
    st = store_thread(&err);
    if (!st || store_job_list(st, req->arena, &q->f,
                              &(struct store_page){ .limit = limit, .offset = offset }, &rows,
                              &err) < 0) {
        log_write(LOG_WARN, "request %s: listing compile jobs failed: %s", req->request_id,
                  err.msg);
        err_release(&err);
        *total = 0;
        return;
    }
    *total = rows.total;
    for (i = 0; i < rows.n; i++)
        json_array_append_new(list, render_job(&rows.items[i]));
}

/* GET /admin/jobs?status=&subject_id=&tenant_id=&limit=&offset= */
int api_admin_jobs_list(struct req *req)
{
    struct jobs_query q;
    int64_t limit, offset, total;
    struct vctx v;
    json_t *out, *list;

    v_init(&v);
    v_query_int(&v, req, "limit", 50, 1, 100, &limit);
    v_query_int(&v, req, "offset", 0, 0, INT64_MAX / 2, &offset);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    parse_filters(req, &q);
    list = json_array();
    list_page(req, &q, (size_t)limit, (size_t)offset, list, &total);
    out = json_object();
    json_object_set_new(out, "jobs", list);
    json_object_set_new(out, "total", json_integer(total));
    json_object_set_new(out, "limit", json_integer(limit));
    json_object_set_new(out, "offset", json_integer(offset));
    return http_reply_json(req, 200, out);
}

/* DELETE /admin/jobs?status=&subject_id=&tenant_id=: finished jobs only. */
int api_admin_jobs_delete(struct req *req)
{
    struct jobs_query q;
    int64_t deleted = 0;
    store *st;

    parse_filters(req, &q);
    if (!q.f.status && !q.f.subject_id && !q.f.tenant_id)
        return err_set(&req->err, ERR_INVALID, "at least one filter is required");
    if (q.f.status && strcmp(q.f.status, "completed") != 0 && strcmp(q.f.status, "failed") != 0)
        return err_set(&req->err, ERR_INVALID,
                       "status must be one of ('completed', 'failed'); got '%s'", q.f.status);
    if (!q.impossible) {
        st = store_thread(&req->err);
        if (!st || store_job_delete(st, &q.f, &deleted, &req->err) < 0)
            return -1;
    }
    return http_reply_json(req, 200, json_pack("{s:I}", "deleted", (json_int_t)deleted));
}
