#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Recording-proxy benchmark (a report, not a test): wrk against a local nginx that answers every
# path with a 1 KB JSON document, straight, through `reprise record` (reverse proxy, every
# exchange recorded) and through mitmdump in reverse mode saving its flows (-w) and, for
# reference, not saving them, at 1 and 16 connections, tools alternating run by run. Prints the
# medians of requests/s, p50 and p99 latency, the latency each proxy adds, its CPU per request and
# peak RSS, and the ratios to the targets; exits 0 whether or not they are met.
#
#   tools/bench/proxy.sh
#
# Environment (all optional):
#   BENCH_ROUNDS=3       runs of each tool per connection count (medians are reported)
#   BENCH_SECONDS=5      length of each wrk run
#   BENCH_PIN=auto       CPU placement: auto (wrk on CPU 0, nginx and the proxy on CPU 1) or none
#   BENCH_MITM_NOSAVE=1  0: skip the mitmdump runs without -w (about a quarter less time)
#   BENCH_KEEP=0         1: keep the temporary directory (nginx config, recordings, logs)
#   BENCH_BUILD_DIR=build/bench   where the Release build goes
#
# Exit status: 0 when every run counted (targets met or not); 2 when nothing could be measured
# (a failed build, nginx not starting) or when a run was refused, after the table: a proxy that
# did not start, did not pass nginx's body through, answered anything but 2xx, had socket errors,
# did not stop cleanly, or whose recording lacks exchanges it served is not counted.
#
# See tools/bench/README.md for what each figure means.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."

# ----- settings ----------------------------------------------------------------------------

CONNS=(1 16)
TARGET_RATIO=5          # reprise req/s over mitmdump -w req/s, at every connection count
TARGET_ADDED_P50_MS=0.5 # p50 through reprise minus p50 straight to nginx, at 1 connection
ITEMS=10                # line items in the served JSON order: 1,026 bytes
MAX_ROUNDS=50           # caps that keep every loop bounded
MAX_SECONDS=300
START_TRIES=300         # tenths of a second a proxy may take to answer its first request
STOP_TRIES=150          # tenths of a second a proxy may take to exit after SIGINT
PORT_TRIES=20

rounds=${BENCH_ROUNDS:-3}
seconds=${BENCH_SECONDS:-5}
keep=${BENCH_KEEP:-0}
mitm_nosave=${BENCH_MITM_NOSAVE:-1}
build=${BENCH_BUILD_DIR:-build/bench}

die() { echo "bench: $*" >&2; exit 2; }

is_count() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le "$2" ]; }
is_count "$rounds" "$MAX_ROUNDS" || die "BENCH_ROUNDS must be 1..$MAX_ROUNDS, not '$rounds'"
is_count "$seconds" "$MAX_SECONDS" || die "BENCH_SECONDS must be 1..$MAX_SECONDS, not '$seconds'"
rounds=$((10#$rounds))   # "08" is eight, not a bad octal number, in the arithmetic below
seconds=$((10#$seconds))
case $mitm_nosave in
    0 | 1) ;;
    *) die "BENCH_MITM_NOSAVE must be 0 or 1, not '$mitm_nosave'" ;;
esac

# ----- dependencies and build --------------------------------------------------------------

tools/install-deps.sh --bench
mkdir -p "$build"
build_log=$build/bench-proxy-build.log
if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DREPRISE_BUILD_TESTS=OFF &&
    cmake --build "$build" -j"$(nproc)" --target reprise; } >"$build_log" 2>&1
then
    tail -n 30 "$build_log" >&2
    die "build failed (full log: $build_log)"
fi
reprise=$build/reprise
[ -x "$reprise" ] || die "build did not produce $reprise"
for t in nginx wrk mitmdump curl jq timeout zcat; do
    command -v "$t" >/dev/null || die "$t is not installed"
done
# The flow file is read back with the mitmproxy package mitmdump itself runs on: the Python of
# its #! line, which need not be the python3 first on PATH.
mitm_python=$(head -n 1 "$(command -v mitmdump)" | sed -n 's|^#! *||p')
case $mitm_python in
    */env\ *) mitm_python=$(command -v "${mitm_python#*/env }" || true) ;;
    *) mitm_python=${mitm_python%% *} ;;
