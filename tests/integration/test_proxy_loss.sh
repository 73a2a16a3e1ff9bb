#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Silent loss (issue 12, item 2): every exchange the proxy relays is recorded or counted as an
# error with its reason. 1,000 requests over keep-alive connections, a mix of valid ones (GET,
# POST with a body, HEAD), ones the recorder cannot read (more than 256 headers, a URL past
# 64 KiB) and bad framing (Content-Length with Transfer-Encoding, refused with 400 and never
# relayed). An upstream of our own (python3, no header or URL limits) counts what it answered;
# the counts must reconcile exactly: recorded + errors == answered upstream, every valid request
# is in the recording, and each unreadable one has its log line. Everything on 127.0.0.1.
set -euo pipefail
: "${REPRISE:?set REPRISE to the reprise binary}"
src=${REPRISE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
source "$src/tools/lib/proxy.sh"

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

source "$src/tools/lib/check.sh"
need jq zcat /usr/bin/python3

# The upstream: keep-alive HTTP/1.1 with no limits; one line in answered.log per answer.
cat >"$tmp/upstream.py" <<'PY'
import socket, sys, threading
log = open(sys.argv[1], "a", buffering=1)
lock = threading.Lock()
def serve(c):
    f = c.makefile("rb")
    try:
        while True:
            line = f.readline(1 << 20)
            if not line:
                return
            method, target = line.split(b" ")[:2]
            clen = 0
            while True:
                h = f.readline(1 << 20)
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.partition(b":")
                if k.strip().lower() == b"content-length":
                    clen = int(v.strip())
            if clen:
                f.read(clen)
            body = b"ok " + target[:40]
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body)
            c.sendall(head if method == b"HEAD" else head + body)
            with lock:
                log.write("%s %s\n" % (method.decode(), target[:60].decode()))
    except (OSError, ValueError):
        return
    finally:
        c.close()
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY

# The client: 1,000 requests, 50 per keep-alive connection, 4 connections at a time.
cat >"$tmp/client.py" <<'PY'
import socket, sys, threading, json
port = int(sys.argv[1])
N, PER = 1000, 50
counts = {"valid": 0, "unreadable": 0, "badframing": 0, "answered": 0, "refused": 0, "other": 0}
lock = threading.Lock()
def request(i):
    kind = i % 10
    if kind in (0, 1, 2, 3):
        return "valid", b"GET /ok/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i, False
    if kind == 4:
        return "valid", b"POST /ok/%d HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" % i, False
    if kind == 5:
        return "valid", b"HEAD /ok/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i, True
    if kind == 6:
        hs = b"".join(b"X-H%d: v\r\n" % j for j in range(300))
        return "unreadable", b"GET /many/%d HTTP/1.1\r\nHost: x\r\n" % i + hs + b"\r\n", False
    if kind == 7:
        return "unreadable", b"GET /long/%d?%s HTTP/1.1\r\nHost: x\r\n\r\n" % (i, b"a" * 70000), False
    if kind == 8:
        # A HEAD the recorder cannot read: its answer has a Content-Length and no body.
        hs = b"".join(b"X-H%d: v\r\n" % j for j in range(300))
        return "unreadable", b"HEAD /many/%d HTTP/1.1\r\nHost: x\r\n" % i + hs + b"\r\n", True
    return "badframing", (b"POST /bad/%d HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" % i), False
def read_response(f, head_only):
    status = f.readline()
    if not status:
        return None, True
    clen, close = 0, False
    while True:
        h = f.readline()
        if h in (b"\r\n", b""):
            break
        k, _, v = h.partition(b":")
        if k.strip().lower() == b"content-length":
            clen = int(v.strip())
        if k.strip().lower() == b"connection" and v.strip().lower() == b"close":
            close = True
    if clen and not head_only:
        f.read(clen)
    return int(status.split(b" ")[1]), close
def conn_worker(start):
    s = f = None
    for i in range(start, start + PER):
        if s is None:
            s = socket.create_connection(("127.0.0.1", port))
            f = s.makefile("rb")
        kind, data, head_only = request(i)
        s.sendall(data)
        st, close = read_response(f, head_only)
        with lock:
            counts[kind] += 1
            if st == 200:
                counts["answered"] += 1
            elif st == 400 and kind == "badframing":
                counts["refused"] += 1
            else:
                counts["other"] += 1
        if close or st is None:
            f.close(); s.close(); s = None
    if s:
        f.close(); s.close()
