#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Replay benchmark (a report, not a test): replays generated recordings of 20,000 exchanges,
# checks on, against a local nginx on a loopback port, at 1 and 16 connections, beside wrk on
# the same server with the same connections, and measures reprise's peak RSS at 20,000 and
# 200,000 exchanges. Prints medians and the targets; exits 0 whether or not they are met.
#
#   tools/bench/replay.sh
#
# Environment (all optional):
#   BENCH_ROUNDS=3     runs of each tool per connection count (medians are reported)
#   BENCH_SECONDS=5    length of each wrk run
#   BENCH_PIN=auto     CPU placement: auto, split or none (see below and the README)
#   BENCH_KEEP=0       1: keep the temporary directory (nginx config, recordings, logs)
#
# See tools/bench/README.md for what each figure means.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."

# ----- settings ----------------------------------------------------------------------------

TOTAL=20000          # requests per timed run, for both connection counts
BIG=200000           # the long recording of the RSS check
CONNS=(1 16)
TARGET_RATIO_1=0.80  # reprise req/s over wrk req/s at 1 connection
TARGET_RATIO_16=0.50
TARGET_RSS_MB=64
MAX_ROUNDS=50        # caps that keep every loop bounded
MAX_SECONDS=300
REPRISE_TIMEOUT=900  # seconds any single reprise run may take
PORT_TRIES=20

rounds=${BENCH_ROUNDS:-3}
seconds=${BENCH_SECONDS:-5}
keep=${BENCH_KEEP:-0}

die() { echo "bench: $*" >&2; exit 2; }

is_count() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le "$2" ]; }
is_count "$rounds" "$MAX_ROUNDS" || die "BENCH_ROUNDS must be 1..$MAX_ROUNDS, not '$rounds'"
is_count "$seconds" "$MAX_SECONDS" || die "BENCH_SECONDS must be 1..$MAX_SECONDS, not '$seconds'"
rounds=$((10#$rounds))   # "08" is eight, not a bad octal number, in the arithmetic below
seconds=$((10#$seconds))

# ----- dependencies and build --------------------------------------------------------------

tools/install-deps.sh --bench
build=build/bench
mkdir -p "$build"
build_log=$build/bench-build.log
if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DREPRISE_BUILD_TESTS=OFF &&
    cmake --build "$build" -j"$(nproc)" --target reprise reprise-bench-gen; } >"$build_log" 2>&1
then
    tail -n 30 "$build_log" >&2
    die "build failed (full log: $build_log)"
fi
reprise=$build/reprise
gen=$build/tools/bench/reprise-bench-gen
for b in "$reprise" "$gen"; do
    [ -x "$b" ] || die "build did not produce $b"
done
for t in nginx wrk curl timeout; do
    command -v "$t" >/dev/null || die "$t is not installed"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is not installed (package 'time')"

# Where the client under test runs decides single-connection figures more than anything else on
# these 2-core VMs: a request/response ping-pong between two cores pays a cross-core wake-up
# each way, and is twice as slow as on one core, wherever the scheduler puts things. So by
# default (auto) nginx is pinned to CPU 0, and the client, wrk or reprise alike, shares CPU 0 at
# one connection (the figure is then the CPU cost of a request on both sides) and has CPU 1 to
# itself at 16 (a throughput figure: each side gets a core). split: client always on CPU 1.
pin_mode=${BENCH_PIN:-auto}
case $pin_mode in
    auto | split | none) ;;
    *) die "BENCH_PIN must be auto, split or none, not '$pin_mode'" ;;
esac
if [ "$pin_mode" != none ] && { [ "$(nproc)" -lt 2 ] || ! command -v taskset >/dev/null; }; then
    echo "bench: fewer than 2 CPUs or no taskset: not pinning" >&2
    pin_mode=none
fi
server_pin=()
case $pin_mode in
    auto) pin_note="nginx on CPU 0, client on CPU 0 at 1 conn, CPU 1 at 16" ;;
    split) pin_note="nginx on CPU 0, client on CPU 1" ;;
    none) pin_note="not pinned" ;;
esac
[ "$pin_mode" = none ] || server_pin=(taskset -c 0)

# Sets client_pin, the prefix that places the client for conns connections.
set_client_pin() {
    client_pin=()
    case $pin_mode in
        auto)
            if [ "$1" -eq 1 ]; then
                client_pin=(taskset -c 0)
            else
                client_pin=(taskset -c 1)
            fi
            ;;
        split) client_pin=(taskset -c 1) ;;
    esac
}

# ----- nginx on a loopback port ------------------------------------------------------------

dir=$(mktemp -d /tmp/reprise-bench.XXXXXX)
nginx_pid=""
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
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
mkdir -p "$dir/www" "$dir/tmp"
"$gen" --body >"$dir/www/item.json"
chmod 0644 "$dir/www/item.json"

