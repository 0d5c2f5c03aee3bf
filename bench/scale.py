#!/usr/bin/env python3
"""Data at scale (not a test): one release pfn, one workspace grown to each size in
BENCH_SIZES (default 10000 100000 1000000 rows) by pushing 1,000-row batches through the API
with a key, and at each size every insight, list and budget route timed: p50 and p99 of
BENCH_SAMPLES sequential requests (default 40) on a kept-alive connection, after a warm-up.
Then (unless BENCH_WORKSPACES=0) a second server with BENCH_WORKSPACES workspaces (default
1000) of 1,000 rows each, the same routes timed on one of them. The server's peak RSS
(VmHWM) is read after each size.

The rows: three BHD accounts, booked uniformly over the last three years, 12 categories of
uneven frequency (one rare), 40 merchants; a tenth of them money in. Budgets: one per
category for this month.

Database: SQLite in a temporary directory, or PostgreSQL with BENCH_POSTGRES=1 (a fresh
database on 127.0.0.1:5432, user postgres, dropped after the run unless BENCH_KEEP=1). Writes
a Markdown table to stdout and, with an output path argument, <out>.csv and <out>.svg (p50 per
route against rows, log scale).
Usage: bench/scale.py <pfn binary> [<out path without extension>]. Run through bench/scale.sh.
"""
import csv
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import pfnbench as pb  # noqa: E402

# bench/compare_pushes.py imports this module for its workspace and databases
BIN = sys.argv[1] if __name__ == "__main__" else None
OUT = sys.argv[2] if __name__ == "__main__" and len(sys.argv) > 2 else None
SIZES = [int(x) for x in os.environ.get("BENCH_SIZES", "10000 100000 1000000").split()]
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "40"))
WARMUP = 3  # requests of each route before its SAMPLES
WORKSPACES = int(os.environ.get("BENCH_WORKSPACES", "1000"))
POSTGRES = os.environ.get("BENCH_POSTGRES") == "1"
BATCH = 1000
# batches of this month's rows pushed at each size, after the back-fill (at most 30 % of the
# rows): fifty, so that the rate holds whole WAL cycles on SQLite, where the commit that ends
# one waits for a checkpoint about every twenty batches
RECENT = int(os.environ.get("BENCH_RECENT_BATCHES", "50"))
DAY = pb.DAY
NOW = int(time.time())
# the server's settings: no sign-in limits, and a key rate limit too high to reach
SERVER_ENV = dict(pb.UNLIMITED, PFN_KEY_RATE_LIMIT_PER_MIN="1000000000")
CATEGORIES = pb.CATEGORIES


def recent_batches(size):
    """How many of RECENT batches of this month's rows end the growth to `size` rows: at most
    30 % of them (3 batches at 10,000)."""
    return min(RECENT, size * 3 // 10 // BATCH)


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def day(ts):
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def database_env(name):
    if not POSTGRES:
        return {}
    db = f"pfn_scale_{name}_{uuid.uuid4().hex[:8]}"
    subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-c", f"create database {db}"], check=True)
    return {"PFN_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}"}


def drop_database(db_env):
    """PostgreSQL: drops the run's database once its server has stopped (~1.5 GB at 1M rows),
    unless BENCH_KEEP is set (until 2026-12-06 every run left its databases behind)."""
    url = db_env.get("PFN_DATABASE_URL")
    if url and not os.environ.get("BENCH_KEEP"):
        name = url.rsplit("/", 1)[1]
        subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-c", f"drop database if exists {name}"],
                       check=True)


