#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Capture benchmark (a report, not a test): reads a generated pcap of 100,000 HTTP/1.1 exchanges
# with `reprise capture` (recording written, gzip included), beside tshark decoding HTTP and
# tcpdump copying the packets (the read limit) on the same file in the same run, then measures
# reprise's peak RSS on a capture of over 1 GB and on one whose connections never end. Prints
# medians and the targets; exits 0 whether or not they are met.
#
#   tools/bench/capture.sh
#
# Environment (all optional):
#   BENCH_ROUNDS=3     runs of each tool (medians are reported)
#   BENCH_PIN=auto     CPU placement: auto (every tool on the last CPU) or none
#   BENCH_SKIP_1G=0    1: skip the 1 GB and the never-finished runs (about 1 minute less)
#   BENCH_KEEP=0       1: keep the temporary directory (captures, recordings, logs)
#   BENCH_BUILD_DIR=build/bench   where the Release build goes
#
# See tools/bench/README.md for what each figure means.
set -euo pipefail
cd "$(dirname "$0")/../.."

# ----- settings ----------------------------------------------------------------------------

EXCHANGES=100000        # the timed capture
CONNS=64                # keep-alive connections open at once, exchanges interleaved over them
BODY=1024               # bytes of each JSON response body
BIG_EXCHANGES=500000    # the memory run: 1536-byte bodies make it just over 1 GB
BIG_BODY=1536
BIG_MIN_BYTES=1000000000
NOFIN_EXCHANGES=200000  # the never-finished run: 25,000 connections of 8 exchanges, no FIN
NOFIN_PER_CONN=8
TARGET_TSHARK_RATIO=20  # reprise MB/s over tshark MB/s
TARGET_RSS_MB=200
MAX_ROUNDS=50
RUN_TIMEOUT=900         # seconds any single tool run may take

rounds=${BENCH_ROUNDS:-3}
keep=${BENCH_KEEP:-0}
skip_big=${BENCH_SKIP_1G:-0}
build=${BENCH_BUILD_DIR:-build/bench}

die() { echo "bench: $*" >&2; exit 2; }

is_count() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le "$2" ]; }
is_count "$rounds" "$MAX_ROUNDS" || die "BENCH_ROUNDS must be 1..$MAX_ROUNDS, not '$rounds'"
rounds=$((10#$rounds))   # "08" is eight, not a bad octal number, in the arithmetic below

# ----- dependencies and build --------------------------------------------------------------

tools/install-deps.sh --bench
# tshark and tcpdump are the peers of this benchmark only. They are installed here rather than
# by install-deps.sh --bench, which the replay benchmark also runs, so that it does not pull in
# Wireshark's libraries. tshark's package asks whether non-root users may capture: the answer
# is preseeded (no: nothing here captures live) so that the install never waits for input.
missing=()
for p in tshark tcpdump; do
    command -v "$p" >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench: installing ${missing[*]}" >&2
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "need root to install ${missing[*]}"
        sudo=sudo
    fi
    echo 'wireshark-common wireshark-common/install-setuid boolean false' |
        $sudo debconf-set-selections
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null || die "could not install ${missing[*]}"
fi
for t in tshark tcpdump timeout; do
    command -v "$t" >/dev/null || die "$t is not installed"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is not installed (package 'time')"

mkdir -p "$build"
build_log=$build/bench-capture-build.log
if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DREPRISE_BUILD_TESTS=OFF &&
    cmake --build "$build" -j"$(nproc)" --target reprise reprise-bench-pcap; } >"$build_log" 2>&1
then
    tail -n 30 "$build_log" >&2
    die "build failed (full log: $build_log)"
fi
reprise=$build/reprise
gen=$build/tools/bench/reprise-bench-pcap
for b in "$reprise" "$gen"; do
    [ -x "$b" ] || die "build did not produce $b"
done

# Every tool here is single-threaded where it counts. By default each runs alone on the last
# CPU, so that a run is not moved between cores halfway and the build or the shell on CPU 0
# does not share its core.
pin_mode=${BENCH_PIN:-auto}
case $pin_mode in
    auto | none) ;;
    *) die "BENCH_PIN must be auto or none, not '$pin_mode'" ;;
