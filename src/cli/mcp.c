/* mcp.c - `engram mcp`: the MCP server on stdio. One JSON-RPC message per line in, one reply
 * per line out (nothing for notifications), logs on stderr; ends at end of input. */
#include "cli/mcp.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "api/mcp.h"
#include "cli/cli.h"
#include "service/service.h"
#include "util/config.h"
#include "util/log.h"

#define READ_BLOCK (64 * 1024)

const char cmd_mcp_usage[] =
    "usage: engram mcp\n"
    "\n"
    "Serve the Model Context Protocol on stdin/stdout (newline-delimited JSON-RPC,\n"
    "revision 2025-06-18) over STATEWAVE_DATABASE_URL, for agents that start the server\n"
    "themselves (Claude Desktop, Cursor, VS Code). The tools are the reference MCP\n"
    "server's: statewave_ingest_episode, statewave_search_memories, statewave_get_context,\n"
    "statewave_get_timeline, statewave_compile_subject, statewave_list_subjects.\n"
    "Logs go to stderr. Ends at the end of input.\n"
    "\n"
    "settings (environment):\n"
    "  STATEWAVE_DATABASE_URL    the database (as for serve; pending migrations are applied)\n"
    "  STATEWAVE_TENANT_ID       the tenant every tool call is scoped to (default: none)\n"
    "  STATEWAVE_MAX_BODY_BYTES  longest message line (default 67108864)\n"
    "The HTTP server offers the same tools at POST /mcp (Streamable HTTP).\n";

/* Answer one message line of n bytes; -1 when stdout cannot be written. */
static int answer(const char *line, size_t n, FILE *out, const struct mcp_session *s)
{
    struct arena *a = arena_new();
    struct mcp_reply r = { BUF_INIT, 0 };
    int ret = 0;

    mcp_handle(a, s, line, n, &r);
    if (r.body.len > 0) {
        buf_putc(&r.body, '\n');
        if (fwrite(r.body.data, 1, r.body.len, out) != r.body.len || fflush(out) != 0)
            ret = -1;
    }
    buf_release(&r.body);
    arena_free(a);
    return ret;
}

static int too_large(FILE *out, size_t max)
{
    char line[160];
    int n = snprintf(line, sizeof(line),
                     "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":%d,\"message\":"
                     "\"Invalid Request: message over %zu bytes\"}}\n",
                     MCP_INVALID_REQUEST, max);

    return fwrite(line, 1, (size_t)n, out) == (size_t)n && fflush(out) == 0 ? 0 : -1;
}

/* Answer every complete line in pending (CR before LF dropped, blank lines skipped) and keep
 * the unfinished rest. *skipping: the line being read is over max and is dropped up to its
 * newline. */
static int drain_lines(struct buf *pending, int *skipping, FILE *out, const struct mcp_session *s,
                       size_t max)
{
    size_t start = 0, len;
    char *nl;

    while ((nl = memchr(pending->data + start, '\n', pending->len - start))) {
        len = (size_t)(nl - (pending->data + start));
        if (*skipping) {
            *skipping = 0;
        } else {
            if (len > 0 && pending->data[start + len - 1] == '\r')
                len--;
            if (len > 0 && answer(pending->data + start, len, out, s) < 0)
                return -1;
        }
        start += (size_t)(nl - (pending->data + start)) + 1;
    }
    if (start > 0) { /* keep the unfinished line (data is on the heap once it grew) */
        memmove(pending->data, pending->data + start, pending->len - start);
        pending->len -= start;
        pending->data[pending->len] = '\0';
    }
    if (pending->len > max) {
        if (!*skipping && too_large(out, max) < 0)
            return -1;
        *skipping = 1;
        buf_reset(pending);
    }
    return 0;
}

int mcp_stdio_serve(int in, FILE *out, const char *tenant, size_t max)
{
    struct mcp_session s = { tenant };
    struct buf pending = BUF_INIT;
    char block[READ_BLOCK];
    int skipping = 0, ret = 0;
    ssize_t got;

    for (;;) {
        got = read(in, block, sizeof(block));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            ret = got < 0 ? -1 : 0;
            break;
        }
        buf_append(&pending, block, (size_t)got);
        if (drain_lines(&pending, &skipping, out, &s, max) < 0) {
            ret = -1;
            break;
        }
    }
    if (ret == 0 && pending.len > 0 && !skipping) /* a last line without a newline */
        ret = answer(pending.data, pending.len, out, &s);
    buf_release(&pending);
    return ret;
}

int cmd_mcp(int argc, char **argv)
{
    struct err err = ERR_INIT;
    int ret;

    if (cli_wants_help(argc, argv, 2)) {
        fputs(cmd_mcp_usage, stdout);
        return 0;
    }
    if (argc > 2)
        return cli_usage_error(cmd_mcp_usage, "mcp takes no arguments");
    if (!cli_setup_store(&err))
        return 1;
    signal(SIGPIPE, SIG_IGN);
    if (service_setup(&err) < 0) {
        fprintf(stderr, "engram: %s\n", err.msg);
        cli_teardown();
        return 1;
    }
    log_write(LOG_INFO, "engram mcp on stdio (tenant %s)",
              cfg->tenant_id ? cfg->tenant_id : "none");
    ret = mcp_stdio_serve(STDIN_FILENO, stdout, cfg->tenant_id, cfg->max_body_bytes);
    if (ret < 0)
        log_write(LOG_ERROR, "mcp: stdio failed: %s", strerror(errno));
    service_shutdown();
    cli_teardown();
    return ret < 0 ? 1 : 0;
}
