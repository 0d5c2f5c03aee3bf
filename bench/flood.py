#!/usr/bin/env python3
"""Other routes' latency during a sign-in flood (not a test): one release pfn on SQLite.

First every probed route is timed with the server idle, then again while wrk floods
`POST /api/v1/auth/login` (correct password, BENCH_FLOOD_CONNECTIONS connections, default 16,
sign-in rate limits off). The probes are sequential requests spaced BENCH_PROBE_INTERVAL_MS apart
(default 20) on kept-alive connections, one thread per route, so they measure latency without
adding load. Also prints the flood's sign-in rate against the argon2id ceiling (cores ÷ one hash
time, from `backend/examples/hash_time`, run first).

Usage: bench/flood.py <pfn binary> <hash_time binary>. Run through bench/flood.sh.
"""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import pfnbench as pb  # noqa: E402

BIN, HASH_TIME = sys.argv[1], sys.argv[2]
SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
FLOOD = int(os.environ.get("BENCH_FLOOD_CONNECTIONS", "16"))
INTERVAL = int(os.environ.get("BENCH_PROBE_INTERVAL_MS", "20")) / 1000


def probe_all(server, routes, seconds):
    results = {}

    def run(route):
        results[route.name] = pb.probe(server.base, route.path, route.headers, seconds, INTERVAL)

    threads = [threading.Thread(target=run, args=(r,)) for r in routes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main():
    hash_ms = float(subprocess.run([HASH_TIME], capture_output=True, text=True, check=True).stdout)
    server = pb.Server(BIN, pb.UNLIMITED)
    try:
        routes = pb.compared_routes(server)
        idle = probe_all(server, routes, SECONDS)

        flood = {}
        env = dict(os.environ, BENCH_EMAIL=pb.EMAIL, BENCH_PASSWORD=pb.PASSWORD)

        def run_flood():
            flood["result"] = pb.wrk(
                f"{server.base}/api/v1/auth/login", SECONDS + 2, FLOOD, script="bench/login.lua", env=env
            )

        flooder = threading.Thread(target=run_flood)
        flooder.start()
        time.sleep(1)  # the flood is on
        busy = probe_all(server, routes, SECONDS)
        flooder.join()
        logins, login_p50, _ = flood["result"]
        cores = os.cpu_count()
        ceiling = cores * 1000 / hash_ms

        print(f"\npfn latency during a sign-in flood — {pb.machine()}")
        print(f"release build, SQLite; probes every {INTERVAL * 1000:.0f} ms per route for {SECONDS} s, "
              f"idle and then during wrk -c{FLOOD} on POST /api/v1/auth/login")
        print()
        print("| route | p50 idle | p50 during flood | p99 idle | p99 during flood | refused during flood |")
        print("|---|---:|---:|---:|---:|---:|")
        for route in routes:
            (il, _), (bl, bad) = idle[route.name], busy[route.name]
            print(f"| {route.name} | {pb.median(il):.2f} ms | **{pb.median(bl):.2f} ms** | "
                  f"{pb.percentile(il, 99):.2f} ms | {pb.percentile(bl, 99):.2f} ms | {bad} |")
        print(f"\nflood: {logins:.1f} sign-ins/s (p50 {login_p50:.0f} ms); one argon2id hash = {hash_ms:.1f} ms, "
              f"ceiling = {cores} / hash = {ceiling:.1f}/s; ratio {logins / ceiling:.2f}")
        print("target (product.md §7): other routes' p50 < 1 ms during the flood; sign-ins >= 0.9 x ceiling")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
