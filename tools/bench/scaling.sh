#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scaling benchmark (a report, not a test): the figures docs/scaling.md turns into a model of how
# many sessions a pod runs and how many pods a run needs. Replays the bundled checkout
# (recordings/demo-checkout.jsonl.gz, 9 steps: sign-up, log-in, an order, its payment) against
# the demo shop on loopback and prints:
#
#   cpu      reprise's CPU (user + system) per session and per request over a long run at
#            --concurrency 10, hence sessions per second per core; beside it the demo shop's
#            own CPU per session (the target's cost) and wrk's CPU per request on the same shop
#            (the peer: the least a load generator spends on a request), with the ratios
#   wall     the sessions and requests per second that run reached, and what held it there
#   memory   reprise's peak RSS at --concurrency 1, 10 and 100, and per session in flight
#   rate     the same replay under --rate R: the request rate reached and the CPU per request
#   latency  the time of one session at --concurrency 1, and with the shop replying 50 ms late
#            to one step: a session's time is the sum of its steps' latencies
#
# The load average is printed at the start and at the end of each part: on a shared 2-core
# machine the wall figures move with it, the CPU figures much less.
# Exits 0 whether or not anything is as expected; 2 when no figures could be taken.
#
#   tools/bench/scaling.sh
#
# Environment (all optional):
#   REPRISE, REPRISE_DEMO   binaries to measure (default: a Release build in build/bench)
#   BENCH_SESSIONS=2000     sessions of the cpu/wall run (100..100000)
#   BENCH_RATE=200          requests per second of the --rate run (10..100000)
#   BENCH_SECONDS=5         length of the wrk run (1..300)
#   BENCH_PIN=auto          auto: the shop on CPU 0, reprise and wrk on CPU 1; none: not pinned
set -euo pipefail
cd "$(dirname "$0")/../.."

REPRISE_TIMEOUT=1800 # seconds any single replay may take
sessions=${BENCH_SESSIONS:-2000}
rate=${BENCH_RATE:-200}
seconds=${BENCH_SECONDS:-5}
pin_mode=${BENCH_PIN:-auto}

die() { echo "bench: $*" >&2; exit 2; }
is_count() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
is_count "$sessions" 100 100000 || die "BENCH_SESSIONS must be 100..100000, not '$sessions'"
is_count "$rate" 10 100000 || die "BENCH_RATE must be 10..100000, not '$rate'"
is_count "$seconds" 1 300 || die "BENCH_SECONDS must be 1..300, not '$seconds'"
case $pin_mode in auto | none) ;; *) die "BENCH_PIN must be auto or none, not '$pin_mode'" ;; esac

# ----- dependencies and build --------------------------------------------------------------

tools/install-deps.sh --bench
[ -x /usr/bin/time ] || die "/usr/bin/time is not installed (package 'time')"
command -v wrk >/dev/null || die "wrk is not installed (tools/install-deps.sh --bench)"
reprise=${REPRISE:-}
demo=${REPRISE_DEMO:-}
if [ -z "$reprise" ] || [ -z "$demo" ]; then
    build=build/bench
    mkdir -p "$build"
    if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DREPRISE_BUILD_TESTS=OFF &&
        cmake --build "$build" -j2 --target reprise reprise-demo; } >"$build/scaling-build.log" 2>&1
    then
        tail -n 30 "$build/scaling-build.log" >&2
        die "build failed (full log: $build/scaling-build.log)"
    fi
    reprise=${reprise:-$build/reprise}
    demo=${demo:-$build/tools/demo-app/reprise-demo}
fi
for b in "$reprise" "$demo"; do
    [ -x "$b" ] || die "no binary at $b"
done

if [ "$pin_mode" = auto ] && { [ "$(nproc)" -lt 2 ] || ! command -v taskset >/dev/null; }; then
    echo "bench: fewer than 2 CPUs or no taskset: not pinning" >&2
    pin_mode=none
fi
client_pin=()
if [ "$pin_mode" = auto ]; then
    client_pin=(taskset -c 1)
fi

source tools/lib/demo-app.sh
dir=$(mktemp -d /tmp/reprise-bench-scaling.XXXXXX)
trap 'demo_stop; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
rec=recordings/demo-checkout.jsonl.gz
steps=$(zcat "$rec" | tail -n +2 | grep -c .)
export REPRISE_SECRET_PASSWORD=correct-horse-battery-staple
tck=$(getconf CLK_TCK)

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# The CPU seconds (user + system) a process has used so far, from /proc.
proc_cpu() { awk -v t="$tck" '{ printf "%.3f\n", ($14 + $15) / t }' "/proc/$1/stat"; }

shop_start() { # ARGS... for the demo shop
    demo_stop
    demo_start "$demo" "$@" || die "the demo shop did not start"
    if [ "$pin_mode" = auto ]; then
        taskset -pc 0 "$DEMO_PID" >/dev/null
    fi
}

# replay NAME ARGS...: a replay of the checkout with ARGS under GNU time; leaves
# "WALL USER SYS MAXRSS_KIB" in $dir/NAME.time and the shop's CPU seconds over it in
# $dir/NAME.shop. Dies when the replay does not pass: figures of a failing run mean nothing.
replay() {
    local name=$1 code=0 s0 s1
    shift
    s0=$(proc_cpu "$DEMO_PID")
    timeout "$REPRISE_TIMEOUT" "${client_pin[@]}" /usr/bin/time -f '%e %U %S %M' \
        -o "$dir/$name.time" "$reprise" -q replay --target "$DEMO_URL" --no-color "$@" "$rec" \
        >"$dir/$name.out" 2>"$dir/$name.err" || code=$?
    s1=$(proc_cpu "$DEMO_PID")
    if [ "$code" -ne 0 ]; then
        tail -n 5 "$dir/$name.out" "$dir/$name.err" >&2
        die "the replay '$name' ($*) exited $code"
    fi
    awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.3f\n", b - a }' >"$dir/$name.shop"
}
field() { awk -v i="$2" '{ print $i }' "$dir/$1.time"; } # NAME N: wall 1, user 2, sys 3, rss 4

