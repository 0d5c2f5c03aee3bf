#!/usr/bin/env python3
"""Webhook benchmark (not a test): what fanning pushes out to endpoints costs. Run through
bench/webhooks.sh.

One release pfn on loopback (SQLite, or PostgreSQL with PFN_DATABASE_URL), loopback endpoints
allowed. Three receivers (Python's ThreadingHTTPServer, answering 204 and noting when each
message arrived) stand for three apps. Rounds alternate, BENCH_ROUNDS times (default 2):

- off: BENCH_ROWS (default 10,000) transactions pushed in batches of 1,000 with the three
  endpoints disabled (no events are written);
- on: as many pushed with the three endpoints enabled for `transaction.created`; then the
  benchmark waits until each receiver has every message.

Prints the push rate with webhooks off and on (medians over the rounds) and the drop, the
deliveries per second (3 × rows over the time from the round's first push to its last message)
and the delay from the event (its `timestamp`: the writing transaction) to its arrival, p50 and
p99 over every message.
"""
import json
import os
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(__file__))
import pfnbench  # noqa: E402

BIN = sys.argv[1]
ROWS = int(os.environ.get("BENCH_ROWS", "10000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
BATCH = 1000


class Receiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.seen = {}  # webhook-id -> delay in ms
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                now = time.time()
                event = json.loads(body)
                at = datetime.fromisoformat(event["timestamp"]).timestamp()
                with outer.lock:
                    outer.seen.setdefault(self.headers["webhook-id"], (now - at) * 1000)
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def count(self):
        with self.lock:
            return len(self.seen)


def push(client, account, tag, rows):
    t0 = time.perf_counter()
    for first in range(0, rows, BATCH):
        items = [
            {
                "accountId": account,
                "externalId": f"{tag}-{i:07d}",
                "amount": {"amount": f"-{i % 997}.{i % 1000:03d}", "currency": "BHD"},
                "description": f"Purchase {i} at a shop with a longish name",
                "bookedAt": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00Z",
                "category": ["groceries", "dining", "transport", "bills"][i % 4],
            }
            for i in range(first, min(first + BATCH, rows))
        ]
        client.json("POST", "/api/v1/transactions", {"transactions": items})
    return rows / (time.perf_counter() - t0)


def main():
    env = dict(pfnbench.UNLIMITED, PFN_WEBHOOK_ALLOW_PRIVATE="1")
    if os.environ.get("PFN_DATABASE_URL"):
        env["PFN_DATABASE_URL"] = os.environ["PFN_DATABASE_URL"]
    server = pfnbench.Server(BIN, env=env, name="webhooks")
    receivers = [Receiver() for _ in range(3)]
    try:
        cookie = pfnbench.account([server])
        client = pfnbench.Client(server.base, {"Cookie": cookie})
        body, _ = client.json("POST", "/api/v1/accounts", {"name": "Current", "currency": "BHD", "kind": "checking"})
        account = body["account"]["id"]
        endpoints = []
        for r in receivers:
            body, _ = client.json(
                "POST", "/api/v1/webhooks", {"url": r.url, "eventTypes": ["transaction.created"], "enabled": False}
            )
            endpoints.append(body["webhook"]["id"])

        def enable(on):
            for e in endpoints:
                client.json("PATCH", f"/api/v1/webhooks/{e}", {"enabled": on})

        off_rates, on_rates, delivery_rates = [], [], []
        for round_ in range(ROUNDS):
            off_rates.append(push(client, account, f"off{round_}", ROWS))
            enable(True)
            start = time.perf_counter()
            on_rates.append(push(client, account, f"on{round_}", ROWS))
            want = (round_ + 1) * ROWS
            deadline = time.time() + 600
            while any(r.count() < want for r in receivers):
                if time.time() > deadline:
                    raise SystemExit(f"messages missing: {[r.count() for r in receivers]} of {want} each")
                time.sleep(0.05)
            delivery_rates.append(3 * ROWS / (time.perf_counter() - start))
            enable(False)
        delays = [d for r in receivers for d in r.seen.values()]
        off, on = pfnbench.median(off_rates), pfnbench.median(on_rates)
        print(f"# {pfnbench.machine()}; {'PostgreSQL' if 'PFN_DATABASE_URL' in env else 'SQLite'}; "
              f"{ROUNDS} rounds of {ROWS:,} rows in batches of {BATCH:,}, 3 endpoints")
        print("| push, webhooks off | push, webhooks on (3 endpoints) | drop | deliveries/s | delay p50 | delay p99 |")
        print("|---:|---:|---:|---:|---:|---:|")
        print(
            f"| {off:,.0f} rows/s | {on:,.0f} rows/s | {(1 - on / off) * 100:.1f} % | "
            f"{pfnbench.median(delivery_rates):,.0f} | {pfnbench.percentile(delays, 50):,.0f} ms | "
            f"{pfnbench.percentile(delays, 99):,.0f} ms |"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
