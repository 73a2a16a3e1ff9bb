#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every test: installs what is missing, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer and warnings as errors, and runs the whole suite through ctest.
# Exits non-zero on any failure.
#
#   tools/test.sh              everything, then each fuzz target for a bounded time
#   tools/test.sh -R recording only the tests whose name matches (ctest -R), no fuzzing
#
# REPRISE_FUZZ_SECONDS (default 10) is the time each fuzz target runs; 0 skips fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh

build=${REPRISE_TEST_BUILD:-build/test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DREPRISE_SANITIZE=ON -DREPRISE_WERROR=ON \
      -DREPRISE_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)"

# halt_on_error makes UBSan fatal in the binaries the integration tests run, too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j2 "$@"

# Every parser's fuzz target, briefly: a regression seed or a shallow crash shows up here.
fuzz_secs=${REPRISE_FUZZ_SECONDS:-10}
if [ $# -eq 0 ] && [ "$fuzz_secs" -gt 0 ]; then
    tools/fuzz.sh "$fuzz_secs"
fi