def analyze(db_env, data_dir=None):
    """Before the routes are timed, the database as it is a while after an import.
    PostgreSQL: refresh the planner's statistics and the visibility map, as autovacuum does
    within about a minute of a large import (the bench grows faster than that; plans made on
    stale counts would time the import, not the routes, and an index-only scan of pages not
    marked all-visible reads the table as well; `analyze` alone until 2026-12-06T14:30Z); then
    a checkpoint, which writes out what the import and the vacuum left in the buffers. SQLite
    (`data_dir`): copy the WAL into the database, as pfn's checkpointer does beside the
    requests after a write. Until 2026-12-07T09:30Z the routes were timed while the
    database still wrote those out, which at 1M rows made some of them up to 2.5 times as slow on 2 cores
    (docs/benchmarks.md). SQLite plans by rule and keeps no statistics."""
    url = db_env.get("PFN_DATABASE_URL")
    if url:
        subprocess.run(["psql", "-q", url, "-c", "vacuum (analyze)"], check=True)
        subprocess.run(["psql", "-q", url, "-c", "checkpoint"], check=True)
    elif data_dir:
        # SQLite answers `busy` at once while another connection (pfn's checkpointer) copies
        conn = sqlite3.connect(os.path.join(data_dir, "pfn.db"), timeout=60)
        try:
            deadline = time.monotonic() + 120
            while True:
                busy, wal, copied = conn.execute("pragma wal_checkpoint(full)").fetchone()
                if not busy and wal == copied:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"the WAL was not copied into the database: {busy} {wal} {copied}")
                time.sleep(0.1)
        finally:
            conn.close()


