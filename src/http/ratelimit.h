/* ratelimit.h - the rate-limit step of the request pipeline, between the API-key check and
 * the tenant check: requests per minute per client IP (spec/api.md §1.7), counted by
 * service/ratelimit.h (memory or distributed strategy). Exempt: the probes (/healthz,
 * /health, /readyz, /ready) and /metrics.
 */
#ifndef ENGRAM_HTTP_RATELIMIT_H
#define ENGRAM_HTTP_RATELIMIT_H

#include "http/req.h"

/* The pipeline step: 0 when req may proceed (the limit is off, the path is exempt, the budget
 * allows it, or the database failed); -1 with err set to 429 rate_limited and
 * req->retry_after set when the client is over the limit. */
int ratelimit_check(struct req *req, struct err *err);
/* 1 for the paths never limited (the probes and /metrics), else 0. */
int ratelimit_path_exempt(const char *path);

#endif
