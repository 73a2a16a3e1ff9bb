# SPDX-License-Identifier: MIT
# Sourced by scripts and tests: start reprise-demo on a free loopback port and stop it by PID.
#
#   demo_start PATH/TO/reprise-demo [ARGS...]   sets DEMO_PID and DEMO_URL
#   demo_stop                                   stops it (safe to call twice)
#   demo_state [URL]                            prints GET URL/__state (default $DEMO_URL):
#                                               the objects and audit log of the demo's
#                                               real-application modes, as JSON

demo_start() {
    local bin=$1; shift
    local out
    out=$(mktemp)
    "$bin" --listen 127.0.0.1:0 --quiet "$@" >"$out" &
    DEMO_PID=$!
    DEMO_URL=""
    # Generous: a loaded machine and a sanitizer build start slowly.
    local deadline=$((SECONDS + 60))
    while :; do
        DEMO_URL=$(head -n1 "$out" 2>/dev/null || true)
        [ -n "$DEMO_URL" ] && break
        if ! kill -0 "$DEMO_PID" 2>/dev/null; then
            echo "demo app exited before listening" >&2; rm -f "$out"; return 1
        fi
        [ "$SECONDS" -lt "$deadline" ] || break
        sleep 0.05
    done
    rm -f "$out"
    if [ -z "$DEMO_URL" ]; then
        echo "demo app did not print its URL within 60 s" >&2
        kill "$DEMO_PID" 2>/dev/null || true
        return 1
    fi
    export DEMO_PID DEMO_URL
}

demo_stop() {
    if [ -n "${DEMO_PID:-}" ]; then
        kill "$DEMO_PID" 2>/dev/null || true
        wait "$DEMO_PID" 2>/dev/null || true
        DEMO_PID=""
    fi
}

demo_state() {
    curl -sS --max-time 60 "${1:-$DEMO_URL}/__state"
}
