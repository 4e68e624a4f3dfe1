/* test_mcp.c - the MCP server's JSON-RPC dispatch (api/mcp.c) and its tools' argument
 * validation and input schemas (api/mcp_tools.c), through api/mcp.h. Calls that pass
 * validation run on a fresh SQLite file (ENGRAM_TEST_DATABASE_URL is not used: the point here
 * is the protocol, not the backend; tests/api/98-mcp.py runs both). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/mcp.h"
#include "service/tokens.h"
#include "store/store.h"
#include "util/jv.h"
#include "util/version.h"

static char db_path[64];

/* Handle text; the reply parsed (NULL when there is none). */
static struct jv *rpc_in(struct arena *a, const char *tenant, const char *text, int *parse_err)
{
    struct mcp_session s = { tenant };
    struct mcp_reply r = { BUF_INIT, 0 };
    struct jv *out = NULL;

    mcp_handle(a, &s, text, strlen(text), &r);
    if (parse_err)
        *parse_err = r.parse_error;
    if (r.body.len > 0) {
        out = jv_parse(a, r.body.data, r.body.len, NULL, NULL);
        assert_non_null(out);
    }
    buf_release(&r.body);
    return out;
}

static struct jv *rpc(struct arena *a, const char *text)
{
    return rpc_in(a, NULL, text, NULL);
}

static int64_t error_code(const struct jv *reply)
{
    int64_t code = 0;

    assert_non_null(reply);
    assert_int_equal(jv_int64(jv_object_get(jv_object_get(reply, "error"), "code"), &code), 0);
    return code;
}

/* tools/call name with the arguments JSON text; the reply. */
static struct jv *call(struct arena *a, const char *tenant, const char *name, const char *args)
{
    char *text = arena_printf(a,
                              "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
                              "\"params\":{\"name\":\"%s\",\"arguments\":%s}}",
                              name, args);

    return rpc_in(a, tenant, text, NULL);
}

/* The tool result's JSON (the text part, parsed). */
static struct jv *call_ok(struct arena *a, const char *tenant, const char *name, const char *args)
{
    struct jv *r = call(a, tenant, name, args), *res, *part;
    const char *text;

    assert_non_null(r);
    if (jv_object_get(r, "error"))
        fail_msg("%s(%s): %s", name, args, jv_compact_text(a, r));
    res = jv_object_get(r, "result");
    assert_true(jv_type(jv_object_get(res, "isError")) == JV_FALSE);
    assert_int_equal(jv_array_size(jv_object_get(res, "content")), 1);
    part = jv_array_get(jv_object_get(res, "content"), 0);
    assert_string_equal(jv_string(jv_object_get(part, "type"), NULL), "text");
    text = jv_string(jv_object_get(part, "text"), NULL);
    return jv_parse(a, text, strlen(text), NULL, NULL);
}

/* ---- dispatch ---- */

static void test_mcp_initialize(void **state)
{
    struct arena *a = *state;
    static const char *const asked[][2] = {
        { "2025-06-18", "2025-06-18" }, { "2025-03-26", "2025-03-26" },
        { "2024-11-05", "2024-11-05" }, { "2025-11-25", "2025-06-18" },
        { "junk", "2025-06-18" },
    };
    struct jv *r, *res;
    size_t i;

    for (i = 0; i < sizeof(asked) / sizeof(asked[0]); i++) {
        r = rpc(a, arena_printf(a,
                                "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"initialize\","
                                "\"params\":{\"protocolVersion\":\"%s\"}}",
                                asked[i][0]));
        res = jv_object_get(r, "result");
        assert_string_equal(jv_string(jv_object_get(res, "protocolVersion"), NULL), asked[i][1]);
    }
    assert_string_equal(jv_compact_text(a, jv_object_get(res, "serverInfo")),
                        "{\"name\":\"engram\",\"version\":\"" ENGRAM_VERSION "\"}");
    assert_string_equal(jv_compact_text(a, jv_object_get(res, "capabilities")),
                        "{\"tools\":{\"listChanged\":false}}");
    assert_string_equal(jv_compact_text(a, jv_object_get(r, "id")), "\"a\"");
    /* No params at all: the newest revision. */
    r = rpc(a, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\"}");
    assert_string_equal(
        jv_string(jv_object_get(jv_object_get(r, "result"), "protocolVersion"), NULL),
        "2025-06-18");
    assert_int_equal(mcp_version_supported("2025-06-18"), 1);
    assert_int_equal(mcp_version_supported("2025-11-25"), 0);
    assert_int_equal(mcp_version_supported(NULL), 0);
}

