#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Source checks that the compiler does not make: banned functions (STYLE rule 18), an SPDX line
# at the top of every source file, public headers that include only public headers, and the
# .clang-format layout.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
files=$(find src include tools tests -name '*.[ch]' -not -path '*/build*' | sort)

banned='\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|strncpy)[[:space:]]*\('
if grep -nE "$banned" $files | grep -vE '(snprintf|vsnprintf)[[:space:]]*\(' ; then
    echo "check-src: banned function used (STYLE rule 18)" >&2
    fail=1
fi

for f in $files; do
    if ! head -n 2 "$f" | grep -q 'SPDX-License-Identifier'; then
        echo "check-src: $f: no SPDX-License-Identifier line at the top" >&2
        fail=1
    fi
done

if grep -nE '#include[[:space:]]+"' include/reprise/*.h; then
    echo "check-src: public headers include only <reprise/...> headers" >&2
    fail=1
fi

if grep -nE '#include[[:space:]]+"[^"]*_int\.h"' src/cli/*.c src/cli/*.h; then
    echo "check-src: the CLI uses only the public API (STYLE rule 3)" >&2
    fail=1
fi

# Formatting is .clang-format's (STYLE rule 22), not review's.
if command -v clang-format >/dev/null; then
    unformatted=$(for f in $files; do
        clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"
    done)
    if [ -n "$unformatted" ]; then
        echo "check-src: not formatted by .clang-format (run clang-format -i):" $unformatted >&2
        fail=1
    fi
fi

[ $fail -eq 0 ] && echo "check-src: ok ($(echo $files | wc -w) files)"
exit $fail