esac
if [ "$pin_mode" = auto ] && { [ "$(nproc)" -lt 2 ] || ! command -v taskset >/dev/null; }; then
    echo "bench: fewer than 2 CPUs or no taskset: not pinning" >&2
    pin_mode=none
fi
pin=()
pin_note="not pinned"
if [ "$pin_mode" = auto ]; then
    cpu=$(($(nproc) - 1))
    pin=(taskset -c "$cpu")
    pin_note="each tool on CPU $cpu"
fi

# ----- the captures ------------------------------------------------------------------------

dir=$(mktemp -d /tmp/reprise-bench-capture.XXXXXX)
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    if [ "$keep" = "1" ]; then
        echo "bench: kept $dir" >&2
    else
        rm -rf "$dir"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pcap=$dir/bench-$EXCHANGES.pcap
"$gen" "$EXCHANGES" "$pcap" --conns "$CONNS" --body "$BODY" || die "could not write $pcap"
bytes=$(stat -c %s "$pcap")

# ----- timed runs --------------------------------------------------------------------------

now() { date +%s.%N; }

# Runs a command (its arguments) under GNU time and prints "SECONDS PEAK-RSS-KB CPU-SECONDS",
# or nothing when it failed. Its stdout goes to $dir/out, its stderr to $dir/err. The seconds
# are the wall clock of the whole process, start-up included.
timed() {
    local t0 t1 code=0
    t0=$(now)
    timeout "$RUN_TIMEOUT" "${pin[@]}" /usr/bin/time -v -o "$dir/time.out" "$@" \
        >"$dir/out" 2>"$dir/err" || code=$?
    t1=$(now)
    if [ "$code" -ne 0 ]; then
        echo "bench: $1 exited $code:" >&2
        head -n 5 "$dir/err" >&2
        return 0
    fi
    awk -F': *' -v a="$t0" -v b="$t1" '
        /Maximum resident set size/ { rss = $2 }
        /User time \(seconds\)/ { u = $2 }
        /System time \(seconds\)/ { s = $2 }
        END { printf "%.3f %d %.2f\n", b - a, rss, u + s }' "$dir/time.out"
}

# Checks reprise's summary line: every exchange found, complete and answered.
check_reprise() {
    local want=$1 got
    got=$(sed -n 's/^captured \([0-9]*\) exchanges (\([0-9]*\) incomplete, \([0-9]*\) without.*/\1 \2 \3/p' \
        "$dir/out")
    [ "$got" = "$want 0 0" ] || die "reprise did not find $want complete exchanges: $(cat "$dir/out")"
}

run_reprise() {
    timed "$reprise" capture -r "$pcap" -o "$dir/out.jsonl.gz"
}

# shellcheck disable=SC2317  # called as run_$t
run_tshark() {
    # Two-pass analysis is off by default: tshark reads the file once, as the others do.
    timed tshark -r "$pcap" -Y http.request -T fields -e frame.number
}

# shellcheck disable=SC2317  # called as run_$t
run_tcpdump() {
    timed tcpdump -r "$pcap" -w /dev/null
}

