#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# HAR import memory benchmark (a report, not a test): generates a HAR file of about 500 MiB
# (tools/bench/gen_har.c: Chrome's layout, a JSON API session), imports it with the defaults,
# and prints peak RSS and time for this tree's reprise ("after"), for a reprise built from
# BEFORE_REF ("before", main by default: git archive, so no worktree is touched), and for a
# whole-tree peer in the same run: python3's json.load of the same file, which holds the whole
# document as Python objects, as the import before streaming held it as a cJSON tree.
# Target: "after" under 200 MiB. Exits 0 whether or not it is met; 2 when no figure was taken.
#
#   tools/bench/har_memory.sh
#
# Environment (all optional):
#   BENCH_HAR_MIB=500       size of the generated file, 1..511 (import refuses a file past
#                           RP_MAX_HAR_BYTES, 512 MiB)
#   REPRISE=path            the "after" binary (default: a Release build in build/bench)
#   BEFORE_REF=main         the commit the "before" binary is built from; "" skips it
#   BENCH_PEER=1            0 skips python3's json.load
set -euo pipefail
cd "$(dirname "$0")/../.."

TARGET_MIB=200
TIMEOUT=1800 # seconds any single step may take
mib=${BENCH_HAR_MIB:-500}
before_ref=${BEFORE_REF-main}
peer=${BENCH_PEER:-1}

die() { echo "bench: $*" >&2; exit 2; }

[[ $mib =~ ^[0-9]+$ ]] && [ "$mib" -ge 1 ] && [ "$mib" -le 511 ] || die "bad BENCH_HAR_MIB '$mib'"
[ -x /usr/bin/time ] || die "/usr/bin/time is not installed (package 'time')"

build=build/bench
mkdir -p "$build"
targets=(reprise-bench-har)
[ -n "${REPRISE:-}" ] || targets+=(reprise)
if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DREPRISE_BUILD_TESTS=OFF &&
    cmake --build "$build" -j2 --target "${targets[@]}"; } >"$build/har-build.log" 2>&1; then
    tail -n 30 "$build/har-build.log" >&2
    die "build failed (full log: $build/har-build.log)"
fi
after=${REPRISE:-$build/reprise}
gen=$build/tools/bench/reprise-bench-har
[ -x "$after" ] || die "no binary at $after"

dir=$(mktemp -d /tmp/reprise-bench-har.XXXXXX)
trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM

before=""
if [ -n "$before_ref" ]; then
    sha=$(git rev-parse --verify --quiet "$before_ref^{commit}") || die "no commit '$before_ref'"
    bdir=build/bench-before-${sha:0:12} # kept: the next run reuses it
    if [ ! -x "$bdir/build/reprise" ]; then
        rm -rf "$bdir"
        mkdir -p "$bdir/src"
        git archive "$sha" | tar -x -C "$bdir/src"
        if ! { cmake -S "$bdir/src" -B "$bdir/build" -DCMAKE_BUILD_TYPE=Release \
            -DREPRISE_BUILD_TESTS=OFF && cmake --build "$bdir/build" -j2 --target reprise; } \
            >"$bdir/build.log" 2>&1; then
            tail -n 30 "$bdir/build.log" >&2
            die "the build of $before_ref failed (full log: $bdir/build.log)"
        fi
    fi
    before=$bdir/build/reprise
fi

har=$dir/bench.har
entries=$("$gen" "$mib" "$har") || die "the generator failed"
size=$(stat -c %s "$har")

# Runs one measured command: prints "peak_kib seconds", or nothing when it failed.
measure() { # name command...
    local name=$1 code=0
    shift
    timeout "$TIMEOUT" /usr/bin/time -f '%M %e' -o "$dir/time.$name" "$@" \
        >"$dir/out.$name" 2>"$dir/err.$name" || code=$?
    if [ "$code" -ne 0 ]; then
        echo "bench: $name exited $code:" >&2
        tail -n 5 "$dir/err.$name" >&2
        return 0
    fi
    tail -n 1 "$dir/time.$name"
}

row() { # label "peak_kib seconds"
    [ -n "$2" ] || { printf '  %-28s failed\n' "$1"; return; }
    awk -v l="$1" -v k="${2% *}" -v s="${2#* }" \
        'BEGIN { printf "  %-28s peak RSS %8.1f MiB  %7.1f s\n", l, k / 1024, s }'
}

awk -v s="$size" -v n="$entries" \
    'BEGIN { printf "HAR import memory: %.1f MiB of HAR, %d entries\n", s / 1048576, n }'
res_after=$(measure after "$after" -q import "$har" -o "$dir/out.jsonl.gz")
row "reprise import (after)" "$res_after"
rm -f "$dir/out.jsonl.gz"
if [ -n "$before" ]; then
    res_before=$(measure before "$before" -q import "$har" -o "$dir/out.jsonl.gz")
    row "reprise import ($before_ref)" "$res_before"
    rm -f "$dir/out.jsonl.gz"
fi
if [ "$peer" = 1 ] && command -v python3 >/dev/null; then
    res_peer=$(measure peer python3 -c 'import json, sys; json.load(open(sys.argv[1], "rb"))' "$har")
    row "python3 json.load (peer)" "$res_peer"
fi
[ -n "$res_after" ] || die "no figure for the import"
awk -v k="${res_after% *}" -v t="$TARGET_MIB" \
    'BEGIN { printf "  target: after under %d MiB: %s\n", t, k / 1024 < t ? "met" : "NOT met" }'
