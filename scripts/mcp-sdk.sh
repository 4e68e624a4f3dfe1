#!/bin/bash
# Install the official MCP TypeScript SDK into tests/mcp/node_modules (the versions pinned by
# tests/mcp/package-lock.json) when it is missing, for the MCP client tests
# (tests/api/85-mcp.py). Needs node and npm (Debian packages nodejs and npm; installed here
# when missing) and the npm registry. Exits non-zero, saying why, when it cannot install.
set -eu
cd "$(dirname "$0")/../tests/mcp"
if [ -f node_modules/@modelcontextprotocol/sdk/package.json ]; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get install -y -q nodejs npm >/dev/null 2>&1 ||
            { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q nodejs npm >/dev/null; }
    fi
fi
command -v npm >/dev/null 2>&1 || { echo "mcp-sdk: npm is not installed" >&2; exit 1; }
echo "mcp-sdk: installing @modelcontextprotocol/sdk into tests/mcp (npm ci)" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
