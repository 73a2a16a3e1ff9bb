# SPDX-License-Identifier: MIT
# A crowd of clients for the proxy's file-limit test: opens N connections to 127.0.0.1:PORT at
# once, sends one GET PATH on each, and keeps every connection open until each has its answer
# (or the proxy closed it, or SECONDS passed), so they all hold their place together. Prints
# one line per outcome, "STATUS COUNT" sorted, where STATUS is the HTTP status or "none".
#
#   python3 crowd.py PORT N PATH SECONDS
import resource
import selectors
import socket
import sys
import time

port, n, path, seconds = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft != resource.RLIM_INFINITY and soft < n + 64:
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (path, port)).encode()
sel = selectors.DefaultSelector()
state = {}  # socket -> [bytes to send, bytes received, status or None, done]
for _ in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    state[s] = [req, b"", None, False]
    sel.register(s, selectors.EVENT_WRITE)


def answered(buf):
    """The status once a whole answer (headers and Content-Length body) is in, else None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1").split("\r\n")
    length = 0
    for h in head[1:]:
        name, _, value = h.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if len(buf) - end - 4 < length:
        return None
    return head[0].split(" ")[1]


deadline = time.monotonic() + seconds
left = n
while left and time.monotonic() < deadline:
    for key, ev in sel.select(timeout=0.5):
        s = key.fileobj
        st = state[s]
        try:
            if ev & selectors.EVENT_WRITE and st[0]:
                k = s.send(st[0])
                st[0] = st[0][k:]
                if not st[0]:
                    sel.modify(s, selectors.EVENT_READ)
                continue
            data = s.recv(65536)
        except (ConnectionError, OSError):
            data = b""
        if data:
            st[1] += data
            st[2] = answered(st[1])
            if st[2] is None:
                continue
        # Answered (the connection stays open, holding its place) or closed by the proxy.
        sel.unregister(s)
        st[3] = True
        left -= 1

counts = {}
for s, st in state.items():
    key = st[2] or "none"
    counts[key] = counts.get(key, 0) + 1
    s.close()
for k in sorted(counts):
    print(k, counts[k])
