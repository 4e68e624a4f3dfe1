/* router.h - a static route table: method + path pattern with {params}.
 * Paths are split on the raw '/' and each segment is percent-decoded afterwards, so an id
 * holding an encoded '/' (%2F) stays one segment. */
#ifndef ENGRAM_HTTP_ROUTER_H
#define ENGRAM_HTTP_ROUTER_H

#include <stddef.h>

#include "http/req.h"

typedef int route_fn(struct req *req);

struct route {
    const char *method;    /* "GET", "POST", … */
    const char *pattern;   /* "/v1/subjects/{subject_id}" */
    route_fn *handler;
    const char *name;      /* stable name for logs and metrics, e.g. "subjects.delete" */
};

enum route_match { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_BAD_METHOD };

/* Match method and raw path against n routes. On ROUTE_FOUND sets *out and fills params
 * (decoded into arena a; at most REQ_MAX_PARAMS). A segment that decodes to something
 * containing NUL does not match. */
enum route_match router_match(const struct route *routes, size_t n, const char *method,
                              const char *path, struct arena *a, const struct route **out,
                              const char **params);

#endif
