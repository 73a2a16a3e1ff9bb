#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A stand-in for a chat's incoming webhook (Slack's, or a CI API) on loopback, for the tests.
#   webhook.py DIR [STATUS [ANSWER]]
# Listens on 127.0.0.1 on a free port, prints "http://127.0.0.1:PORT" on its first line, and
# writes each request it gets to DIR/N.json: {"method", "path", "headers", "body"} (the body as
# text). Answers STATUS (default 200) with the body "ok", or "no_service" for any other status,
# or with ANSWER when given (as application/json when it starts with "{"); a STATUS of 204
# answers no body.
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

out_dir = sys.argv[1]
status = int(sys.argv[2]) if len(sys.argv) > 2 else 200
given = sys.argv[3].encode() if len(sys.argv) > 3 else None
count = 0


class Handler(BaseHTTPRequestHandler):
    def _handle(self):
        global count
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        count += 1
        record = {"method": self.command, "path": self.path,
                  "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        tmp = os.path.join(out_dir, f".{count}.json")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(out_dir, f"{count}.json"))  # whole, or not there
        answer = given if given is not None else b"ok" if status == 200 else b"no_service"
        if status == 204:
            answer = b""
        self.send_response(status)
        json_answer = answer.startswith(b"{")
        self.send_header("Content-Type", "application/json" if json_answer else "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_POST = _handle
    do_GET = _handle

    def log_message(self, fmt, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Handler)
print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
