/* mcp.c - JSON-RPC 2.0 dispatch of the MCP server: initialize, ping, tools/list, tools/call;
 * notifications and client responses get no reply; batches answer with a batch. */
#include "api/mcp.h"

#include <string.h>

#include "util/jv.h"
#include "util/version.h"

/* Newest first: what initialize answers when the client asks for a revision we lack. */
static const char *const versions[] = { MCP_PROTOCOL_LATEST, "2025-03-26", "2024-11-05" };

static const char instructions[] =
    "Engram is the memory of this agent. Record what happens with statewave_ingest_episode, "
    "turn episodes into memories with statewave_compile_subject, and read them back with "
    "statewave_get_context (ranked context for a task), statewave_search_memories and "
    "statewave_get_timeline. statewave_list_subjects shows which subjects exist.";

int mcp_version_supported(const char *version)
{
    size_t i;

    for (i = 0; version && i < sizeof(versions) / sizeof(versions[0]); i++) {
        if (strcmp(version, versions[i]) == 0)
            return 1;
    }
    return 0;
}

/* {"jsonrpc":"2.0","id":id} with the member key set to val. */
static struct jv *envelope(struct arena *a, const struct jv *id, const char *key, struct jv *val)
{
    struct jv *o = jv_object(a);

    jv_object_set(a, o, "jsonrpc", jv_str(a, "2.0"));
    jv_object_set(a, o, "id", id ? (struct jv *)id : jv_null());
    jv_object_set(a, o, key, val);
    return o;
}

static struct jv *rpc_error(struct arena *a, const struct jv *id, int code, const char *msg,
                            struct jv *data)
{
    struct jv *e = jv_object(a);

    jv_object_set(a, e, "code", jv_int(a, code));
    jv_object_set(a, e, "message", jv_str(a, msg));
    if (data)
        jv_object_set(a, e, "data", data);
    return envelope(a, id, "error", e);
}

/* The reference's error data: {name, message, code, hint, retryable}. */
static struct jv *tool_error(struct arena *a, const struct jv *id, const struct mcp_tool_error *te)
{
    struct jv *d = jv_object(a);

    jv_object_set(a, d, "name", jv_str(a, "ConnectorError"));
    jv_object_set(a, d, "message", jv_str(a, te->message));
    jv_object_set(a, d, "code", jv_str(a, te->code));
    jv_object_set(a, d, "hint", te->hint ? jv_str(a, te->hint) : jv_null());
    jv_object_set(a, d, "retryable", jv_bool(a, te->retryable));
    return rpc_error(a, id, te->rpc_code, te->message, d);
}

static struct jv *initialize(struct arena *a, const struct jv *id, const struct jv *params)
{
    const char *asked = mcp_str(mcp_get(params, "protocolVersion"), NULL);
    struct jv *r = jv_object(a), *caps = jv_object(a), *tools = jv_object(a);
    struct jv *info = jv_object(a);

    jv_object_set(a, r, "protocolVersion",
                  jv_str(a, mcp_version_supported(asked) ? asked : MCP_PROTOCOL_LATEST));
    jv_object_set(a, tools, "listChanged", jv_bool(a, 0));
    jv_object_set(a, caps, "tools", tools);
    jv_object_set(a, r, "capabilities", caps);
    jv_object_set(a, info, "name", jv_str(a, "engram"));
    jv_object_set(a, info, "version", jv_str(a, ENGRAM_VERSION));
    jv_object_set(a, r, "serverInfo", info);
    jv_object_set(a, r, "instructions", jv_str(a, instructions));
    return envelope(a, id, "result", r);
}

static struct jv *tools_list(struct arena *a, const struct jv *id)
{
    struct jv *r = jv_object(a);

    jv_object_set(a, r, "tools", mcp_tools_list(a));
    return envelope(a, id, "result", r);
}

