/* middleware.h - the request pipeline in the spec's order (spec/api.md §1.3):
 * CORS → request id → API key → rate limit → tenant → routing (404/405) → handler. */
#ifndef ENGRAM_HTTP_MIDDLEWARE_H
#define ENGRAM_HTTP_MIDDLEWARE_H

#include <stddef.h>
#include <stdint.h>

#include "http/router.h"

/* The part of the pipeline that needs only the headers, run before any byte of the body is
 * read: request id, API key, rate limit, tenant and routing (a CORS preflight passes; it is
 * answered by middleware_run). Returns 0 when the request may go on, -1 with req->err set
 * (401, 403, 429, 400, 404, 405): answer it with middleware_reply_error(). */
int middleware_admit(struct req *req, const struct route *routes, size_t nroutes);
/* Queue the error envelope of req->err (counted in the metrics when it is a 500). Returns 0
 * when a response was queued, -1 when the connection must be dropped. */
int middleware_reply_error(struct req *req);
/* The rest of the pipeline, once the body is in (after middleware_admit): the preflight
 * answer, the error admit found, 413 for a body past the cap, or the handler. Queues exactly
 * one response; returns 0 when one was queued, -1 when the connection must be dropped. */
int middleware_run(struct req *req);
/* Log one line for a finished request (aborted: the client went away first). */
void middleware_log(struct req *req, int aborted);
/* Log (and count) a request the front end refused on its framing (relay.c): method ("-" when
 * the request line broke first), status, the request id answered, when its first byte came
 * (monotonic us), and why. */
void middleware_log_refused(const char *method, int status, const char *request_id,
                            int64_t started_us, const char *why);
/* 1 when a client's X-Request-ID can be used as the request id (1-128 printable ASCII
 * characters, no space), else 0. */
int middleware_request_id_ok(const char *id);
/* 1 when path needs neither the API key nor the tenant header (spec/api.md §1.4: the health
 * probes, /docs, /redoc, /openapi.json, and the /docs/assets/ files), else 0. */
int middleware_path_open(const char *path);
/* Constant-time string equality (for API keys). */
int secure_equal(const char *a, const char *b);

#endif
