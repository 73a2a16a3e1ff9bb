#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job on the bundled demo app: installs what is missing, builds, starts the demo shop
# on a free loopback port, replays the bundled checkout recording against it twice (each run
# in a fresh tenant), then against a copy of the shop started with --drift (a field's type
# changed), where the check must fail naming the field. Stops the shops by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
build=build/demo
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREPRISE_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
reprise=$build/reprise
rec=recordings/demo-checkout.jsonl.gz

source tools/lib/demo-app.sh
drift_pid=""
trap 'demo_stop; [ -n "$drift_pid" ] && kill "$drift_pid" 2>/dev/null; true' EXIT

demo_start "$build/tools/demo-app/reprise-demo"
echo "demo shop at $DEMO_URL (pid $DEMO_PID)"
echo
echo "\$ reprise show $rec"
"$reprise" show "$rec"
echo

# The recording holds {{secret:password}} where the password was; replay fills it from here.
export REPRISE_SECRET_PASSWORD=correct-horse-battery-staple

for i in 1 2; do
    echo "\$ reprise replay $rec --target $DEMO_URL      # run $i"
    "$reprise" replay "$rec" --target "$DEMO_URL"
    echo
done

good_url=$DEMO_URL good_pid=$DEMO_PID
demo_start "$build/tools/demo-app/reprise-demo" --drift
drift_pid=$DEMO_PID
DEMO_PID=$good_pid
echo "\$ reprise replay $rec --target $DEMO_URL      # the shop started with --drift"
code=0
"$reprise" replay "$rec" --target "$DEMO_URL" || code=$?
echo
if [ "$code" -eq 1 ]; then
    echo "demo: the drifted field was caught (exit 1), as it should be"
else
    echo "demo: expected exit 1 against the drifted shop, got $code" >&2
    exit 1
fi
echo "demo: ok (checkout passed twice against $good_url, drift caught)"
