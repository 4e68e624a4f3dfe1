#!/bin/bash
# make coverage: line coverage of src/ over the whole test suite (unit, fuzz replay, store and
# API suites, SQLite and PostgreSQL), measured with gcc --coverage and summarised by gcovr.
#
#   build/coverage/coverage.txt    per-file table (lines, executed, percent, missing lines)
#   build/coverage/summary.txt     the totals gcovr prints
#
# bin/engram is the coverage build afterwards (the API suite runs it); `make` puts the release
# build back. Ends with the suite's `N passed, N failed` line, then `coverage: lines NN.N% ...`.
set -u
cd "$(dirname "$0")/.."
OUT=build/coverage
make --no-print-directory COVERAGE=1 -j"${JOBS:-2}" bin/engram unit-tests fuzz-replay || exit 1
find "$OUT" -name '*.gcda' -delete
# Notes of sources that moved or went away would be read as never executed: drop them.
find "$OUT/src" -name '*.gcno' | while read -r note; do
    src=${note#"$OUT"/}
    [ -e "${src%.gcno}.c" ] || rm -f "$note" "${note%.gcno}.o" "${note%.gcno}.d"
done
find "$OUT/tests" -name 'test_*-test_*.gcno' | while read -r note; do
    name=$(basename "$note" .gcno)
    [ -e "tests/unit/${name#*-}.c" ] || rm -f "$note" "$OUT/tests/${name%%-*}"
done
ENGRAM_BUILD=$OUT scripts/run-tests.sh
rc=$?
# gcovr reads the .gcda files next to the objects; only src/ counts.
gcovr --root . --filter 'src/' --gcov-ignore-parse-errors --sort-percentage --output "$OUT/coverage.txt" \
      --print-summary "$OUT" >"$OUT/summary.txt" 2>"$OUT/gcovr.log"
if [ ! -s "$OUT/summary.txt" ]; then
    echo "coverage: gcovr failed (see $OUT/gcovr.log)"
    exit 1
fi
echo "coverage: $(grep -E '^lines:' "$OUT/summary.txt") over src/ (per file: $OUT/coverage.txt)"
exit $rc
