# SPDX-License-Identifier: MIT
# Sourced by tests: run `reprise record` in the background on a free loopback port, and stop it.
# The caller sets REPRISE and has an array pids of PIDs its EXIT trap stops.
#
#   px_start OUT ARGS...  runs "$REPRISE" record --listen 127.0.0.1:0 ARGS, stdout in
#                         OUT.stdout and stderr in OUT.stderr; sets PX_PID and PX_URL (the
#                         address it prints). On failure returns 1, why in PX_WHY.
#   px_stop [SIG]         sends SIG (default INT), waits at most 60 s (then SIGKILL); the exit
#                         status goes in $code.

px_start() {
    local out=$1 rc=0 deadline=$((SECONDS + 60))
    shift
    "$REPRISE" record --listen 127.0.0.1:0 "$@" >"$out.stdout" 2>"$out.stderr" </dev/null &
    PX_PID=$!
    pids+=("$PX_PID")
    PX_URL=""
    PX_WHY=""
    while [ "$SECONDS" -lt "$deadline" ]; do
        PX_URL=$(sed -n 's/^listening on //p' "$out.stdout" 2>/dev/null || true)
        [ -n "$PX_URL" ] && return 0
        kill -0 "$PX_PID" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$PX_PID" 2>/dev/null; then
        kill -KILL "$PX_PID" 2>/dev/null || true
        wait "$PX_PID" 2>/dev/null || true
        PX_WHY="no address printed within 60 s"
    else
        wait "$PX_PID" 2>/dev/null || rc=$?
        PX_WHY="exit $rc: $(head -n1 "$out.stderr")"
    fi
    echo "the proxy did not start: $PX_WHY" >&2
    return 1
}

px_stop() {
    local sig=${1:-INT} deadline=$((SECONDS + 60))
    kill "-$sig" "$PX_PID" 2>/dev/null || true
    while kill -0 "$PX_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
    kill -KILL "$PX_PID" 2>/dev/null || true
    code=0
    wait "$PX_PID" 2>/dev/null || code=$?
}
