#!/usr/bin/env python3
"""Webhook receivers for bench/webhooks.py (not a test): N loopback HTTP servers that answer
204 to every POST and note, once per `webhook-id`, the delay from the event's `timestamp` to
its arrival. Prints each server's URL on a line, then serves until killed. `GET /counts` (on
any of them) answers the number of distinct messages each has seen, `GET /delays` every delay
in milliseconds."""
import json
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
SEEN = []  # per receiver: webhook-id -> delay in ms


def handler(index):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["content-length"]))
            now = time.time()
            at = datetime.fromisoformat(json.loads(body)["timestamp"]).timestamp()
            with LOCK:
                SEEN[index].setdefault(self.headers["webhook-id"], (now - at) * 1000)
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_GET(self):
            with LOCK:
                if self.path == "/counts":
                    answer = [len(s) for s in SEEN]
                else:
                    answer = [d for s in SEEN for d in s.values()]
            raw = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args):
            pass

    return Handler


def main():
    servers = []
    for i in range(int(sys.argv[1])):
        SEEN.append({})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler(i))
        server.daemon_threads = True
        servers.append(server)
        print(f"http://127.0.0.1:{server.server_address[1]}/hook", flush=True)
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
