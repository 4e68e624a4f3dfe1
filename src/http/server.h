/* server.h - the HTTP server: libmicrohttpd thread pool, body collection, the middleware
 * pipeline (CORS → request id → API key → tenant → routing, all on the headers, before the
 * body is read) and request logging. Limits: STATEWAVE_MAX_BODY_BYTES,
 * STATEWAVE_MAX_INFLIGHT_BODY_BYTES, STATEWAVE_MAX_CONNECTIONS(_PER_IP),
 * STATEWAVE_HEADER_TIMEOUT_SECONDS and STATEWAVE_CONNECTION_TIMEOUT_SECONDS (README "Limits"). */
#ifndef ENGRAM_HTTP_SERVER_H
#define ENGRAM_HTTP_SERVER_H

#include <stddef.h>

#include "http/router.h"
#include "util/err.h"

struct http_server;

/* Start serving routes on cfg->host:cfg->port with cfg->workers threads. */
struct http_server *http_server_start(const struct route *routes, size_t nroutes,
                                      struct err *err);
/* Stop accepting, let in-flight requests finish, join the threads; accepts NULL. */
void http_server_stop(struct http_server *srv);
/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *srv);

#endif
