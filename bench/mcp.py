#!/usr/bin/env python3
"""MCP benchmark (not a test): `tools/call` through `/mcp` against the REST route it calls, in
one run. Run through bench/mcp.sh.

One release pfn on loopback (SQLite, or PostgreSQL with PFN_DATABASE_URL); the benchmark user
with a key (rate limit set very high, so the limiter's cost is measured too) and 200
transactions in a manual account. Pairs, each measured BENCH_ROUNDS times (default 3) for
BENCH_SECONDS each (default 5), the two sides alternating so drift hits both alike:
  - GET /api/v1/whoami  vs  ping (the MCP SDK's floor: no tool, no work of ours)
  - GET /api/v1/whoami  vs  tools/call whoami
  - GET /api/v1/transactions?limit=50  vs  tools/call list_transactions {"limit": 50}
Prints 2xx req/s (median of the rounds), p50/p99, and MCP as a ratio of REST (goal >= 0.7).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import pfnbench  # noqa: E402

BIN = sys.argv[1]
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNS = int(os.environ.get("BENCH_CONNECTIONS", "50"))
LUA = os.path.join(os.path.dirname(__file__), "mcp_post.lua")


def main():
    env = {"PFN_KEY_RATE_LIMIT_PER_MIN": "1000000000", "PFN_KEY_RATE_BURST": "1000000000"}
    server = pfnbench.Server(BIN, env=env, name="mcp")
    try:
        cookie = pfnbench.account([server])
        _, key = pfnbench.create_key(server.base, cookie, scopes=("write:accounts", "write:transactions"))
        auth = {"Authorization": f"Bearer {key}"}
        c = pfnbench.Client(server.base, auth)
        acct, _ = c.json("POST", "/api/v1/accounts", {"name": "Cash", "currency": "BHD", "kind": "cash"})
        items = [{"accountId": acct["account"]["id"], "externalId": f"b{i}", "description": "Bench",
                  "amount": {"amount": f"-{i % 90 + 1}.250", "currency": "BHD"},
                  "bookedAt": f"2026-11-{i % 28 + 1:02d}T10:00:00Z", "category": "groceries"} for i in range(200)]
        c.json("POST", "/api/v1/transactions", {"transactions": items})

        def rpc(name, arguments):
            return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                               "params": {"name": name, "arguments": arguments}})

        ping = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"})
        pairs = [
            # The MCP SDK's own floor: a ping does no work of ours, against the cheapest route.
            ("ping (no tool) vs whoami", "/api/v1/whoami", ping),
            ("whoami", "/api/v1/whoami", rpc("whoami", {})),
            ("list_transactions (50)", "/api/v1/transactions?limit=50", rpc("list_transactions", {"limit": 50})),
        ]
        # Each MCP call must succeed as a tool, not only as HTTP.
        for _, _, body in pairs:
            status, raw, _ = c.request("POST", "/mcp", json.loads(body),
                                       {"Accept": "application/json, text/event-stream"})
            answer = json.loads(raw)
            if status != 200 or "result" not in answer or answer["result"].get("isError"):
                raise SystemExit(f"/mcp {body}: {status} {raw[:300]!r}")
        route = pfnbench.Route("key", "key", "", auth)
        results = {}
        for r in range(ROUNDS):
            for name, path, body in pairs:
                sides = [("REST", path, None, None), ("MCP", "/mcp", LUA, dict(os.environ, MCP_BODY=body))]
                for side, p, script, wenv in (sides if r % 2 == 0 else sides[::-1]):
                    got = pfnbench.wrk(server.base + p, SECONDS, CONNS, route=route, script=script, env=wenv)
                    results.setdefault((name, side), []).append(got)
        print(f"# MCP vs REST, {pfnbench.machine()}, {CONNS} connections, {ROUNDS} x {SECONDS} s per side")
        print(f"{'call':<28}{'REST req/s':>12}{'MCP req/s':>12}{'MCP/REST':>10}{'REST p50/p99 ms':>18}{'MCP p50/p99 ms':>18}")
        for name, _, _ in pairs:
            rest, mcp = results[(name, "REST")], results[(name, "MCP")]
            rps = [pfnbench.median([x[0] for x in v]) for v in (rest, mcp)]
            lat = [f"{pfnbench.median([x[1] for x in v]):.2f}/{pfnbench.median([x[2] for x in v]):.2f}" for v in (rest, mcp)]
            print(f"{name:<28}{rps[0]:>12,.0f}{rps[1]:>12,.0f}{rps[1] / rps[0]:>9.2f}x{lat[0]:>18}{lat[1]:>18}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
