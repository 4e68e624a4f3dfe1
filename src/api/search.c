/* search.c - GET /v1/memories/search (spec/api.md §3.5, behavior.md §9). */
#include "api/api.h"

#include "api/render.h"
#include "api/validate.h"
#include "service/search.h"

/* Lenient query boolean: absent → 0. */
static void query_bool(struct vctx *v, struct req *req, const char *name, int *out)
{
    const char *s = req_query(req, name);
    json_t *raw;

    *out = 0;
    if (!s)
        return;
    raw = json_string(s);
    if (!raw)
        raw = json_string("");
    v_bool_value(v, raw, v_loc("query", name), out);
    json_decref(raw);
}

int api_memories_search(struct req *req)
{
    struct search_query sq;
    struct memory *mems;
    struct vctx v;
    int64_t limit;
    json_t *list, *out;
    size_t n, i;
    store *st;

    v_init(&v);
    sq.subject_id = v_query_string(&v, req, "subject_id", 1, 256);
    sq.kind = req_query(req, "kind");
    sq.q = req_query(req, "q");
    query_bool(&v, req, "semantic", &sq.semantic);
    v_query_int(&v, req, "limit", SEARCH_LIMIT_DEFAULT, 1, SEARCH_LIMIT_MAX, &limit);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    sq.limit = (size_t)limit;
    st = store_thread(&req->err);
    if (!st || search_memories(req->arena, st, req->tenant, &sq, &mems, &n, &req->err) < 0)
        return -1;
    list = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(list, render_memory(&mems[i]));
    out = json_object();
    json_object_set_new(out, "memories", list);
    return http_reply_json(req, 200, out);
}
