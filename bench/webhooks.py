#!/usr/bin/env python3
"""Webhook benchmark (not a test): what fanning pushes out to endpoints costs. Run through
bench/webhooks.sh.

One release pfn on loopback (SQLite, or PostgreSQL with PFN_DATABASE_URL), loopback endpoints
allowed. Three receivers (bench/webhook_receivers.py: Python's ThreadingHTTPServer, answering
204 and noting when each message arrived) stand for three apps; they run in a process of their
own at `nice 10`, as they stand for other machines. Rounds, BENCH_ROUNDS of them
(default 4), push with webhooks off then on, then on then off (so the table's growth favours
neither):

- off: BENCH_ROWS (default 20,000) transactions pushed in batches of 1,000 with the three
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
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import pfnbench  # noqa: E402

BIN = sys.argv[1]
ROWS = int(os.environ.get("BENCH_ROWS", "20000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))
BATCH = 1000
HERE = os.path.dirname(os.path.abspath(__file__))


class Receivers:
    """The three receivers, in a process of their own (bench/webhook_receivers.py) at a lower
    priority: they stand for apps on other machines, so neither their CPU nor the interpreter
    lock they would share with the pushing client may count against pfn."""

    def __init__(self):
        self.proc = subprocess.Popen(
            ["nice", "-n", "10", sys.executable, os.path.join(HERE, "webhook_receivers.py"), "3"],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.urls = [self.proc.stdout.readline().strip() for _ in range(3)]
        port = self.urls[0].split(":")[2].split("/")[0]
        self.control = pfnbench.Client(f"http://127.0.0.1:{port}")

    def counts(self):
        return json.loads(self.control.request("GET", "/counts")[1])

    def delays(self):
        return json.loads(self.control.request("GET", "/delays")[1])

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


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


def cpu_seconds(pid):
    """User + system CPU time a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    env = dict(pfnbench.UNLIMITED, PFN_WEBHOOK_ALLOW_PRIVATE="1")
    if os.environ.get("PFN_DATABASE_URL"):
        env["PFN_DATABASE_URL"] = os.environ["PFN_DATABASE_URL"]
    server = pfnbench.Server(BIN, env=env, name="webhooks")
    receivers = Receivers()
    try:
        cookie = pfnbench.account([server])
        client = pfnbench.Client(server.base, {"Cookie": cookie})
        body, _ = client.json("POST", "/api/v1/accounts", {"name": "Current", "currency": "BHD", "kind": "checking"})
        account = body["account"]["id"]
        endpoints = []
        for url in receivers.urls:
            body, _ = client.json(
                "POST", "/api/v1/webhooks", {"url": url, "eventTypes": ["transaction.created"], "enabled": False}
            )
            endpoints.append(body["webhook"]["id"])

        def enable(on):
            for e in endpoints:
                client.json("PATCH", f"/api/v1/webhooks/{e}", {"enabled": on})

        off_rates, on_rates, delivery_rates = [], [], []
        cpu = {"off": 0.0, "on": 0.0, "drain": 0.0}
        during = []
        pid = server.proc.pid
        def off_round(round_):
            c0 = cpu_seconds(pid)
            off_rates.append(push(client, account, f"off{round_}", ROWS))
            cpu["off"] += cpu_seconds(pid) - c0

        def on_round(round_):
            enable(True)
            start = time.perf_counter()
            c0 = cpu_seconds(pid)
            on_rates.append(push(client, account, f"on{round_}", ROWS))
            c1 = cpu_seconds(pid)
            during.append((sum(receivers.counts()) - 3 * round_ * ROWS) / (3 * ROWS))
            want = (round_ + 1) * ROWS
            deadline = time.time() + 600
            while any(c < want for c in receivers.counts()):
                if time.time() > deadline:
                    raise SystemExit(f"messages missing: {receivers.counts()} of {want} each")
                time.sleep(0.05)
            delivery_rates.append(3 * ROWS / (time.perf_counter() - start))
            cpu["on"] += c1 - c0
            cpu["drain"] += cpu_seconds(pid) - c1
            enable(False)

        # Off then on, then on then off: the table grows by the same rows before either.
        for round_ in range(ROUNDS):
            for phase in (off_round, on_round) if round_ % 2 == 0 else (on_round, off_round):
                phase(round_)
        delays = receivers.delays()
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
        rows = ROUNDS * ROWS
        print(
            f"\npfn's CPU time: pushing with webhooks off {cpu['off'] * 1e6 / rows:.0f} µs a row, "
            f"on {cpu['on'] * 1e6 / rows:.0f} µs a row (deliveries made meanwhile included); "
            f"all of pushing and delivering with webhooks on "
            f"{(cpu['on'] + cpu['drain']) * 1e6 / (3 * rows):.0f} µs a message; "
            f"messages delivered while pushing: {pfnbench.median(during) * 100:.0f} %"
        )
    finally:
        receivers.stop()
        server.stop()


if __name__ == "__main__":
    main()
