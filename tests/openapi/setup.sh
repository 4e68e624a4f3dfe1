#!/bin/sh
# Make the test-only tools of tests/openapi ready: its npm packages (from package-lock.json,
# into tests/openapi/node_modules, git-ignored) and Debian's chromium for docs-check.mjs.
# Quiet when both are present. Exits non-zero with a one-line reason when it cannot (no npm,
# the registry unreachable, apt-get failing): the tests that need them then fail, never skip.
#   usage: tests/openapi/setup.sh
set -eu
cd "$(dirname "$0")"

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "tests/openapi/setup.sh: npm not found (run 'make deps')" >&2
        exit 1
    fi
    if ! PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts --silent >&2; then
        echo "tests/openapi/setup.sh: 'npm ci' failed (is the npm registry reachable?)" >&2
        exit 1
    fi
fi

if ! command -v "${ENGRAM_CHROMIUM:-/usr/bin/chromium}" >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "installing: chromium (for the /docs test)" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! { $SUDO apt-get update -qq && \
           $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; then
        echo "tests/openapi/setup.sh: cannot install Debian's chromium" >&2
        exit 1
    fi
fi
