/* req.c - replies (JSON, errors, text) and request accessors. */
#include "http/req.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/router.h"
#include "store/store.h"
#include "util/config.h"
#include "util/jv.h"
#include "util/log.h"
#include "util/utf8.h"
#include "util/uuid.h"

int http_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *http_decode(struct arena *a, const char *s, size_t n, int plus_space)
{
    char *out = arena_alloc(a, n + 1);
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        char c = s[i];

        if (c == '%' && i + 2 < n && http_hexval(s[i + 1]) >= 0 &&
            http_hexval(s[i + 2]) >= 0) {
            c = (char)(http_hexval(s[i + 1]) * 16 + http_hexval(s[i + 2]));
            i += 2;
            if (c == '\0')
                return NULL;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
}

const char *req_header(struct req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *req_query(struct req *req, const char *name)
{
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);

    if (!v)
        return NULL;
    /* MHD already turned '+' into ' '; our unescape callback left %XX alone. */
    return http_decode(req->arena, v, strlen(v), 0);
}

const char *req_query_filter(struct req *req, const char *name)
{
    const char *v = req_query(req, name);

    return v && *v ? v : NULL;
}

static void add_cors(struct req *req, struct MHD_Response *r)
{
    const char *origin = req_header(req, "Origin");
    size_t i;

    if (!origin)
        return;
    if (cfg->cors_any) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin",
                                req_header(req, "Cookie") ? origin : "*");
        if (req_header(req, "Cookie"))
            MHD_add_response_header(r, "Vary", "Origin");
        MHD_add_response_header(r, "Access-Control-Allow-Credentials", "true");
        return;
    }
    for (i = 0; i < cfg->ncors_origins; i++) {
        if (strcmp(cfg->cors_origins[i], origin) == 0) {
            MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
            MHD_add_response_header(r, "Vary", "Origin");
            break;
        }
    }
    MHD_add_response_header(r, "Access-Control-Allow-Credentials", "true");
}

/* Queue the response r with the headers every reply carries (and destroy our reference). */
static int queue_response(struct req *req, int status, struct MHD_Response *r,
                          const char *ctype)
{
    enum MHD_Result ok;

    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "X-Request-ID", req->request_id);
    add_cors(req, r);
    if (req->retry_after > 0) {
        char secs[16];

        snprintf(secs, sizeof(secs), "%d", req->retry_after);
        MHD_add_response_header(r, "Retry-After", secs);
    }
    if (req->body_too_large)
        MHD_add_response_header(r, "Connection", "close");
    if (status < 300) {   /* a write's WAL position, with read replicas (docs/SCALING.md) */
        char lsn[40];

        if (store_request_lsn(lsn, sizeof(lsn)) == 0)
            MHD_add_response_header(r, "X-Engram-LSN", lsn);
    }
    ok = MHD_queue_response(req->conn, (unsigned int)status, r);
    MHD_destroy_response(r);
    req->status = status;
    return ok == MHD_YES ? 0 : -1;
}

static int queue(struct req *req, int status, char *body, size_t len, const char *ctype)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);

    if (!r) {
        free(body);
        return -1;
    }
    return queue_response(req, status, r, ctype);
}

int http_reply_static(struct req *req, int status, const char *ctype, const void *data,
                      size_t len, const char *const *headers)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
    size_t i;

    if (!r)
        return -1;
    for (i = 0; headers && headers[i] && headers[i + 1]; i += 2)
        MHD_add_response_header(r, headers[i], headers[i + 1]);
    return queue_response(req, status, r, ctype);
}

int http_reply_json(struct req *req, int status, const struct jv *body)
{
    struct buf out = BUF_INIT;

    jv_write_compact(&out, body);
    return http_reply_buf(req, status, &out);
}

void http_defer(struct req *req, http_resume_fn *fn, void *ctx)
{
    req->resume = fn;
    req->resume_ctx = ctx;
    atomic_store(&req->park, HTTP_PARK_QUEUED);
}

int http_reply_buf(struct req *req, int status, struct buf *body)
{
    size_t len;
    char *text = buf_detach(body, &len);

    return queue(req, status, text, len, "application/json");
}

