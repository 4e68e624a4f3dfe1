/* mcp_http.c - POST /mcp: the MCP server over the Streamable HTTP transport (MCP revision
 * 2025-06-18), behind the same API key, tenant and rate-limit middleware as /v1.
 *
 * Each POST carries one JSON-RPC message (or a batch). Requests get their reply as
 * application/json, or as a one-event text/event-stream when the client's Accept names the
 * stream and not JSON; a body of notifications and responses only gets 202 and no body.
 * No SSE stream is offered on GET (the router answers 405), and no Mcp-Session-Id is
 * issued: every request stands alone, so any Engram process behind a load balancer can
 * answer it (DESIGN.md: the API process is stateless). A session id a client sends anyway
 * is ignored, as the transport allows when the server never assigned one. A browser Origin
 * outside STATEWAVE_CORS_ORIGINS is refused with 403 (the transport's guard against DNS
 * rebinding); the default list, ["*"], lets every origin through, as on /v1. */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "api/mcp.h"
#include "util/config.h"

enum reply_form { FORM_JSON, FORM_SSE, FORM_NONE };

/* No Origin (not a browser), or one STATEWAVE_CORS_ORIGINS allows. */
static int origin_allowed(const char *origin)
{
    size_t i;

    if (!origin || cfg->cors_any)
        return 1;
    for (i = 0; i < cfg->ncors_origins; i++) {
        if (strcmp(cfg->cors_origins[i], origin) == 0)
            return 1;
    }
    return 0;
}

/* What the Accept header lets us send: JSON (also for no header, * / * or application/ *),
 * else the event stream, else nothing acceptable. */
static enum reply_form reply_form(const char *accept)
{
    if (!accept || strstr(accept, "application/json") || strstr(accept, "*/*") ||
        strstr(accept, "application/*"))
        return FORM_JSON;
    if (strstr(accept, "text/event-stream"))
        return FORM_SSE;
    return FORM_NONE;
}

/* A JSON-RPC error with a null id as the whole body of an HTTP status. */
static int reply_rpc_error(struct req *req, int status, int code, const char *msg)
{
    struct buf out = BUF_INIT;
    struct jv *e = jv_object(req->arena), *o = jv_object(req->arena);

    jv_object_set(req->arena, e, "code", jv_int(req->arena, code));
    jv_object_set(req->arena, e, "message", jv_str(req->arena, msg));
    jv_object_set(req->arena, o, "jsonrpc", jv_str(req->arena, "2.0"));
    jv_object_set(req->arena, o, "id", jv_null());
    jv_object_set(req->arena, o, "error", e);
    jv_write_compact(&out, o);
    return http_reply_buf(req, status, &out);
}

/* The event stream: one `message` event holding the reply, then the stream ends. */
static int sse_once(void *ctx, struct buf *out)
{
    struct buf *event = ctx;

    buf_append(out, event->data, event->len);
    return 0;
}

static void sse_free(void *ctx)
{
    buf_release(ctx);
    free(ctx);
}

static int reply_sse(struct req *req, const struct buf *body)
{
    struct buf *event = calloc(1, sizeof(*event));

    if (!event)
        return -1;
    buf_init(event);
    buf_puts(event, "event: message\ndata: ");
    buf_append(event, body->data, body->len);
    buf_puts(event, "\n\n");
    return http_reply_stream(req, 200, "text/event-stream", sse_once, sse_free, event);
}

int api_mcp_post(struct req *req)
{
    const char *version = req_header(req, "MCP-Protocol-Version");
    enum reply_form form = reply_form(req_header(req, "Accept"));
    struct mcp_session s = { req->tenant };
    struct mcp_reply r = { BUF_INIT, 0 };
    char msg[160];
    int ret;

    if (!origin_allowed(req_header(req, "Origin")))
        return reply_rpc_error(req, 403, MCP_INVALID_REQUEST, "Forbidden: Origin not allowed");
    if (version && !mcp_version_supported(version)) {
        snprintf(msg, sizeof(msg), "Bad Request: unsupported MCP-Protocol-Version: %.64s", version);
        return reply_rpc_error(req, 400, MCP_INVALID_REQUEST, msg);
    }
    if (form == FORM_NONE)
        return reply_rpc_error(req, 406, MCP_INVALID_REQUEST,
                               "Not Acceptable: Accept must name application/json or "
                               "text/event-stream");
    mcp_handle(req->arena, &s, req->body.data, req->body.len, &r);
    if (r.parse_error)
        ret = http_reply_buf(req, 400, &r.body);
    else if (r.body.len == 0)
        ret = http_reply_text(req, 202, "");
    else if (form == FORM_SSE)
        ret = reply_sse(req, &r.body);
    else
        ret = http_reply_buf(req, 200, &r.body);
    buf_release(&r.body);
    return ret;
}
