/* fuzz_mcp.c - the MCP server's message handling (api/mcp.c, api/mcp_tools.c): the input is
 * one message as a line of `engram mcp` or a POST /mcp body carries it, handled by
 * mcp_handle() with the service layer on a migrated SQLite database in a scratch directory,
 * as `engram mcp` runs it. Its last byte picks the session's tenant (none, or one of two).
 *
 * Invariants: the reply is empty (notifications and responses only) or valid JSON: one
 * object or a non-empty array of objects, each with "jsonrpc": "2.0", an "id" (string,
 * integer or null) and exactly one of "result" and "error" (an object with an integer code
 * and a string message); the parse error is flagged exactly when the input is not JSON; a
 * tool result is one text part holding valid JSON, and a failed tool call never reads as a
 * server fault (code -32000 with data.code "network" would be the database failing).
 */
#include <string.h>
#include <unistd.h>

#include "api/mcp.h"
#include "fuzz.h"
#include "fuzz_server.h"
#include "util/arena.h"
#include "util/jv.h"

static struct config config;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char *env[] = { fuzz_db_url, NULL };

    (void)argc, (void)argv;
    fuzz_server_setup(&config, env);
    return 0;
}

/* One reply object of the batch or the single reply. */
static void check_reply(struct arena *a, const struct jv *r)
{
    const struct jv *ver, *id, *res, *err, *content, *part;
    const char *text;
    int64_t code;

    FUZZ_CHECK(jv_type(r) == JV_OBJECT, "a reply that is not an object");
    ver = jv_object_get(r, "jsonrpc");
    FUZZ_CHECK(ver && jv_string(ver, NULL) && strcmp(jv_string(ver, NULL), "2.0") == 0,
               "a reply without jsonrpc 2.0");
    id = jv_object_get(r, "id");
    FUZZ_CHECK(id && (jv_type(id) == JV_STRING || jv_type(id) == JV_INT || jv_type(id) == JV_NULL),
               "a reply without a valid id");
    res = jv_object_get(r, "result");
    err = jv_object_get(r, "error");
    FUZZ_CHECK((res != NULL) != (err != NULL), "a reply with both or neither result and error");
    if (err) {
        FUZZ_CHECK(jv_type(err) == JV_OBJECT, "an error that is not an object");
        FUZZ_CHECK(jv_int64(jv_object_get(err, "code") ? jv_object_get(err, "code") : jv_null(),
                            &code) == 0,
                   "an error without an integer code");
        FUZZ_CHECK(jv_object_get(err, "message") && jv_string(jv_object_get(err, "message"), NULL),
                   "an error without a message");
        if (code == MCP_TOOL_ERROR) {
            const struct jv *data = jv_object_get(err, "data");
            const struct jv *dc = data ? jv_object_get(data, "code") : NULL;

            FUZZ_CHECK(dc && jv_string(dc, NULL), "a tool error without data.code");
            FUZZ_CHECK(strcmp(jv_string(dc, NULL), "network") != 0,
                       "a tool call failed on the server's side");
        }
        return;
    }
    content = jv_type(res) == JV_OBJECT ? jv_object_get(res, "content") : NULL;
    if (!content)
        return;
    FUZZ_CHECK(jv_type(content) == JV_ARRAY && jv_array_size(content) == 1,
               "a tool result that is not one part");
    part = jv_array_get(content, 0);
    text = jv_string(jv_object_get(part, "text") ? jv_object_get(part, "text") : jv_null(), NULL);
    FUZZ_CHECK(text && jv_parse(a, text, strlen(text), NULL, NULL),
               "a tool result whose text is not JSON");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const tenants[] = { NULL, "fuzz-a", "fuzz-b" };
    struct mcp_session s = { tenants[size ? data[size - 1] % 3 : 0] };
    struct mcp_reply r = { BUF_INIT, 0 };
    struct arena *a = arena_new();
    const struct jv *in, *out;
    size_t i;

    in = jv_parse(a, (const char *)data, size, NULL, NULL);
    mcp_handle(a, &s, (const char *)data, size, &r);
    FUZZ_CHECK(r.parse_error == (in == NULL), "the parse error flag disagrees with the parser");
    if (r.body.len > 0) {
        out = jv_parse(a, r.body.data, r.body.len, NULL, NULL);
        FUZZ_CHECK(out != NULL, "a reply that is not JSON");
        if (jv_type(out) == JV_ARRAY) {
            FUZZ_CHECK(jv_array_size(out) > 0, "an empty batch reply");
            for (i = 0; i < jv_array_size(out); i++)
                check_reply(a, jv_array_get(out, i));
        } else {
            check_reply(a, out);
        }
    }
    buf_release(&r.body);
    arena_free(a);
    return 0;
}
