#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds every libFuzzer target (tests/fuzz/fuzz_*.c, and the demo app's reprise-demo-fuzz) with
# clang and runs each for a bounded time, seeded from tests/data (and ../shared/corpus where a
# target reads it: pcaps for fuzz_capture, HARs for fuzz_har). Exits non-zero
# when a target crashes, leaks or times out; the reproducer is left in build/fuzz/.
#
#   tools/fuzz.sh [SECONDS_PER_TARGET]     default 30
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
tools/install-deps.sh
build=build/fuzz
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREPRISE_FUZZ=ON \
      -DREPRISE_BUILD_TESTS=OFF -DREPRISE_BUILD_DEMO=ON >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

corpus=${REPRISE_CORPUS:-../shared/corpus} # third-party samples, read in place, never copied
seeds_for() { # target -> seed directories
    case $1 in
        fuzz_recording) echo tests/data/recording ;;
        fuzz_shape) echo tests/data/shape ;;
        fuzz_har) echo tests/data/har "$corpus/har" ;;
        fuzz_capture) echo "$corpus/pcap" ;;
        fuzz_relay) echo tests/data/relay ;;
        reprise-demo-fuzz) echo tests/data/demo-fuzz ;;
        *) echo "tests/data/${1#fuzz_}" ;;
    esac
}

status=0
for bin in "$build"/tests/fuzz/fuzz_* "$build"/tools/demo-app/reprise-demo-fuzz; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    work="$build/corpus-$name" # what this run finds; the seeds stay where they are
    mkdir -p "$work"
    seeds=()
    for d in $(seeds_for "$name"); do
        [ -d "$d" ] && seeds+=("$(cd "$d" && pwd)")
    done
    # Gzip the recording fixtures so the reader's gzip path is seeded, not only its errors.
    if [ "$name" = fuzz_recording ]; then
        for f in tests/data/recording/*.jsonl; do gzip -c "$f" >"$work/$(basename "$f").gz"; done
    fi
    echo "fuzz: $name for ${secs}s"
    if ! (cd "$build" && "./${bin#"$build"/}" -max_total_time="$secs" -timeout=10 \
            -rss_limit_mb=2048 -print_final_stats=1 "corpus-$name" "${seeds[@]}" \
            >"fuzz-$name.log" 2>&1); then
        echo "fuzz: $name FAILED, see $build/fuzz-$name.log" >&2
        tail -n 30 "$build/fuzz-$name.log" >&2
        status=1
    else
        grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec' "$build/fuzz-$name.log" | sed "s/^/  /"
    fi
done
exit $status
