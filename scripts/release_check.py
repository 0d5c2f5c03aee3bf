#!/usr/bin/env python3
"""Tries a packed release the way a self-hoster would (scripts/release-check runs this).

check TARBALL: verifies its SHA-256, unpacks it, and runs its `pfn` from an empty temporary
directory with nothing but the settings below: it must print its version, start on SQLite,
serve the web app from inside the binary and the Tarabut sandbox, and take over the fixture
database (`scripts/fixtures/previous-schema.db`, made by an older pfn with the previous schema):
migrated at start, the fixture's user signs in, its API key works, its transactions are all
listed and its spending insight is what the older pfn computed.

make-fixture PFN: (maintainers, when the schema changes) makes that fixture with the pfn
binary given, which must be the previous release's: a user, an API key, a manual account and
300 transactions over three months, and the answers to check against, in
`scripts/fixtures/previous-schema.json`.
"""
import glob
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
import pfnbench as pb  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE_DB = os.path.join(HERE, "fixtures", "previous-schema.db")
FIXTURE_JSON = os.path.join(HERE, "fixtures", "previous-schema.json")
# The fixture's server secret (development mode keeps it in data/secret; here it is fixed, so
# the sealed values in the fixture stay readable).
SECRET = "release-check-fixture-secret-0123456789abcdef0123456789"
EMAIL, PASSWORD = "noor@example.com", "sunrise-meridian-2026"
WINDOW = ("2026-08-01T00:00:00Z", "2026-11-01T00:00:00Z")


def start(binary, data_dir, cwd):
    """`pfn serve` from `cwd` with only these settings; returns (process, base URL, log path)."""
    port = pb.free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": cwd,
        "PFN_DATA_DIR": data_dir,
        "PFN_LISTEN": f"127.0.0.1:{port}",
        "PFN_SECRET": SECRET,
        "RUST_LOG": "info",
    }
    log = os.path.join(cwd, "server.log")
    proc = subprocess.Popen([binary, "serve"], env=env, cwd=cwd, stdout=open(log, "w"),
                            stderr=subprocess.STDOUT)
    try:
        pb.wait_ready(proc, base, "/readyz", 60, "pfn")
    except SystemExit as e:
        raise SystemExit(f"{e}:\n{open(log).read()[-3000:]}")
    return proc, base, log


def stop(proc):
    pb.terminate(proc, 20)


def sign_in(base):
    c = pb.Client(base)
    _, res = c.json("POST", "/api/v1/auth/login", {"email": EMAIL, "password": PASSWORD})
    cookie = re.search(r"((?:__Host-)?pfn_session=[^;]+)", res.getheader("Set-Cookie") or "")
    if not cookie:
        raise SystemExit("sign-in gave no session cookie")
    return pb.Client(base, {"Cookie": cookie.group(1)})


def all_transactions(client):
    items, cursor = [], None
    while True:
        path = "/api/v1/transactions?limit=200" + (f"&cursor={cursor}" if cursor else "")
        page, _ = client.json("GET", path)
        items += page["items"]
        cursor = page.get("nextCursor")
        if not cursor:
            return items


def spending(client):
    body, _ = client.json("GET", f"/api/v1/insights/spending?from={WINDOW[0]}&to={WINDOW[1]}")
    return body


def make_fixture(binary):
    data = tempfile.mkdtemp(prefix="pfn-fixture-")
    proc, base, _ = start(binary, data, data)
    try:
        c = pb.Client(base)
        c.json("POST", "/api/v1/auth/signup", {"email": EMAIL, "password": PASSWORD, "name": "Fixture"})
        token = pb.outbox_token([data], "verify-email")
        c.json("POST", "/api/v1/auth/verify-email", {"token": token})
        session = sign_in(base)
        key, _ = session.json("POST", "/api/v1/keys", {
            "name": "release-check", "scopes": ["read:accounts", "read:transactions", "read:insights"]})
        account, _ = session.json("POST", "/api/v1/accounts",
                                  {"name": "Fixture current", "currency": "BHD", "kind": "cash"})
        rng = random.Random(2026)
        categories = ["groceries", "rent", "transport", "dining", None]
        rows = []
        for i in range(300):
            day = rng.randrange(0, 92)
            sign = -1 if rng.random() < 0.8 else 1
            rows.append({
                "accountId": account["account"]["id"],
                "externalId": f"fixture-{i:04}",
                "amount": {"amount": f"{sign * rng.randrange(1, 500_000) / 1000:.3f}", "currency": "BHD"},
                "description": f"Fixture row {i}",
                "bookedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                          time.gmtime(1785542400 + day * 86400 + rng.randrange(86400))),
                "category": rng.choice(categories),
            })
        session.json("POST", "/api/v1/transactions", {"transactions": rows})
        expected = {
            "email": EMAIL,
            "password": PASSWORD,
            "apiKey": key["secret"],
            "transactions": len(all_transactions(session)),
            "window": WINDOW,
            "spending": spending(session),
            "madeWith": subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip(),
        }
    finally:
        stop(proc)
    db = sqlite3.connect(os.path.join(data, "pfn.db"))
    db.execute("pragma wal_checkpoint(truncate)")
    version = db.execute("select max(version) from _sqlx_migrations").fetchone()[0]
    expected["schema"] = version
    if os.path.exists(FIXTURE_DB):
        os.remove(FIXTURE_DB)
    db.execute("vacuum into ?", (FIXTURE_DB,))
    db.close()
    with open(FIXTURE_JSON, "w") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")
    shutil.rmtree(data, ignore_errors=True)
    print(f"made {FIXTURE_DB} (schema {version}) and {FIXTURE_JSON}")


