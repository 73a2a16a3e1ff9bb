#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install what reprise needs to build, test and run its demo, with apt-get, and only what is
# missing: a second run on a ready machine takes well under a second and touches nothing.
#
#   tools/install-deps.sh            build + test dependencies
#   tools/install-deps.sh --bench    also the peers the benchmarks compare against
#
# The real third-party web applications of tests/integration/test_realapp_*.sh come from
# Debian (Django's admin, served by gunicorn) and from npm: tests/realapps/package.json and its
# package-lock.json, installed with `npm ci` into tests/realapps/node_modules (never globally),
# again only when that directory is missing or older than the lock file.
#
# Must run as root (or with sudo available) on Debian or a derivative.
set -euo pipefail

# Build and library dependencies (DESIGN.md), the demo app's HTTP server library, and the
# command-line tools the tests drive reprise and the demo app with.
pkgs=(
    build-essential cmake pkg-config
    libcurl4-openssl-dev libpcap-dev libcjson-dev zlib1g-dev libssl-dev
    libcriterion-dev            # unit tests
    libmicrohttpd-dev           # the demo app's HTTP server
    libhttp-parser-dev          # HTTP/1.x message parsing (proxy, capture)
    curl jq                     # integration tests drive the demo app with them
    libxml2-utils               # xmllint checks the JUnit report
    python3-junitparser         # a JUnit parser reads a cancelled run's report (test_cancel)
    python3                     # test_retry reads the JUnit report as a parser does (ElementTree)
    nginx-light                 # TLS and HTTP/2 in front of the demo shop (replay tests, bench)
    time procps                 # /usr/bin/time -v (peak RSS) and pgrep in the proxy tests
    clang                       # libFuzzer fuzz targets
    clang-format                # tools/check-src.sh checks the layout
    chromium chromium-driver    # the recording proxy's tests drive a real headless browser
    libnss3-tools               # certutil: the browser tests trust the interception CA
    fonts-dejavu-core           # chromium renders the demo pages with some font
    python3-django python3-gunicorn sqlite3 # test_realapp_django: Django's admin, its database
    python3-djangorestframework # test_realapp_drf: Django REST framework's token API
    python3-junitparser         # test_step_junit: a JUnit parser the report is held against
    man-db dpkg-dev file zsh bash-completion # test_install: man -l, cpack's dpkg-shlibdeps and file, completions
    tmux                        # test_terminal reads the progress line from a real terminal
    python3-yaml git shellcheck # test_ci_recipes: the CI recipes' steps, run and checked; gitlab-ci-local needs git
)
# Node.js and npm for the npm applications: any node on PATH will do (a newer one than
# Debian's may be installed already; Debian's npm package would pull its own nodejs).
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

if [ "${1:-}" = "--bench" ]; then
    pkgs+=(wrk mitmproxy)
fi

missing=()
for p in "${pkgs[@]}"; do
    # dpkg-query is the fast path: no network, no lock.
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}" >&2
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 2; }
        sudo=sudo
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The npm applications, exactly as locked. npm ci writes node_modules/.package-lock.json last:
# when it is there and newer than the lock file, the install is complete and current.
realapps=$(cd "$(dirname "$0")/.." && pwd)/tests/realapps
if [ ! "$realapps/node_modules/.package-lock.json" -nt "$realapps/package-lock.json" ]; then
    echo "install-deps: npm ci in tests/realapps" >&2
    # Not fatal: without them the rest still builds and tests, and test_realapp_* skip. A
    # registry timeout is common on shared machines: three tries before giving up.
    for try in 1 2 3; do
        if npm ci --prefix "$realapps" --no-audit --no-fund --ignore-scripts --loglevel=error \
            >/dev/null; then
            break
        fi
        if [ "$try" -eq 3 ]; then
            echo "install-deps: npm ci failed 3 times: the npm applications' tests will be skipped" >&2
        else
            echo "install-deps: npm ci failed (try $try of 3); again" >&2
        fi
    done
fi

# The CI recipes' linters test_ci_recipes holds ci-recipes/ against (action-validator, CircleCI's
# config parser, gitlab-ci-local), as locked; not fatal either: without them that test's lint
# part skips.
cilint=$(cd "$(dirname "$0")/.." && pwd)/tests/ci-lint
if [ ! "$cilint/node_modules/.package-lock.json" -nt "$cilint/package-lock.json" ]; then
    echo "install-deps: npm ci in tests/ci-lint" >&2
    for try in 1 2 3; do
        if npm ci --prefix "$cilint" --no-audit --no-fund --ignore-scripts --loglevel=error \
            >/dev/null; then
            break
        fi
        [ "$try" -lt 3 ] || echo "install-deps: npm ci in tests/ci-lint failed 3 times" >&2
    done
fi

# The second JUnit parser test_step_junit holds the report against (junit2json), as locked;
# not fatal either: without it that test skips.
junitparse=$(cd "$(dirname "$0")/.." && pwd)/tests/junitparse
if [ ! "$junitparse/node_modules/.package-lock.json" -nt "$junitparse/package-lock.json" ]; then
    echo "install-deps: npm ci in tests/junitparse" >&2
    for try in 1 2 3; do
        if npm ci --prefix "$junitparse" --no-audit --no-fund --ignore-scripts --loglevel=error \
            >/dev/null; then
            break
        fi
        [ "$try" -lt 3 ] || echo "install-deps: npm ci in tests/junitparse failed 3 times" >&2
    done
fi

# The Kubernetes schema validator test_k8s_manifest.sh checks deploy/kubernetes/ with
# (kubernetes-models, @kubernetes/client-node's models and a YAML parser), as locked; not
# fatal: without it that test skips.
k8s=$(cd "$(dirname "$0")/.." && pwd)/tests/k8s
if [ ! "$k8s/node_modules/.package-lock.json" -nt "$k8s/package-lock.json" ]; then
    echo "install-deps: npm ci in tests/k8s" >&2
    for try in 1 2 3; do
        if npm ci --prefix "$k8s" --no-audit --no-fund --ignore-scripts --loglevel=error \
            >/dev/null; then
            break
        fi
        [ "$try" -lt 3 ] || echo "install-deps: npm ci in tests/k8s failed 3 times" >&2
    done
fi