esac
[ -x "$mitm_python" ] || die "cannot tell which Python runs mitmdump"
"$mitm_python" -c 'import mitmproxy.io' 2>/dev/null || die "$mitm_python has no mitmproxy.io"
mitm_version=$(mitmdump --version 2>/dev/null | sed -n 's/^Mitmproxy: *//p')
clk_tck=$(getconf CLK_TCK)

# Three programs share two cores: wrk, nginx and the proxy. The placement that keeps the
# comparison about the proxy (BENCH_PIN=auto): wrk alone on CPU 0, so the load generator is the
# same in every run and never the bottleneck's neighbour; nginx (one worker) and the proxy
# together on CPU 1, so what the proxy costs comes out of the server's core, and the proxy's
# hop to nginx is a same-core wake-up. Straight runs have nginx alone on CPU 1. reprise and
# mitmdump get exactly the same placement, all their threads included. none: the scheduler's.
pin_mode=${BENCH_PIN:-auto}
case $pin_mode in
    auto | none) ;;
    *) die "BENCH_PIN must be auto or none, not '$pin_mode'" ;;
esac
if [ "$pin_mode" != none ] && { [ "$(nproc)" -lt 2 ] || ! command -v taskset >/dev/null; }; then
    echo "bench: fewer than 2 CPUs or no taskset: not pinning" >&2
    pin_mode=none
fi
client_pin=()
server_pin=()
pin_note="not pinned"
if [ "$pin_mode" = auto ]; then
    client_pin=(taskset -c 0)
    server_pin=(taskset -c 1)
    pin_note="wrk on CPU 0, nginx and the proxy on CPU 1"
fi

# ----- nginx on a loopback port ------------------------------------------------------------

dir=$(mktemp -d /tmp/reprise-bench-proxy.XXXXXX)
nginx_pid=""
px_pid=""
px_url=""
px_out=""

# Stops the proxy px_pid, if any: SIGINT, then SIGKILL after STOP_TRIES tenths of a second.
# Sets stop_code to its exit status (137 when it had to be killed).
stop_proxy() {
    stop_code=0
    [ -n "$px_pid" ] || return 0
    kill -INT "$px_pid" 2>/dev/null || true
    for _ in $(seq 1 "$STOP_TRIES"); do
        kill -0 "$px_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$px_pid" 2>/dev/null; then
        kill -KILL "$px_pid" 2>/dev/null || true
    fi
    wait "$px_pid" 2>/dev/null || stop_code=$?
    px_pid=""
}

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    stop_proxy
    if [ -n "$nginx_pid" ]; then
        kill "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
        nginx_pid=""
    fi
    if [ "$keep" = "1" ]; then
        echo "bench: kept $dir" >&2
    else
        rm -rf "$dir"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# nginx's workers drop to an unprivileged user when started as root: they must be able to read
# the document root.
chmod 0755 "$dir"
mkdir -p "$dir/www" "$dir/tmp" "$dir/mitm"

# An order with ITEMS line items, as an API would answer it: 1,026 bytes of JSON.
{
    printf '{"id":"order-7f3a9c","status":"paid","currency":"EUR","total":245.5,'
    printf '"customer":{"id":42,"email":"buyer@example.test"},"items":['
    for i in $(seq 0 $((ITEMS - 1))); do
        [ "$i" -gt 0 ] && printf ','
        stock=false
        [ $((i % 2)) -eq 0 ] && stock=true
        printf '{"sku":"SKU-%04d","name":"Bench item %d","quantity":%d,"unit_price":%d.5,' \
            "$i" "$i" $((i % 3 + 1)) $((12 + i))
        printf '"in_stock":%s}' "$stock"
    done
    printf '],"note":null}\n'
} >"$dir/www/order.json"
chmod 0644 "$dir/www/order.json"
jq -e . "$dir/www/order.json" >/dev/null || die "the generated order is not JSON"
body_bytes=$(wc -c <"$dir/www/order.json")

