/* middleware.c - CORS, request ids, API key, rate limit, tenant, routing, and the request log
 * and metrics of each finished request. */
#include "http/middleware.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/metrics.h"
#include "http/ratelimit.h"
#include "store/store.h"
#include "util/config.h"
#include "util/jv.h"
#include "util/log.h"
#include "util/utf8.h"
#include "util/ts.h"
#include "util/utf8.h"
#include "util/uuid.h"

#define TENANT_MAX 256

/* Paths open without an API key or tenant header (spec/api.md §1.4), plus the files the /docs
 * page loads (they are public whenever the page is), and the admin web UI's page and files under
 * /ui/ (Engram's extension: the page holds no data; every data call it makes needs the key). */
int middleware_path_open(const char *path)
{
    static const char *const open_paths[] = { "/healthz", "/health", "/readyz", "/ready",
                                              "/docs", "/redoc", "/openapi.json",
                                              "/v1/version" };
    size_t i;

    for (i = 0; i < sizeof(open_paths) / sizeof(open_paths[0]); i++) {
        if (strcmp(path, open_paths[i]) == 0)
            return 1;
    }
    return strncmp(path, "/docs/assets/", 13) == 0 || strcmp(path, "/ui") == 0 ||
           strncmp(path, "/ui/", 4) == 0;
}

