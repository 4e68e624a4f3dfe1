/* version.h - the version of Engram, printed by `engram version` and named by the MCP
 * server's serverInfo. */
#ifndef ENGRAM_UTIL_VERSION_H
#define ENGRAM_UTIL_VERSION_H

#define ENGRAM_VERSION "0.1.0"

#endif
