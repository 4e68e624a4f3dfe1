/* search.c - GET /v1/memories/search (spec/api.md §3.5, behavior.md §9). */
#include "api/api.h"

#include <string.h>

#include "api/render.h"
#include "api/validate.h"
#include "service/service.h"
#include "service/search.h"
#include "util/jv.h"

int api_memories_search(struct req *req)
{
    struct arena *a = req->arena;
    struct search_query sq;
    struct memory *mems;
    struct vctx v;
    int64_t limit;
    struct jv *out;
    size_t n;
    store *st;

    v_init(&v, a);
    memset(&sq, 0, sizeof(sq));
    sq.subject_id = v_query_string(&v, req, "subject_id", (struct v_str){ .min = 1, .max = 256 });
    sq.kind = req_query(req, "kind");
    sq.q = req_query(req, "q");
    v_query_bool(&v, req, "semantic", &sq.semantic);
    v_query_int(&v, req, "limit",
                (struct v_int){ .def = SEARCH_LIMIT_DEFAULT, .min = 1, .max = SEARCH_LIMIT_MAX },
                &limit);
    v_as_of(&v, req_query(req, "as_of"), v_loc(&v, "query", "as_of"), &sq.has_as_of,
            &sq.as_of);
    if (v_finish(&v, &req->err) < 0)
        return -1;
    sq.limit = (size_t)limit;
    st = service_store(&req->err);
    if (!st || search_memories(a, st, req->tenant, &sq, &mems, &n, &req->err) < 0)
        return -1;
    out = jv_object(a);
    jv_object_set(a, out, "memories", render_memories(a, mems, n));
    return http_reply_json(req, 200, out);
}
