#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Source checks that the compiler does not make: banned functions (STYLE rule 18), an SPDX line
# at the top of every source file, public headers that include only public headers, and the
# .clang-format layout, and each module's includes against the "uses" column of docs/modules.md.
#
#   tools/check-src.sh [--includes] [DIR]
#
# --includes checks the includes alone; DIR is the tree to check (default: this checkout).
set -euo pipefail
only_includes=0
if [ "${1:-}" = --includes ]; then
    only_includes=1
    shift
fi
cd "${1:-$(dirname "$0")/..}"

fail=0
# Not tests/*/node_modules: npm packages installed there (never committed) may ship C files.
files=$(find src include tools tests -name '*.[ch]' -not -path '*/build*' -not -path '*/node_modules/*' | sort)

if [ $only_includes -eq 0 ]; then
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

fi

# Each module includes only its own headers, the foundation's (the first row of the table), and
# those of the modules in its "uses" column of docs/modules.md (STYLE rule 3). The CLI may include
# every public header and no private one.
modtab=$(awk -F'|' '
    /^\| module \| owns \| uses \|/ { intab = 1; next }
    intab && /^\|---/ { next }
    intab && !/^\|/ { exit }
    intab {
        names = $2; uses = $4
        kind = (NR_row == 0 || names ~ /private/) ? "F" : "M"
        gsub(/\([^)]*\)/, "", names); gsub(/`[^`]*`/, "", names)
        gsub(/\([^)]*\)/, "", uses)
        n = split(names, nm, ","); m = split(uses, us, ",")
        list = ""
        for (j = 1; j <= m; j++) { u = us[j]; gsub(/^[ \t]+|[ \t]+$/, "", u); list = list " " u }
        for (i = 1; i <= n; i++) { x = nm[i]; gsub(/[ \t]/, "", x); if (x != "") print kind, x, list }
        NR_row++
    }' docs/modules.md)
if [ -z "$modtab" ]; then
    echo "check-src: docs/modules.md has no module table" >&2
    fail=1
fi
declare -A uses
foundation=" " known=" "
while read -r kind name rest; do
    [ -n "$name" ] || continue
    uses[$name]=$rest
    known+="$name "
    [ "$kind" = F ] && foundation+="$name "
done <<<"$modtab"

module_of() { # a source or header path -> its module
    case $1 in
        include/reprise/*) basename "$1" .h ;;
        src/*/*) echo "$1" | cut -d/ -f2 ;;
        src/*_int.h) basename "$1" _int.h ;;
        src/*) basename "$1" | sed 's/\.[ch]$//' ;;
    esac
}

for f in $(find src include -name '*.[ch]' -not -name reprise.h | sort); do
    own=$(module_of "$f")
    case "$known" in *" $own "*) ;; *)
        echo "check-src: $f: module \"$own\" is not in docs/modules.md's table" >&2; fail=1; continue ;;
    esac
    allowed=" $own $foundation ${uses[$own]} "
    while IFS= read -r inc; do
        [ -n "$inc" ] || continue
        private=0
        inc=${inc//\"/}
        case $inc in
            '<reprise/'*) dep=${inc#<reprise/}; dep=${dep%.h>} ;;
            internal.h) dep=$own; private=1 ;;
            */internal.h) dep=${inc%/internal.h}; dep=${dep##*/}; private=1 ;;
            *_int.h) dep=${inc%_int.h}; dep=${dep##*/}; private=1 ;;
            *) continue ;;
        esac
        if [ "$own" = cli ]; then
            if [ $private -eq 1 ] && [ "$dep" != cli ]; then
                echo "check-src: $f: includes $inc; the CLI uses only the public API" >&2; fail=1
            fi
            continue
        fi
        if [ "$dep" = reprise ]; then
            echo "check-src: $f: includes <reprise/reprise.h>; only the CLI may include every module" >&2
            fail=1; continue
        fi
        case "$allowed" in *" $dep "*) ;; *)
            echo "check-src: $f: includes $inc, but docs/modules.md does not list $dep among $own's uses" >&2
            fail=1 ;;
        esac
    done < <(grep -oE '^#include[[:space:]]+[<"][^>"]+[>"]' "$f" | sed -E 's/^#include[[:space:]]+//' | grep -E '^<reprise/|internal\.h"$|_int\.h"$')
done

if [ $only_includes -eq 0 ]; then
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

fi

[ $fail -eq 0 ] && echo "check-src: ok ($(echo $files | wc -w) files)"
exit $fail
