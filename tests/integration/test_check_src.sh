#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tools/check-src.sh holds each module to the includes docs/modules.md lets it use (--includes:
# the other checks have their own ctest entry, check.src): run on a copy
# of the tree, it passes as the tree is, and fails, naming the file, once a module includes a
# header outside its "uses" column or the CLI includes a private header.
set -uo pipefail
src=${REPRISE_SOURCE_DIR:?}
. "$src/tools/lib/check.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

copy() { # a fresh copy of what check-src.sh reads, in $tmp/$1
    mkdir -p "$tmp/$1/tools"
    cp -r "$src/src" "$src/include" "$src/docs" "$src/tests" "$src/.clang-format" "$tmp/$1/"
    cp "$src/tools/check-src.sh" "$tmp/$1/tools/"
}

copy clean
check "the tree as it is passes" bash "$tmp/clean/tools/check-src.sh" --includes "$tmp/clean"

# exchange is a bottom-layer module: it may not reach up to replay.
copy up
echo '#include <reprise/replay.h>' >>"$tmp/up/src/exchange.c"
out=$(bash "$tmp/up/tools/check-src.sh" --includes "$tmp/up" 2>&1)
check "an include outside the uses column fails" test $? -ne 0
check "the failure names the file and the module" \
    grep -q 'src/exchange.c: includes <reprise/replay.h>, but docs/modules.md does not list replay among exchange' <<<"$out"

# The CLI sees only the public API.
copy cli
echo '#include "../proxy/internal.h"' >>"$tmp/cli/src/cli/cmd_show.c"
out=$(bash "$tmp/cli/tools/check-src.sh" --includes "$tmp/cli" 2>&1)
check "a private header in the CLI fails" test $? -ne 0
check "the failure names the CLI file" grep -q 'src/cli/cmd_show.c: includes .*internal.h' <<<"$out"

# Listing the dependency in docs/modules.md makes it allowed: the table is the rule.
copy doc
echo '#include <reprise/filter.h>' >>"$tmp/doc/src/rewrite.c"
check "an unlisted use fails" bash -c "! bash '$tmp/doc/tools/check-src.sh' --includes '$tmp/doc' >/dev/null 2>&1"
sed -i 's/^\(| rewrite | [^|]*| \)\(.*\) |$/\1filter, \2 |/' "$tmp/doc/docs/modules.md"
check "the same use passes once docs/modules.md lists it" bash "$tmp/doc/tools/check-src.sh" --includes "$tmp/doc"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
