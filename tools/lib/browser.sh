# SPDX-License-Identifier: MIT
# Sourced by tests: drive a headless Chromium through chromedriver with W3C WebDriver JSON over
# curl and jq. chromedriver runs on a free loopback port and is stopped by PID, with the
# browser processes it started.
#
#   wd_start LOG [HOME]     starts chromedriver (log in LOG, browsers get HOME); sets WD_PID, WD_URL
#   wd_stop                 ends the session, stops the browsers and chromedriver (safe twice)
#   wd_session ARG...       starts a browser with these Chromium arguments; sets WD_SID
#   wd_quit                 ends the session: the browser exits
#   wd_get URL              navigates and waits for the page to load
#   wd_type CSS TEXT        types TEXT into the first element matching CSS
#   wd_click CSS            clicks the first element matching CSS
#   wd_js SCRIPT            runs SCRIPT (a function body) and prints its value as JSON
#   wd_wait EXPR [SECS]     polls the JavaScript expression EXPR until it is true, at most SECS
#                           (default 60) seconds
#   wd_cookie NAME          prints the value of the current page's cookie NAME (HttpOnly too)
#
# Each function returns non-zero on a WebDriver error or a timeout, with one line on stderr
# saying which command failed and why. WD_CHROMIUM overrides the browser binary.

WD_CHROMIUM=${WD_CHROMIUM:-/usr/bin/chromium}
WD_ELEMENT=element-6066-11e4-a52e-4f735466cecf
WD_PID=""
WD_URL=""
WD_SID=""

wd_start() {
    local log=$1 home=${2:-}
    local port="" deadline=$((SECONDS + 60))
    if [ -n "$home" ]; then
        mkdir -p "$home"
        # The browsers inherit this environment: nothing they write lands in the real home.
        HOME=$home XDG_CONFIG_HOME=$home/.config XDG_CACHE_HOME=$home/.cache \
            chromedriver --port=0 --allowed-ips=127.0.0.1 --log-level=INFO \
            >"$log" 2>&1 </dev/null &
    else
        chromedriver --port=0 --allowed-ips=127.0.0.1 --log-level=INFO >"$log" 2>&1 </dev/null &
    fi
    WD_PID=$!
    while [ "$SECONDS" -lt "$deadline" ]; do
        port=$(sed -n 's/^ChromeDriver was started successfully on port \([0-9]*\)\..*/\1/p' \
            "$log" 2>/dev/null || true)
        [ -n "$port" ] && break
        kill -0 "$WD_PID" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$port" ]; then
        echo "chromedriver did not start within 60 s:" >&2
        tail -n 5 "$log" >&2 || true
        wd_stop
        return 1
    fi
    WD_URL=http://127.0.0.1:$port
}

# Prints the PIDs of every descendant of $1, deepest last.
wd_descendants() {
    local c
    for c in $(pgrep -P "$1" 2>/dev/null || true); do
        echo "$c"
        wd_descendants "$c"
    done
}

# Prints when process $1 started (clock ticks since boot), or nothing when it is gone.
wd_started() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    # The fields after the command name, which is in parentheses and may hold spaces.
    stat=${stat##*) }
    # shellcheck disable=SC2086 # split into fields on purpose
    set -- $stat
    echo "${20}"
}

wd_stop() {
    [ -n "$WD_PID" ] || return 0
    wd_quit 2>/dev/null || true
    # A browser left running (a test that failed mid-way, a hung session) is chromedriver's
    # child: stop it and its helpers by PID before chromedriver itself.
    local p pids now started=()
    pids=$(wd_descendants "$WD_PID")
    for p in $pids; do
        started+=("$p:$(wd_started "$p")")
        kill "$p" 2>/dev/null || true
    done
    kill "$WD_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$WD_PID" 2>/dev/null || break
        sleep 0.1
    done
    # Only a process that is still the one listed (same start time, so its PID was not
    # reused meanwhile) gets SIGKILL.
    for p in "${started[@]}"; do
        now=$(wd_started "${p%%:*}")
        if [ -n "$now" ] && [ "$now" = "${p#*:}" ]; then
            kill -9 "${p%%:*}" 2>/dev/null || true
        fi
    done
    kill -9 "$WD_PID" 2>/dev/null || true
    wait "$WD_PID" 2>/dev/null || true
    WD_PID=""
    WD_URL=""
}

