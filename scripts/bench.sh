#!/bin/bash
# bench.sh - `make bench`: build the load generator and the storage floor program, then run
# bench/run.py on SQLite and PostgreSQL and print one table (figure, value, floor, ratio).
#
#   make bench              full run (under 10 minutes on 2 cores)
#   make bench QUICK=1      smaller and shorter (under 1 minute)
#   BENCH_BACKENDS=sqlite make bench      one backend only
#   BENCH_JSON=FILE / BENCH_TABLE=FILE    also write the raw figures / the table there
#   ENGRAM_BEFORE_BIN=PATH make bench     also time compile and import with the engram binary
#                           of before issue 18's search engine (commit bf186e9), alternated
#                           with this build, and print the throughput ratios (issue 18)
#
# Everything runs in a scratch directory that is removed at the end, with the server and the
# throwaway PostgreSQL cluster stopped even on failure or Ctrl-C.
set -u
cd "$(dirname "$0")/.."

MODE=release
[ -n "${SAN:-}" ] && MODE=san
TOOLS=build/$MODE/bench
make --no-print-directory bench-tools >/dev/null || {
    echo "bench: cannot build the bench tools" >&2
    exit 1
}

DIR=$(mktemp -d /tmp/engram-bench.XXXXXX)
PY_PID=""

cleanup() {
    if [ -n "$PY_PID" ] && kill -0 "$PY_PID" 2>/dev/null; then
        kill -TERM "$PY_PID" 2>/dev/null
        wait "$PY_PID" 2>/dev/null
    fi
    # Backstops in case run.py could not clean up itself.
    if [ -f "$DIR/server.pid" ]; then
        pid=$(cat "$DIR/server.pid")
        if kill -0 "$pid" 2>/dev/null && grep -q engram "/proc/$pid/cmdline" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null
        fi
    fi
    if [ -d "$DIR/pg" ]; then
        scripts/pg-cluster.sh stop "$DIR/pg" >/dev/null 2>&1 || true
    fi
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ARGS=(--backends "${BENCH_BACKENDS:-sqlite,postgres}")
case "${QUICK:-}" in
"" | 0) ;;
*) ARGS+=(--quick) ;;
esac
[ -n "${BENCH_JSON:-}" ] && ARGS+=(--json "$BENCH_JSON")
[ -n "${BENCH_TABLE:-}" ] && ARGS+=(--table "$BENCH_TABLE")

ENGRAM_BENCH_DIR=$DIR ENGRAM_BENCH_TOOLS=$TOOLS ENGRAM_BIN=${ENGRAM_BIN:-bin/engram} \
    python3 bench/run.py "${ARGS[@]}" &
PY_PID=$!
wait "$PY_PID"
rc=$?
PY_PID=""
exit $rc
