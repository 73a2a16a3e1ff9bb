#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Replay memory benchmark (a report, not a test): replays the bundled checkout recording against
# the demo shop at --concurrency 8, once with 500 sessions and once with 8,000 (each its own
# tenant), and prints reprise's peak RSS for both and their ratio. Memory bounded by the
# concurrency, not by the sessions run, gives a ratio near 1 (target: within 20%, 1.20).
# Exits 0 whether or not the target is met; 2 when no figures could be taken.
#
#   tools/bench/replay_memory.sh
#
# Environment (all optional):
#   REPRISE, REPRISE_DEMO   binaries to measure (default: a Release build in build/bench)
#   BENCH_SESSIONS="500 8000"   the session counts (2 to 4 of them, each 1..100000)
#   BENCH_CONCURRENCY=8
#   BENCH_REPORTS=0     1: also write a JUnit report and a results file (--junit, --results)
set -euo pipefail
cd "$(dirname "$0")/../.."

TARGET_RATIO=1.20
REPRISE_TIMEOUT=1800 # seconds any single replay may take
read -r -a counts <<<"${BENCH_SESSIONS:-500 8000}"
conc=${BENCH_CONCURRENCY:-8}
reports=${BENCH_REPORTS:-0}

die() { echo "bench: $*" >&2; exit 2; }

[ "${#counts[@]}" -ge 2 ] && [ "${#counts[@]}" -le 4 ] || die "BENCH_SESSIONS wants 2 to 4 counts"
for n in "${counts[@]}" "$conc"; do
    [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 100000 ] || die "bad count '$n'"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is not installed (package 'time')"

reprise=${REPRISE:-}
demo=${REPRISE_DEMO:-}
if [ -z "$reprise" ] || [ -z "$demo" ]; then
    build=build/bench
    mkdir -p "$build"
    if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DREPRISE_BUILD_TESTS=OFF &&
        cmake --build "$build" -j2 --target reprise reprise-demo; } >"$build/memory-build.log" 2>&1
    then
        tail -n 30 "$build/memory-build.log" >&2
        die "build failed (full log: $build/memory-build.log)"
    fi
    reprise=${reprise:-$build/reprise}
    demo=${demo:-$build/tools/demo-app/reprise-demo}
fi
for b in "$reprise" "$demo"; do
    [ -x "$b" ] || die "no binary at $b"
done

source tools/lib/demo-app.sh
dir=$(mktemp -d /tmp/reprise-bench-mem.XXXXXX)
trap 'demo_stop; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
demo_start "$demo" || die "the demo shop did not start"
rec=recordings/demo-checkout.jsonl.gz
export REPRISE_SECRET_PASSWORD=correct-horse-battery-staple

# Prints the peak RSS in KiB of a replay of n sessions, or nothing when it failed.
peak_kib() {
    local n=$1 code=0 extra=()
    if [ "$reports" = 1 ]; then
        extra=(--junit "$dir/junit.$n.xml" --results "$dir/results.$n.jsonl.gz")
    fi
    timeout "$REPRISE_TIMEOUT" /usr/bin/time -f '%M' -o "$dir/time.$n" "$reprise" -q replay \
        --target "$DEMO_URL" --no-color --concurrency "$conc" --sessions "$n" "${extra[@]}" \
        "$rec" >"$dir/out.$n" 2>"$dir/err.$n" || code=$?
    rm -f "$dir/junit.$n.xml" "$dir/results.$n.jsonl.gz" # only the memory is of interest
    if [ "$code" -ne 0 ]; then
        echo "bench: the replay of $n sessions exited $code:" >&2
        tail -n 5 "$dir/out.$n" "$dir/err.$n" >&2
        return 0
    fi
    tail -n 1 "$dir/time.$n"
}

echo "replay memory: $rec against the demo shop, --concurrency $conc$(
    [ "$reports" = 1 ] && echo ", with --junit and --results")"
declare -A peak
for n in "${counts[@]}"; do
    t0=$(date +%s.%N)
    peak[$n]=$(peak_kib "$n")
    t1=$(date +%s.%N)
    [ -n "${peak[$n]}" ] || die "no figure for $n sessions"
    awk -v n="$n" -v k="${peak[$n]}" -v a="$t0" -v b="$t1" \
        'BEGIN { printf "  %6d sessions: peak RSS %7.1f MiB (%.0f s)\n", n, k / 1024, b - a }'
done
first=${counts[0]}
last=${counts[${#counts[@]} - 1]}
awk -v a="${peak[$first]}" -v b="${peak[$last]}" -v t="$TARGET_RATIO" -v f="$first" -v l="$last" \
    'BEGIN {
        r = b / a
        printf "  ratio %d / %d sessions: %.2f (target <= %.2f): %s\n", l, f, r, t,
            r <= t ? "met" : "NOT met"
        printf "  growth per extra session: %.2f KiB\n", (b - a) / (l - f)
    }'
