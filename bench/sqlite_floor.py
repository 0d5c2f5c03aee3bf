#!/usr/bin/env python3
"""SQLite's own floor for pushes (not a test): what SQLite alone does with pfn's
`transactions` table, its indexes and 1,000-row batches, with no pfn in the way — no HTTP, no
JSON, no validation, no rollups, no change feed — so `bench/scale.sh`'s push rates can be read
against it. Run through bench/sqlite_floor.sh.

The schema is pfn's own: `pfn migrate` makes an empty database, this script adds a workspace
and three accounts, then inserts rows with the columns a push writes, through Python's
`sqlite3` (one prepared statement reused per row: cheaper than any multi-row statement),
settings as pfn's writer connection (WAL, synchronous NORMAL, foreign keys on, 32 MiB page
cache), and a passive checkpoint after every batch *outside* the timed part (pfn does it beside
the requests). The rows are as `bench/scale.py` makes them: booked at random over three years
(a back-fill), then ten batches booked at random in the last 30 days (three at 10,000); at
each size in BENCH_SIZES (default 10000 100000 1000000) the rate of the last ten back-fill
batches and of the recent ones is printed (rows per second of time inside BEGIN … COMMIT).
Usage: bench/sqlite_floor.py <pfn binary>.
"""
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import pfnbench as pb  # noqa: E402

BIN = sys.argv[1]
SIZES = [int(x) for x in os.environ.get("BENCH_SIZES", "10000 100000 1000000").split()]
BATCH = 1000
RECENT = 10
NOW = int(time.time())
COLUMNS = ("id, workspace_id, account_id, external_id, amount_minor, currency, description,"
           " booked_at, category, merchant, created_at, updated_at, created_seq, change_seq")


def filler(conn, table, given):
    """An insert of `given` with a placeholder value for every other required column."""
    row = dict(given)
    for _, name, kind, notnull, default, _ in conn.execute(f"pragma table_info({table})"):
        if notnull and default is None and name not in row:
            row[name] = 0 if "int" in kind.lower() else f"{table}-{name}"
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    conn.execute(f"insert into {table} ({names}) values ({marks})", list(row.values()))


class Floor:
    def __init__(self, path):
        self.db = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON",
                       "cache_size = -32768", "wal_autocheckpoint = 16384"):
            self.db.execute(f"pragma {pragma}")
        self.ws = str(uuid.uuid4())
        filler(self.db, "workspaces", {"id": self.ws})
        self.accounts = []
        for i in range(3):
            a = str(uuid.uuid4())
            filler(self.db, "accounts", {"id": a, "workspace_id": self.ws, "currency": "BHD"})
            self.accounts.append(a)
        self.gen = pb.Rows(NOW)
        self.sql = f"insert into transactions ({COLUMNS}) values ({', '.join('?' * 14)})"

    @property
    def rows(self):
        return self.gen.count

    def batch(self, recent):
        rows = []
        for _ in range(BATCH):
            i, minor, at, category, merchant = self.gen.next(recent)
            # time-ordered ids, as pfn's UUIDv7
            rows.append((f"{NOW:012x}-{i:012x}-{uuid.uuid4().hex[:8]}", self.ws, self.accounts[i % 3],
                         f"row-{i}", minor, "BHD", f"Card purchase {i}", at, category, merchant,
                         NOW, NOW, i + 1, i + 1))
        t0 = time.perf_counter()
        self.db.execute("begin immediate")
        self.db.executemany(self.sql, rows)
        self.db.execute("commit")
        spent = time.perf_counter() - t0
        self.db.execute("pragma wal_checkpoint(passive)")
        return spent

    def rate(self, batches, recent):
        return batches * BATCH / sum(self.batch(recent) for _ in range(batches))


def main():
    print(f"# SQLite alone, pfn's transactions table — {pb.machine()}, Python sqlite3 {sqlite3.sqlite_version}\n")
    with tempfile.TemporaryDirectory(prefix="pfn-floor-") as tmp:
        path = os.path.join(tmp, "floor.db")
        subprocess.run([BIN, "migrate"], check=True, stdout=subprocess.DEVNULL,
                       env=dict(os.environ, PFN_DATABASE_URL=f"sqlite:{path}", PFN_DATA_DIR=tmp))
        floor = Floor(path)
        print("| rows | back-fill, last batches (rows/s) | this month's rows (rows/s) |")
        print("|---|---:|---:|")
        for size in SIZES:
            # as bench/scale.py: at most 30 % of the rows this month's (3 batches at 10,000)
            months = min(RECENT, size * 3 // 10 // BATCH)
            timed = min(RECENT, (size - floor.rows) // BATCH - months)
            while floor.rows < size - (months + timed) * BATCH:
                floor.batch(recent=False)
            backfill = floor.rate(timed, recent=False)
            month = floor.rate(months, recent=True)
            print(f"| {floor.rows:,} | {backfill:,.0f} | {month:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
