# SPDX-License-Identifier: MIT
# Sourced by the integration tests: one line per check, counted; each script ends with
# `echo "$pass passed, $fail failed"` and fails when fail is not 0. A test that cannot run
# exits 77, which ctest reports as skipped (SKIP_RETURN_CODE in tests/CMakeLists.txt).
#
#   ok WHAT, bad WHAT    print "ok - WHAT" or "not ok - WHAT" and count it
#   check WHAT CMD...    ok when CMD succeeds, bad when it fails
#   skip WHY             print "skip - WHY" and exit 77: the whole test did not run
#   need CMD...          skip unless every command CMD is installed
#   wait_for SECS CMD... run CMD every 0.05 s until it succeeds (return 0) or SECS seconds pass
#                        (return 1)

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
skip() { echo "skip - $*"; exit 77; }
need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || skip "$c is not installed (tools/install-deps.sh)"
    done
}
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    while ! "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}