# ----- cpu and wall --------------------------------------------------------------------------

echo "scaling benchmark: $rec ($steps steps a session) against the demo shop, reprise $("$reprise" --version | awk '{ print $2 }'), pinning $pin_mode"
echo "  load average at the start: $(loadavg)"
shop_start
replay warm --sessions 20 --concurrency 10
replay cpu --sessions "$sessions" --concurrency 10
read -r wall user sys _ < "$dir/cpu.time"
shop_cpu=$(cat "$dir/cpu.shop")
echo "  cpu/wall run done, load average $(loadavg)"

# The peer: wrk on the shop's home page (one of the checkout's steps, served without a session)
# for BENCH_SECONDS at 10 connections, its own CPU per request.
wrk_out=$(timeout $((seconds + 60)) "${client_pin[@]}" /usr/bin/time -f '%U %S' -o "$dir/wrk.time" \
    wrk -t1 -c10 -d"${seconds}s" "$DEMO_URL/" 2>&1) || die "wrk failed: $wrk_out"
grep -q "Non-2xx" <<<"$wrk_out" && die "wrk saw non-2xx responses from the shop's home page"
wrk_n=$(awk '/ requests in / { print $1 }' <<<"$wrk_out")
wrk_rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$wrk_out")
read -r wu ws < "$dir/wrk.time"
echo "  wrk run done, load average $(loadavg)"

# ----- memory --------------------------------------------------------------------------------

declare -A rss_at
for c in 1 10 100; do
    n=$((c * 4))
    [ "$n" -ge 40 ] || n=40
    replay "mem$c" --sessions "$n" --concurrency "$c"
    rss_at[$c]=$(field "mem$c" 4)
done
echo "  memory runs done, load average $(loadavg)"

# ----- rate ----------------------------------------------------------------------------------

# About 15 s of requests at the cap.
rate_sessions=$(( (rate * 15 + steps - 1) / steps ))
replay rate --sessions "$rate_sessions" --concurrency 10 --rate "$rate"
echo "  rate run done, load average $(loadavg)"

# ----- latency -------------------------------------------------------------------------------

replay lat0 --sessions 50 --concurrency 1
shop_start --delay '/t/*/api/products=50'
replay lat50 --sessions 50 --concurrency 1
echo "  latency runs done, load average $(loadavg)"

# ----- report --------------------------------------------------------------------------------

echo
awk -v n="$sessions" -v k="$steps" -v w="$wall" -v u="$user" -v s="$sys" -v shop="$shop_cpu" \
    -v wn="$wrk_n" -v wrps="$wrk_rps" -v wu="$wu" -v ws="$ws" 'BEGIN {
    cpu = u + s; req = n * k
    printf "cpu (%d sessions, %d requests, --concurrency 10)\n", n, req
    printf "  reprise: %.2f ms CPU per session, %.0f us per request (user %.2f s, sys %.2f s)\n",
        cpu * 1e3 / n, cpu * 1e6 / req, u, s
    printf "  reprise: %.0f sessions per second per core (%.0f requests)\n", n / cpu, req / cpu
    printf "  target (the demo shop): %.2f ms CPU per session; reprise / target: %.2f\n",
        shop * 1e3 / n, cpu / shop
    printf "  peer (wrk -t1 -c10 GET /, %d requests): %.0f us CPU per request; reprise / wrk: %.2f\n",
        wn, (wu + ws) * 1e6 / wn, (cpu / req) / ((wu + ws) / wn)
    printf "wall\n"
    printf "  reprise: %.0f sessions/s, %.0f requests/s; the shop busy %.0f%% and reprise %.0f%% of a core\n",
        n / w, req / w, shop * 100 / w, cpu * 100 / w
    printf "  wrk on the home page: %.0f requests/s\n", wrps
}'
awk -v a="${rss_at[1]}" -v b="${rss_at[10]}" -v c="${rss_at[100]}" 'BEGIN {
    printf "memory (peak RSS)\n"
    printf "  --concurrency 1: %.1f MiB, 10: %.1f MiB, 100: %.1f MiB; %.0f KiB per session in flight\n",
        a / 1024, b / 1024, c / 1024, (c - a) / 99
}'
for r in cpu rate; do
    read -r w u s _ < "$dir/$r.time"
    case $r in cpu) n=$sessions; what="no cap" ;; rate) n=$rate_sessions; what="--rate $rate" ;; esac
    awk -v what="$what" -v n="$n" -v k="$steps" -v w="$w" -v u="$u" -v s="$s" 'BEGIN {
        if (what == "no cap") { printf "rate\n" }
        printf "  %-12s %6.0f requests/s, %5.0f us CPU per request, %.1f s\n", what, n * k / w,
            (u + s) * 1e6 / (n * k), w
    }'
done
awk -v a="$(field lat0 1)" -v b="$(field lat50 1)" -v k="$steps" 'BEGIN {
    printf "latency (--concurrency 1, 50 sessions)\n"
    printf "  %.1f ms per session (%.2f ms per step); +50 ms on one step: %.1f ms per session\n",
        a * 1e3 / 50, a * 1e3 / 50 / k, b * 1e3 / 50
}'
echo "load average at the end: $(loadavg)"
