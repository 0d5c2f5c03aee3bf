#!/usr/bin/env python3
"""Two builds of pfn pushing side by side (not a test): each build's server with its own
database, one workspace each, grown through the API to BENCH_SIZE rows (default 1,000,000) as
bench/scale.py grows one (a back-fill over three years, then BENCH_RECENT_BATCHES of this
month's rows), the two pushing batch for batch in turn, so that both meet the same minutes of
this VM, whose speed drifts by tens of percent between them (separate runs of scale.py differed
by more than the change being judged). Both workspaces get the same rows in the same order.

Prints each build's rows/s over the back-fill and over this month's rows, and the median of
the per-batch speed ratios B / A (A's time ÷ B's, each pair of batches pushed one after the other).
Then times bench/scale.py's routes on both workspaces, the two builds' requests in turn
(BENCH_SAMPLES each), and prints each route's p50 on A and on B and their ratio.

Usage: bench/compare_pushes.py <pfn binary A> <pfn binary B>  (release builds). SQLite, or
PostgreSQL with BENCH_POSTGRES=1 (two fresh databases, dropped after unless BENCH_KEEP=1).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import pfnbench as pb  # noqa: E402
import scale  # noqa: E402

SIZE = int(os.environ.get("BENCH_SIZE", "1000000"))


def main():
    binaries = sys.argv[1:3]
    if len(binaries) != 2:
        sys.exit(__doc__)
    dbs = [scale.database_env(f"push{n}") for n in "ab"]
    servers = []
    try:
        for n, (b, db) in enumerate(zip(binaries, dbs)):
            servers.append(pb.Server(b, dict(scale.SERVER_ENV, **db), name=f"push-{'AB'[n]}"))
        workspaces = [scale.Workspace(s, pb.account([s])) for s in servers]
        recent = scale.recent_batches(SIZE)
        phases = [("back-fill over three years", SIZE - recent * scale.BATCH, False),
                  ("this month's rows", SIZE, True)]
        print(f"# pushes, two builds — {'PostgreSQL' if scale.POSTGRES else 'SQLite'}, {pb.machine()}\n")
        print("| phase | A rows/s | B rows/s | B / A (median over pairs of batches of A's time ÷ B's) |")
        print("|---|---|---|---|")
        step = 0
        for name, upto, is_recent in phases:
            totals = [[0, 0.0], [0, 0.0]]
            ratios = []
            while workspaces[0].rows < upto:
                n = min(scale.BATCH, upto - workspaces[0].rows)
                # alternate which build goes first, so neither always follows the other
                order = (0, 1) if step % 2 == 0 else (1, 0)
                seconds = {}
                for i in order:
                    rows, t = workspaces[i].push(n, is_recent)
                    totals[i][0] += rows
                    totals[i][1] += t
                    seconds[i] = t
                ratios.append(seconds[0] / seconds[1])
                step += 1
            a, b = (r / t for r, t in totals)
            print(f"| {name} | {a:,.0f} | {b:,.0f} | {pb.median(ratios):.3f} |", flush=True)
        for db, server in zip(dbs, servers):
            scale.analyze(db, server.dir)
        print("\n| route | A p50 ms | B p50 ms | B / A (A's p50 ÷ B's) |")
        print("|---|---|---|---|")
        for (name, path_a), (_, path_b) in zip(*(w.routes() for w in workspaces)):
            paths = (path_a, path_b)
            lat = ([], [])
            for step in range(scale.WARMUP + scale.SAMPLES):
                for i in ((0, 1) if step % 2 == 0 else (1, 0)):
                    ms = workspaces[i].get_ms(paths[i])
                    if step >= scale.WARMUP:
                        lat[i].append(ms)
            a, b = (pb.percentile(x, 50) for x in lat)
            print(f"| {name} | {a:.2f} | {b:.2f} | {a / b:.3f} |", flush=True)
    finally:
        for s in servers:
            s.stop()
        for db in dbs:
            scale.drop_database(db)


if __name__ == "__main__":
    main()