bench_nginx_start "$dir" order.json "/api/orders/1"
upstream="http://127.0.0.1:$port"
nginx_version=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([0-9.]*\).*|\1|p')
curl -fs "$upstream/api/orders/1" -o "$dir/live.json"
cmp -s "$dir/live.json" "$dir/www/order.json" || die "nginx serves a different body"

# ----- the proxies -------------------------------------------------------------------------

# Waits until url answers with the order, byte for byte (that request is the one the proxy
# records before the timed run). Returns 1 when the proxy died, never answered, or answered
# something else.
await_proxy() {
    local url=$1 code=""
    for _ in $(seq 1 "$START_TRIES"); do
        code=$(curl -s --max-time 5 -o "$dir/via.json" -w '%{http_code}' "$url/api/orders/0" ||
            true)
        case $code in
            200)
                cmp -s "$dir/via.json" "$dir/www/order.json" && return 0
                echo "bench: $url passes a different body through" >&2
                return 1
                ;;
            [1-9][0-9][0-9])
                echo "bench: $url answers $code, not nginx's 200" >&2
                return 1
                ;;
        esac
        kill -0 "$px_pid" 2>/dev/null || return 1
        sleep 0.1
    done
    echo "bench: $url did not answer" >&2
    return 1
}

# Starts the proxy for tool (reprise, mitm-w or mitm) in front of nginx; sets px_pid, px_url
# and px_out (the recording or flow file, empty for mitm). Returns 1 on failure, logs kept.
start_proxy() {
    local tool=$1 try
    px_url=""
    px_out=""
    case $tool in
        reprise)
            px_out=$dir/rec.jsonl.gz
            # The address is read from the new stdout: the last run's must not be there first.
            rm -f "$px_out" "$dir/px.stdout"
            # -q: no live line per exchange, as mitmdump -q prints no line per flow. The lines
            # cost reprise about 2 us each (a write to stderr); see the README.
            "${server_pin[@]}" "$reprise" -q record --upstream "$upstream" \
                --listen 127.0.0.1:0 -o "$px_out" >"$dir/px.stdout" 2>"$dir/px.stderr" &
            px_pid=$!
            for _ in $(seq 1 "$START_TRIES"); do
                px_url=$(sed -n 's/^listening on //p' "$dir/px.stdout" 2>/dev/null || true)
                [ -n "$px_url" ] && break
                kill -0 "$px_pid" 2>/dev/null || break
                sleep 0.1
            done
            [ -n "$px_url" ] && await_proxy "$px_url" && return 0
            ;;
        mitm-w | mitm)
            local save=()
            if [ "$tool" = mitm-w ]; then
                px_out=$dir/flows.mitm
                rm -f "$px_out"
                save=(-w "$px_out")
            fi
            # mitmdump takes a port, not 0: try random ones until one is free. Its CA and
            # settings go in the temporary directory, not ~/.mitmproxy.
            for _ in $(seq 1 "$PORT_TRIES"); do
                try=$((20000 + RANDOM % 40000))
                "${server_pin[@]}" mitmdump -q --set "confdir=$dir/mitm" \
                    --mode "reverse:$upstream" --listen-host 127.0.0.1 --listen-port "$try" \
                    "${save[@]}" >"$dir/px.stdout" 2>"$dir/px.stderr" &
                px_pid=$!
                px_url=http://127.0.0.1:$try
                await_proxy "$px_url" && return 0
                stop_proxy
            done
            ;;
    esac
    echo "bench: $tool did not start in front of nginx:" >&2
    tail -n 5 "$dir/px.stderr" >&2 2>/dev/null || true
    stop_proxy
    return 1
}

