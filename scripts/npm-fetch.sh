#!/bin/sh
# Download one npm package's tarball into DIR and check its SHA-256, for the build steps that
# take data from npm (fetch-tokenizer.sh, fetch-docs-ui.sh). Nothing from the package is run.
#
# usage: scripts/npm-fetch.sh NAME PKG TARBALL SHA256 DIR
#   NAME is the caller's name for messages; PKG is name@version; TARBALL the file npm pack
#   writes. Exits 1 with a one-line reason when npm is missing, the download fails or the
#   checksum differs.
set -eu
name=$1 pkg=$2 tarball=$3 sha=$4 dir=$5

if ! command -v npm >/dev/null 2>&1; then
    echo "$name: npm not found: run 'make deps' (or install npm)" >&2
    exit 1
fi
(cd "$dir" && npm pack --silent --ignore-scripts "$pkg" >/dev/null)
if [ ! -f "$dir/$tarball" ]; then
    echo "$name: npm pack did not produce '$tarball'" >&2
    exit 1
fi
echo "$sha  $dir/$tarball" | sha256sum -c --quiet - || {
    echo "$name: checksum mismatch for '$tarball'" >&2
    exit 1
}
