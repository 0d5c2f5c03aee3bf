#!/usr/bin/env python3
"""Revocation propagation across replicas (not a test): BENCH_REPLICAS release pfn processes
(default 3) on one fresh PostgreSQL database and one Redis, as product.md §6 deploys them.

For each of BENCH_ROUNDS rounds (default 30), twice: an API key is created on replica A, or a
browser signs in on A; every other replica serves it (so each has it cached); then one thread per
other replica sends requests with it back to back while A revokes the key, or signs the browser
out. A replica's propagation time is from the moment the revoking request is sent to the moment
that replica first answers 401; "every other replica" is the slowest one's. Each poll is a
kept-alive request, so the resolution is one round trip.

Usage: bench/replicas.py <pfn binary>. Run through bench/replicas.sh.
"""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import pfnbench as pb  # noqa: E402

BIN = sys.argv[1]
REPLICAS = int(os.environ.get("BENCH_REPLICAS", "3"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")


def psql(sql):
    subprocess.run(["psql", f"{PG}/postgres", "-qc", sql], check=True, capture_output=True)


def poll_until_refused(base, headers, path, start, out, idx):
    """Sends `path` with `headers` until it is refused; stores (first 401 time, polls)."""
    c = pb.Client(base, headers)
    polls = 0
    start.wait()
    while True:
        status = c.request("GET", path)[0]
        polls += 1
        if status == 401:
            out[idx] = (time.perf_counter(), polls)
            return
        if status != 200:
            raise SystemExit(f"{base}{path} answered {status}")


def measure(others, headers, path, revoke, into):
    """Every other replica uses the credential (so caches it), then polls with it while A
    revokes it; appends (A's answer time, each replica's delay, the slowest delay) in ms."""
    acks, per_replica, worst = into
    for s in others:
        status = pb.Client(s.base, headers).request("GET", path)[0]
        if status != 200:
            raise SystemExit(f"{s.base}{path}: a fresh credential answered {status}")
    start = threading.Event()
    seen = [None] * len(others)
    threads = [
        threading.Thread(target=poll_until_refused, args=(s.base, headers, path, start, seen, i))
        for i, s in enumerate(others)
    ]
    for t in threads:
        t.start()
    start.set()
    time.sleep(0.05)  # the pollers are sending
    t0 = time.perf_counter()
    status = revoke()
    acks.append((time.perf_counter() - t0) * 1000)
    if status not in (200, 204):
        raise SystemExit(f"revoking answered {status}")
    for t in threads:
        t.join(10)
    if any(s is None for s in seen):
        raise SystemExit("a replica still accepted a revoked credential after 10 s")
    delays = [(t - t0) * 1000 for t, _ in seen]
    per_replica += delays
    worst.append(max(delays))
    time.sleep(0.05)


def main():
    db = f"pfn_bench_replicas_{os.getpid()}"
    psql(f"drop database if exists {db}")
    psql(f"create database {db}")
    env = dict(
        PFN_DATABASE_URL=f"{PG}/{db}",
        PFN_REDIS_URL=REDIS,
        PFN_REDIS_PREFIX=db,
        PFN_SECRET="bench-replicas-secret-0123456789abcdef0123456789",
        **pb.UNLIMITED,
    )
    servers = []
    try:
        for i in range(REPLICAS):
            servers.append(pb.Server(BIN, env, name=f"replica{i}"))
        a, others = servers[0], servers[1:]
        cookie = pb.account(servers)
        session = pb.Client(a.base, {"Cookie": cookie})
        results = {"key": ([], [], []), "session": ([], [], [])}
        for r in range(ROUNDS):
            key_id, secret = pb.create_key(a.base, cookie, name=f"round {r}")
            measure(others, {"Authorization": f"Bearer {secret}"}, "/api/v1/whoami",
                    lambda: session.request("DELETE", f"/api/v1/keys/{key_id}")[0], results["key"])
            signed_in = pb.login(a.base)
            ends = pb.Client(a.base, {"Cookie": signed_in})
            measure(others, {"Cookie": signed_in}, "/api/v1/auth/me",
                    lambda: ends.request("POST", "/api/v1/auth/logout")[0], results["session"])
        print(f"\npfn revocation propagation — {pb.machine()}")
        print(f"{REPLICAS} release replicas, PostgreSQL + Redis on loopback; {ROUNDS} rounds of: a key revoked "
              "on replica A, a browser signed out on replica A")
        print()
        print("| measured from sending the request on A | median | p90 | max |")
        print("|---|---:|---:|---:|")
        for what, (acks, per_replica, worst) in (
            ("key revoked", results["key"]),
            ("signed out", results["session"]),
        ):
            for name, v in (
                (f"{what}: answered on A", acks),
                (f"{what}: refused on one other replica", per_replica),
                (f"{what}: refused on every other replica", worst),
            ):
                print(f"| {name} | {pb.median(v):.1f} ms | {pb.percentile(v, 90):.1f} ms | {max(v):.1f} ms |")
        print(f"\ntarget (product.md §7): revocation visible on every replica <= 1 s; worst seen "
              f"{max(results['key'][2]):.1f} ms (keys), {max(results['session'][2]):.1f} ms (sessions)")
    finally:
        for s in servers:
            s.stop()
        psql(f"drop database if exists {db}")


if __name__ == "__main__":
    main()
