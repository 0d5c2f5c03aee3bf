#!/usr/bin/env python3
"""Two builds of pfn side by side (not a test): the compared routes' throughput and their ratio
to /healthz, for each build, in interleaved rounds of one run. This VM's speed drifts by tens of
percent between minutes, so a change is judged by the ratios it gives next to the build without
it, never by figures from separate runs.

Usage: bench/compare_builds.py <pfn binary A> <pfn binary B>  (release builds; copy one aside
before building the other). Knobs: BENCH_ROUNDS (default 5), BENCH_SECONDS per route and round
(default 5), BENCH_CONNECTIONS (default 50).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import pfnbench as pb  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "50"))


def main():
    binaries = sys.argv[1:3]
    if len(binaries) != 2:
        sys.exit(__doc__)
    servers = [pb.Server(b, pb.UNLIMITED, name=f"build-{n}") for n, b in zip("AB", binaries)]
    try:
        routes = [pb.compared_routes(s) for s in servers]
        names = [r.name for r in routes[0]]
        rates = {(i, n): [] for i in range(2) for n in names}
        ratios = {(i, n): [] for i in range(2) for n in names}
        for _ in range(ROUNDS):
            for i, server in enumerate(servers):
                got = [pb.wrk(server.base + r.path, SECONDS, CONNECTIONS, route=r)[0] for r in routes[i]]
                for name, rps in zip(names, got):
                    rates[(i, name)].append(rps)
                    ratios[(i, name)].append(rps / got[0])
        print(f"\npfn, two builds — {pb.machine()}")
        print(f"wrk -t2 -c{CONNECTIONS}, {ROUNDS} interleaved rounds of {SECONDS} s per route; "
              "medians of req/s and of each round's ratio to /healthz\n")
        print("| route | A req/s | A ratio | B req/s | B ratio |")
        print("|---|---:|---:|---:|---:|")
        for n in names:
            a, b = (pb.median(rates[(i, n)]) for i in range(2))
            ra, rb = (pb.median(ratios[(i, n)]) for i in range(2))
            print(f"| {n} | {a:,.0f} | {ra:.2f} | {b:,.0f} | {rb:.2f} |")
        print(f"\nA = {binaries[0]}\nB = {binaries[1]}")
    finally:
        for s in servers:
            s.stop()


if __name__ == "__main__":
    main()
