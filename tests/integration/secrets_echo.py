# SPDX-License-Identifier: MIT
# The upstream of test_secrets.sh: a tiny HTTP/1.1 server on 127.0.0.1 that gives a session
# cookie at log-in and echoes what it is sent as JSON. With the file named by DRIFT present,
# it drifts: the echoed card fields come back as JSON numbers and amount as a string, so that a
# replay has mismatches on the very fields that hold secrets.
#
#   python3 secrets_echo.py PORTFILE DRIFTFILE   (prints nothing; writes its port to PORTFILE)
import json
import os
import secrets
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

portfile, driftfile = sys.argv[1], sys.argv[2]


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, obj, cookie=None):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.reply({"user": "ada", "plan": "pro"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode("utf-8", "replace")
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("application/json"):
            got = json.loads(raw or "{}")
        else:
            got = dict(urllib.parse.parse_qsl(raw))
        drift = os.path.exists(driftfile)
        if self.path.endswith("/login"):
            sid = "sid" + secrets.token_hex(12)
            self.reply({"ok": True, "user": got.get("email")}, cookie="sid=%s; Path=/; HttpOnly" % sid)
            return
        if drift:
            card = got.get("card") if isinstance(got.get("card"), dict) else got
            for k in ("number", "cvv", "card", "cvc"):
                v = card.get(k)
                if isinstance(v, str) and v.replace(" ", "").isdigit():
                    card[k] = int(v.replace(" ", ""))
        self.reply({"received": got, "amount": "12" if drift else 12, "status": "paid"})


srv = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
