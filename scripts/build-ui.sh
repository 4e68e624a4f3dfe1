#!/bin/sh
# Build the admin web UI (ui/) into DIR for src/api/ui_data.S to embed into the binary
# (GET /ui/ serves it; no CDN, nothing from npm runs in the server).
#
# usage: scripts/build-ui.sh [DIR]      (default build/ui)
#
# Installs ui/'s npm packages from ui/package-lock.json (into ui/node_modules, git-ignored;
# scripts are not run), then bundles ui/src/main.js and its CSS with esbuild into DIR/app.js
# and DIR/app.css, and copies ui/index.html. Exits 1 with a one-line reason when npm is missing
# or the registry cannot be reached.
set -eu
cd "$(dirname "$0")/.."
dir="${1:-build/ui}"

if [ ! -f ui/node_modules/.package-lock.json ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "build-ui: npm not found: run 'make deps' (or install npm)" >&2
        exit 1
    fi
    echo "  NPM     ui/ (esbuild, preact, htm, uplot)"
    if ! (cd ui && npm ci --no-audit --no-fund --ignore-scripts --silent >&2); then
        echo "build-ui: 'npm ci' in ui/ failed (is the npm registry reachable?)" >&2
        exit 1
    fi
fi

echo "  ESBUILD $dir/app.js"
tmp="$dir.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
node ui/node_modules/esbuild/bin/esbuild ui/src/main.js --bundle --minify --format=esm \
    --target=es2020 --legal-comments=none --log-level=warning --outfile="$tmp/app.js"
cp ui/index.html "$tmp/index.html"
{
    echo "Engram's admin UI bundles these npm packages (MIT licence):"
    for p in preact htm uplot; do
        printf '\n== %s %s ==\n' "$p" "$(node -p "require('./ui/node_modules/$p/package.json').version")"
        cat "ui/node_modules/$p/LICENSE"* 2>/dev/null || true
    done
} >"$tmp/LICENSES.txt"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
