#!/usr/bin/env python3
"""Export benchmark (not a test): does `GET /api/v1/export` keep the server's memory flat as a
workspace's history grows? Run through bench/export.sh.

One release pfn on loopback (SQLite, or PostgreSQL with PFN_DATABASE_URL). The benchmark user
pushes transactions through the API in batches of 1,000 until the workspace holds each size of
BENCH_SIZES (default 20000,200000). At each size: the server's peak RSS is reset
(/proc/<pid>/clear_refs), one export is downloaded (read as it arrives, in 64 KiB reads, and
checked with Python's zipfile), and the peak RSS during the export is read back (VmHWM). Prints
one row per size: rows, archive bytes, seconds, rows/s, RSS before, peak RSS during.
"""
import io
import os
import sys
import time
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
import pfnbench  # noqa: E402

BIN = sys.argv[1]
SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "20000,200000").split(",")]
BATCH = 1000


def status_kb(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise SystemExit(f"no {field} for {pid}")


def push(client, account, start, count):
    for first in range(start, start + count, BATCH):
        items = [
            {
                "accountId": account,
                "externalId": f"tx-{i:07d}",
                "amount": {"amount": f"-{i % 997}.{i % 1000:03d}", "currency": "BHD"},
                "description": f"Purchase {i} at a shop with a longish name",
                "bookedAt": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00Z",
                "category": ["groceries", "dining", "transport", "bills"][i % 4],
                "merchant": f"Merchant {i % 500}",
            }
            for i in range(first, min(first + BATCH, start + count))
        ]
        client.json("POST", "/api/v1/transactions", {"transactions": items})


def main():
    env = dict(pfnbench.UNLIMITED)
    if os.environ.get("PFN_DATABASE_URL"):
        env["PFN_DATABASE_URL"] = os.environ["PFN_DATABASE_URL"]
    server = pfnbench.Server(BIN, env=env, name="export")
    try:
        cookie = pfnbench.account([server])
        client = pfnbench.Client(server.base, {"Cookie": cookie})
        body, _ = client.json("POST", "/api/v1/accounts", {"name": "Current", "currency": "BHD", "kind": "checking"})
        account = body["account"]["id"]
        pid = server.proc.pid
        print(f"# {pfnbench.machine()}; {'PostgreSQL' if 'PFN_DATABASE_URL' in env else 'SQLite'}")
        print("| transactions | archive | seconds | rows/s | RSS before | peak RSS during export |")
        print("|---:|---:|---:|---:|---:|---:|")
        held = 0
        for size in SIZES:
            push(client, account, held, size - held)
            held = size
            # The sign-in of the benchmark is minutes old by now: confirm it (step-up).
            client.json("POST", "/api/v1/auth/reauth", {"password": pfnbench.PASSWORD})
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
            before = status_kb(pid, "VmRSS")
            t0 = time.perf_counter()
            client.conn.request("GET", "/api/v1/export", headers={"Cookie": cookie})
            res = client.conn.getresponse()
            if res.status != 200:
                raise SystemExit(f"export: {res.status} {res.read()[:300]!r}")
            archive = io.BytesIO()
            while chunk := res.read(64 * 1024):
                archive.write(chunk)
            secs = time.perf_counter() - t0
            peak = status_kb(pid, "VmHWM")
            z = zipfile.ZipFile(archive)
            if z.testzip() is not None:
                raise SystemExit("the archive has a bad entry")
            rows = sum(
                1 for n in z.namelist() if n.endswith("transactions.csv") for _ in z.open(n)
            ) - 1
            if rows != size:
                raise SystemExit(f"the archive holds {rows} transactions, not {size}")
            mib = lambda kb: f"{kb / 1024:.1f} MiB"  # noqa: E731
            print(f"| {size:,} | {archive.tell() / 2**20:.1f} MiB | {secs:.2f} | {size / secs:,.0f} | {mib(before)} | {mib(peak)} |")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
