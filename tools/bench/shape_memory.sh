#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Shape file memory benchmark (a report, not a test): writes shape files of two sizes
# (tools/bench/gen_shapes.c, by default 100,000 and 1,000,000 exchanges: 53 and 530 MiB), loads
# each as replay does (rp_shapeset_load), and prints the file's size, the peak RSS of the load,
# and the heap the loaded set keeps, per shape: with this tree's library ("after") and with
# BEFORE_REF's ("before", main by default: git archive, no worktree touched), in one run.
# docs/shape-file.md explains the figures. Exits 0; 2 when no figure could be taken.
#
#   tools/bench/shape_memory.sh
#
# Environment (all optional):
#   BENCH_SHAPES="100000 1000000"   the exchange counts (1..1000000, RP_MAX_SHAPES)
#   BEFORE_REF=main                 the commit the "before" library is built from; "" skips it
set -euo pipefail
cd "$(dirname "$0")/../.."

TIMEOUT=1800
read -r -a counts <<<"${BENCH_SHAPES:-100000 1000000}"
before_ref=${BEFORE_REF-main}

die() { echo "bench: $*" >&2; exit 2; }

for n in "${counts[@]}"; do
    [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 1000000 ] || die "bad count '$n'"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is not installed (package 'time')"

build=build/bench
mkdir -p "$build"
if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DREPRISE_BUILD_TESTS=OFF &&
    cmake --build "$build" -j2 --target reprise-bench-shapes; } >"$build/shape-build.log" 2>&1
then
    tail -n 30 "$build/shape-build.log" >&2
    die "build failed (full log: $build/shape-build.log)"
fi
tool=$build/tools/bench/reprise-bench-shapes

# The "before" library with this tree's tool: its source from git archive, the tool's target
# added to its bench CMakeLists (the tool uses only the public API).
before=""
if [ -n "$before_ref" ]; then
    sha=$(git rev-parse --verify --quiet "$before_ref^{commit}") || die "no commit '$before_ref'"
    bdir=build/bench-before-${sha:0:12} # shared with har_memory.sh, kept for the next run
    if [ ! -d "$bdir/src" ]; then
        mkdir -p "$bdir/src"
        git archive "$sha" | tar -x -C "$bdir/src"
    fi
    if ! grep -q reprise-bench-shapes "$bdir/src/tools/bench/CMakeLists.txt"; then
        cp tools/bench/gen_shapes.c "$bdir/src/tools/bench/gen_shapes.c"
        printf '%s\n' 'add_executable(reprise-bench-shapes gen_shapes.c)' \
            'target_link_libraries(reprise-bench-shapes PRIVATE reprise_lib)' \
            >>"$bdir/src/tools/bench/CMakeLists.txt"
    fi
    if ! { cmake -S "$bdir/src" -B "$bdir/build" -DCMAKE_BUILD_TYPE=Release \
        -DREPRISE_BUILD_TESTS=OFF && cmake --build "$bdir/build" -j2 \
        --target reprise-bench-shapes; } >"$bdir/shape-build.log" 2>&1; then
        tail -n 30 "$bdir/shape-build.log" >&2
        die "the build of $before_ref failed (full log: $bdir/shape-build.log)"
    fi
    before=$bdir/build/tools/bench/reprise-bench-shapes
fi

dir=$(mktemp -d /tmp/reprise-bench-shapes.XXXXXX)
trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM

# Loads f with the tool given: prints its line of figures.
load() { # label tool file n
    local code=0 shapes held peak secs size
    size=$(stat -c %s "$3")
    timeout "$TIMEOUT" /usr/bin/time -f '%M %e' -o "$dir/time" "$2" load "$3" \
        >"$dir/out" 2>"$dir/err" || code=$?
    [ "$code" -eq 0 ] || { tail -n 5 "$dir/err" >&2; die "the load of $4 shapes exited $code"; }
    read -r shapes held <"$dir/out"
    read -r peak secs < <(tail -n 1 "$dir/time")
    awk -v l="$1" -v n="$shapes" -v s="$size" -v p="$peak" -v h="$held" -v t="$secs" 'BEGIN {
        printf "  %-7s %8d shapes, %6.1f MiB file: load peak RSS %7.1f MiB (%.1f s); set kept %7.1f MiB, %5.0f bytes a shape\n",
            l, n, s / 1048576, p / 1024, t, h / 1048576, h / n
    }'
}

echo "shape file memory: rp_shapeset_load, as replay loads NAME.shape.json"
for n in "${counts[@]}"; do
    f=$dir/bench.$n.shape.json
    "$tool" gen "$n" "$f" || die "the generator failed"
    load after "$tool" "$f" "$n"
    [ -z "$before" ] || load "$before_ref" "$before" "$f" "$n"
    rm -f "$f"
done
