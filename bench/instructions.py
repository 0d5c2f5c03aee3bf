#!/usr/bin/env python3
"""Instructions per request, per route (not a test): a release pfn on SQLite under
`valgrind --tool=callgrind`, which counts instructions rather than time, so the figures repeat
whatever else the machine is doing. Instrumentation is switched on only while wrk (one
connection) sends one route's requests, after a warm-up. SHA-256 runs in software under
valgrind (the CPU's SHA extensions are hidden from it), which adds ~7k instructions to each
key request that the real CPU does not spend.

Usage: bench/instructions.py <pfn binary>. Run through bench/instructions.sh.
Knobs: BENCH_SECONDS per route (default 10).
"""
import glob
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import pfnbench as pb  # noqa: E402

BIN = sys.argv[1]
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))


def control(pid, *args):
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def main():
    out_dir = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"pfn-callgrind-{os.getpid()}")
    os.makedirs(out_dir)
    wrapper = os.path.join(out_dir, "pfn-under-valgrind")
    with open(wrapper, "w") as f:
        f.write(f'#!/bin/sh\nexec valgrind --tool=callgrind --instr-atstart=no '
                f'--callgrind-out-file={out_dir}/callgrind.out.%p {BIN} "$@"\n')
    os.chmod(wrapper, 0o755)
    server = pb.Server(wrapper, pb.UNLIMITED, startup_seconds=120)
    try:
        routes = pb.compared_routes(server, limited=True)
        pid = server.proc.pid
        rows = []
        for route in routes:
            pb.wrk(server.base + route.path, 2, 1, threads=1, route=route)  # warm-up: caches filled
            control(pid, "--zero")
            control(pid, "--instr=on")
            cmd = ["wrk", "-t1", "-c1", f"-d{SECONDS}s"] + route.wrk_args() + [server.base + route.path]
            text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            control(pid, "--instr=off")
            before = set(glob.glob(f"{out_dir}/callgrind.out.*"))
            control(pid, "--dump")
            time.sleep(1)
            dump = max(set(glob.glob(f"{out_dir}/callgrind.out.*")) - before or before, key=os.path.getmtime)
            totals = re.search(r"^totals:\s+(\d+)", open(dump).read(), re.M)
            requests = int(re.search(r"(\d+) requests in", text).group(1))
            rows.append((route.name, requests, int(totals.group(1)) / requests))
        base = rows[0][2]
        print(f"\npfn instructions per request — {pb.machine()}")
        print(f"release build under callgrind, SQLite, wrk -t1 -c1 for {SECONDS} s per route after a warm-up\n")
        print("| route | requests | instructions per request | /healthz ÷ route |")
        print("|---|---:|---:|---:|")
        for name, n, per in rows:
            print(f"| {name} | {n:,} | {per / 1000:,.1f}k | {base / per:.2f} |")
    finally:
        server.stop()
        if not os.environ.get("BENCH_KEEP"):
            subprocess.run(["rm", "-rf", out_dir], check=False)


if __name__ == "__main__":
    main()
