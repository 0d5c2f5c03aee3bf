#!/usr/bin/env python3
"""Bank-sync benchmark (not a test): a release pfn with its bundled Tarabut sandbox on loopback.

Seeds one BHD bank with BENCH_TX_PER_ACCOUNT transactions on its current account (a tenth on its
savings account), connects it through the API exactly as a browser would (connect -> sandbox
consent -> callback), times the first sync from the callback to `succeeded`, then times a
re-sync that must add 0 rows. Prints rows/s for each. Run through bench/sync.sh.

Knobs (environment): BENCH_TX_PER_ACCOUNT (default 45455, so ~50,000 rows in all),
BENCH_PAGE_SIZE (the sandbox's page size, default 10 as Tarabut's examples show),
PFN_DATABASE_URL (default: SQLite in a temp dir).
"""
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BIN = sys.argv[1]
PORT = int(os.environ.get("BENCH_PORT", "18383"))
SANDBOX_PORT = PORT + 1
BASE = f"http://127.0.0.1:{PORT}"
SANDBOX = f"http://127.0.0.1:{SANDBOX_PORT}"
TX = int(os.environ.get("BENCH_TX_PER_ACCOUNT", "45455"))
PAGE = int(os.environ.get("BENCH_PAGE_SIZE", "10"))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)


def call(method, url, body=None, expect=(200, 201, 202, 204, 302)):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Origin", BASE)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        res = opener.open(req)
    except urllib.error.HTTPError as e:
        res = e
    if res.status not in expect:
        raise SystemExit(f"{method} {url}: {res.status} {res.read()[:300]!r}")
    raw = res.read()
    return res.status, res.headers, (json.loads(raw) if raw else None)


def wait_sync(connection):
    while True:
        _, _, c = call("GET", f"{BASE}/api/v1/banks/connections/{connection}")
        c = c["connection"]
        if c["currentSyncId"] is None and c["lastSyncStatus"] is not None:
            return c
        time.sleep(0.02)


def main():
    data = tempfile.mkdtemp()
    env = dict(os.environ)
    env.update({
        "PFN_DATA_DIR": data,
        "PFN_LISTEN": f"127.0.0.1:{PORT}",
        "PFN_SANDBOX_LISTEN": f"127.0.0.1:{SANDBOX_PORT}",
        "PFN_TARABUT_RATE_PER_SEC": "0",
        "RUST_LOG": "warn",
    })
    server = subprocess.Popen([BIN, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=open(f"{data}/server.log", "w"))
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{BASE}/healthz")
                break
            except OSError:
                time.sleep(0.1)
        call("POST", f"{SANDBOX}/__sandbox/config", {"transactionsPerAccount": TX, "pageSize": PAGE})
        email, password = "sync-bench@example.com", "sunrise-meridian-2026"
        call("POST", f"{BASE}/api/v1/auth/signup", {"email": email, "password": password, "name": "Bench"})
        token = None
        for _ in range(100):
            files = [f for f in os.listdir(f"{data}/outbox")] if os.path.isdir(f"{data}/outbox") else []
            for f in files:
                m = re.search(r"verify-email\?token=([A-Za-z0-9_-]+)", open(f"{data}/outbox/{f}").read())
                if m:
                    token = m.group(1)
            if token:
                break
            time.sleep(0.1)
        call("POST", f"{BASE}/api/v1/auth/verify-email", {"token": token})
        call("POST", f"{BASE}/api/v1/auth/login", {"email": email, "password": password})
        _, _, started = call("POST", f"{BASE}/api/v1/banks/connect", {"providerId": "BLUE"})
        _, _, done = call("POST", f"{SANDBOX}/__sandbox/intents/{started['intentId']}/complete",
                          {"status": "SUCCESSFUL", "providerId": "BLUE"})
        t0 = time.monotonic()
        _, headers, _ = call("GET", done["location"])
        connection = headers.get("Location").split("connected=")[1]
        wait_sync(connection)
        first = time.monotonic() - t0
        _, _, conns = call("GET", f"{BASE}/api/v1/banks/connections")
        t1 = time.monotonic()
        _, _, acc = call("POST", f"{BASE}/api/v1/banks/connections/{connection}/sync")
        wait_sync(connection)
        second = time.monotonic() - t1
        _, _, resync = call("GET", f"{BASE}/api/v1/banks/syncs/{acc['syncId']}")
        resync = resync["sync"]
        # rows in the database, as the API lists them
        total = 0
        for a in conns["items"][0]["accounts"]:
            cursor = ""
            while True:
                _, _, page = call("GET", f"{BASE}/api/v1/transactions?accountId={a['accountId']}&limit=200&from=2000-01-01{cursor}")
                total += len(page["items"])
                if not page["nextCursor"]:
                    break
                cursor = "&cursor=" + page["nextCursor"]
        db = "PostgreSQL" if env.get("PFN_DATABASE_URL", "").startswith("postgres") else "SQLite"
        print(f"\npfn sync benchmark — {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}, {os.cpu_count()} cores, {db}, "
              f"sandbox page size {PAGE}")
        print("| sync | rows | pages | seconds | rows/s |")
        print("|---|---|---|---|---|")
        print(f"| first (callback to succeeded) | {total} added | {resync['pagesFetched']} | {first:.2f} | {total / first:,.0f} |")
        print(f"| re-sync, nothing new | {resync['rowsAdded']} added, {resync['rowsUpdated']} updated, "
              f"{resync['rowsRemoved']} removed | {resync['pagesFetched']} | {second:.2f} | {total / second:,.0f} (rows checked) |")
        if resync["rowsAdded"] != 0 or resync["rowsUpdated"] != 0:
            raise SystemExit("re-sync changed rows: it must add 0")
    finally:
        server.terminate()
        server.wait()


main()