# wd_call METHOD PATH [JSON]: prints the response's "value"; an error value is a failure.
wd_call() {
    local method=$1 path=$2 body=${3:-}
    local out
    if [ -n "$body" ]; then
        out=$(curl -sS --max-time 120 -X "$method" -H 'Content-Type: application/json' \
            --data-binary "$body" "$WD_URL$path" 2>&1) || {
            echo "webdriver: $method $path: $out" >&2
            return 1
        }
    else
        out=$(curl -sS --max-time 120 -X "$method" "$WD_URL$path" 2>&1) || {
            echo "webdriver: $method $path: $out" >&2
            return 1
        }
    fi
    # One jq per call (wd_wait polls through here, on machines that may be loaded): V and the
    # value as one line of JSON, E and the error, or N for an answer that is not WebDriver's.
    local res
    res=$(jq -r 'if type == "object" and has("value") then
            if (.value | type == "object" and has("error")) then
                "E" + .value.error + ": " + (.value.message // "" | split("\n")[0])
            else "V" + (.value | tojson) end
        else "N" end' <<<"$out" 2>/dev/null) || res=N
    case $res in
        V*) printf '%s\n' "${res#V}" ;;
        E*) echo "webdriver: $method $path: ${res#E}" >&2; return 1 ;;
        *) echo "webdriver: $method $path: not a WebDriver answer: ${out:0:200}" >&2; return 1 ;;
    esac
}

wd_session() {
    local args caps value
    # jq 1.6 reads "--headless" after --args as its own option: pass the list on stdin.
    args=$(printf '%s\n' "$@" | jq -R . | jq -cs .)
    caps=$(jq -n --arg bin "$WD_CHROMIUM" --argjson args "$args" '{capabilities: {alwaysMatch: {
        browserName: "chrome", pageLoadStrategy: "normal",
        timeouts: {pageLoad: 60000, script: 60000, implicit: 0},
        "goog:chromeOptions": {binary: $bin, args: $args}}}}')
    value=$(wd_call POST /session "$caps") || return 1
    WD_SID=$(jq -r .sessionId <<<"$value")
}

wd_quit() {
    [ -n "$WD_SID" ] || return 0
    local sid=$WD_SID
    WD_SID=""
    wd_call DELETE "/session/$sid" >/dev/null
}

wd_get() {
    wd_call POST "/session/$WD_SID/url" "$(jq -n --arg u "$1" '{url: $u}')" >/dev/null
}

# Prints the WebDriver reference of the first element matching the CSS selector $1.
wd_find() {
    local value
    value=$(wd_call POST "/session/$WD_SID/element" \
        "$(jq -n --arg s "$1" '{using: "css selector", value: $s}')") || return 1
    jq -r --arg k "$WD_ELEMENT" '.[$k]' <<<"$value"
}

wd_type() {
    local e
    e=$(wd_find "$1") || return 1
    wd_call POST "/session/$WD_SID/element/$e/value" "$(jq -n --arg t "$2" '{text: $t}')" >/dev/null
}

wd_click() {
    local e
    e=$(wd_find "$1") || return 1
    wd_call POST "/session/$WD_SID/element/$e/click" '{}' >/dev/null
}

wd_js() {
    wd_call POST "/session/$WD_SID/execute/sync" "$(jq -n --arg s "$1" '{script: $s, args: []}')"
}

wd_wait() {
    local expr=$1 secs=${2:-60}
    local deadline=$((SECONDS + secs)) v
    while :; do
        # A script run while the page navigates fails; that is "not yet", not an error. The
        # parentheses keep a line break in expr from ending the return statement early.
        v=$(wd_js "return ($expr) === true;" 2>/dev/null || true)
        [ "$v" = true ] && return 0
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "webdriver: timed out after ${secs} s waiting for: $expr" >&2
            return 1
        fi
        sleep 0.2
    done
}

wd_cookie() {
    local value
    value=$(wd_call GET "/session/$WD_SID/cookie/$1") || return 1
    jq -r .value <<<"$value"
}
