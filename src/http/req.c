/* req.c - replies (JSON, errors, text) and request accessors. */
#include "http/req.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/router.h"
#include "util/config.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/utf8.h"
#include "util/uuid.h"

static int hexval(char c)
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

        if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
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

static int queue(struct req *req, int status, char *body, size_t len, const char *ctype)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ok;

    if (!r) {
        free(body);
        return -1;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "X-Request-ID", req->request_id);
    add_cors(req, r);
    if (req->body_too_large)
        MHD_add_response_header(r, "Connection", "close");
    ok = MHD_queue_response(req->conn, (unsigned int)status, r);
    MHD_destroy_response(r);
    req->status = status;
    return ok == MHD_YES ? 0 : -1;
}

int http_reply_json(struct req *req, int status, json_t *body)
{
    struct buf out = BUF_INIT;
    size_t len;
    char *text;

    json_write_compact(&out, body);
    json_decref(body);
    text = buf_detach(&out, &len);
    return queue(req, status, text, len, "application/json");
}

int http_reply_text(struct req *req, int status, const char *text)
{
    char *copy = strdup(text);

    if (!copy)
        return -1;
    return queue(req, status, copy, strlen(copy), "text/plain; charset=utf-8");
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

int http_reply_error(struct req *req, const struct err *e)
{
    json_t *inner, *env;
    const char *code;

    if (!e)
        e = &req->err;
    code = e->code ? e->code : "http_error";
    inner = json_object();
    json_object_set_new(inner, "code", json_string(code));
    json_object_set_new(inner, "message", json_stringn(e->msg, utf8_valid_len(e->msg,
                                                                           strlen(e->msg))));
    if (e->details)
        json_object_set(inner, "details", e->details);
    if (!is_middleware_code(code))
        json_object_set_new(inner, "request_id", json_string(req->request_id));
    env = json_object();
    json_object_set_new(env, "error", inner);
    return http_reply_json(req, e->kind ? (int)e->kind : 500, env);
}
