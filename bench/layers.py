#!/usr/bin/env python3
"""Instructions per request, per layer of pfn's request path (not a test). The example
`backend/examples/layer_stack.rs` serves pfn's app with only its innermost N layers; each
variant runs under callgrind like bench/instructions.py, and a layer's cost is what it adds
to the variant below it (so the costs add up to the whole stack's). Variant 0 is the router and
the handler alone.

Then, for the layer named `Edge` (pfn's own, `backend/src/http/edge.rs`), its concerns are
split further: callgrind's inclusive cost of each concern's functions in the full build (they
are kept out of line for this), per request; the rest of the layer's cost is its plumbing.

The benchmark user, its session and its key are made first by the full server (`pfn`) in
the data directory every variant then serves. Without the session layer a session request is
refused (401) before its handler, so the session route's figures start at the first variant
with sessions.

Usage: bench/layers.py <layer_stack binary> <pfn binary>. Run through `BENCH_LAYERS=1 bench/instructions.sh`.
Knobs: BENCH_SECONDS per route and variant (default 3).
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import instructions as ins  # noqa: E402
import pfnbench as pb  # noqa: E402

# The Edge's concerns and the functions (by name prefix in callgrind's report) that do each;
# `backend/src/http/edge.rs` keeps them out of line for this.
EDGE_PARTS = [
    ("request id", ["backend::http::edge::request_id"]),
    ("tracing span and events", ["backend::http::edge::open_span", "backend::http::edge::trace_answer"]),
    ("metrics", ["backend::http::edge::Metrics::"]),
    ("client IP", ["backend::http::edge::client_ip"]),
    ("route guards", ["backend::http::edge::route_guards"]),
    ("CSRF", ["backend::http::edge::csrf"]),
    ("sessions", ["backend::http::edge::Sessions::"]),
    ("`RateLimit-*` headers", ["backend::http::ratelimit_headers::write"]),
    ("security headers", ["backend::http::middleware::security_headers"]),
    ("error reshaping", ["backend::http::middleware::reshape_errors"]),
]
# The layers that give requests their session: before them a session request is refused.
SESSION_LAYERS = ("SessionManagerLayer", "Edge")


def inclusive(dump):
    """Inclusive instructions per function name in a callgrind file."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", dump],
                         capture_output=True, text=True, check=True).stdout
    costs = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+\S*?:(.*?) \[", line)
        if m:
            name = re.sub(r"'\d+$", "", m.group(2))
            costs[name] = max(costs.get(name, 0), int(m.group(1).replace(",", "")))
    return costs


def main():
    binary = sys.argv[1]
    seconds = os.environ.get("BENCH_SECONDS", "3")
    os.environ["BENCH_SECONDS"] = seconds
    ins.SECONDS = int(seconds)
    layers = subprocess.run([binary, "--list"], capture_output=True, text=True, check=True).stdout.split()
    out_dir = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"pfn-layers-{os.getpid()}")
    os.makedirs(out_dir)
    per = {}  # (variant, route) -> instructions per request
    last_dumps = {}
    data = os.path.join(out_dir, "data")
    os.makedirs(data)
    try:
        setup = pb.Server(sys.argv[2], pb.UNLIMITED, name="setup", data_dir=data)
        try:
            routes = pb.compared_routes(setup)
        finally:
            setup.stop()
        names = [r.name for r in routes]
        for n in range(len(layers) + 1):
            env = dict(pb.UNLIMITED, PFN_BENCH_LAYERS=str(n))
            server = pb.Server(ins.wrapper(out_dir, f"v{n}", binary), env, name=f"layers-{n}",
                               startup_seconds=120, data_dir=data)
            try:
                for route in routes:
                    count, dump = ins.count(server.proc.pid, out_dir, f"v{n}", server.base + route.path, route)
                    per[(n, route.name)] = ins.totals(dump) / count
                    if n == len(layers):
                        last_dumps[route.name] = (dump, count)
            finally:
                server.stop()
            print(f"variant {n}: " + ", ".join(f"{per[(n, r)] / 1000:.1f}k" for r in names), file=sys.stderr)
        report(layers, names, per, last_dumps)
    finally:
        if os.environ.get("BENCH_KEEP"):
            print(f"\ncallgrind files kept in {out_dir}")
        else:
            subprocess.run(["rm", "-rf", out_dir], check=False)


def short(name):
    return name.replace("GET ", "").replace(" (unauthenticated)", "")


def report(layers, names, per, last_dumps):
    session = [r for r in names if "session" in r]
    first_with_sessions = next((i + 1 for i, l in enumerate(layers) if l in SESSION_LAYERS), 0)
    print(f"\npfn instructions per request, per layer — {pb.machine()}")
    print(f"release build under callgrind, SQLite, wrk -t1 -c1 for {ins.SECONDS} s per route and variant\n")
    print("| layer (innermost first) | " + " | ".join(short(r) for r in names) + " |")
    print("|---|" + "---:|" * len(names))

    def cell(n, r):
        if r in session and n < first_with_sessions:
            return None
        if r in session and n == first_with_sessions:
            return per[(n, r)]  # the router and the session layer together
        return per[(n, r)] - (per[(n - 1, r)] if n else 0)

    for n in range(len(layers) + 1):
        label = "router, extractors, handler (no layers)" if n == 0 else layers[n - 1]
        if n and n == first_with_sessions and session:
            label += " (session route: with the router)"
        cells = [cell(n, r) for r in names]
        print(f"| {label} | " + " | ".join("—" if c is None else f"{c / 1000:,.2f}k" for c in cells) + " |")
    print("| **all layers and the route** | " + " | ".join(f"**{per[(len(layers), r)] / 1000:,.1f}k**" for r in names) + " |")

    if "Edge" not in layers:
        return
    edge = layers.index("Edge") + 1
    print("\nInside `Edge`, per concern (inclusive cost of its functions in the full build):\n")
    print("| concern | " + " | ".join(short(r) for r in names) + " |")
    print("|---|" + "---:|" * len(names))
    costs = {r: (inclusive(d), n) for r, (d, n) in last_dumps.items()}
    parts = {r: 0.0 for r in names}
    for part, prefixes in EDGE_PARTS:
        row = []
        for r in names:
            c, n = costs[r]
            cost = sum(v for k, v in c.items() if any(k.startswith(p) for p in prefixes)) / n
            parts[r] += cost
            row.append(f"{cost / 1000:,.2f}k")
        print(f"| {part} | " + " | ".join(row) + " |")
    rest = [None if r in session and edge <= first_with_sessions else cell(edge, r) - parts[r] for r in names]
    print("| the rest: the layer's service and future, its route box, moving the request | "
          + " | ".join("—" if c is None else f"{c / 1000:,.2f}k" for c in rest) + " |")


if __name__ == "__main__":
    main()
