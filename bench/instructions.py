#!/usr/bin/env python3
"""Instructions per request, per route (not a test): a release pfn on SQLite under
`valgrind --tool=callgrind`, which counts instructions rather than time, so the figures repeat
whatever else the machine is doing. Instrumentation is switched on only while wrk (one
connection) sends one route's requests, after a warm-up. SHA-256 runs in software under
valgrind (the CPU's SHA extensions are hidden from it), which adds ~7k instructions to each
key request that the real CPU does not spend.

The bare axum route (`bench/baseline`) is counted the same way, first; every pfn route is
also given as a ratio to it. bench/layers.py splits a request's instructions between the
layers of pfn's request path.

Usage: bench/instructions.py <pfn binary> [<pfn-baseline binary>]. Run through
bench/instructions.sh. Knobs: BENCH_SECONDS per route (default 10); BENCH_KEEP=1 keeps the
callgrind files (their directory is printed).
"""
import glob
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import pfnbench as pb  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))


def control(pid, *args):
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def wrapper(out_dir, name, binary):
    path = os.path.join(out_dir, f"{name}-under-valgrind")
    with open(path, "w") as f:
        f.write(f'#!/bin/sh\nexec valgrind --tool=callgrind --instr-atstart=no '
                f'--callgrind-out-file={out_dir}/callgrind.{name}.%p {binary} "$@"\n')
    os.chmod(path, 0o755)
    return path


def count(pid, out_dir, name, url, route=None):
    """Requests and callgrind file of `SECONDS` of wrk -t1 -c1 against `url`, after a warm-up."""
    pb.wrk(url, 2, 1, threads=1, route=route)  # warm-up: caches filled
    control(pid, "--zero")
    control(pid, "--instr=on")
    cmd = ["wrk", "-t1", "-c1", f"-d{SECONDS}s"] + (route.wrk_args() if route else []) + [url]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    control(pid, "--instr=off")
    before = set(glob.glob(f"{out_dir}/callgrind.{name}.*"))
    control(pid, "--dump")
    time.sleep(1)
    dump = max(set(glob.glob(f"{out_dir}/callgrind.{name}.*")) - before or before, key=os.path.getmtime)
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    return requests, dump


def totals(dump):
    return int(re.search(r"^totals:\s+(\d+)", open(dump).read(), re.M).group(1))


def main(binary, bare_binary=None):
    out_dir = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"pfn-callgrind-{os.getpid()}")
    os.makedirs(out_dir)
    rows = []  # (name, requests, instructions per request, dump)
    try:
        if bare_binary:
            bare = pb.Bare(wrapper(out_dir, "bare", bare_binary), startup_seconds=60)
            try:
                n, dump = count(bare.proc.pid, out_dir, "bare", bare.base + "/healthz")
                rows.append(("GET /healthz, bare axum (bench/baseline)", n, totals(dump) / n, dump))
            finally:
                bare.stop()
        server = pb.Server(wrapper(out_dir, "pfn", binary), pb.UNLIMITED, startup_seconds=120)
        try:
            routes = pb.compared_routes(server, limited=True)
            for route in routes:
                n, dump = count(server.proc.pid, out_dir, "pfn", server.base + route.path, route)
                rows.append((route.name, n, totals(dump) / n, dump))
        finally:
            server.stop()
        report(rows, bool(bare_binary))
    finally:
        if os.environ.get("BENCH_KEEP"):
            print(f"\ncallgrind files kept in {out_dir}")
        else:
            subprocess.run(["rm", "-rf", out_dir], check=False)


def report(rows, with_bare):
    bare = rows[0][2] if with_bare else None
    base = rows[1 if with_bare else 0][2]
    print(f"\npfn instructions per request — {pb.machine()}")
    print(f"release build under callgrind, SQLite, wrk -t1 -c1 for {SECONDS} s per route after a warm-up\n")
    print("| route | requests | instructions per request | /healthz ÷ route | bare route ÷ route |")
    print("|---|---:|---:|---:|---:|")
    for i, (name, n, per, _) in enumerate(rows):
        to_base = "—" if with_bare and i == 0 else f"{base / per:.2f}"
        to_bare = f"{bare / per:.2f}" if bare else "—"
        print(f"| {name} | {n:,} | {per / 1000:,.1f}k | {to_base} | {to_bare} |")


if __name__ == "__main__":
    main(*sys.argv[1:3])