static void test_mcp_ping_and_errors(void **state)
{
    struct arena *a = *state;
    int perr = 0;
    struct jv *r;

    assert_string_equal(
        jv_compact_text(a, rpc(a, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}")),
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}");
    r = rpc(a, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"prompts/list\"}");
    assert_int_equal(error_code(r), MCP_METHOD_NOT_FOUND);
    r = rpc_in(a, NULL, "{\"jsonrpc\":", &perr);
    assert_int_equal(perr, 1);
    assert_string_equal(jv_compact_text(a, r), "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":"
                                               "{\"code\":-32700,\"message\":\"Parse error\"}}");
    r = rpc_in(a, NULL, "", &perr);
    assert_int_equal(perr, 1);
    assert_int_equal(error_code(rpc(a, "7")), MCP_INVALID_REQUEST);
    assert_int_equal(error_code(rpc(a, "[]")), MCP_INVALID_REQUEST);
    assert_int_equal(error_code(rpc(a, "{\"jsonrpc\":\"2.0\",\"id\":1}")), MCP_INVALID_REQUEST);
    assert_int_equal(error_code(rpc(a, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}")),
                     MCP_INVALID_REQUEST);
    assert_int_equal(error_code(rpc(a, "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}")),
                     MCP_INVALID_REQUEST);
    r = rpc(a, "{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"ping\"}");
    assert_int_equal(error_code(r), MCP_INVALID_REQUEST);
    assert_int_equal(jv_type(jv_object_get(r, "id")), JV_NULL);
    assert_int_equal(error_code(rpc(a, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\","
                                       "\"params\":[]}")),
                     MCP_INVALID_PARAMS);
    assert_int_equal(error_code(rpc(a, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                                       "\"params\":{\"arguments\":{}}}")),
                     MCP_INVALID_PARAMS);
    assert_int_equal(error_code(rpc(a, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\"}")),
                     MCP_INVALID_PARAMS);
}

static void test_mcp_notifications_and_batches(void **state)
{
    struct arena *a = *state;

    assert_null(rpc(a, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"));
    assert_null(rpc(a, "{\"jsonrpc\":\"2.0\",\"method\":\"no/such\"}"));
    assert_null(rpc(a, "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{}}"));
    assert_null(rpc(a, "{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":1}}"));
    assert_null(rpc(a, "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\"}]"));
    assert_string_equal(
        jv_compact_text(a, rpc(a, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},3,"
                                  "{\"jsonrpc\":\"2.0\",\"method\":\"x\"}]")),
        "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}},{\"jsonrpc\":\"2.0\",\"id\":null,"
        "\"error\":{\"code\":-32600,\"message\":\"Invalid Request\"}}]");
}

/* ---- tools ---- */

static void test_mcp_tools_list(void **state)
{
    struct arena *a = *state;
    static const char *const want[][2] = {
        { "statewave_ingest_episode",
          "[\"subject\",\"kind\",\"text\",\"occurred_at\",\"source\",\"idempotency_key\"]" },
        { "statewave_search_memories", "[\"subject\",\"query\"]" },
        { "statewave_get_context", "[\"subject\",\"query\"]" },
        { "statewave_get_timeline", "[\"subject\"]" },
        { "statewave_compile_subject", "[\"subject\"]" },
        { "statewave_list_subjects", NULL },
        { "engram_handoff", "[\"subject\",\"session_id\"]" },
    };
    struct jv *r = rpc(a, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
    struct jv *tools = jv_object_get(jv_object_get(r, "result"), "tools"), *schema, *subject;
    size_t i;

    assert_int_equal(jv_array_size(tools), 7);
    for (i = 0; i < 7; i++) {
        struct jv *t = jv_array_get(tools, i);

        assert_string_equal(jv_string(jv_object_get(t, "name"), NULL), want[i][0]);
        schema = jv_object_get(t, "inputSchema");
        assert_string_equal(jv_string(jv_object_get(schema, "type"), NULL), "object");
        assert_int_equal(jv_type(jv_object_get(schema, "additionalProperties")), JV_FALSE);
        if (want[i][1])
            assert_string_equal(jv_compact_text(a, jv_object_get(schema, "required")), want[i][1]);
        else
            assert_null(jv_object_get(schema, "required"));
        subject = jv_object_get(jv_object_get(schema, "properties"), "subject");
        if (subject)
            assert_string_equal(jv_string(jv_object_get(subject, "pattern"), NULL),
                                "^[A-Za-z0-9_.:-]+$");
    }
    schema = jv_object_get(jv_object_get(jv_array_get(tools, 1), "inputSchema"), "properties");
    assert_string_equal(jv_compact_text(a, jv_object_get(schema, "limit")),
                        "{\"type\":\"integer\",\"minimum\":1,\"maximum\":50,\"default\":10,"
                        "\"description\":\"Most memories to return\"}");
}

/* One bad call: its JSON-RPC code, data.code and a piece of data.message. */
struct bad_call {
    const char *tool;
    const char *args;
    int64_t rpc_code;
    const char *code;
    const char *message;
};

static const char ingest_ok[] =
    "\"subject\":\"u:1\",\"kind\":\"note\",\"text\":\"t\",\"occurred_at\":\"2026-01-01T00:00:00Z\","
    "\"source\":{\"type\":\"chat\",\"id\":\"m\"},\"idempotency_key\":\"k\"";

static const struct bad_call bad_calls[] = {
    { "statewave_get_timeline", "5", -32000, "config_invalid",
      "expected object for statewave_get_timeline" },
    { "statewave_get_timeline", "{}", -32000, "config_invalid",
      "missing required string field: subject" },
    { "statewave_get_timeline", "{\"subject\":\"a/b\"}", -32000, "config_invalid",
      "subject must be 1 to 256 characters matching ^[A-Za-z0-9_.:-]+$" },
    { "statewave_get_timeline", "{\"subject\":\"\"}", -32000, "config_invalid", "subject must" },
    { "statewave_get_timeline", "{\"subject\":7}", -32000, "config_invalid", "subject must" },
    { "statewave_get_timeline", "{\"subject\":\"a\",\"since\":\"yesterday\"}", -32000,
      "config_invalid", "since must be an RFC 3339 timestamp" },
    { "statewave_get_timeline", "{\"subject\":\"a\",\"until\":5}", -32000, "config_invalid",
      "until must be an RFC 3339 timestamp" },
    { "statewave_get_timeline", "{\"subject\":\"a\",\"kinds\":\"note\"}", -32000, "config_invalid",
      "kinds must be an array of at most 100 strings" },
    { "statewave_get_timeline", "{\"subject\":\"a\",\"kinds\":[\"a,b\"]}", -32000, "config_invalid",
      "kinds[0] must be an episode type" },
    { "statewave_get_timeline", "{\"subject\":\"a\",\"kinds\":[\"x\",\"\"]}", -32000,
      "config_invalid", "kinds[1] must be an episode type" },
    { "statewave_get_timeline", "{\"subject\":\"a\",\"limit\":0}", -32000, "config_invalid",
      "limit must be an integer from 1 to 500" },
    { "statewave_get_timeline", "{\"subject\":\"a\",\"limit\":2.5}", -32000, "config_invalid",
      "limit must be an integer" },
    { "statewave_get_timeline", "{\"subject\":\"a\",\"limit\":\"5\"}", -32000, "config_invalid",
      "limit must be an integer" },
    { "statewave_get_timeline", "{\"subject\":\"a\",\"offset\":1}", -32000, "config_invalid",
      "unknown argument for statewave_get_timeline: offset" },
    { "statewave_search_memories", "{\"subject\":\"a\"}", -32000, "config_invalid",
      "missing required string field: query" },
    { "statewave_search_memories", "{\"subject\":\"a\",\"query\":\"\"}", -32000, "config_invalid",
      "missing required string field: query" },
    { "statewave_search_memories", "{\"subject\":\"a\",\"query\":\"q\",\"limit\":51}", -32000,
      "config_invalid", "limit must be an integer from 1 to 50" },
    { "statewave_get_context", "{\"subject\":\"a\",\"query\":\"q\",\"max_tokens\":99}", -32000,
      "config_invalid", "max_tokens must be an integer from 100 to 32000" },
    { "statewave_get_context", "{\"subject\":\"a\",\"query\":\"q\",\"max_tokens\":32001}", -32000,
      "config_invalid", "max_tokens must be" },
    { "statewave_get_context", "{\"query\":\"q\"}", -32000, "config_invalid",
      "missing required string field: subject" },
    { "statewave_compile_subject", "{\"subject\":\"a\",\"force\":\"yes\"}", -32000,
      "config_invalid", "force must be true or false" },
    { "engram_handoff", "{\"subject\":\"a\"}", -32000, "config_invalid",
      "missing required string field: session_id" },
    { "engram_handoff", "{\"subject\":\"a\",\"session_id\":\"s\",\"max_tokens\":0}", -32000,
      "config_invalid", "max_tokens must be an integer from 1 to 16000" },
    { "statewave_list_subjects", "{\"limit\":201}", -32000, "config_invalid",
      "limit must be an integer from 1 to 200" },
    { "statewave_list_subjects", "{\"offset\":-1}", -32000, "config_invalid",
      "offset must be an integer from 0" },
    { "statewave_ingest_episode", "{\"subject\":\"a\"}", -32000, "config_invalid",
      "missing required string field: kind" },
    { "statewave_ingest_episode",
      "{\"subject\":\"a\",\"kind\":\"k\",\"text\":\"t\","
      "\"occurred_at\":\"2026-01-01\",\"idempotency_key\":\"x\"}",
      -32000, "config_invalid", "missing required object field: source" },
    { "statewave_ingest_episode",
      "{\"subject\":\"a\",\"kind\":\"k\",\"text\":\"t\","
      "\"occurred_at\":\"2026-01-01\",\"idempotency_key\":\"x\",\"source\":[]}",
      -32000, "config_invalid", "expected object for statewave_ingest_episode.source" },
    { "statewave_ingest_episode",
      "{\"subject\":\"a\",\"kind\":\"k\",\"text\":\"t\","
      "\"occurred_at\":\"2026-01-01\",\"idempotency_key\":\"x\",\"source\":{\"type\":\"c\"}}",
      -32000, "config_invalid", "missing required string field: source.id" },
    { "statewave_ingest_episode",
      "{\"subject\":\"a\",\"kind\":\"k\",\"text\":\"t\","
      "\"occurred_at\":\"2026-01-01\",\"idempotency_key\":\"x\",\"source\":{\"id\":\"c\"}}",
      -32000, "config_invalid", "missing required string field: source.type" },
    { "statewave_ingest_episode",
      "{\"subject\":\"a\",\"kind\":\"k\",\"text\":\"t\","
      "\"occurred_at\":\"never\",\"idempotency_key\":\"x\",\"source\":{\"type\":\"c\","
      "\"id\":\"c\"}}",
      -32000, "config_invalid", "occurred_at must be an RFC 3339 timestamp" },
    { "statewave_ingest_episode",
      "{\"subject\":\"a\",\"kind\":\"k\",\"text\":\"t\","
      "\"occurred_at\":\"2026-01-01\",\"idempotency_key\":\"x\",\"source\":{\"type\":\"c\","
      "\"id\":\"c\",\"url\":5}}",
      -32000, "config_invalid", "source.url must be a string" },
    { "statewave_ingest_episode",
      "{\"subject\":\"a\",\"kind\":\"k\",\"text\":\"t\","
      "\"occurred_at\":\"2026-01-01\",\"idempotency_key\":\"x\",\"source\":{\"type\":\"c\","
      "\"id\":\"c\"},\"metadata\":[]}",
      -32000, "config_invalid", "expected object for statewave_ingest_episode.metadata" },
    { "no_such_tool", "{}", -32602, "unsupported", "unknown tool: no_such_tool" },
};

static void test_mcp_tool_arguments(void **state)
{
    struct arena *a = *state;
    size_t i;

    for (i = 0; i < sizeof(bad_calls) / sizeof(bad_calls[0]); i++) {
        const struct bad_call *b = &bad_calls[i];
        struct jv *r = call(a, NULL, b->tool, b->args);
        struct jv *e = jv_object_get(r, "error"), *data = jv_object_get(e, "data");
        const char *msg = jv_string(jv_object_get(data, "message"), NULL);

        if (!e || error_code(r) != b->rpc_code || !msg || !strstr(msg, b->message))
            fail_msg("%s(%s): %s", b->tool, b->args, jv_compact_text(a, r));
        assert_string_equal(jv_string(jv_object_get(data, "name"), NULL), "ConnectorError");
        assert_string_equal(jv_string(jv_object_get(data, "code"), NULL), b->code);
        assert_string_equal(jv_string(jv_object_get(e, "message"), NULL), msg);
        assert_int_equal(jv_type(jv_object_get(data, "retryable")), JV_FALSE);
        assert_non_null(jv_object_get(data, "hint"));
    }
    /* A long kind: 128 characters pass validation, 129 do not. */
    {
        char kind[140];

        memset(kind, 'k', 129);
        kind[129] = '\0';
        assert_int_equal(error_code(call(a, NULL, "statewave_ingest_episode",
                                         arena_printf(a, "{%s,\"kind\":\"%s\"}", ingest_ok, kind))),
                         MCP_TOOL_ERROR);
    }
}

/* Calls that pass validation reach the service layer (the store is a fresh SQLite file). */
static void test_mcp_tool_calls(void **state)
{
    struct arena *a = *state;
    struct jv *r, *tl, *subs;
    const char *id;

    r = call_ok(a, "tn", "statewave_ingest_episode", arena_printf(a, "{%s}", ingest_ok));
    id = jv_string(jv_object_get(r, "id"), NULL);
    assert_non_null(id);
    assert_string_equal(jv_string(jv_object_get(r, "idempotency_key"), NULL), "k");
    assert_int_equal(jv_type(jv_object_get(r, "duplicate")), JV_FALSE);
    r = call_ok(a, "tn", "statewave_ingest_episode", arena_printf(a, "{%s}", ingest_ok));
    assert_int_equal(jv_type(jv_object_get(r, "duplicate")), JV_TRUE);
    assert_string_equal(jv_string(jv_object_get(r, "id"), NULL), id);
    /* Another tenant: not a duplicate there. */
    r = call_ok(a, NULL, "statewave_ingest_episode",
                arena_printf(a, "{%s,\"kind\":\"other\",\"metadata\":{\"m\":1}}", ingest_ok));
    assert_int_equal(jv_type(jv_object_get(r, "duplicate")), JV_FALSE);
    tl = call_ok(a, "tn", "statewave_get_timeline", "{\"subject\":\"u:1\"}");
    assert_int_equal(jv_array_size(tl), 1);
    assert_string_equal(jv_compact_text(a, jv_array_get(tl, 0)),
                        arena_printf(a,
                                     "{\"id\":\"%s\",\"subject\":\"u:1\",\"kind\":\"note\","
                                     "\"text\":\"t\",\"occurred_at\":\"2026-01-01T00:00:00Z\"}",
                                     id));
    tl = call_ok(a, NULL, "statewave_get_timeline",
                 "{\"subject\":\"u:1\",\"kinds\":[\"note\"],\"limit\":5}");
    assert_int_equal(jv_array_size(tl), 0);
    tl = call_ok(a, NULL, "statewave_get_timeline",
                 "{\"subject\":\"u:1\",\"since\":\"2026-01-01T00:00:00Z\","
                 "\"until\":\"2026-01-01T00:00:00Z\"}");
    assert_int_equal(jv_array_size(tl), 1);
    subs = call_ok(a, "tn", "statewave_list_subjects", "{}");
    assert_string_equal(jv_compact_text(a, subs),
                        "{\"subjects\":[{\"subject_id\":\"u:1\","
                        "\"episode_count\":1,\"memory_count\":0}],\"total\":1}");
    r = call_ok(a, "tn", "statewave_search_memories", "{\"subject\":\"u:1\",\"query\":\"x\"}");
    assert_int_equal(jv_array_size(r), 0);
    /* engram_handoff: POST /v1/handoff's brief, in the session's tenant, never "not found". */
    r = call_ok(a, "tn", "engram_handoff",
                "{\"subject\":\"u:1\",\"session_id\":\"s-9\",\"max_tokens\":60}");
    assert_string_equal(jv_string(jv_object_get(r, "subject_id"), NULL), "u:1");
    assert_string_equal(jv_string(jv_object_get(r, "session_id"), NULL), "s-9");
    assert_string_equal(jv_string(jv_object_get(r, "reason"), NULL), "escalation");
    assert_non_null(jv_string(jv_object_get(r, "handoff_notes"), NULL));
    assert_true(jv_is_int(jv_object_get(r, "token_estimate")));
    assert_true(jv_double(jv_object_get(r, "token_estimate")) <= 60);
    assert_string_equal(jv_string(jv_object_get(r, "customer_summary"), NULL), "Subject: u:1");
    r = call_ok(a, NULL, "engram_handoff",
                "{\"subject\":\"u:1\",\"session_id\":\"s-9\",\"reason\":\"shift end\"}");
    assert_string_equal(jv_string(jv_object_get(r, "reason"), NULL), "shift end");
}

static int setup(void **state)
{
    *state = arena_new();
    return 0;
}

static int teardown(void **state)
{
    arena_free(*state);
    return 0;
}

static int group_setup(void **state)
{
    struct err err = ERR_INIT;
    struct migrate_result mr;
    char url[96];
    store *st;
    int fd;

    (void)state;
    snprintf(db_path, sizeof(db_path), "/tmp/engram-mcp-test-XXXXXX.db");
    fd = mkstemps(db_path, 3);
    if (fd < 0)
        return -1;
    close(fd);
    snprintf(url, sizeof(url), "sqlite://%s", db_path);
    if (store_setup(url, &err) < 0 || tokens_setup(&err) < 0)   /* tokens: engram_handoff */
        return -1;
    st = store_thread(&err);
    return st && store_migrate(st, &mr, &err) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    char path[80];

    (void)state;
    tokens_shutdown();
    store_shutdown();
    unlink(db_path);
    snprintf(path, sizeof(path), "%s-wal", db_path);
    unlink(path);
    snprintf(path, sizeof(path), "%s-shm", db_path);
    unlink(path);
    return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_mcp_initialize), T(test_mcp_ping_and_errors), T(test_mcp_notifications_and_batches),
        T(test_mcp_tools_list), T(test_mcp_tool_arguments),  T(test_mcp_tool_calls),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
