#!/bin/sh
# Install the Debian packages Engram needs to build, run and test; quiet when all are present.
#   scripts/deps.sh             what make run / make test need
#   scripts/deps.sh fuzz        plus clang and libFuzzer (make fuzz)
#   scripts/deps.sh coverage    plus gcovr (make coverage)
set -e
PKGS="build-essential pkg-config libmicrohttpd-dev libsqlite3-dev libpq-dev
libssl-dev libpcre2-dev libcurl4-openssl-dev libunistring-dev libcmocka-dev postgresql python3 sqlite3 npm"
for extra in "$@"; do
    case "$extra" in
    fuzz) PKGS="$PKGS clang libclang-rt-dev" ;;
    coverage) PKGS="$PKGS gcovr" ;;
    *) echo "deps.sh: unknown group '$extra' (fuzz, coverage)" >&2; exit 2 ;;
    esac
done
missing=""
for p in $PKGS; do
    # npm (for scripts/fetch-tokenizer.sh) may come with a non-Debian nodejs, such as NodeSource's,
    # which conflicts with Debian's npm package: any working npm will do.
    [ "$p" = npm ] && command -v npm >/dev/null 2>&1 && continue
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