sem = threading.Semaphore(4)
def run(start):
    with sem:
        conn_worker(start)
ts = [threading.Thread(target=run, args=(k,)) for k in range(0, N, PER)]
for t in ts: t.start()
for t in ts: t.join()
print(json.dumps(counts))
PY

/usr/bin/python3 "$tmp/upstream.py" "$tmp/answered.log" >"$tmp/up.port" 2>"$tmp/up.err" &
pids+=("$!")
up_ready() { [ -s "$tmp/up.port" ]; }
wait_for 30 up_ready || { echo "the upstream did not start: $(cat "$tmp/up.err")"; exit 1; }
up_port=$(head -n1 "$tmp/up.port")

rec=$tmp/loss.jsonl.gz
px_start "$tmp/px" --upstream "http://127.0.0.1:$up_port" -o "$rec" --no-redact
port=${PX_URL##*:}
timeout 300 /usr/bin/python3 "$tmp/client.py" "$port" >"$tmp/client.json"
px_stop INT
cat "$tmp/client.json"
tail -n1 "$tmp/px.stderr"

answered=$(grep -c . "$tmp/answered.log")
in_file=$(zcat "$rec" | tail -n +2 | grep -c . || true)
sum=$(grep '^reprise: recorded ' "$tmp/px.stderr" | tail -n1)
s_recorded=$(sed -E 's/^reprise: recorded ([0-9]+) .*/\1/' <<<"$sum")
s_errors=$(sed -E 's/.* ([0-9]+) errors.*/\1/' <<<"$sum")
s_unreadable=$(sed -nE 's/.* ([0-9]+) unreadable.*/\1/p' <<<"$sum")
lines=$(grep -c ' not recorded: HTTP ' "$tmp/px.stderr" || true)

check "SIGINT stops the proxy with exit 0 (exit $code)" test "$code" -eq 0
check "the client sent 1000 requests" test "$(jq '.valid + .unreadable + .badframing' "$tmp/client.json")" -eq 1000
check "every relayed request was answered by the upstream" test "$(jq .answered "$tmp/client.json")" -eq "$answered"
check "bad framing is refused with 400 and not relayed" test "$(jq .refused "$tmp/client.json")" -eq 100
check "no other answer" test "$(jq .other "$tmp/client.json")" -eq 0
check "the upstream answered 900 ($answered)" test "$answered" -eq 900
check "the summary's recorded is the file's ($s_recorded, $in_file)" test "$s_recorded" -eq "$in_file"
check "recorded + errors == relayed ($s_recorded + $s_errors == $answered)" test $((s_recorded + s_errors)) -eq "$answered"
check "every valid request is recorded (600)" test "$(zcat "$rec" | tail -n +2 | jq -r .request.url | grep -c '/ok/')" -eq 600
check "the recording has nothing else ($in_file)" test "$in_file" -eq 600
check "the summary gives the reason: 300 unreadable ($s_unreadable)" test "${s_unreadable:-0}" -eq 300
check "each unreadable exchange has its log line with why ($lines)" test "$lines" -eq 300
check "... naming the header cap" test "$(grep -c 'not recorded: HTTP request: more than RP_MAX_HEADER_COUNT headers' "$tmp/px.stderr")" -eq 200
check "... and the URL cap" test "$(grep -c 'not recorded: HTTP request: request target longer than RP_MAX_URL_BYTES' "$tmp/px.stderr")" -eq 100
check "every recorded answer is its request's (the body names the target)" test "$(zcat "$rec" | tail -n +2 | jq -r 'select(.request.method != "HEAD") | select(("ok " + (.request.url | sub("^http://[^/]*"; ""))) != .response.body) | .request.url' | grep -c . || true)" -eq 0
check "HEAD answers are recorded without a body" test "$(zcat "$rec" | tail -n +2 | jq -r 'select(.request.method == "HEAD") | .response.body // ""' | grep -c . || true)" -eq 0

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
