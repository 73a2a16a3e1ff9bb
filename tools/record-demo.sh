#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Re-records recordings/demo-checkout.jsonl.gz: starts the demo app on a free loopback port,
# clicks through the checkout with reprise-demo-record (libcurl, the library's writer), and
# stops the app.
#
#   tools/record-demo.sh [BUILD_DIR]     default build/demo
#
# REPRISE_DEMO, REPRISE_DEMO_RECORD and REPRISE name prebuilt binaries to use instead.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/demo}
if [ -z "${REPRISE_DEMO_RECORD:-}" ] && [ ! -x "$build/tools/demo-record/reprise-demo-record" ]; then
    tools/install-deps.sh
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREPRISE_BUILD_TESTS=OFF >/dev/null
    cmake --build "$build" -j"$(nproc)" >/dev/null
fi

source tools/lib/demo-app.sh
demo_start "${REPRISE_DEMO:-$build/tools/demo-app/reprise-demo}"

recorder=${REPRISE_DEMO_RECORD:-$build/tools/demo-record/reprise-demo-record}
# Three other tenants check out first, unrecorded, so acme's order is not the shop's first:
# its id (4) then differs from the one a fresh replay tenant gets, as in a real shop, and
# replay must carry the live id over (see 'reprise show --correlations').
tmp=$(mktemp -d)
trap 'demo_stop; rm -rf "$tmp"' EXIT
for t in other1 other2 other3; do
    "$recorder" "$DEMO_URL" "$t" "$tmp/$t.jsonl.gz"
done
mkdir -p recordings
"$recorder" "$DEMO_URL" acme recordings/demo-checkout.jsonl.gz
"${REPRISE:-$build/reprise}" show recordings/demo-checkout.jsonl.gz