# Prints the user + system CPU time of process pid, in clock ticks, all its threads together.
cpu_ticks() {
    # The fields after the command name, which may hold spaces: utime and stime are 12 and 13.
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# Prints the peak RSS of process pid in kB (VmHWM), all its threads together.
peak_kb() {
    awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

# Prints how many answered exchanges (reprise) or flows (mitm-w) the file px_out holds; nothing
# when it does not read, or holds an answer other than 200.
count_saved() {
    case $1 in
        reprise)
            # Whole gzip members to the end (the proxy closed the file), and after the header
            # line one exchange a line, the first the check request's order as nginx sent it.
            gzip -t "$px_out" 2>/dev/null || return 0
            zcat "$px_out" | sed -n 2p |
                jq -e --rawfile b "$dir/www/order.json" --arg u "$upstream/api/orders/0" \
                    '.request.url == $u and .response.status == 200 and .response.body == $b' \
                    >/dev/null 2>&1 || return 0
            # One pass over the rest: every exchange with a response must have a 200.
            zcat "$px_out" | awk 'NR > 1 && /"response":\{"status":/ {
                    all++
                    if (/"response":\{"status":200,/) { ok++ }
                }
                END { if (all == ok) { print ok + 0 } }'
            ;;
        mitm-w)
            "$mitm_python" - "$px_out" <<'EOF' 2>/dev/null || true
import sys
from mitmproxy import io
n = 0
with open(sys.argv[1], "rb") as f:
    for flow in io.FlowReader(f).stream():
        # wrk closes its connections with a request in flight: those flows are saved with
        # "Client disconnected." and no response, and are not counted.
        if flow.response is None:
            continue
        if flow.response.status_code != 200:
            sys.exit(1)
        n += 1
print(n)
EOF
            ;;
    esac
}

# ----- timed runs --------------------------------------------------------------------------

# wrk prints latencies as 62.00us, 1.23ms or 2.00s: this is the figure in ms.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) { n /= 1000 } else if (v ~ /ms$/) { } else if (v ~ /s$/) { n *= 1000 }
        else { exit 1 }
        printf "%.3f\n", n
    }'
}

failures=0

# One run of wrk at c connections against tool (direct, reprise, mitm-w, mitm). Sets fig to
# "REQ/S P50-MS P99-MS CPU-US-PER-REQ PEAK-KB" ("-" where the figure does not apply), or to ""
# when the run failed: the reason goes to stderr and counts in failures. Not to be called in a
# subshell: the EXIT trap must see px_pid.
run_one() {
    local tool=$1 c=$2 url out n t0=0 t1 peak=- cpu=- saved rps p50 p99 bad=""
    fig=""
    px_out=""
    if [ "$tool" = direct ]; then
        url=$upstream
    else
        if ! start_proxy "$tool"; then
            failures=$((failures + 1))
            return 0
        fi
        url=$px_url
        t0=$(cpu_ticks "$px_pid")
    fi
    out=$(timeout $((seconds + 60)) "${client_pin[@]}" wrk -t1 -c"$c" -d"${seconds}s" \
        --latency "$url/api/orders/1" 2>&1) || bad="wrk failed: $(tail -n 1 <<<"$out")"
    if [ "$tool" != direct ]; then
        if kill -0 "$px_pid" 2>/dev/null; then
            t1=$(cpu_ticks "$px_pid")
            peak=$(peak_kb "$px_pid")
        else
            bad="the proxy died during the run"
        fi
        stop_proxy
        [ "$stop_code" -eq 0 ] || [ -n "$bad" ] || bad="the proxy exited $stop_code on SIGINT"
    fi
    # A proxy that answers with errors is fast at it: such a run is not a figure.
    if [ -z "$bad" ] && grep -q -e "Non-2xx" -e "Socket errors" <<<"$out"; then
        bad=$(grep -e "Non-2xx" -e "Socket errors" <<<"$out" | tr -s ' ' | tr '\n' ';')
    fi
    n=$(awk '/ requests in / { print $1 }' <<<"$out")
    if [ -z "$bad" ] && ! [[ $n =~ ^[0-9]+$ && $n -gt 0 ]]; then
        bad="wrk completed no request"
    fi
    # The recorder's job is the recording: it must hold every exchange it served (the check
    # request and the n wrk counted, and at most one more per connection, answered as wrk
    # closed it), and the first one must be the order as nginx sent it.
    if [ -z "$bad" ] && [ -n "$px_out" ]; then
        saved=$(count_saved "$tool") || saved=""
        if ! [[ $saved =~ ^[0-9]+$ ]]; then
            bad="its recording ($px_out) does not read back, or holds an answer but 200"
        elif [ "$saved" -lt $((n + 1)) ] || [ "$saved" -gt $((n + 1 + c)) ]; then
            bad="it saved $saved exchanges for $((n + 1)) requests"
        fi
    fi
    if [ -n "$bad" ]; then
        echo "bench: $tool at $c connections: $bad: run NOT counted" >&2
        failures=$((failures + 1))
        if [ "$keep" = 1 ] && [ -n "$px_out" ] && [ -f "$px_out" ]; then
            cp "$px_out" "$dir/failed-$tool-$c-$failures.${px_out##*.}"
        fi
        return 0
    fi
    [ "$tool" = direct ] ||
        cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$clk_tck" -v n="$n" \
            'BEGIN { printf "%.1f", (b - a) / hz * 1e6 / n }')
    rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    fig="$rps $p50 $p99 $cpu $peak"
}

