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
import math
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import pfnbench as pb  # noqa: E402

BIN, OUT = sys.argv[1], sys.argv[2]
STEP = int(os.environ.get("BENCH_STEP_SECONDS", "3"))
LEVELS = [int(x) for x in os.environ.get("BENCH_LEVELS", "1 2 4 8 16 32 64 128").split()]
PASSES = int(os.environ.get("BENCH_PASSES", "2"))
COLORS = ["#4c78a8", "#f58518", "#54a24b"]


def svg(title, subtitle, series, levels, ylabel="2xx requests / s", targets=(), fmt="{:,.0f}", first_color=0):
    """A line chart: x = connections (log 2), y = the series' values; `targets` are dashed
    horizontal lines (value, colour index, label)."""
    w, h, left, right, top, bottom = 760, 440, 80, 210, 60, 60
    pw, ph = w - left - right, h - top - bottom
    ymax = max([v for _, vals in series for v in vals] + [t for t, _, _ in targets])
    step = 10 ** math.floor(math.log10(ymax))
    for m in (0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10):
        if ymax / (step * m) <= 6:
            step *= m
            break
    ytop = math.ceil(ymax / step) * step
    lx0, lx1 = math.log2(levels[0]), math.log2(levels[-1])

    def x(c):
        return left + (math.log2(c) - lx0) / ((lx1 - lx0) or 1) * pw

    def y(v):
        return top + ph - v / ytop * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="#fff"/>',
        f'<text x="{left}" y="24" font-size="16" font-weight="bold">{title}</text>',
        f'<text x="{left}" y="42" fill="#555">{subtitle}</text>',
    ]
    v = 0
    while v <= ytop:
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{y(v) + 4:.1f}" text-anchor="end">{fmt.format(v)}</text>')
        v = round(v + step, 10)
    for c in levels:
        out.append(f'<line x1="{x(c):.1f}" x2="{x(c):.1f}" y1="{top}" y2="{top + ph}" stroke="#eee"/>')
        out.append(f'<text x="{x(c):.1f}" y="{top + ph + 18}" text-anchor="middle">{c}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{h - 14}" text-anchor="middle">concurrent connections (wrk -c)</text>')
    out.append(f'<text transform="translate(18 {top + ph / 2}) rotate(-90)" text-anchor="middle">{ylabel}</text>')
    for value, ci, label in targets:
        color = COLORS[(ci + first_color) % len(COLORS)]
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="{color}" '
                   'stroke-width="1.5" stroke-dasharray="6 4"/>')
        out.append(f'<text x="{left + pw + 6}" y="{y(value) + 4:.1f}" fill="{color}">{label}</text>')
    for i, (name, vals) in enumerate(series):
        color = COLORS[(i + first_color) % len(COLORS)]
        pts = " ".join(f"{x(c):.1f},{y(val):.1f}" for c, val in zip(levels, vals))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2.5"/>')
        for c, val in zip(levels, vals):
            out.append(f'<circle cx="{x(c):.1f}" cy="{y(val):.1f}" r="3.5" fill="{color}"/>')
        ly = top + ph - 60 + i * 22 if targets else top + 10 + i * 22
        out.append(f'<line x1="{left + pw + 16}" x2="{left + pw + 40}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="2.5"/>')
        out.append(f'<text x="{left + pw + 46}" y="{ly + 4}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


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