def peak_rss_mb(server):
    for line in open(f"/proc/{server.proc.pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Workspace:
    """A workspace with three BHD accounts, a key that can push and read, and budgets."""

    def __init__(self, server, cookie, workspace_id=None):
        self.server = server
        body = {"name": "scale", "expiresInDays": None,
                "scopes": ["write:transactions", "write:accounts", "write:budgets", "read:insights"]}
        if workspace_id:
            body["workspaceId"] = workspace_id
        c = pb.Client(server.base, {"Cookie": cookie})
        created, _ = c.json("POST", "/api/v1/keys", body)
        self.key = pb.Client(server.base, {"Authorization": f"Bearer {created['secret']}"})
        self.accounts = [self.key.json("POST", "/api/v1/accounts",
                                       {"name": f"Account {i}", "currency": "BHD", "kind": "cash"})[0]["account"]["id"]
                         for i in range(3)]
        month = time.strftime("%Y-%m", time.gmtime(NOW))
        for cat in CATEGORIES:
            self.key.json("POST", "/api/v1/budgets",
                          {"category": cat, "month": month, "limit": {"amount": "500.000", "currency": "BHD"}})
        self.gen = pb.Rows(NOW)

    @property
    def rows(self):
        return self.gen.count

    def batch(self, n, recent=False):
        items = []
        for _ in range(n):
            i, minor, at, category, merchant = self.gen.next(recent)
            items.append({
                "accountId": self.accounts[i % 3],
                "externalId": f"row-{i}",
                "amount": {"amount": f"{minor / 1000:.3f}", "currency": "BHD"},
                "description": f"Card purchase {i}",
                "bookedAt": iso(at),
                "category": category,
                "merchant": merchant,
            })
        return {"transactions": items}

    def grow_to(self, rows, recent=False):
        """Pushes up to `rows` (booked any time in the three years, or in the last 30 days);
        returns rows per second over the time in requests: from sending a body encoded
        beforehand to reading the whole answer (until 2026-12-06 the time also held this
        script's own JSON encoding of the body, ~1.7 ms a batch, and decoding of the answer)."""
        spent, pushed = 0.0, 0
        while self.rows < rows:
            n, seconds = self.push(min(BATCH, rows - self.rows), recent)
            spent += seconds
            pushed += n
        return pushed / spent if spent else float("nan")

    def push(self, n, recent=False):
        """One push of `n` rows; returns (rows, seconds in the request)."""
        body = self.batch(n, recent)
        data = json.dumps(body).encode()
        t0 = time.perf_counter()
        status, raw, _ = self.key.request("POST", "/api/v1/transactions", data)
        seconds = time.perf_counter() - t0
        if status != 200:
            raise SystemExit(f"POST /api/v1/transactions: {status} {raw[:300]!r}")
        return n, seconds

    def deep_cursor(self):
        """The cursor of the page 10,000 rows deep (the list is newest first)."""
        cursor, seen = None, 0
        while seen < min(10_000, self.rows - 200):
            path = "/api/v1/transactions?limit=200" + (f"&cursor={cursor}" if cursor else "")
            page, _ = self.key.json("GET", path)
            cursor, seen = page["nextCursor"], seen + len(page["items"])
        return cursor

    def routes(self):
        a = self.accounts[0]
        year = f"from={day(NOW - 365 * DAY)}&to={day(NOW + DAY)}"
        month = f"from={day(NOW - 30 * DAY)}&to={day(NOW + DAY)}"
        out = [
            ("spending, 1 year", f"/api/v1/insights/spending?{year}"),
            ("spending, 1 year, one account", f"/api/v1/insights/spending?{year}&accountId={a}"),
            ("spending, 3 years", f"/api/v1/insights/spending?from={day(NOW - 3 * 365 * DAY + DAY)}"),
            ("spending, last 30 days (default)", "/api/v1/insights/spending"),
            ("income, 1 year", f"/api/v1/insights/income?{year}"),
            ("balance history, 1 year", f"/api/v1/insights/balance-history?{year}"),
            ("budgets with spent", "/api/v1/budgets"),
            ("list, 50 rows", "/api/v1/transactions?limit=50"),
            ("list, one account", f"/api/v1/transactions?accountId={a}"),
            ("list, a common category", "/api/v1/transactions?category=groceries"),
            ("list, a rare category", "/api/v1/transactions?category=legal"),
            ("list, one month", f"/api/v1/transactions?{month}"),
            ("list, text (a merchant)", "/api/v1/transactions?q=merchant%2007"),
            # the worst page: nothing matches, so it reads its budget of 10,000 rows
            ("list, text no row matches", "/api/v1/transactions?q=no%20such%20text"),
            # the same within one account: the account's index (on PostgreSQL and the table)
            ("list, one account, text no row matches", f"/api/v1/transactions?accountId={a}&q=no%20such%20text"),
            # and within a category: the category's index
            ("list, a category, text no row matches", "/api/v1/transactions?category=groceries&q=no%20such%20text"),
            ("list, amount range", "/api/v1/transactions?minAmount=-20&maxAmount=-10"),
            ("list, account and category", f"/api/v1/transactions?accountId={a}&category=dining"),
        ]
        if self.rows > 10_500:
            out.append(("list, a page 10,000 rows deep", f"/api/v1/transactions?cursor={self.deep_cursor()}"))
        return out

    def get_ms(self, path):
        """Milliseconds of one GET of `path` with the key, the answer read and decoded."""
        t0 = time.perf_counter()
        self.key.json("GET", path)
        return (time.perf_counter() - t0) * 1000

    def time_routes(self):
        """{route: (p50 ms, p99 ms)}."""
        result = {}
        for name, path in self.routes():
            for _ in range(WARMUP):
                self.key.json("GET", path)
            lat = [self.get_ms(path) for _ in range(SAMPLES)]
            result[name] = (pb.percentile(lat, 50), pb.percentile(lat, 99))
        return result


def table(columns, rows):
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for r in rows:
        print("| " + " | ".join(r) + " |")


def main():
    db = "PostgreSQL" if POSTGRES else "SQLite"
    print(f"# pfn at scale — {db}, release build, {pb.machine()}\n")
    db_one = database_env("one")
    server = pb.Server(BIN, dict(SERVER_ENV, **db_one), name="scale")
    results, pushes, backfill, rss = {}, {}, {}, {}
    try:
        cookie = pb.account([server])
        ws = Workspace(server, cookie)
        for size in SIZES:
            # the history, in random order (a back-fill), then this month's rows
            recent = recent_batches(size)
            backfill[size] = ws.grow_to(size - recent * BATCH)
            pushes[size] = ws.grow_to(size, recent=True)
            analyze(db_one, server.dir)
            results[size] = ws.time_routes()
            rss[size] = peak_rss_mb(server)
            print(f"… {size:,} rows: back-fill {backfill[size]:,.0f} rows/s, this month's rows {pushes[size]:,.0f} rows/s,"
                  f" peak RSS {rss[size]:.0f} MB", file=sys.stderr)
    finally:
        server.stop()
        drop_database(db_one)
    many = None
    if WORKSPACES:
        db_many = database_env("many")
        server = pb.Server(BIN, dict(SERVER_ENV, **db_many), name="scale-many")
        try:
            cookie = pb.account([server])
            c = pb.Client(server.base, {"Cookie": cookie})
            last, rates = None, []
            for i in range(WORKSPACES):
                w, _ = c.json("POST", "/api/v1/workspaces", {"name": f"Household {i}"})
                last = Workspace(server, cookie, w["workspace"]["id"])
                rates.append(last.grow_to(1000))
            analyze(db_many, server.dir)
            many = (last.time_routes(), pb.median(rates), peak_rss_mb(server))
        finally:
            server.stop()
            drop_database(db_many)

    names = list(results[SIZES[0]].keys())
    for n in results[SIZES[-1]]:
        if n not in names:
            names.append(n)
    cols = ["route"] + [f"{s:,} rows p50 / p99 ms" for s in SIZES]
    if many:
        cols.append(f"{WORKSPACES:,} workspaces × 1,000 rows")
    rows = []

    def cell(r, n):
        return f"{r[n][0]:.1f} / {r[n][1]:.1f}" if n in r else "—"

    for n in names:
        row = [n] + [cell(results[s], n) for s in SIZES]
        if many:
            row.append(cell(many[0], n))
        rows.append(row)
    push = ["push, 1,000-row batches of this month's rows (rows/s)"] + [f"{pushes[s]:,.0f}" for s in SIZES]
    fill = ["push, 1,000-row batches back-filling 3 years (rows/s)"] + [f"{backfill[s]:,.0f}" for s in SIZES]
    mem = ["server peak RSS (MB)"] + [f"{rss[s]:.0f}" for s in SIZES]
    if many:
        push.append(f"{many[1]:,.0f}")
        fill.append("—")
        mem.append(f"{many[2]:.0f}")
    rows += [push, fill, mem]
    table(cols, rows)
    if OUT:
        with open(OUT + ".csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["route"] + [f"p50_ms_{s}" for s in SIZES] + [f"p99_ms_{s}" for s in SIZES])
            for n in names:
                w.writerow([n] + [results[s].get(n, (None, None))[0] for s in SIZES]
                           + [results[s].get(n, (None, None))[1] for s in SIZES])
            w.writerow(["push_rows_per_s"] + [pushes[s] for s in SIZES])
            w.writerow(["backfill_rows_per_s"] + [backfill[s] for s in SIZES])
            w.writerow(["peak_rss_mb"] + [rss[s] for s in SIZES])
        shown = ["spending, 1 year", "spending, 3 years", "spending, last 30 days (default)",
                 "budgets with spent", "list, a rare category", "list, text (a merchant)"]
        series = [(n.replace(" (default)", ""), [results[s][n][0] for s in SIZES])
                  for n in shown if all(n in results[s] for s in SIZES)]
        pb.COLORS[:] = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2"]
        with open(OUT + ".svg", "w") as f:
            f.write(pb.svg("pfn: route latency as one workspace grows",
                           f"{time.strftime('%Y-%m-%d')}; release build, {db}; p50 of {SAMPLES} requests",
                           series, SIZES, ylabel="p50 ms", fmt="{:,.0f}", xlabel="transactions in the workspace",
                           xfmt="{:,}", targets=[(50, 0, "50 ms: insights goal"), (10, 2, "10 ms: lists goal")]))
        print(f"\nwrote {OUT}.csv and {OUT}.svg", file=sys.stderr)


if __name__ == "__main__":
    main()