# The median of the numbers given as arguments (the mean of the middle two for an even count).
median() {
    [ $# -gt 0 ] || { echo ""; return; }
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END {
            if (NR % 2) { print v[(NR + 1) / 2] } else { print (v[NR / 2] + v[NR / 2 + 1]) / 2 }
        }'
}

tools=(reprise tshark tcpdump)
declare -A secs rss cpus
for t in "${tools[@]}"; do
    secs[$t]=""
    rss[$t]=""
    cpus[$t]=""
done

mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
echo "capture benchmark: $EXCHANGES exchanges over $CONNS connections, $BODY-byte bodies," \
    "$mb MB pcap, $rounds rounds, $pin_note"
checked=0
for r in $(seq 1 "$rounds"); do
    # Rotate which tool goes first, so that none always meets a warmer or cooler machine.
    order=()
    for k in 0 1 2; do
        order+=("${tools[$(((r - 1 + k) % 3))]}")
    done
    line="  round $r/$rounds:"
    for t in "${order[@]}"; do
        v=""
        read -r s m c < <("run_$t") || true
        if [ -n "${s:-}" ]; then
            case $t in
                reprise)
                    check_reprise "$EXCHANGES"
                    # Once: the recording itself holds every exchange, one line each after the
                    # header line.
                    if [ "$checked" = 0 ]; then
                        n=$(gzip -dc "$dir/out.jsonl.gz" | wc -l)
                        [ "$n" -eq $((EXCHANGES + 1)) ] ||
                            die "the recording has $((n - 1)) exchanges, not $EXCHANGES"
                        checked=1
                    fi
                    ;;
                tshark)
                    n=$(wc -l <"$dir/out")
                    [ "$n" -eq "$EXCHANGES" ] ||
                        echo "bench: tshark found $n requests, not $EXCHANGES" >&2
                    ;;
            esac
            secs[$t]+=" $s"
            rss[$t]+=" $m"
            cpus[$t]+=" $c"
            v="$s s"
        else
            v="FAILED"
        fi
        line+=" $t $v"
        s=""
    done
    echo "$line"
done

# ----- peak RSS on 1 GB, and with connections that never end -------------------------------

big_line=""
nofin_line=""
if [ "$skip_big" != 1 ]; then
    # The big capture is written, read once and deleted before the next is written, so the
    # temporary directory never holds more than one of them.
    need=$((BIG_MIN_BYTES * 3 / 2 / 1024))
    avail=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
    if [ "$avail" -lt "$need" ]; then
        big_line="1 GB capture: SKIPPED (under $((need / 1024)) MB free in $dir)"
        nofin_line="never-finished connections: SKIPPED (disk)"
    else
        rm -f "$dir/out.jsonl.gz"
        big=$dir/bench-big.pcap
        echo "  1 GB capture: $BIG_EXCHANGES exchanges, $BIG_BODY-byte bodies"
        "$gen" "$BIG_EXCHANGES" "$big" --conns "$CONNS" --body "$BIG_BODY" ||
            die "could not write $big"
        big_bytes=$(stat -c %s "$big")
        [ "$big_bytes" -ge "$BIG_MIN_BYTES" ] ||
            echo "bench: the big capture is only $big_bytes bytes" >&2
        pcap=$big
        s=""
        read -r s m c < <(run_reprise) || true
        if [ -n "${s:-}" ]; then
            check_reprise "$BIG_EXCHANGES"
            big_line=$(awk -v b="$big_bytes" -v s="$s" -v m="$m" -v cap="$TARGET_RSS_MB" \
                -v n="$BIG_EXCHANGES" 'BEGIN {
                    printf "1 GB capture (%.2f GB, %d exchanges): peak RSS %.1f MB", b / 1e9, n,
                        m / 1024
                    printf " (target < %d MB) %s; %.1f MB/s", cap, (m / 1024 < cap) ? "ok" : "MISSED",
                        b / 1e6 / s
                }')
        else
            big_line="1 GB capture: NO FIGURE (reprise failed; see above)"
        fi
        rm -f "$big" "$dir/out.jsonl.gz"

        nofin=$dir/bench-nofin.pcap
        nconn=$((NOFIN_EXCHANGES / NOFIN_PER_CONN))
        echo "  never-finished: $NOFIN_EXCHANGES exchanges on $nconn connections never closed"
        "$gen" "$NOFIN_EXCHANGES" "$nofin" --conns "$CONNS" --body "$BODY" \
            --per-conn "$NOFIN_PER_CONN" --no-fin || die "could not write $nofin"
        pcap=$nofin
        s=""
        read -r s m c < <(run_reprise) || true
        if [ -n "${s:-}" ]; then
            check_reprise "$NOFIN_EXCHANGES"
            # Each connection ended early is one warning line.
            ev=$(grep -c 'ended early' "$dir/err" || true)
            nofin_line=$(awk -v m="$m" -v cap="$TARGET_RSS_MB" -v nc="$nconn" -v ev="$ev" \
                'BEGIN {
                    printf "never-finished connections (%d, no FIN): peak RSS %.1f MB", nc, m / 1024
                    printf " (target < %d MB) %s; %d ended early by the flow cap", cap,
                        (m / 1024 < cap) ? "ok" : "MISSED", ev
                }')
        else
            nofin_line="never-finished connections: NO FIGURE (reprise failed; see above)"
        fi
        rm -f "$nofin" "$dir/out.jsonl.gz"
    fi