def check(tarball):
    expected = json.load(open(FIXTURE_JSON))
    folder, name = os.path.split(os.path.abspath(tarball))
    want = open(os.path.join(folder, name + ".sha256")).read().split()[0]
    got = hashlib.sha256(open(tarball, "rb").read()).hexdigest()
    assert got == want, f"SHA-256 of {name}: {got}, its .sha256 says {want}"
    print(f"ok  SHA-256 matches ({got[:16]}…)")
    unpacked = tempfile.mkdtemp(prefix="pfn-release-")
    with tarfile.open(tarball) as t:
        t.extractall(unpacked, filter="data")
    (top,) = os.listdir(unpacked)
    binary = os.path.join(unpacked, top, "pfn")
    for path in ["pfn", "README.md", ".env.example", "docs/deploy.md", "deploy/pfn.service"]:
        assert os.path.exists(os.path.join(unpacked, top, path)), f"{path} is missing from {name}"
    linked = subprocess.run(["file", "-L", binary], capture_output=True, text=True).stdout
    assert "static" in linked, f"not a static binary: {linked}"
    print("ok  the archive holds a static pfn and its documents")
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert re.fullmatch(r"pfn \d+\.\d+\.\d+ \(commit [0-9a-f]{12}, built \d{4}-\d{2}-\d{2}\)", version), version
    print(f"ok  {version}")

    run = tempfile.mkdtemp(prefix="pfn-empty-")
    data = os.path.join(run, "data")
    os.makedirs(data)
    shutil.copy(FIXTURE_DB, os.path.join(data, "pfn.db"))
    proc, base, log = start(binary, data, run)
    try:
        print(f"ok  started from an empty directory on SQLite, the fixture (schema {expected['schema']}) migrated")
        c = pb.Client(base, {"Accept": "text/html"})
        status, raw, res = c.request("GET", "/")
        page = raw.decode()
        assert status == 200 and "being built" not in page and "<script" in page, page[:500]
        assets = re.findall(r'(?:src|href)="/?([^"/:?#]+\.(?:js|wasm|css))"', page)
        assert assets, f"no assets named in index.html: {page[:500]}"
        for asset in assets:
            status, raw, _ = pb.Client(base).request("GET", "/" + asset)
            assert status == 200 and raw, f"/{asset}: {status}"
        print(f"ok  the web app is served from the binary (index.html and {len(assets)} assets)")
        text = open(log).read()
        sandbox = re.search(r"Tarabut sandbox started.*?url\S*?=\S*?\"?(http://[0-9.:]+)", text)
        assert sandbox, "no sandbox in the log"
        host, port = sandbox.group(1).removeprefix("http://").split(":")
        import http.client
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", "/")
        answered = conn.getresponse().status
        assert answered < 500, f"the sandbox answered {answered}"
        print(f"ok  the Tarabut sandbox answers at {sandbox.group(1)}")
        session = sign_in(base)
        key = pb.Client(base, {"Authorization": f"Bearer {expected['apiKey']}"})
        key.json("GET", "/api/v1/whoami")
        count = len(all_transactions(key))
        assert count == expected["transactions"], f"{count} transactions, the fixture has {expected['transactions']}"
        got = spending(session)
        assert got == expected["spending"], f"spending {json.dumps(got)[:400]} != {json.dumps(expected['spending'])[:400]}"
        print(f"ok  the fixture's user signs in, its key works, {count} transactions and the spending insight are as before")
    finally:
        stop(proc)
    db = sqlite3.connect(os.path.join(data, "pfn.db"))
    now = db.execute("select max(version) from _sqlx_migrations").fetchone()[0]
    db.close()
    assert now > expected["schema"], f"schema {now}: not migrated past {expected['schema']}"
    print(f"ok  the database is at schema {now} (was {expected['schema']})")
    shutil.rmtree(unpacked, ignore_errors=True)
    shutil.rmtree(run, ignore_errors=True)
    print(f"{name}: every check passed")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make-fixture":
        make_fixture(os.path.abspath(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        check(sys.argv[2])
    else:
        raise SystemExit(__doc__)
