#!/bin/bash
# Install the official Statewave TypeScript SDK (@statewavedev/sdk, the version pinned by
# tests/sdk/package.json) into tests/sdk/node_modules when it is missing, for its EXTRA tier
# (tests/sdk/extra.mjs, run by tests/api/71-receipts.py as 71.11). Needs node and npm (`make
# deps`) and a registry that serves the package. Exits non-zero, saying why, when it cannot
# install; 71.11 is then not registered, and scripts/run-tests.sh says so.
set -eu
cd "$(dirname "$0")/../tests/sdk"
if [ -f node_modules/@statewavedev/sdk/package.json ]; then
    exit 0
fi
for tool in node npm; do
    command -v "$tool" >/dev/null 2>&1 ||
        { echo "statewave-sdk: $tool is not installed: run 'make deps'" >&2; exit 1; }
done
echo "statewave-sdk: installing @statewavedev/sdk into tests/sdk (npm install)" >&2
npm install --no-audit --no-fund --no-save --loglevel=error >&2
