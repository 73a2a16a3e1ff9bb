# SPDX-License-Identifier: MIT
"""A small keep-alive HTTP/1.1 upstream for the recorder's fault tests and benchmarks, on
127.0.0.1 only, with no header or URL limits of its own. Prints its port on the first line of
stdout, then serves until killed.

    upstream.py [--log FILE] [--bomb-gib G]

Paths:
    /big/N       N bytes of lowercase letters (pseudo-random, badly compressible), 200
    /bomb        G GiB of zeros as one gzip member (Content-Encoding: gzip), made while it is
                 sent: one raw deflate block of 64 KiB of zeros ended by a full flush (it needs
                 no history) is repeated, then the final block and the trailer. Nothing of the
                 decoded size is ever held or stored.
    /slow/MS     "ok" after MS milliseconds
    anything     "ok TARGET" (the first 40 bytes of the target)
HEAD gets the headers alone. With --log, one line "METHOD TARGET" per answer (the target cut to
60 bytes), written once the answer went out.
"""
import argparse
import random
import socket
import threading
import time
import zlib

BLOCK = 65536


def bomb_parts(gib):
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(b"\0" * BLOCK) + comp.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    count = gib * (1 << 30) // BLOCK
    crc = 0
    zeros = b"\0" * (1 << 20)
    for _ in range(gib * 1024):
        crc = zlib.crc32(zeros, crc)
    size = gib * (1 << 30)
    trailer = crc.to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little")
    head = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
    length = len(head) + count * len(block) + len(final) + len(trailer)
    return head, block, count, final + trailer, length


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log")
    ap.add_argument("--bomb-gib", type=int, default=0)
    args = ap.parse_args()
    log = open(args.log, "a", buffering=1) if args.log else None
    lock = threading.Lock()
    bomb = bomb_parts(args.bomb_gib) if args.bomb_gib else None

    def answer(c, method, target):
        path = target.split(b"?")[0]
        if path.startswith(b"/big/"):
            n = int(path[5:])
            rnd = random.Random(target)
            body = bytes(rnd.randrange(97, 123) for _ in range(n))
        elif path == b"/bomb" and bomb:
            head, block, count, tail, length = bomb
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                      b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % length)
            if method == b"HEAD":
                return
            c.sendall(head)
            many = block * 256
            left = count
            while left >= 256:
                c.sendall(many)
                left -= 256
            c.sendall(block * left + tail)
            return
        elif path.startswith(b"/slow/"):
            time.sleep(int(path[6:]) / 1000.0)
            body = b"ok"
        else:
            body = b"ok " + target[:40]
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body)
        c.sendall(head if method == b"HEAD" else head + body)

    def serve(c):
        f = c.makefile("rb")
        try:
            while True:
                line = f.readline(1 << 20)
                if not line:
                    return
                parts = line.split(b" ")
                if len(parts) < 3:
                    return
                method, target = parts[0], parts[1]
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
                answer(c, method, target)
                if log:
                    with lock:
                        log.write("%s %s\n" % (method.decode(), target[:60].decode("latin-1")))
        except (OSError, ValueError):
            return
        finally:
            c.close()

    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(128)
    print(s.getsockname()[1], flush=True)
    while True:
        c, _ = s.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
