#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# gzip-bomb benchmark (a report, not a test; issue 12, item 1). Two figures:
#
# 1. The proxy: an upstream of our own (tools/lib/upstream.py) serves a 10 GiB gzip bomb, made
#    while it is sent (about 15 MB on the wire, nothing stored), and small answers. One client
#    sends requests over a keep-alive connection through `reprise record` for BENCH_SECONDS at
#    a fixed pace (BENCH_RATE a second) with nothing else going on, then again while another
#    client fetches the bomb through the same proxy back to back. Each request's latency runs
#    from when it was due, not when it went out, so a stall of the proxy counts for every
#    request it held back (a client that waits for each answer before the next would send few
#    requests during a stall, and hide it from p99). p50 and p99 are printed for both, with how
#    long each bomb took through the proxy and how many exchanges the proxy recorded and
#    dropped. With REPRISE_BASELINE set, the same cases run first with that binary (the code
#    before a change), so before and after come from one run on one machine.
#    Before the first fix one bomb held the proxy's loop for about a minute (every response
#    inflated to its end to count its size); before the second, about a second (32 MiB
#    decoded, encoded and queued for the writer on the loop's thread).
# 2. Capture: a pcap of one exchange whose response is a double-gzip bomb (10 GiB of zeros,
#    gzipped twice: about 26 KB) is read with `reprise capture`; its wall time is printed.
#    Before the fix it took 39-56 s; the target is under a second.
#
#   tools/bench/bomb.sh
#
# Environment (all optional):
#   REPRISE=path          the reprise binary to measure (default: a Release build in
#                         BENCH_BUILD_DIR)
#   BENCH_BUILD_DIR=build/bench   where the Release build goes
#   REPRISE_BASELINE=path another reprise binary, measured first in the same run (optional)
#   BENCH_SECONDS=10      length of each latency run (1 to 300)
#   BENCH_RATE=200        requests a second of the latency client (10 to 5000)
#   BENCH_BOMB_GIB=10     decoded size of the proxy's bomb, GiB (1 to 64)
#   BENCH_KEEP=0          1: keep the temporary directory
#
# Exit status: 0 when the figures were taken (targets met or not); 2 when they could not be
# (a failed build, a server that did not start, a latency run with errors).
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${BENCH_SECONDS:-10}
rate=${BENCH_RATE:-200}
gib=${BENCH_BOMB_GIB:-10}
keep=${BENCH_KEEP:-0}
build=${BENCH_BUILD_DIR:-build/bench}
MAX_BOMBS=1000 # bombs fetched during one run, at most

die() { echo "bench: $*" >&2; exit 2; }
[[ $seconds =~ ^[0-9]+$ ]] && [ "$seconds" -ge 1 ] && [ "$seconds" -le 300 ] ||
    die "BENCH_SECONDS must be 1 to 300"
[[ $rate =~ ^[0-9]+$ ]] && [ "$rate" -ge 10 ] && [ "$rate" -le 5000 ] || die "BENCH_RATE must be 10 to 5000"
[[ $gib =~ ^[0-9]+$ ]] && [ "$gib" -ge 1 ] && [ "$gib" -le 64 ] || die "BENCH_BOMB_GIB must be 1 to 64"
command -v /usr/bin/python3 >/dev/null || die "needs /usr/bin/python3"
command -v curl >/dev/null || die "needs curl"

