/* mcp.h - Engram's built-in Model Context Protocol server (spec revision 2025-06-18; clients
 * asking for 2025-03-26 or 2024-11-05 get that revision): JSON-RPC 2.0 dispatch and the
 * reference MCP server's six tools (spec/api.md §11.1), shared by both transports:
 * `engram mcp` (newline-delimited JSON on stdio, src/cli/mcp.c) and POST /mcp (Streamable
 * HTTP, src/api/mcp_http.c). This module knows JSON and the service layer, not the transport.
 *
 * Tools reach the database through the service layer on this thread's store connection
 * (store_thread()), scoped to the session's tenant, exactly as the /v1 handlers do.
 */
#ifndef ENGRAM_API_MCP_H
#define ENGRAM_API_MCP_H

#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/jv.h"

#define MCP_PROTOCOL_LATEST "2025-06-18"

/* JSON-RPC error codes. */
#define MCP_PARSE_ERROR (-32700)
#define MCP_INVALID_REQUEST (-32600)
#define MCP_METHOD_NOT_FOUND (-32601)
#define MCP_INVALID_PARAMS (-32602)
#define MCP_TOOL_ERROR (-32000) /* a tool failed: data {name, message, code, hint, retryable} */

/* Who is calling: what the transport learned before the message. */
struct mcp_session {
    const char *tenant; /* NULL = the no-tenant space */
};

/* What one message gave. */
struct mcp_reply {
    struct buf body; /* the JSON-RPC reply (compact, no newline); empty when there is
                           * nothing to answer (notifications and responses only) */
    int parse_error; /* the message was not JSON: body holds the -32700 error */
};

/*
 * Handle one message: n bytes of JSON holding a request, a notification, a response, or a
 * batch (array) of them. The reply (or the batch of replies) is appended to r->body, which
 * the caller initialises and releases. Never fails: every problem is a JSON-RPC error in the
 * reply. Everything else it allocates lives in arena a.
 */
void mcp_handle(struct arena *a, const struct mcp_session *s, const char *text, size_t n,
                struct mcp_reply *r);

/* NULL-safe readers of parsed messages: an absent member (NULL) reads as no value. */
static inline int mcp_is(const struct jv *v, enum jv_type t)
{
    return v && jv_type(v) == t;
}

static inline const char *mcp_str(const struct jv *v, size_t *len)
{
    return mcp_is(v, JV_STRING) ? jv_string(v, len) : NULL;
}

static inline struct jv *mcp_get(const struct jv *obj, const char *key)
{
    return obj ? jv_object_get(obj, key) : NULL;
}

/* Elements of an array or members of an object; 0 for anything else and for NULL. */
static inline size_t mcp_size(const struct jv *v)
{
    return !v ? 0 : jv_type(v) == JV_ARRAY ? jv_array_size(v) : jv_object_size(v);
}

/* 1 when version is a protocol revision this server speaks. */
int mcp_version_supported(const char *version);

/* ---- the tools (mcp_tools.c) ---- */

/* Why a tool call failed, in the reference's form: data {name: "ConnectorError", message,
 * code, hint, retryable} of a JSON-RPC error rpc_code (MCP_TOOL_ERROR, or
 * MCP_INVALID_PARAMS for an unknown tool). */
struct mcp_tool_error {
    int rpc_code;
    const char *code; /* config_invalid, unsupported, not_found, rate_limited, network,
                           * ingest_failed */
    char message[512];
    const char *hint; /* NULL: none */
    int retryable;
};

/* The tools/list result's `tools` array: name, description, inputSchema of each tool. */
struct jv *mcp_tools_list(struct arena *a);

/* Call tool name with args (NULL: no arguments) for session s. On success returns 0 and sets
 * *result to the tool's result value (the JSON the text content part carries). On failure
 * returns -1 with e filled. */
int mcp_tool_call(struct arena *a, const struct mcp_session *s, const char *name,
                  const struct jv *args, struct jv **result, struct mcp_tool_error *e);

#endif