int http_reply_text(struct req *req, int status, const char *text)
{
    char *copy = strdup(text);

    if (!copy)
        return -1;
    return queue(req, status, copy, strlen(copy), "text/plain; charset=utf-8");
}

/* A streamed body: the producer's ctx and the bytes it produced that MHD has not taken. */
struct stream {
    http_stream_fn *fn;
    http_stream_free_fn *free_fn;
    void *ctx;
    struct buf pending;   /* produced by fn, sent from off on */
    size_t off;
    int done;             /* fn returned 0: pending is the last of the body */
};

#define STREAM_BLOCK (64 * 1024)   /* MHD's read size for streamed bodies */

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct stream *s = cls;
    size_t n;

    (void)pos;
    while (s->off == s->pending.len) {
        int rc;

        if (s->done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        buf_reset(&s->pending);
        s->off = 0;
        rc = s->fn(s->ctx, &s->pending);
        if (rc < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (rc == 0)
            s->done = 1;
    }
    n = s->pending.len - s->off;
    if (n > max)
        n = max;
    memcpy(out, s->pending.data + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream *s = cls;

    s->free_fn(s->ctx);
    buf_release(&s->pending);
    free(s);
}

int http_reply_stream(struct req *req, int status, const char *ctype, http_stream_fn *fn,
                      http_stream_free_fn *free_fn, void *ctx)
{
    struct stream *s = calloc(1, sizeof(*s));
    struct MHD_Response *r;
    enum MHD_Result ok;

    if (!s) {
        free_fn(ctx);
        return -1;
    }
    s->fn = fn;
    s->free_fn = free_fn;
    s->ctx = ctx;
    buf_init(&s->pending);
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, s,
                                          stream_free);
    if (!r) {
        stream_free(s);
        return -1;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "X-Request-ID", req->request_id);
    add_cors(req, r);
    ok = MHD_queue_response(req->conn, (unsigned int)status, r);
    MHD_destroy_response(r);   /* MHD keeps its own reference until the body is sent */
    req->status = status;
    return ok == MHD_YES ? 0 : -1;
}

/* Middleware errors (401, 403, 429, 400 missing_tenant) carry no request_id (spec §1.6). */
static int is_middleware_code(const char *code)
{
    static const char *const codes[] = { "missing_api_key", "invalid_api_key", "rate_limited",
                                         "missing_tenant" };
    size_t i;

    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strcmp(code, codes[i]) == 0)
            return 1;
    }
    return 0;
}

/* Seconds a client waits before retrying a 503 the database's state caused (the SDKs retry
 * 503 and honour Retry-After). */
#define UNAVAILABLE_RETRY_AFTER_S 1

int http_err_is_database(const struct err *e)
{
    const char *code = e->code ? e->code : "";

    if (e->kind == ERR_INTERNAL)
        return 1;
    return e->kind == ERR_UNAVAILABLE &&
           (strcmp(code, "service_unavailable") == 0 || strcmp(code, "database_full") == 0 ||
            strcmp(code, "database_readonly") == 0);
}

/* The envelope {"error": {code, message, details?, request_id?}} (spec §1.9). */
int http_reply_error(struct req *req, const struct err *e)
{
    struct buf out = BUF_INIT;
    const char *code;

    if (!e)
        e = &req->err;
    code = e->code ? e->code : "http_error";
    if (e->kind == ERR_UNAVAILABLE && http_err_is_database(e) && req->retry_after <= 0)
        req->retry_after = UNAVAILABLE_RETRY_AFTER_S;
    buf_puts(&out, "{\"error\":{\"code\":");
    jv_write_str(&out, code, strlen(code));
    buf_puts(&out, ",\"message\":");
    jv_write_str(&out, e->msg, utf8_valid_len(e->msg, strlen(e->msg)));
    if (e->details) {
        buf_puts(&out, ",\"details\":");
        jv_write_compact(&out, e->details);
    }
    if (!is_middleware_code(code)) {
        buf_puts(&out, ",\"request_id\":");
        jv_write_str(&out, req->request_id, strlen(req->request_id));
    }
    buf_puts(&out, "}}");
    return http_reply_buf(req, e->kind ? (int)e->kind : 500, &out);
}