# The median of the numbers given as arguments (the mean of the middle two for an even count).
median() {
    [ $# -gt 0 ] || { echo ""; return; }
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END {
            if (NR % 2) { print v[(NR + 1) / 2] } else { print (v[NR / 2] + v[NR / 2 + 1]) / 2 }
        }'
}

tools=(direct reprise mitm-w)
[ "$mitm_nosave" = 1 ] && tools+=(mitm)
declare -A label=([direct]="nginx direct" [reprise]="reprise record" [mitm-w]="mitmdump -w"
    [mitm]="mitmdump")
declare -A runs_rps runs_p50 runs_p99 runs_cpu peak_max med_rps med_p50 med_p99 med_cpu

echo "proxy benchmark: nginx $nginx_version on 127.0.0.1:$port, mitmdump $mitm_version," \
    "$rounds rounds of ${seconds} s, $pin_note"
for c in "${CONNS[@]}"; do
    for r in $(seq 1 "$rounds"); do
        # Rotate which tool goes first, so none always meets a warmer or cooler machine.
        order=()
        for i in "${!tools[@]}"; do
            order+=("${tools[$(((i + r - 1) % ${#tools[@]}))]}")
        done
        line="  conns $c round $r/$rounds:"
        for tool in "${order[@]}"; do
            run_one "$tool" "$c"
            if [ -z "$fig" ]; then
                line+=" $tool FAILED;"
                continue
            fi
            read -r rps p50 p99 cpu peak <<<"$fig"
            k="$tool/$c"
            runs_rps[$k]+=" $rps"
            runs_p50[$k]+=" $p50"
            runs_p99[$k]+=" $p99"
            [ "$cpu" = - ] || runs_cpu[$k]+=" $cpu"
            if [ "$peak" != - ] && [ "$peak" -gt "${peak_max[$k]:-0}" ]; then
                peak_max[$k]=$peak
            fi
            line+=" $tool $rps req/s p50 $p50 ms;"
        done
        echo "${line%;}"
    done
    for tool in "${tools[@]}"; do
        k="$tool/$c"
        # shellcheck disable=SC2086  # the lists are space-separated numbers
        {
            med_rps[$k]=$(median ${runs_rps[$k]:-})
            med_p50[$k]=$(median ${runs_p50[$k]:-})
            med_p99[$k]=$(median ${runs_p99[$k]:-})
            med_cpu[$k]=$(median ${runs_cpu[$k]:-})
        }
    done
done

# ----- report ------------------------------------------------------------------------------

echo
echo "proxy benchmark (nginx $nginx_version, ${body_bytes}-byte JSON answer, keep-alive," \
    "wrk -t1 ${seconds} s runs, median of $rounds; $pin_note)"
printf '%-5s %-15s %9s %9s %9s %10s %10s %9s\n' conns path "req/s" "p50 ms" "p99 ms" \
    "+p50 ms" "CPU us/req" "peak RSS"
for c in "${CONNS[@]}"; do
    d50=${med_p50[direct/$c]}
    for tool in "${tools[@]}"; do
        k="$tool/$c"
        rps=${med_rps[$k]}
        [ -n "$rps" ] && rps=$(printf '%.0f' "$rps")
        added=-
        if [ "$tool" != direct ] && [ -n "${med_p50[$k]}" ] && [ -n "$d50" ]; then
            added=$(awk -v a="${med_p50[$k]}" -v b="$d50" 'BEGIN { printf "%.3f", a - b }')
        fi
        peak=-
        [ -n "${peak_max[$k]:-}" ] &&
            peak=$(awk -v k="${peak_max[$k]}" 'BEGIN { printf "%.1f MB", k / 1024 }')
        printf '%-5s %-15s %9s %9s %9s %10s %10s %9s\n' "$c" "${label[$tool]}" "${rps:--}" \
            "${med_p50[$k]:--}" "${med_p99[$k]:--}" "$added" "${med_cpu[$k]:--}" "$peak"
    done
done

# The ratios and the verdicts.
ratio_line="reprise / mitmdump -w req/s:"
sep=""
for c in "${CONNS[@]}"; do
    p=${med_rps[reprise/$c]}
    m=${med_rps[mitm-w/$c]}
    if [ -n "$p" ] && [ -n "$m" ]; then
        ratio_line+=$(awk -v p="$p" -v m="$m" -v t="$TARGET_RATIO" -v c="$c" -v s="$sep" \
            'BEGIN { printf "%s %d conn %.2fx %s", s, c, p / m, (p / m >= t) ? "ok" : "MISSED" }')
    else
        ratio_line+="$sep $c conn NO FIGURE"
    fi
    sep=";"
done
echo "$ratio_line (target >= ${TARGET_RATIO}x)"

direct_line="reprise / nginx direct req/s:"
sep=""
for c in "${CONNS[@]}"; do
    p=${med_rps[reprise/$c]}
    d=${med_rps[direct/$c]}
    if [ -n "$p" ] && [ -n "$d" ]; then
        direct_line+=$(awk -v p="$p" -v d="$d" -v c="$c" -v s="$sep" \
            'BEGIN { printf "%s %d conn %.2f", s, c, p / d }')
    else
        direct_line+="$sep $c conn -"
    fi
    sep=";"
done
echo "$direct_line"

p=${med_p50[reprise/1]}
d=${med_p50[direct/1]}
if [ -n "$p" ] && [ -n "$d" ]; then
    awk -v p="$p" -v d="$d" -v t="$TARGET_ADDED_P50_MS" 'BEGIN {
        printf "p50 latency added by reprise at 1 connection: %.3f ms (%.3f - %.3f)", p - d, p, d
        printf " (target <= %s ms)  %s\n", t, (p - d <= t) ? "ok" : "MISSED"
    }'
else
    echo "p50 latency added by reprise at 1 connection: NO FIGURE"
fi

if [ "$mitm_nosave" = 1 ]; then
    save_line="mitmdump's req/s with -w over without:"
    sep=""
    for c in "${CONNS[@]}"; do
        w=${med_rps[mitm-w/$c]}
        m=${med_rps[mitm/$c]}
        if [ -n "$w" ] && [ -n "$m" ]; then
            save_line+=$(awk -v w="$w" -v m="$m" -v c="$c" -v s="$sep" \
                'BEGIN { printf "%s %d conn %.2f", s, c, w / m }')
        else
            save_line+="$sep $c conn -"
        fi
        sep=";"
    done
    echo "$save_line"
fi

if [ "$failures" -gt 0 ]; then
    echo "bench: $failures run(s) NOT counted (errors, or a recording short of exchanges):" \
        "see above" >&2
    exit 2
fi
exit 0
