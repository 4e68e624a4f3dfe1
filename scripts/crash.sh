#!/bin/bash
# make crash: the kill -9 test (tests/api/67-crash.py) at length, on SQLite and then on a
# throwaway PostgreSQL cluster (or ENGRAM_TEST_PG_URL). Ends with `N passed, N failed`.
#
#   ENGRAM_CRASH_ROUNDS   server kills per backend (default 10; make test runs 2)
#   ENGRAM_CRASH_THREADS  concurrent client threads (default 16; make test runs 8)
#   ENGRAM_CRASH_SECONDS  longest ingest before each kill, seconds (default 2; make test 1)
#   ENGRAM_TEST_SEED      repeat one run's request mix and kill times
set -u
cd "$(dirname "$0")/.."
export ENGRAM_CRASH_ROUNDS=${ENGRAM_CRASH_ROUNDS:-10}
export ENGRAM_CRASH_THREADS=${ENGRAM_CRASH_THREADS:-16}
export ENGRAM_CRASH_SECONDS=${ENGRAM_CRASH_SECONDS:-2}
export ENGRAM_CRASH_STATS=${ENGRAM_CRASH_STATS:-$(mktemp /tmp/engram-crash-stats.XXXXXX)}
PASS=0
FAIL=0
PG_DIR=""
cleanup() {
    [ -n "$PG_DIR" ] && scripts/pg-cluster.sh stop "$PG_DIR" >/dev/null 2>&1
}
trap cleanup EXIT INT TERM

run() {
    local name=$1 out p f rc
    shift
    out=$(mktemp /tmp/engram-crash.XXXXXX)
    "$@" python3 tests/api/run.py 67 >"$out" 2>&1
    rc=$?
    p=$(tail -1 "$out" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1/p')
    f=$(tail -1 "$out" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\2/p')
    p=${p:-0}
    f=${f:-0}
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    PASS=$((PASS + p))
    FAIL=$((FAIL + f))
    if [ "$f" -ne 0 ]; then
        echo "FAIL  crash ($name): see $out"
        grep -E '^FAIL' "$out" | head -20 | sed 's/^/      /'
    else
        echo "ok    crash ($name): $ENGRAM_CRASH_ROUNDS kills x $ENGRAM_CRASH_THREADS threads;" \
             "$(tail -1 "$ENGRAM_CRASH_STATS" | python3 -c 'import json,sys; d=json.load(sys.stdin);
print("%(acknowledged)d episodes acknowledged, each found exactly once; %(unanswered)d requests"
      " cut off by the kills, %(unanswered_stored)d of their episodes stored (seed %(seed)d)" % d)')"
        rm -f "$out"
    fi
}

echo "crash: $ENGRAM_CRASH_ROUNDS rounds, $ENGRAM_CRASH_THREADS threads, up to" \
     "${ENGRAM_CRASH_SECONDS} s of ingest before each kill -9"
run sqlite env -u ENGRAM_TEST_DATABASE_URL
PG_URL=${ENGRAM_TEST_PG_URL:-}
if [ -z "$PG_URL" ]; then
    PG_DIR=$(mktemp -d /tmp/engram-pg.XXXXXX)
    rmdir "$PG_DIR"
    if ! PG_URL=$(scripts/pg-cluster.sh start "$PG_DIR"); then
        echo "FAIL  crash (postgres): cannot start a throwaway cluster"
        FAIL=$((FAIL + 1))
        PG_URL=""
    fi
fi
[ -n "$PG_URL" ] && run postgres env ENGRAM_TEST_DATABASE_URL="$PG_URL"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
