#!/usr/bin/env python3
"""Throughput vs concurrency (not a test): one release pfn on SQLite, wrk at 1 to 128
connections against the unauthenticated route, a key-authenticated one and a
session-authenticated one. At each level the three routes run one after the other (in a rotating
order), BENCH_STEP_SECONDS each (default 3), so every ratio is taken within a few seconds; the
whole sweep runs BENCH_PASSES times (default 2) and each point is the mean of its passes.

Writes a Markdown table to stdout, the figures to <out>.csv and a plot to <out>.svg (drawn here,
standard library only). Usage: bench/concurrency.py <pfn binary> <out path without extension>.
Run through bench/concurrency.sh.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import pfnbench as pb  # noqa: E402

BIN, OUT = sys.argv[1], sys.argv[2]
STEP = int(os.environ.get("BENCH_STEP_SECONDS", "3"))
LEVELS = [int(x) for x in os.environ.get("BENCH_LEVELS", "1 2 4 8 16 32 64 128").split()]
PASSES = int(os.environ.get("BENCH_PASSES", "2"))
COLORS = pb.COLORS
svg = pb.svg


def main():
    server = pb.Server(BIN, pb.UNLIMITED)
    try:
        routes = pb.compared_routes(server)
        sums = {r.label: [0.0] * len(LEVELS) for r in routes}
        for p in range(PASSES):
            for i, c in enumerate(LEVELS):
                shift = (i + p) % 3
                order = routes[shift:] + routes[:shift]
                got = {r.label: pb.wrk(server.base + r.path, STEP, c, route=r) for r in order}
                for r in routes:
                    sums[r.label][i] += got[r.label][0]
                print(f"  pass {p + 1}, c={c}: " + ", ".join(f"{r.label} {got[r.label][0]:,.0f}/s" for r in routes),
                      file=sys.stderr)
        rps = {name: [v / PASSES for v in vals] for name, vals in sums.items()}
    finally:
        server.stop()

    base = rps["/healthz"]
    when = pb.machine()
    print(f"\npfn throughput vs concurrency — {when}")
    print(f"release build, SQLite, wrk -t2 for {STEP} s per point and pass, mean of {PASSES} passes, 2xx only\n")
    print("| connections | /healthz req/s | /whoami (key) | ratio | /auth/me (session) | ratio |")
    print("|---:|---:|---:|---:|---:|---:|")
    for i, c in enumerate(LEVELS):
        k, s = rps["/whoami (key)"][i], rps["/auth/me (session)"][i]
        print(f"| {c} | {base[i]:,.0f} | {k:,.0f} | {k / base[i]:.2f} | {s:,.0f} | {s / base[i]:.2f} |")
    with open(OUT + ".csv", "w") as f:
        f.write("connections," + ",".join(r.label for r in routes) + "\n")
        for i, c in enumerate(LEVELS):
            f.write(f"{c}," + ",".join(f"{rps[r.label][i]:.0f}" for r in routes) + "\n")
    with open(OUT + ".svg", "w") as f:
        f.write(svg("pfn: throughput vs concurrency", f"{when}; release build, SQLite, loopback wrk",
                    [(r.label, rps[r.label]) for r in routes], LEVELS))
    ratios = [(r.label, [v / b for v, b in zip(rps[r.label], base)]) for r in routes[1:]]
    with open(OUT + "-ratio.svg", "w") as f:
        f.write(svg("pfn: authenticated ÷ unauthenticated throughput", f"{when}; same run as the throughput plot",
                    ratios, LEVELS, ylabel="ratio to /healthz", fmt="{:.1f}", first_color=1,
                    targets=((0.9, 0, "key target 0.9"), (0.8, 1, "session target 0.8"))))
    print(f"\nwrote {OUT}.csv, {OUT}.svg and {OUT}-ratio.svg")


if __name__ == "__main__":
    main()
