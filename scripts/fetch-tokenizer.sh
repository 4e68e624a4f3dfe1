#!/bin/sh
# Fetch the cl100k_base BPE ranks (spec/behavior.md §10.1) from the npm package js-tiktoken and
# convert them into the compact file src/service/tokens_data.S embeds into the binary.
#
# usage: scripts/fetch-tokenizer.sh [OUT]      (default build/tokenizer/cl100k_base.ranks)
#
# Does nothing when OUT exists. Only the rank table is taken from the package; its code is never
# run or used. OUT format (all integers little-endian):
#   "ENGRANK1"  8-byte magic
#   u32         number of records
#   records, in rank order: [len:u8][len bytes of the token][rank:u32]
set -eu

PKG="js-tiktoken@1.0.21"
TARBALL="js-tiktoken-1.0.21.tgz"
TARBALL_SHA256="3b1f24b185565ca9a8d8f51466dfc4f99d67f1f05bc009258710ddb7a8d810fa"
RANKS_IN_TARBALL="package/dist/ranks/cl100k_base.cjs"

out="${1:-build/tokenizer/cl100k_base.ranks}"
[ -f "$out" ] && exit 0

if ! command -v python3 >/dev/null 2>&1; then
    echo "fetch-tokenizer: python3 not found: run 'make deps'" >&2
    exit 1
fi

mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/engram-tokenizer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

echo "  FETCH   $PKG (cl100k_base ranks)"
"$(dirname "$0")/npm-fetch.sh" fetch-tokenizer "$PKG" "$TARBALL" "$TARBALL_SHA256" "$tmp"
tar -xzf "$tmp/$TARBALL" -C "$tmp" "$RANKS_IN_TARBALL"

# The .cjs file is "module.exports = {...};" holding JSON. Its "bpe_ranks" string is one or more
# lines "! OFFSET TOK TOK ...": each TOK is a token's bytes in base64, and its rank is OFFSET plus
# its position on the line.
python3 - "$tmp/$RANKS_IN_TARBALL" "$tmp/ranks" <<'EOF'
import base64, json, struct, sys

src, dst = sys.argv[1], sys.argv[2]
text = open(src, encoding="utf-8").read()
obj = json.loads(text[text.index("{"):text.rindex("}") + 1])
ranks = {}
for line in obj["bpe_ranks"].split("\n"):
    if not line:
        continue
    fields = line.split(" ")
    offset = int(fields[1])
    for i, tok in enumerate(fields[2:]):
        raw = base64.b64decode(tok, validate=True)
        if raw in ranks or not 1 <= len(raw) <= 255:
            sys.exit("fetch-tokenizer: bad token %r" % tok)
        ranks[raw] = offset + i
if len(ranks) != 100256 or sorted(ranks.values()) != list(range(100256)):
    sys.exit("fetch-tokenizer: expected the 100256 cl100k_base ranks 0..100255")
if any(bytes([b]) not in ranks for b in range(256)):
    sys.exit("fetch-tokenizer: a single byte has no rank")
with open(dst, "wb") as f:
    f.write(b"ENGRANK1" + struct.pack("<I", len(ranks)))
    for raw, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        f.write(struct.pack("<B", len(raw)) + raw + struct.pack("<I", rank))
EOF

# Publish atomically: another build may be waiting for the same file.
mv "$tmp/ranks" "$out.$$"
mv "$out.$$" "$out"
