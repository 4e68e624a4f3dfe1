/* mcp.h - the `engram mcp` command: the built-in MCP server on stdio (newline-delimited
 * JSON-RPC, spec/api.md §11.1) over the configured database. */
#ifndef ENGRAM_CLI_MCP_H
#define ENGRAM_CLI_MCP_H

#include <stddef.h>
#include <stdio.h>

extern const char cmd_mcp_usage[];

/* `engram mcp`; argv[1] is "mcp". Serves stdin/stdout until end of input. Returns the exit
 * code: 0 at end of input, 1 when set-up or writing stdout failed, 2 usage. */
int cmd_mcp(int argc, char **argv);

/* The stdio loop on its own (what cmd_mcp runs once the store is set up), for tests: read
 * newline-delimited messages from fd `in` (lines over max bytes are refused with one error
 * reply), answer each on out, one line per reply, for the tenant. Returns 0 at end of input,
 * -1 when reading or writing failed. */
int mcp_stdio_serve(int in, FILE *out, const char *tenant, size_t max);

#endif
