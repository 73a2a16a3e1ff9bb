#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The installed tool, as a user gets it: a release build (no sanitizers, no tests) installed
# with `cmake --install` into a staging prefix, then
#   - the installed reprise runs and prints the version CMakeLists.txt declares;
#   - every command has its man page, and `man -l` renders each with no warning;
#   - `pkg-config --cflags --libs reprise` builds a small program against the installed library,
#     which reads a recording;
#   - the bash completion offers commands and a command's options; zsh loads its completion;
#   - `cpack` builds a .deb that holds the same files under /usr and declares its dependencies.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

source "$src/tools/lib/check.sh"
need cmake pkg-config man cc cpack dpkg-deb

build=$tmp/build stage=$tmp/stage
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DREPRISE_BUILD_TESTS=OFF \
      -DREPRISE_BUILD_DEMO=OFF -DCMAKE_INSTALL_PREFIX=/usr/local >"$tmp/configure.log"
if ! cmake --build "$build" -j2 >"$tmp/build.log" 2>&1; then
    tail -n 30 "$tmp/build.log"
    bad "release build"
    exit 1
fi
check "cmake --install into a staging prefix" \
    cmake --install "$build" --prefix "$stage" >"$tmp/install.log"

# The binary and its version.
want_version=$(sed -n 's/^project(reprise VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
check "the installed reprise prints version $want_version" \
    test "$("$stage/bin/reprise" --version)" = "reprise $want_version"

# Man pages: reprise(1) and one per command `reprise --help` lists.
commands=$("$stage/bin/reprise" --help | awk '/^Commands:/ { f = 1; next } /^$/ { f = 0 } f { print $1 }')
check "reprise --help lists commands" test "$(wc -w <<<"$commands")" -ge 10
pages=$stage/share/man/man1
for page in reprise $(sed 's/^/reprise-/' <<<"$commands"); do
    if [ ! -f "$pages/$page.1" ]; then
        bad "man page $page.1 is installed"
        continue
    fi
    out=$(MANWIDTH=100 MANPAGER=cat man --warnings -l "$pages/$page.1" 2>"$tmp/man.err") || true
    if [ -s "$tmp/man.err" ]; then
        bad "man -l $page.1 renders with no warning: $(head -n 3 "$tmp/man.err")"
    elif ! grep -q "^NAME" <<<"$out" || ! grep -q "^SYNOPSIS" <<<"$out"; then
        bad "man -l $page.1 has NAME and SYNOPSIS"
    else
        ok "man -l $page.1"
    fi
done
replay_page=$(MANWIDTH=100 MANPAGER=cat man -l "$pages/reprise-replay.1")
check "reprise-replay(1) names the command and its summary" \
    grep -q "reprise-replay - replay recordings against a target" <<<"$replay_page"
# Every long option of `reprise replay --help` is on its page, as an ASCII option name.
missing=""
for o in $("$stage/bin/reprise" replay --help | grep -oE '^ +(-[A-Za-z], )?--[a-z][a-z-]*' | grep -oE -- '--[a-z][a-z-]*'); do
    grep -qe "$o" <<<"$replay_page" || missing+=" $o"
done
check "reprise-replay(1) holds every option of replay --help${missing:+ (missing:$missing)}" test -z "$missing"

# The library, through pkg-config only.
pc_dir=$(dirname "$(find "$stage" -name reprise.pc | head -n1)")
check "reprise.pc is installed" test -f "$pc_dir/reprise.pc"
flags=$(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags --libs reprise)
# The .pc file finds its prefix from where it lies: its include directory is the staged one.
inc=$(PKG_CONFIG_PATH=$pc_dir pkg-config --variable=includedir reprise)
check "pkg-config's includedir is the staging prefix's ($inc)" \
    test "$(realpath "$inc")" = "$(realpath "$stage/include")"
# shellcheck disable=SC2086 # the flags are words
if cc -o "$tmp/count" "$src/tests/data/install/count.c" $flags 2>"$tmp/cc.err"; then
    ok "a program builds against the installed library with pkg-config's flags"
    gzip -c "$src/tests/data/recording/basic.jsonl" >"$tmp/basic.jsonl.gz"
    check "it reads a recording (basic.jsonl has 6 exchanges)" \
        test "$("$tmp/count" "$tmp/basic.jsonl.gz")" = "libreprise $want_version: 6 exchanges"
else
    bad "a program builds against the installed library: $(head -n 5 "$tmp/cc.err")"
fi

# Completions. bash: what _reprise offers for a partial command and a partial option.
bash_comp=$stage/share/bash-completion/completions/reprise
check "the bash completion is installed" test -f "$bash_comp"
complete_bash() { # words... (the last one is being completed)
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _reprise
             printf "%s\n" "${COMPREPLY[@]}"' _ "$bash_comp" "$stage/bin/reprise" "$@"
}
check "bash completes 'reprise rep' to replay" test "$(complete_bash rep)" = "replay"
check "bash completes 'reprise replay --tar' to --target" test "$(complete_bash replay --tar)" = "--target"
check "bash completes 'reprise -q sh' to shape and show" \
    test "$(complete_bash -q sh | sort | tr '\n' ' ')" = "shape show "
check "bash completes 'reprise help ca' to ca and capture" \
    test "$(complete_bash help ca | sort | tr '\n' ' ')" = "ca capture "
zsh_comp=$(find "$stage/share/zsh" -name _reprise | head -n1)
check "the zsh completion is installed" test -n "$zsh_comp"
if command -v zsh >/dev/null; then
    check "zsh parses _reprise" zsh -n "$zsh_comp"
    check "zsh autoloads _reprise with compinit" zsh -fc "fpath=($(dirname "$zsh_comp") \$fpath)
        autoload -Uz compinit && compinit -u -d $tmp/zcompdump && [[ \${_comps[reprise]} == _reprise ]]"
fi

# The .deb: the same files under /usr, and the libraries it needs declared.
if (cd "$build" && cpack -G DEB >"$tmp/cpack.log" 2>&1); then
    deb=$(ls "$build"/reprise_*.deb 2>/dev/null | head -n1)
    check "cpack builds a .deb" test -f "$deb"
    contents=$(dpkg-deb -c "$deb")
    for f in ./usr/bin/reprise ./usr/share/man/man1/reprise-replay.1 ./usr/include/reprise/reprise.h \
             ./usr/share/bash-completion/completions/reprise; do
        check "the .deb holds $f" grep -qF " $f" <<<"$contents"
    done
    depends=$(dpkg-deb -f "$deb" Depends)
    check "the .deb depends on libcurl and libpcap ($depends)" \
        bash -c "grep -q libcurl <<<'$depends' && grep -q libpcap <<<'$depends'"
    dpkg-deb -x "$deb" "$tmp/deb"
    check "the .deb's reprise runs" test "$("$tmp/deb/usr/bin/reprise" --version)" = "reprise $want_version"
else
    tail -n 20 "$tmp/cpack.log"
    bad "cpack -G DEB"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
