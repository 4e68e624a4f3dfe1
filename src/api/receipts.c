/* receipts.c - context receipts (spec/api.md §5.4): GET /v1/receipts, GET /v1/receipts/{id},
 * GET /v1/receipts/{id}/verify, POST /v1/receipts/{id}/replay. */
#include "api/api.h"

#include "api/validate.h"
#include "service/receipts.h"
#include "service/service.h"
#include "util/jv.h"
#include "util/ts.h"

/* The receipt id path parameter (the answer to an unknown one is 404, whatever its form). */
static const char *receipt_id(struct req *req, struct err *err)
{
    struct vctx v;
    const char *id;

    v_init(&v, req->arena);
    id = v_path_string(&v, req, 0, "receipt_id", (struct v_str){ .min = 1, .max = 64 });
    return v_finish(&v, err) < 0 ? NULL : id;
}

static int not_found(struct req *req)
{
    return err_set(&req->err, ERR_NOT_FOUND, "Receipt not found");
}

/* A time bound of the listing: RFC 3339, TS_NULL when absent. */
static int64_t query_bound(struct vctx *v, struct req *req, const char *name)
{
    int64_t us = TS_NULL;
    int has = 0;

    v_as_of(v, req_query(req, name), v_loc(v, "query", name), &has, &us);
    return has ? us : TS_NULL;
}

int api_receipts_list(struct req *req)
{
    struct receipt_query q = { .since = TS_NULL, .until = TS_NULL };
    const char *subject;
    struct jv *out;
    struct vctx v;
    int64_t limit;
    store *st;

    v_init(&v, req->arena);
    subject = v_query_string(&v, req, "subject_id", (struct v_str){ .min = 1, .max = 256 });
    q.since = query_bound(&v, req, "since");
    q.until = query_bound(&v, req, "until");
    q.before_id = req_query(req, "cursor");
    if (q.before_id && !*q.before_id)
        q.before_id = NULL;
    v_query_int(&v, req, "limit",
                (struct v_int){ .def = RECEIPTS_LIMIT_DEFAULT, .min = 1,
                                .max = RECEIPTS_LIMIT_MAX },
                &limit);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    q.limit = (size_t)limit;
    st = service_store(&req->err);
    if (!st || receipts_list(req->arena, st, req->tenant, subject, &q, &out, &req->err) < 0)
        return -1;
    return http_reply_json(req, 200, out);
}

/* One receipt's answer: op for the path's id (get, verify, replay), 404 when there is none. */
typedef int receipt_op(struct arena *a, store *st, const char *tenant, const char *id,
                       struct jv **out, struct err *err);

static int one_receipt(struct req *req, receipt_op *op)
{
    const char *id = receipt_id(req, &req->err);
    struct jv *out;
    store *st;

    if (!id)
        return -1;
    st = service_store(&req->err);
    if (!st || op(req->arena, st, req->tenant, id, &out, &req->err) < 0)
        return -1;
    return out ? http_reply_json(req, 200, out) : not_found(req);
}

/* receipts_replay at the request's time. */
static int replay_now(struct arena *a, store *st, const char *tenant, const char *id,
                      struct jv **out, struct err *err)
{
    return receipts_replay(a, st, tenant, id, ts_now(), out, err);
}

int api_receipts_get(struct req *req)
{
    return one_receipt(req, receipts_get);
}

int api_receipts_verify(struct req *req)
{
    return one_receipt(req, receipts_verify);
}

int api_receipts_replay(struct req *req)
{
    return one_receipt(req, replay_now);
}
