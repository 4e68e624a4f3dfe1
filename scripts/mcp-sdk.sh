#!/bin/bash
# Install the official MCP TypeScript SDK into tests/mcp/node_modules (the versions pinned by
# tests/mcp/package-lock.json) when it is missing, for the MCP client tests
# (tests/api/98-mcp.py). Needs node and npm (`make deps` installs them) and the npm registry.
# Exits non-zero, saying why, when it cannot install.
set -eu
cd "$(dirname "$0")/../tests/mcp"
if [ -f node_modules/@modelcontextprotocol/sdk/package.json ]; then
    exit 0
fi
for tool in node npm; do
    command -v "$tool" >/dev/null 2>&1 ||
        { echo "mcp-sdk: $tool is not installed: run 'make deps'" >&2; exit 1; }
done
echo "mcp-sdk: installing @modelcontextprotocol/sdk into tests/mcp (npm ci)" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
