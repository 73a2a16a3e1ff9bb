# SPDX-License-Identifier: MIT
# Sourced by the integration tests: one line per check, counted; each script ends with
# `echo "$pass passed, $fail failed"` and fails when fail is not 0.
#
#   ok WHAT, bad WHAT    print "ok - WHAT" or "not ok - WHAT" and count it
#   check WHAT CMD...    ok when CMD succeeds, bad when it fails

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