int secure_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i;
    unsigned char diff = la != lb;

    for (i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

static int origin_allowed(const char *origin)
{
    size_t i;

    if (cfg->cors_any)
        return 1;
    for (i = 0; i < cfg->ncors_origins; i++) {
        if (strcmp(cfg->cors_origins[i], origin) == 0)
            return 1;
    }
    return 0;
}

static int is_preflight(struct req *req)
{
    return strcmp(req->method, "OPTIONS") == 0 && req_header(req, "Origin") &&
           req_header(req, "Access-Control-Request-Method");
}

/* Answer a CORS preflight; returns 1 when the request was one. */
static int preflight(struct req *req, int *ret)
{
    const char *origin = req_header(req, "Origin");
    const char *want = req_header(req, "Access-Control-Request-Headers");
    struct MHD_Response *r;

    if (!is_preflight(req))
        return 0;
    if (!origin_allowed(origin)) {
        *ret = http_reply_text(req, 400, "Disallowed CORS origin");
        return 1;
    }
    r = MHD_create_response_from_buffer(2, (void *)"OK", MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(r, "X-Request-ID", req->request_id);
    MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(r, "Vary", "Origin");
    MHD_add_response_header(r, "Access-Control-Allow-Methods",
                            "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT");
    if (want)
        MHD_add_response_header(r, "Access-Control-Allow-Headers", want);
    MHD_add_response_header(r, "Access-Control-Allow-Credentials", "true");
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
    *ret = MHD_queue_response(req->conn, 200, r) == MHD_YES ? 0 : -1;
    MHD_destroy_response(r);
    req->status = 200;
    return 1;
}

int middleware_request_id_ok(const char *s)
{
    size_t n = strlen(s), i;

    if (n == 0 || n > REQUEST_ID_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return 0;
    }
    return 1;
}

static void set_request_id(struct req *req)
{
    const char *in = req_header(req, "X-Request-ID");

    if (in && middleware_request_id_ok(in))
        memcpy(req->request_id, in, strlen(in) + 1);
    else
        random_hex(req->request_id, 16);
}

/* 0 when the request may proceed, -1 with req->err set. */
static int check_api_key(struct req *req)
{
    const char *key;

    if (!cfg->api_key || middleware_path_open(req->path))
        return 0;
    key = req_header(req, "X-API-Key");
    if (!key || !*key)
        key = req_query(req, "api_key");
    if (!key || !*key)
        return err_set_code(&req->err, ERR_UNAUTHORIZED, "missing_api_key",
                            "X-API-Key header is required.");
    if (!secure_equal(key, cfg->api_key))
        return err_set_code(&req->err, ERR_FORBIDDEN, "invalid_api_key", "Invalid API key.");
    return 0;
}

struct utf8_scan {
    struct req *req;   /* whose arena holds the decoded copies */
    int bad;           /* an argument was not UTF-8 */
};

static int is_utf8(const char *s)
{
    size_t n = strlen(s);

    return utf8_valid_len(s, n) == n;
}

/* 1 if s, still percent-encoded (the server's unescape callback keeps %XX), decodes to
 * UTF-8. */
static int decodes_to_utf8(struct req *req, const char *s)
{
    return is_utf8(http_decode(req->arena, s, strlen(s), 0));
}

/* MHD_get_connection_values iterator: stops (MHD_NO) at the first argument whose name or
 * value does not decode to UTF-8, and sets scan->bad. */
static enum MHD_Result query_arg_utf8(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct utf8_scan *scan = cls;

    (void)kind;
    if ((key && !decodes_to_utf8(scan->req, key)) ||
        (value && !decodes_to_utf8(scan->req, value))) {
        scan->bad = 1;
        return MHD_NO;
    }
    return MHD_YES;
}

/* Query strings and path segments are data: text that is not UTF-8 would be stored as is
 * (SQLite, and then the server's own export could not be imported) or refused by the
 * database (PostgreSQL 22021, a 500). Refused here, before routing (so that the answer
 * reveals no route, flag-gated ones included): 400. */
static int check_utf8_args(struct req *req)
{
    struct utf8_scan scan = { req, 0 };

    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_arg_utf8, &scan);
    if (scan.bad)
        return err_set(&req->err, ERR_INVALID, "Query string is not valid UTF-8");
    if (!decodes_to_utf8(req, req->path))
        return err_set(&req->err, ERR_INVALID, "Path is not valid UTF-8");
    return 0;
}

static int check_tenant(struct req *req)
{
    const char *t = req_header(req, cfg->tenant_header);

    if (middleware_path_open(req->path))
        return 0;
    if ((!t || !*t) && cfg->require_tenant)
        return err_set_code(&req->err, ERR_INVALID, "missing_tenant", "%s header is required.",
                            cfg->tenant_header);
    if (t && strlen(t) > TENANT_MAX)
        return err_set(&req->err, ERR_INVALID, "%s header is too long (max %d characters)",
                       cfg->tenant_header, TENANT_MAX);
    if (t && !is_utf8(t))
        return err_set(&req->err, ERR_INVALID, "%s header is not valid UTF-8",
                       cfg->tenant_header);
    /* An empty header means "no tenant": the empty string is never a tenant. */
    req->tenant = t && *t ? arena_strdup(req->arena, t) : NULL;
    return 0;
}

/* Routing (404/405): on the headers, before any byte of the body is read. */
static int match_route(struct req *req, const struct route *routes, size_t nroutes)
{
    switch (router_match(routes, nroutes, req->method, req->path, req->arena, &req->route,
                         req->params)) {
    case ROUTE_NOT_FOUND:
        return err_set(&req->err, ERR_NOT_FOUND, "Not Found");
    case ROUTE_BAD_METHOD:
        return err_set(&req->err, ERR_METHOD, "Method Not Allowed");
    case ROUTE_FOUND:
        break;
    }
    return 0;
}

/* Which server the handler's store calls may use (read replicas, docs/SCALING.md): a read
 * endpoint, and the LSN of X-Engram-Read-After when sent. */
static int route_reads(struct req *req)
{
    const char *after = req_header(req, "X-Engram-Read-After");
    uint64_t lsn = 0;

    if (after && *after && store_lsn_parse(after, &lsn) < 0)
        return err_set(&req->err, ERR_INVALID,
                       "X-Engram-Read-After: not a PostgreSQL LSN such as 0/16B3748: '%.40s'",
                       after);
    store_request_begin(store_route_is_read(req->route->name),
                        strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0,
                        lsn);
    return 0;
}

static int dispatch(struct req *req)
{
    int ret;

    if (route_reads(req) < 0)
        return -1;
    ret = req->route->handler(req);
    store_request_end();
    if (ret < 0)
        return -1;
    if (!req->status && !req->resume) {
        log_write(LOG_ERROR, "request %s: handler %s queued no response", req->request_id,
                  req->route->name);
        return err_set(&req->err, ERR_INTERNAL, "no response");
    }
    return 0;
}

int middleware_admit(struct req *req, const struct route *routes, size_t nroutes)
{
    metrics_bind_routes(routes, nroutes);
    set_request_id(req);
    if (is_preflight(req))
        return 0;
    if (check_api_key(req) < 0 || ratelimit_check(req, &req->err) < 0 ||
        check_tenant(req) < 0 || check_utf8_args(req) < 0 ||
        match_route(req, routes, nroutes) < 0)
        return -1;
    return 0;
}

int middleware_reply_error(struct req *req)
{
    if (http_err_is_database(&req->err))
        metrics_count_db_error();
    return http_reply_error(req, NULL);
}

int middleware_run(struct req *req)
{
    http_resume_fn *resume = req->resume;
    int ret = 0;

    if (resume && atomic_load(&req->park)) {   /* http_defer: the work is done, reply */
        req->resume = NULL;
        return resume(req, req->resume_ctx) < 0 ? middleware_reply_error(req) : 0;
    }
    if (preflight(req, &ret))
        return ret;
    if (req->err.kind)
        return middleware_reply_error(req);
    if (req->body_too_large) {
        err_set(&req->err, ERR_TOO_LARGE, "Request body too large (limit %zu bytes)",
                cfg->max_body_bytes);
        return http_reply_error(req, NULL);
    }
    if (dispatch(req) < 0)
        return middleware_reply_error(req);
    return 0;
}

/* The request line for people (STATEWAVE_DEBUG): same fields, no JSON. */
static void log_human(struct req *req, int aborted, double ms)
{
    log_write(LOG_INFO, "request %s %s %s -> %d in %.3f ms%s%s%s", req->request_id, req->method,
              req->route ? req->route->name : "unmatched", req->status, ms,
              req->tenant ? " tenant=" : "", req->tenant ? req->tenant : "",
              aborted ? " (aborted)" : "");
}

/* A log field: ,"key":"value" (or the first one, without the comma). */
static void put_field(struct buf *b, const char *key, const char *value)
{
    buf_putc(b, b->len ? ',' : '{');
    jv_write_str(b, key, strlen(key));
    buf_putc(b, ':');
    jv_write_str(b, value, strlen(value));
}

/* ms with six significant digits, always with a '.' or an exponent ("3.0", "12.3457",
 * "1.5e-5"): the duration the log line has always carried. */
static void put_ms(struct buf *b, double ms)
{
    char num[40], *e;
    int n = snprintf(num, sizeof(num), "%.6g", ms);

    e = strchr(num, 'e');
    if (e) {
        char *digits = e + 1 + (e[1] == '-' || e[1] == '+');
        char *from = digits;

        while (*from == '0' && from[1])
            from++;
        memmove(digits, from, strlen(from) + 1);
        if (e[1] == '+')
            memmove(e + 1, e + 2, strlen(e + 2) + 1);
    } else if (!strchr(num, '.') && n > 0 && (size_t)n + 2 < sizeof(num)) {
        memcpy(num + n, ".0", 3);
    }
    buf_puts(b, ",\"duration_ms\":");
    buf_puts(b, num);
}

/* One line per finished request: ids, route name, status, duration, tenant, and why the
 * front end refused it (refused: NULL for the others). Never the path or query (an api_key
 * may ride there), headers or bodies. */
static void log_request(struct req *req, int aborted, const char *refused)
{
    double ms = (double)(ts_monotonic() - req->started_us) / 1000.0;
    struct buf line = BUF_INIT;

    metrics_observe(req);
    if (!log_enabled(LOG_INFO))
        return;
    if (cfg && cfg->debug) {
        log_human(req, aborted, ms);
        return;
    }
    put_field(&line, "msg", "request");
    put_field(&line, "request_id", req->request_id);
    put_field(&line, "method", req->method);
    put_field(&line, "route", req->route ? req->route->name : "unmatched");
    buf_printf(&line, ",\"status\":%d", req->status);
    put_ms(&line, ms);
    if (req->tenant && utf8_valid_len(req->tenant, strlen(req->tenant)) == strlen(req->tenant))
        put_field(&line, "tenant", req->tenant);
    if (aborted)
        buf_puts(&line, ",\"aborted\":true");
    if (refused)
        put_field(&line, "refused", refused);
    buf_putc(&line, '}');
    log_write(LOG_INFO, "%s", line.data);
    buf_release(&line);
}

void middleware_log(struct req *req, int aborted)
{
    log_request(req, aborted, NULL);
}

void middleware_log_refused(const char *method, int status, const char *request_id,
                            int64_t started_us, const char *why)
{
    struct req req;

    memset(&req, 0, sizeof(req));
    req.method = method;
    req.status = status;
    req.started_us = started_us;
    snprintf(req.request_id, sizeof(req.request_id), "%s", request_id);
    log_request(&req, 0, why);
}
