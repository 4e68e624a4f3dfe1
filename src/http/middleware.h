/* middleware.h - the request pipeline in the spec's order (spec/api.md §1.3):
 * CORS → request id → API key → rate limit → tenant → routing (404/405) → handler. */
#ifndef ENGRAM_HTTP_MIDDLEWARE_H
#define ENGRAM_HTTP_MIDDLEWARE_H

#include <stddef.h>

#include "http/router.h"

/* Run the pipeline for a fully received request and queue exactly one response.
 * Returns 0 when a response was queued, -1 when the connection must be dropped. */
int middleware_run(struct req *req, const struct route *routes, size_t nroutes);
/* Log one line for a finished request (aborted: the client went away first). */
void middleware_log(struct req *req, int aborted);
/* 1 when path needs neither the API key nor the tenant header (spec/api.md §1.4: the health
 * probes, /docs, /redoc, /openapi.json, and the /docs/assets/ files), else 0. */
int middleware_path_open(const char *path);
/* Constant-time string equality (for API keys). */
int secure_equal(const char *a, const char *b);

#endif