bench_nginx_start "$dir" item.json "/bench/item.json"
url="http://127.0.0.1:$port"
nginx_version=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([0-9.]*\).*|\1|p')

# The live body must be the recorded one, or every check fails and the figures mean nothing.
curl -fs "$url/bench/item.json?n=1" -o "$dir/live.json"
cmp -s "$dir/live.json" "$dir/www/item.json" || die "nginx serves a different body"

# ----- recordings --------------------------------------------------------------------------

# Each timed reprise run sends TOTAL requests: conns sessions of TOTAL / conns exchanges.
declare -A rec
for c in "${CONNS[@]}"; do
    [ $((TOTAL % c)) -eq 0 ] || die "$TOTAL requests do not split into $c sessions"
    per=$((TOTAL / c))
    rec[$c]=$dir/bench-$per.jsonl.gz
    [ -f "${rec[$c]}" ] || "$gen" "$per" "$url" "${rec[$c]}"
done
rec_total=${rec[1]}
rec_big=$dir/bench-$BIG.jsonl.gz
"$gen" "$BIG" "$url" "$rec_big"
"$gen" 20 "$url" "$dir/bench-20.jsonl.gz"

# Options go before the recordings: that order works whether or not the command's option parser
# lets options follow operands.
replay_args=(--target "$url" --no-color --no-run-header)

# A short replay with its report shown: every check must pass before anything is timed.
if ! timeout 60 "$reprise" replay "${replay_args[@]}" "$dir/bench-20.jsonl.gz" \
    >"$dir/smoke.out" 2>&1; then
    cat "$dir/smoke.out" >&2
    die "a 20-exchange replay against nginx did not pass; no figures taken"
fi

# ----- timed runs --------------------------------------------------------------------------

now() { date +%s.%N; }

# The client's CPU time (user + system) in microseconds per request, from GNU time's "%U %S"
# in file over n requests. On a machine shared with other work this moves much less than req/s.
cpu_per_req() {
    awk -v n="$2" '{ printf "%.1f\n", ($1 + $2) * 1e6 / n }' "$1"
}

# Prints "REQ/S CPU-US-PER-REQUEST" for wrk at conns connections, or nothing when wrk failed.
run_wrk() {
    local c=$1 out n
    out=$(timeout $((seconds + 60)) "${client_pin[@]}" /usr/bin/time -f '%U %S' \
        -o "$dir/wrk.time" wrk -t1 -c"$c" -d"${seconds}s" --latency "$url/bench/item.json?n=1" \
        2>&1) || return 0
    # Non-2xx answers would make wrk's figure meaningless as a baseline.
    if grep -q "Non-2xx" <<<"$out"; then
        echo "bench: wrk saw non-2xx responses" >&2
        return 0
    fi
    n=$(awk '/ requests in / { print $1 }' <<<"$out")
    [ -n "$n" ] && [ "$n" -gt 0 ] || return 0
    echo "$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out") $(cpu_per_req "$dir/wrk.time" "$n")"
}

# Prints "REQ/S CPU-US-PER-REQUEST" for reprise at conns connections (TOTAL requests), or
# nothing on failure. The time is the whole process's, start-up and reading included.
run_reprise() {
    local c=$1 t0 t1 code=0
    t0=$(now)
    timeout "$REPRISE_TIMEOUT" "${client_pin[@]}" /usr/bin/time -f '%U %S' -o "$dir/rep.time" \
        "$reprise" -q replay "${replay_args[@]}" --concurrency "$c" --sessions "$c" "${rec[$c]}" \
        >/dev/null 2>"$dir/reprise.err" || code=$?
    t1=$(now)
    if [ "$code" -ne 0 ]; then
        echo "bench: reprise exited $code at $c connections:" >&2
        head -n 5 "$dir/reprise.err" >&2
        return 0
    fi
    echo "$(awk -v n="$TOTAL" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')" \
        "$(cpu_per_req "$dir/rep.time" "$TOTAL")"
}