if [ -z "${REPRISE:-}" ]; then
    mkdir -p "$build"
    if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DREPRISE_BUILD_TESTS=OFF &&
        cmake --build "$build" -j2 --target reprise; } >"$build/bench-bomb-build.log" 2>&1; then
        tail -n 30 "$build/bench-bomb-build.log" >&2
        die "build failed (full log: $build/bench-bomb-build.log)"
    fi
    REPRISE=$build/reprise
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    if [ "$keep" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# ----- the proxy ----------------------------------------------------------------------------

echo "making the ${gib} GiB bomb's trailer (its CRC) ..."
/usr/bin/python3 tools/lib/upstream.py --bomb-gib "$gib" >"$tmp/up.port" 2>"$tmp/up.err" &
pids+=("$!")
for _ in $(seq 1 1200); do [ -s "$tmp/up.port" ] && break; sleep 0.1; done
[ -s "$tmp/up.port" ] || die "the upstream did not start: $(cat "$tmp/up.err")"
up="http://127.0.0.1:$(head -n1 "$tmp/up.port")"

# The latency client: GETs on one keep-alive connection for S seconds, one due every 1/RATE s
# (sent at once when late); each latency from when the request was due. Prints
# "count p50_ms p99_ms max_ms errors".
cat >"$tmp/client.py" <<'PY'
import socket, sys, time
port, secs, rate = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
f = s.makefile("rb")
lat, errors, i = [], 0, 0
start = time.monotonic()
n = int(secs * rate)
while i < n:
    due = start + i / rate
    now = time.monotonic()
    if now < due:
        time.sleep(due - now)
    s.sendall(b"GET /ok/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
    status = f.readline()
    clen = 0
    while True:
        h = f.readline()
        if h in (b"\r\n", b""):
            break
        if h.lower().startswith(b"content-length:"):
            clen = int(h.split(b":")[1])
    f.read(clen)
    lat.append((time.monotonic() - due) * 1000)
    if not status.startswith(b"HTTP/1.1 200"):
        errors += 1
    i += 1
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print("%d %.3f %.3f %.3f %d" % (len(lat), q(0.5), q(0.99), lat[-1], errors))
PY
# run_case NAME BOMBS ARGS...: a proxy with ARGS, the latency client for S seconds, with bombs
# fetched back to back meanwhile when BOMBS is 1. Appends a row to $tmp/rows.
: >"$tmp/rows"
run_case() {
    local bin=$1 name=$2 with_bombs=$3
    shift 3
    rm -f "$tmp/stop" "$tmp/px.out"
    : >"$tmp/bombs.txt"
    "$bin" record --listen 127.0.0.1:0 --upstream "$up" -o "$tmp/bomb.jsonl.gz" --no-redact \
        "$@" >"$tmp/px.out" 2>"$tmp/px.err" &
    local px=$!
    pids+=("$px")
    for _ in $(seq 1 600); do grep -q '^listening on ' "$tmp/px.out" 2>/dev/null && break; sleep 0.1; done
    local url
    url=$(sed -n 's/^listening on //p' "$tmp/px.out")
    [ -n "$url" ] || die "the proxy did not start: $(cat "$tmp/px.err")"
    local bomber=""
    if [ "$with_bombs" = 1 ]; then
        (
            for _ in $(seq 1 "$MAX_BOMBS"); do
                [ -e "$tmp/stop" ] && break
                curl -sS --max-time 600 -o /dev/null \
                    -w '%{http_code} %{size_download} %{time_total}\n' "$url/bomb" \
                    >>"$tmp/bombs.txt" 2>>"$tmp/bombs.err" || true
            done
        ) &
        bomber=$!
        pids+=("$bomber")
    fi
    echo "  $name, ${seconds} s ..."
    local n p50 p99 mx errs
    read -r n p50 p99 mx errs < <(/usr/bin/python3 "$tmp/client.py" "${url##*:}" "$seconds" "$rate")
    touch "$tmp/stop"
    [ -z "$bomber" ] || wait "$bomber" 2>/dev/null || true
    kill -INT "$px"
    wait "$px" 2>/dev/null || true
    [ "$errs" -eq 0 ] || die "the latency client saw $errs errors ($name)"
    # What the proxy made of it: exchanges recorded, and lost (any error) per its summary.
    local rec lost
    rec=$(sed -nE 's/.*recorded ([0-9]+) exchange.*/\1/p' "$tmp/px.err" | tail -n1)
    lost=$(sed -nE 's/.*, ([0-9]+) errors.*/\1/p' "$tmp/px.err" | tail -n1)
    local bombs=- each=-
    if [ "$with_bombs" = 1 ]; then
        bombs=$(grep -c '^200 ' "$tmp/bombs.txt" || true)
        [ "$bombs" -ge 1 ] || die "no bomb went through the proxy: $(head -n3 "$tmp/bombs.err" 2>/dev/null)"
        each=$(awk '$1==200 {s+=$3; n++} END {printf "%.2f", s/n}' "$tmp/bombs.txt")
        bomb_mb=$(awk '$1==200 {printf "%.1f", $2/1e6; exit}' "$tmp/bombs.txt")
    fi
    printf '  %-40s %8s %8s %8s %8s %6s %7s %8s %6s\n' "$name" "$n" "$p50" "$p99" "$mx" "$bombs" \
        "$each" "${rec:-?}" "${lost:-?}" >>"$tmp/rows"
}

# cases BIN LABEL: the three runs of one binary.
cases() {
    echo "  $2 ($1)"
    echo "  $2" >>"$tmp/rows"
    run_case "$1" "alone" 0
    run_case "$1" "beside ${gib} GiB gzip bombs" 1
    run_case "$1" "beside bombs, --max-body 64k" 1 --max-body 64k
}

echo "latency of a client sending $rate requests a second through reprise record:"
if [ -n "${REPRISE_BASELINE:-}" ]; then
    cases "$REPRISE_BASELINE" "baseline"
fi
cases "$REPRISE" "this build"

echo
echo "proxy: a second client's latency (ms) from when each request was due, ${seconds} s at"
echo "$rate a second each, through reprise record"
printf '  %-40s %8s %8s %8s %8s %6s %7s %8s %6s\n' "" requests p50 p99 max bombs "s/bomb" recorded errors
cat "$tmp/rows"
echo "  each bomb: ${bomb_mb:-?} MB on the wire, ${gib} GiB decoded; recorded cut at --max-body"
echo "  (32 MiB by default). recorded and errors are the proxy's summary: the latency client's"
echo "  requests and the bombs; an error is an exchange relayed but not recorded (a full"
echo "  recording queue: the recorder sheds load rather than hold the relay)"

# ----- capture ------------------------------------------------------------------------------

# One TCP connection in a pcap (Ethernet, IPv4): a GET and a 200 whose body is 10 GiB of zeros
# gzipped twice (Content-Encoding: gzip, gzip).
cat >"$tmp/pcap.py" <<'PY'
import struct, sys, zlib
BLOCK = 65536
comp = zlib.compressobj(9, zlib.DEFLATED, -15)
block = comp.compress(b"\0" * BLOCK) + comp.flush(zlib.Z_FULL_FLUSH)
final = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
gib = 10
count = gib * (1 << 30) // BLOCK
crc, zeros = 0, b"\0" * (1 << 20)
for _ in range(gib * 1024):
    crc = zlib.crc32(zeros, crc)
inner = (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + block * count + final +
         struct.pack("<II", crc, (gib << 30) & 0xFFFFFFFF))
c = zlib.compressobj(9, zlib.DEFLATED, 31)
outer = c.compress(inner) + c.flush()
req = b"GET /bomb HTTP/1.1\r\nHost: shop.test\r\n\r\n"
resp = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Encoding: gzip, gzip\r\nContent-Length: %d\r\n\r\n" % len(outer)) + outer
out = open(sys.argv[1], "wb")
out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
t = [1700000000, 0]
def pkt(src, dst, sport, dport, seq, ack, flags, data=b""):
    ip_len = 20 + 20 + len(data)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, 0, 0, 64, 6, 0, bytes(src), bytes(dst))
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    frame = b"\x00\x00\x00\x00\x00\x02" + b"\x00\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + tcp + data
    t[1] += 100
    out.write(struct.pack("<IIII", t[0], t[1], len(frame), len(frame)) + frame)
C, S, cp, sp = (10, 0, 0, 1), (10, 0, 0, 2), 40000, 80
cs, ss = 1000, 5000
pkt(C, S, cp, sp, cs, 0, 0x02); cs += 1
pkt(S, C, sp, cp, ss, cs, 0x12); ss += 1
pkt(C, S, cp, sp, cs, ss, 0x10)
pkt(C, S, cp, sp, cs, ss, 0x18, req); cs += len(req)
for i in range(0, len(resp), 1460):
    seg = resp[i:i + 1460]
    pkt(S, C, sp, cp, ss, cs, 0x18, seg); ss += len(seg)
pkt(S, C, sp, cp, ss, cs, 0x11); ss += 1
pkt(C, S, cp, sp, cs, ss, 0x11); cs += 1
pkt(S, C, sp, cp, ss, cs, 0x10)
out.close()
print(len(outer))
PY
echo
echo "making the double-gzip bomb pcap ..."
body_bytes=$(/usr/bin/python3 "$tmp/pcap.py" "$tmp/bomb.pcap")
pcap_bytes=$(stat -c %s "$tmp/bomb.pcap")
# capture_run ARGS...: sets cap_real, cap_cpu (user + system seconds) and stored.
capture_run() {
    local t code=0
    t=$( { TIMEFORMAT='%R %U %S'; time "$REPRISE" capture -r "$tmp/bomb.pcap" -o "$tmp/cap.jsonl.gz" \
        --no-redact "$@" >/dev/null 2>"$tmp/cap.err"; } 2>&1 ) || code=$?
    [ "$code" -eq 0 ] || die "capture failed (exit $code): $(head -n3 "$tmp/cap.err")"
    read -r cap_real cap_user cap_sys <<<"$t"
    cap_cpu=$(/usr/bin/python3 -c "import sys; print('%.3f' % (float(sys.argv[1]) + float(sys.argv[2])))" "$cap_user" "$cap_sys")
    stored=$(zcat "$tmp/cap.jsonl.gz" | tail -n +2 | /usr/bin/python3 -c "
import json, sys
for line in sys.stdin:
    r = json.loads(line)['response']
    print(len(r.get('body_base64', r.get('body', ''))), r.get('body_truncated', False), r.get('body_size', 'unknown'))
")
}
echo "capture: a ${pcap_bytes}-byte pcap (one response, ${body_bytes} bytes of body: 10 GiB of zeros gzipped twice)"
printf '  %-28s %8s %8s   %s\n' "" "wall s" "CPU s" "stored chars, truncated, body_size"
capture_run
printf '  %-28s %8s %8s   %s\n' "reprise capture" "$cap_real" "$cap_cpu" "$stored"
capture_run --max-body 64k
printf '  %-28s %8s %8s   %s\n' "reprise capture --max-body 64k" "$cap_real" "$cap_cpu" "$stored"
echo "  target: under 1 s (CPU is the figure to read on a loaded machine; the default run's"
echo "  time is mostly recording the 32 MiB it keeps: base64 and gzip)"