fi

# ----- report ------------------------------------------------------------------------------

declare -A med_s med_rss med_cpu
for t in "${tools[@]}"; do
    # shellcheck disable=SC2086  # the lists are space-separated numbers
    med_s[$t]=$(median ${secs[$t]})
    # shellcheck disable=SC2086
    med_rss[$t]=$(median ${rss[$t]})
    # shellcheck disable=SC2086
    med_cpu[$t]=$(median ${cpus[$t]})
done

echo
echo "capture benchmark ($EXCHANGES exchanges, $CONNS connections, $BODY-byte bodies," \
    "$mb MB pcap, median of $rounds; $pin_note)"
printf '%-8s %9s %9s %13s %10s %10s %s\n' tool seconds "MB/s" "exchanges/s" "CPU s" \
    "peak RSS" "reprise/tool"
for t in "${tools[@]}"; do
    s=${med_s[$t]}
    if [ -z "$s" ]; then
        printf '%-8s %9s\n' "$t" "NO FIGURE"
        continue
    fi
    ratio="-"
    if [ "$t" != reprise ] && [ -n "${med_s[reprise]}" ]; then
        # Same file, so the ratio of MB/s is the inverse ratio of the times.
        ratio=$(awk -v a="${med_s[reprise]}" -v b="$s" 'BEGIN { printf "%.2fx", b / a }')
    fi
    awk -v t="$t" -v s="$s" -v b="$bytes" -v n="$EXCHANGES" -v c="${med_cpu[$t]}" \
        -v m="${med_rss[$t]}" -v r="$ratio" 'BEGIN {
            printf "%-8s %9.2f %9.1f %13.0f %10.2f %7.1f MB %s\n", t, s, b / 1e6 / s, n / s, c,
                m / 1024, r
        }'
done
if [ -n "${med_s[reprise]}" ] && [ -n "${med_s[tshark]}" ]; then
    awk -v a="${med_s[reprise]}" -v b="${med_s[tshark]}" -v t="$TARGET_TSHARK_RATIO" 'BEGIN {
        r = b / a
        printf "reprise / tshark: %.1fx (target >= %dx)  %s\n", r, t, (r >= t) ? "ok" : "MISSED"
    }'
fi
if [ -n "${med_s[reprise]}" ] && [ -n "${med_s[tcpdump]}" ]; then
    awk -v a="${med_s[reprise]}" -v b="${med_s[tcpdump]}" 'BEGIN {
        printf "reprise / tcpdump (the read limit): %.3fx: %.0f%% of the time of reprise", b / a,
            100 * (a - b) / a
        printf " goes past reading the file\n"
    }'
fi
[ -z "$big_line" ] || echo "$big_line"
[ -z "$nofin_line" ] || echo "$nofin_line"
[ "$skip_big" != 1 ] || echo "1 GB and never-finished runs: skipped (BENCH_SKIP_1G=1)"
exit 0
