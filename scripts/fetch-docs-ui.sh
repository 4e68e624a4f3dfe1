#!/bin/sh
# Fetch Swagger UI's browser files from the npm package swagger-ui-dist into DIR, for
# src/api/docs_data.S to embed into the binary (GET /docs serves them; no CDN, nothing from npm
# runs in the server).
#
# usage: scripts/fetch-docs-ui.sh [DIR]      (default build/docs-ui)
#
# Does nothing when DIR/fetched exists, so the build works offline once fetched. The tarball's
# SHA-256 is checked; only these files are taken from it: swagger-ui-bundle.js,
# swagger-ui.css, favicon-32x32.png, LICENSE (Apache-2.0, served at /docs/assets/LICENSE).
set -eu

PKG="swagger-ui-dist@5.36.0"
TARBALL="swagger-ui-dist-5.36.0.tgz"
TARBALL_SHA256="685a2b38b5d6eab2dbc096a8596db11cc7409cdb671d2e3bec8f9b017d0d566b"
FILES="swagger-ui-bundle.js swagger-ui.css favicon-32x32.png LICENSE"

dir="${1:-build/docs-ui}"
[ -f "$dir/fetched" ] && exit 0

mkdir -p "$(dirname "$dir")"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/engram-docs-ui.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

echo "  FETCH   $PKG (the /docs page)"
"$(dirname "$0")/npm-fetch.sh" fetch-docs-ui "$PKG" "$TARBALL" "$TARBALL_SHA256" "$tmp"
mkdir "$tmp/out"
for f in $FILES; do
    tar -xzf "$tmp/$TARBALL" -C "$tmp" "package/$f"
    mv "$tmp/package/$f" "$tmp/out/$f"
done
echo "$PKG" >"$tmp/out/fetched"

# Publish atomically: another build may be waiting for the same files.
rm -rf "$dir.$$"
mv "$tmp/out" "$dir.$$"
if ! mv -T "$dir.$$" "$dir" 2>/dev/null; then
    rm -rf "$dir.$$"
    [ -f "$dir/fetched" ] || { echo "fetch-docs-ui: cannot create '$dir'" >&2; exit 1; }
fi
