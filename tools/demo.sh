#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job on the bundled demo app: installs what is missing, builds, starts the demo shop
# on a free loopback port, runs reprise on the bundled checkout recording, prints the result
# and stops the app. (Until replay lands, the main job is showing the recording.)
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
build=build/demo
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREPRISE_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
reprise=$build/reprise

source tools/lib/demo-app.sh
demo_start "$build/tools/demo-app/reprise-demo"
trap demo_stop EXIT
echo "demo shop listening at $DEMO_URL (pid $DEMO_PID)"
echo

echo "\$ reprise show recordings/demo-checkout.jsonl.gz"
"$reprise" show recordings/demo-checkout.jsonl.gz
