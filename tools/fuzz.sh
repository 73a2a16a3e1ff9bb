#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds every libFuzzer target (tests/fuzz/fuzz_*.c, and the demo app's reprise-demo-fuzz) with
# clang and runs each for a bounded time, seeded from tests/data (and ../shared/corpus where a
# target reads it: pcaps for fuzz_capture, HARs for fuzz_har). Exits non-zero
# when a target crashes, leaks or times out; the reproducer is left in build/fuzz/.
#
#   tools/fuzz.sh [SECONDS_PER_TARGET]     default 30
#
# REPRISE_FUZZ_JOBS=N runs N targets at once; REPRISE_FUZZ_ONLY=REGEX runs the targets whose
# name matches; REPRISE_FUZZ_TIMEOUT=S is the wall-clock time one input may take before it is
# reported as a hang (default 10; a campaign beside other work on a small machine needs more).
# Each target prints its executions, exec/s and coverage (cov/ft) at start and end.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
timeout=${REPRISE_FUZZ_TIMEOUT:-10}
tools/install-deps.sh
build=build/fuzz
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREPRISE_FUZZ=ON \
      -DREPRISE_BUILD_TESTS=OFF -DREPRISE_BUILD_DEMO=ON >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

corpus=${REPRISE_CORPUS:-../shared/corpus} # third-party samples, read in place, never copied
seeds_for() { # target -> seed directories
    case $1 in
        fuzz_recording) echo tests/data/recording ;;
        fuzz_shape | fuzz_shapefile) echo tests/data/shape ;;
        fuzz_har) echo tests/data/har "$corpus/har" ;;
        fuzz_capture) echo "$corpus/pcap" ;;
        fuzz_relay) echo tests/data/relay ;;
        reprise-demo-fuzz) echo tests/data/demo-fuzz ;;
        *) echo "tests/data/${1#fuzz_}" ;;
    esac
}

# One target's run; its summary is printed when it ends. Exit status: the target's.
run_target() { # bin
    local bin=$1 name work d
    name=$(basename "$bin")
    work="$build/corpus-$name" # what this run finds; the seeds stay where they are
    mkdir -p "$work"
    local seeds=()
    for d in $(seeds_for "$name"); do
        [ -d "$d" ] && seeds+=("$(cd "$d" && pwd)")
    done
    # Gzip the recording fixtures so the reader's gzip path is seeded, not only its errors.
    if [ "$name" = fuzz_recording ]; then
        for f in tests/data/recording/*.jsonl; do gzip -c "$f" >"$work/$(basename "$f").gz"; done
    fi
    echo "fuzz: $name for ${secs}s"
    if ! (cd "$build" && "./${bin#"$build"/}" -max_total_time="$secs" -timeout="$timeout" \
            -rss_limit_mb=2048 -print_final_stats=1 "corpus-$name" "${seeds[@]}" \
            >"fuzz-$name.log" 2>&1); then
        echo "fuzz: $name FAILED, see $build/fuzz-$name.log" >&2
        tail -n 30 "$build/fuzz-$name.log" >&2
        return 1
    fi
    # Coverage when the seeds were loaded (INITED) and at the end, and the run's speed.
    local log="$build/fuzz-$name.log" start end execs rate
    start=$(grep -m1 -o 'INITED cov: [0-9]* ft: [0-9]*' "$log" | cut -d' ' -f3,5 || true)
    end=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n1 | cut -d' ' -f2,4 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    printf 'fuzz: %s done: %s execs, %s exec/s, cov/ft %s -> %s\n' "$name" "$execs" "$rate" \
        "${start/ //}" "${end/ //}"
}

# REPRISE_FUZZ_JOBS targets run at once (default 1); a long campaign on a many-core machine
# sets it higher. The exit status is non-zero when any target failed.
jobs=${REPRISE_FUZZ_JOBS:-1}
status=0
running=0
for bin in "$build"/tests/fuzz/fuzz_* "$build"/tools/demo-app/reprise-demo-fuzz; do
    [ -x "$bin" ] || continue
    if [ -n "${REPRISE_FUZZ_ONLY:-}" ] && [[ ! $(basename "$bin") =~ $REPRISE_FUZZ_ONLY ]]; then
        continue
    fi
    run_target "$bin" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || status=1
        running=$((running - 1))
    fi
done
while [ "$running" -gt 0 ]; do
    wait -n || status=1
    running=$((running - 1))
done
exit $status