# The median of the numbers given as arguments (the mean of the middle two for an even count).
median() {
    [ $# -gt 0 ] || { echo ""; return; }
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END {
            if (NR % 2) { print v[(NR + 1) / 2] } else { print (v[NR / 2] + v[NR / 2 + 1]) / 2 }
        }'
}

declare -A med_wrk med_rep cpu_wrk cpu_rep
echo "replay benchmark: nginx $nginx_version on 127.0.0.1:$port, $rounds rounds, $pin_note"
for c in "${CONNS[@]}"; do
    set_client_pin "$c"
    wrk_runs=()
    rep_runs=()
    wrk_cpu=()
    rep_cpu=()
    for r in $(seq 1 "$rounds"); do
        # Alternate which tool goes first, so neither always meets a warmer or cooler machine.
        if [ $((r % 2)) -eq 1 ]; then
            order=(wrk reprise)
        else
            order=(reprise wrk)
        fi
        line="  conns $c round $r/$rounds:"
        for tool in "${order[@]}"; do
            v=""
            cpu=""
            if [ "$tool" = wrk ]; then
                read -r v cpu < <(run_wrk "$c") || true
                [ -n "$v" ] && wrk_runs+=("$v") && wrk_cpu+=("$cpu")
            else
                read -r v cpu < <(run_reprise "$c") || true
                [ -n "$v" ] && rep_runs+=("$v") && rep_cpu+=("$cpu")
            fi
            if [ -n "$v" ]; then
                line+=" $tool $v req/s ($cpu us CPU/req)"
            else
                line+=" $tool FAILED"
            fi
        done
        echo "$line"
    done
    med_wrk[$c]=$(median "${wrk_runs[@]}")
    med_rep[$c]=$(median "${rep_runs[@]}")
    cpu_wrk[$c]=$(median "${wrk_cpu[@]}")
    cpu_rep[$c]=$(median "${rep_cpu[@]}")
done

# ----- peak RSS ----------------------------------------------------------------------------

# Prints reprise's peak RSS in kB replaying file at one connection, or nothing on failure.
peak_rss_kb() {
    local code=0
    timeout "$REPRISE_TIMEOUT" "${client_pin[@]}" /usr/bin/time -v "$reprise" -q replay \
        "${replay_args[@]}" --concurrency 1 --sessions 1 "$1" >/dev/null 2>"$dir/time.out" ||
        code=$?
    if [ "$code" -ne 0 ]; then
        echo "bench: reprise exited $code replaying $1:" >&2
        head -n 5 "$dir/time.out" >&2
        return 0
    fi
    awk -F': *' '/Maximum resident set size/ { print $2 }' "$dir/time.out"
}

echo "  peak RSS: replaying $TOTAL and $BIG exchanges"
set_client_pin 1
rss_small=$(peak_rss_kb "$rec_total")
rss_big=$(peak_rss_kb "$rec_big")

# ----- report ------------------------------------------------------------------------------

echo
echo "replay benchmark (nginx $nginx_version on 127.0.0.1:$port, $TOTAL requests, checks on," \
    "median of $rounds; $pin_note)"
printf '%-6s %-15s %-11s %-7s %s\n' conns "reprise req/s" "wrk req/s" ratio target
for c in "${CONNS[@]}"; do
    target=$TARGET_RATIO_16
    [ "$c" = 1 ] && target=$TARGET_RATIO_1
    w=${med_wrk[$c]}
    p=${med_rep[$c]}
    if [ -n "$w" ] && [ -n "$p" ]; then
        ratio=$(awk -v p="$p" -v w="$w" 'BEGIN { printf "%.2f", p / w }')
        verdict=$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r >= t) ? "ok" : "MISSED" }')
    else
        ratio="-"
        verdict="NO FIGURE"
    fi
    [ -n "$p" ] && p=$(printf '%.0f' "$p")
    [ -n "$w" ] && w=$(printf '%.0f' "$w")
    printf '%-6s %-15s %-11s %-7s >= %s  %s\n' "$c" "${p:--}" "${w:--}" "$ratio" "$target" \
        "$verdict"
done
# CPU per request is what the ratio comes down to at one connection, and it holds still when
# other work shares the machine: the req/s figures do not.
cpu_line="client CPU per request (user+sys, median):"
sep=""
for c in "${CONNS[@]}"; do
    cpu_line+="$sep $c conn: reprise ${cpu_rep[$c]:--} us, wrk ${cpu_wrk[$c]:--} us"
    sep=";"
done
echo "$cpu_line"

if [ -n "$rss_small" ] && [ -n "$rss_big" ]; then
    # Flat: the ten times longer recording may cost at most 10% (or 1 MB, if more) extra.
    rss_line=$(awk -v a="$rss_small" -v b="$rss_big" -v cap="$TARGET_RSS_MB" \
        -v n1="$TOTAL" -v n2="$BIG" 'BEGIN {
            ma = a / 1024; mb = b / 1024
            slack = ma * 0.10; if (slack < 1) { slack = 1 }
            ok = (ma <= cap && mb <= cap && mb - ma <= slack)
            printf "peak RSS: %d exchanges %.1f MB, %d exchanges %.1f MB", n1, ma, n2, mb
            printf " (target <= %d MB, flat)  %s", cap, ok ? "ok" : "MISSED"
        }')
    echo "$rss_line"
else
    echo "peak RSS: NO FIGURE (a reprise run failed; see above)"
fi
exit 0