/* tools/call: the result is one text part holding the tool's JSON (spec/api.md §11.1). */
static struct jv *tools_call(struct arena *a, const struct mcp_session *s, const struct jv *id,
                             const struct jv *params)
{
    const char *name = mcp_str(mcp_get(params, "name"), NULL);
    struct mcp_tool_error te;
    struct jv *result, *r, *content, *part;
    struct buf text = BUF_INIT;

    if (!name)
        return rpc_error(a, id, MCP_INVALID_PARAMS, "tools/call requires { name, arguments }",
                         NULL);
    memset(&te, 0, sizeof(te));
    if (mcp_tool_call(a, s, name, mcp_get(params, "arguments"), &result, &te) < 0)
        return tool_error(a, id, &te);
    jv_write_compact(&text, result);
    part = jv_object(a);
    jv_object_set(a, part, "type", jv_str(a, "text"));
    jv_object_set(a, part, "text", jv_strn(a, text.data, text.len));
    buf_release(&text);
    content = jv_array(a);
    jv_array_append(a, content, part);
    r = jv_object(a);
    jv_object_set(a, r, "content", content);
    jv_object_set(a, r, "isError", jv_bool(a, 0));
    return envelope(a, id, "result", r);
}

static struct jv *dispatch(struct arena *a, const struct mcp_session *s, const char *method,
                           const struct jv *id, const struct jv *params)
{
    if (strcmp(method, "initialize") == 0)
        return initialize(a, id, params);
    if (strcmp(method, "ping") == 0)
        return envelope(a, id, "result", jv_object(a));
    if (strcmp(method, "tools/list") == 0)
        return tools_list(a, id);
    if (strcmp(method, "tools/call") == 0)
        return tools_call(a, s, id, params);
    if (strcmp(method, "shutdown") == 0) /* the reference answers it */
        return envelope(a, id, "result", jv_null());
    return rpc_error(a, id, MCP_METHOD_NOT_FOUND, "Method not found", NULL);
}

/* A JSON-RPC id: a string, an integer or null. */
static int id_ok(const struct jv *id)
{
    enum jv_type t = jv_type(id);

    return t == JV_STRING || t == JV_INT || t == JV_NULL;
}

/* The reply to one message, or NULL when it needs none (notification, client response). */
static struct jv *handle_one(struct arena *a, const struct mcp_session *s, const struct jv *msg)
{
    const struct jv *id, *method, *params, *version;
    const char *ver;

    if (jv_type(msg) != JV_OBJECT)
        return rpc_error(a, NULL, MCP_INVALID_REQUEST, "Invalid Request", NULL);
    id = jv_object_get(msg, "id");
    method = jv_object_get(msg, "method");
    params = jv_object_get(msg, "params");
    version = jv_object_get(msg, "jsonrpc");
    if (id && !id_ok(id))
        return rpc_error(a, NULL, MCP_INVALID_REQUEST, "Invalid Request: bad id", NULL);
    if (!method && (jv_object_get(msg, "result") || jv_object_get(msg, "error")))
        return NULL; /* a response to a request we never send: nothing to say */
    ver = mcp_str(version, NULL);
    if (!mcp_is(method, JV_STRING) || (version && (!ver || strcmp(ver, "2.0") != 0)))
        return id ? rpc_error(a, id, MCP_INVALID_REQUEST, "Invalid Request", NULL) : NULL;
    if (params && jv_type(params) != JV_OBJECT)
        return id ? rpc_error(a, id, MCP_INVALID_PARAMS, "Invalid params: params must be an object",
                              NULL)
                  : NULL;
    if (!id)
        return NULL; /* notifications/initialized, notifications/cancelled, ...: no reply */
    return dispatch(a, s, jv_string(method, NULL), id, params);
}

void mcp_handle(struct arena *a, const struct mcp_session *s, const char *text, size_t n,
                struct mcp_reply *r)
{
    struct jv *msg = jv_parse(a, text, n, NULL, NULL), *one, *all;
    size_t i;

    r->parse_error = 0;
    if (!msg) {
        r->parse_error = 1;
        jv_write_compact(&r->body, rpc_error(a, NULL, MCP_PARSE_ERROR, "Parse error", NULL));
        return;
    }
    if (jv_type(msg) != JV_ARRAY) {
        one = handle_one(a, s, msg);
        if (one)
            jv_write_compact(&r->body, one);
        return;
    }
    if (jv_array_size(msg) == 0) {
        jv_write_compact(&r->body, rpc_error(a, NULL, MCP_INVALID_REQUEST,
                                             "Invalid Request: empty batch", NULL));
        return;
    }
    all = jv_array(a);
    for (i = 0; i < jv_array_size(msg); i++) {
        one = handle_one(a, s, jv_array_get(msg, i));
        if (one)
            jv_array_append(a, all, one);
    }
    if (jv_array_size(all) > 0)
        jv_write_compact(&r->body, all);
}
