#!/bin/bash
# Run every libFuzzer target (build/fuzz/fuzz/fuzz_<t>, built by `make fuzz`) for
# FUZZ_SECONDS (default 60) each, or only the targets named as arguments (json ts ...).
#
#   inputs:    fuzz/corpus/<t> (committed seeds), fuzz/findings/<t> (past findings, re-checked
#              first), build/fuzz/corpus/<t> (what earlier runs found; new inputs go here)
#   findings:  fuzz/findings/<t>/crash-*, leak-*, timeout-*, oom-* (libFuzzer's artifacts)
#   FUZZ_MERGE=1  afterwards, merge the inputs that add coverage into fuzz/corpus/<t>
#
# One line per target, then one summary line; exit 1 when any target found something.
set -u
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
BIN=build/fuzz/fuzz
LOG_DIR=$(mktemp -d /tmp/engram-fuzz.XXXXXX)
RESULTS=build/fuzz/results.txt

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for src in fuzz/fuzz_*.c; do
        t=$(basename "$src" .c)
        targets+=("${t#fuzz_}")
    done
fi

: >"$RESULTS"
total_execs=0
clean=0
bad=0
for t in "${targets[@]}"; do
    bin=$BIN/fuzz_$t
    if [ ! -x "$bin" ]; then
        echo "FAIL  fuzz $t: $bin not built"
        bad=$((bad + 1))
        continue
    fi
    mkdir -p "build/fuzz/corpus/$t" "fuzz/findings/$t" "fuzz/corpus/$t"
    before=$(ls "fuzz/findings/$t" | wc -l)
    log=$LOG_DIR/$t.log
    # Scratch files of a target (fuzz_request's database) go here, removed even after a crash.
    export ENGRAM_FUZZ_DIR=$LOG_DIR/scratch-$t
    mkdir -p "$ENGRAM_FUZZ_DIR"
    # The sanitizers' own options: abort on the first report, check leaks at each input.
    ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        "$bin" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=30 -rss_limit_mb=4096 \
        -print_final_stats=1 -artifact_prefix="fuzz/findings/$t/" \
        "build/fuzz/corpus/$t" "fuzz/corpus/$t" "fuzz/findings/$t" >"$log" 2>&1
    rc=$?
    rm -rf "$ENGRAM_FUZZ_DIR"
    execs=$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}' | tail -1)
    secs=$(grep -E '^stat::average_exec_per_sec:' "$log" | awk '{print $2}' | tail -1)
    rss=$(grep -E '^stat::peak_rss_mb:' "$log" | awk '{print $2}' | tail -1)
    cov=$(grep -E 'cov: [0-9]+' "$log" | tail -1 | sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/\1 \2 \3/')
    execs=${execs:-0}
    after=$(ls "fuzz/findings/$t" | wc -l)
    new=$((after - before))
    total_execs=$((total_execs + execs))
    read -r c f k <<<"${cov:-0 0 0}"
    line="$t: $execs executions in ${SECONDS_EACH} s (${secs:-0}/s), coverage $c edges / $f features, corpus $k, peak RSS ${rss:-?} MB"
    if [ "$rc" -ne 0 ] || [ "$new" -gt 0 ]; then
        echo "FAIL  fuzz $line: $new new finding(s) in fuzz/findings/$t (log: $log)"
        grep -E 'ERROR|invariant broken|runtime error|SUMMARY' "$log" | head -5 | sed 's/^/      /'
        bad=$((bad + 1))
        echo "$line; FINDINGS: $new" >>"$RESULTS"
    else
        echo "ok    fuzz $line"
        clean=$((clean + 1))
        echo "$line; no findings" >>"$RESULTS"
    fi
    if [ "${FUZZ_MERGE:-0}" = 1 ]; then
        "$bin" -merge=1 -max_len=65536 -timeout=30 "fuzz/corpus/$t" "build/fuzz/corpus/$t" \
            >>"$log" 2>&1 || true
    fi
done
echo "fuzz: ${#targets[@]} targets, $clean clean, $bad with findings; $total_execs executions (logs: $LOG_DIR)"
[ "$bad" -eq 0 ]
