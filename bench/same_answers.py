#!/usr/bin/env python3
"""Two builds of pfn, the same answers (not a test): the same 28 requests (health, refusals,
sign-up to sign-out, a key, `/mcp`, malformed and dead session cookies, metrics) to each build
in turn; prints the answers (status, headers in order, body) and the log lines that differ
once ids, times and latencies are masked. For changes to the request path, which must not
change what clients and logs see (docs/benchmarks.md, "The request path").

Usage: bench/same_answers.py <pfn binary A> <pfn binary B>. Knob: SAME_LOG, the log filter
(default pfn's own default filter; try `info,tower_sessions=trace,tower_http=trace`).
Random values (key secrets) and the order of /metrics lines differ between any two runs.
"""
import difflib
import glob
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import pfnbench as pb  # noqa: E402

FILTER = os.environ.get("SAME_LOG", "info,sqlx=warn,tower_sessions=warn,tower_sessions_core=warn,rmcp=warn")

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def norm(text):
    text = UUID.sub("<uuid>", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "<time>", text)
    text = re.sub(r"\b\d+ ms\b", "<n> ms", text)
    text = re.sub(r"(pfn_session=)[A-Za-z0-9_-]{22}", r"\1<sid>", text)
    text = re.sub(r"Max-Age=\d+", "Max-Age=<n>", text)
    text = re.sub(r"Expires=[^;]+", "Expires=<t>", text)
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)
    text = re.sub(r"localhost:\d+", "localhost:<port>", text)
    text = re.sub(r"\"(id|userId|sessionId|createdAt|lastSeenAt|expiresAt)\":\"[^\"]*\"", r'"\1":"<x>"', text)
    text = re.sub(r"(date: ).*", r"\1<date>", text)
    text = re.sub(r"/tmp/[^ \"]+", "<tmp>", text)
    text = re.sub(r"(token=)[A-Za-z0-9_-]+", r"\1<tok>", text)
    text = re.sub(r"\b[0-9A-HJKMNP-TV-Z]{26}\b", "<ulid>", text)
    return text


def run(binary):
    d = tempfile.mkdtemp(prefix="cmp-")
    port = pb.free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, PFN_DATA_DIR=d, PFN_LISTEN=f"127.0.0.1:{port}", RUST_LOG=FILTER, NO_COLOR="1")
    env.pop("PFN_PUBLIC_URL", None)
    log = open(f"{d}/log", "w")
    p = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            if pb.Client(base).request("GET", "/readyz")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    out = []

    def req(name, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", port)
        h = dict(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        hdrs = "\n".join(f"  {k.lower()}: {v}" for k, v in r.getheaders())
        out.append(norm(f"## {name}: {method} {path} -> {r.status}\n{hdrs}\n  body: {raw[:400]!r}"))
        time.sleep(0.05)
        return r, raw

    origin = {"Origin": base}
    req("healthz", "GET", "/healthz")
    req("with id", "GET", "/healthz", headers={"x-request-id": "abc-123"})
    req("404", "GET", "/api/v1/nope")
    req("nul path", "GET", "/api/v1/accounts/%00")
    req("nul query", "GET", "/api/v1/accounts?cursor=a%00b")
    req("405", "DELETE", "/healthz")
    req("csrf", "POST", "/api/v1/auth/logout", headers={"Origin": "http://evil.example"})
    req("bad json", "POST", "/api/v1/auth/login", body=b"{", headers=origin)
    req("oversize", "POST", "/api/v1/auth/login", body=b" " * (2 * 1024 * 1024 + 1), headers=origin)
    req("signup", "POST", "/api/v1/auth/signup", body={"email": "c@example.com", "password": "sunrise-meridian-2026", "name": "C"}, headers=origin)
    time.sleep(0.5)
    tok = None
    for f in glob.glob(f"{d}/outbox/*.eml"):
        m = re.search(r"verify-email\?token=([A-Za-z0-9_-]+)", open(f).read())
        tok = m and m.group(1)
    req("verify", "POST", "/api/v1/auth/verify-email", body={"token": tok}, headers=origin)
    r, _ = req("login", "POST", "/api/v1/auth/login", body={"email": "c@example.com", "password": "sunrise-meridian-2026"}, headers=origin)
    cookie = re.search(r"(pfn_session=[^;]+)", r.getheader("Set-Cookie") or "").group(1)
    req("me", "GET", "/api/v1/auth/me", headers={"Cookie": cookie})
    req("me, two cookies", "GET", "/api/v1/auth/me", headers={"Cookie": f"pfn_session=garbage; {cookie}"})
    name, value = cookie.split("=", 1)
    encoded = f"{name}=" + "".join(f"%{ord(c):02X}" for c in value[:2]) + value[2:]
    req("me, percent-encoded cookie", "GET", "/api/v1/auth/me", headers={"Cookie": encoded})
    r, raw = req("key", "POST", "/api/v1/keys", body={"name": "k", "scopes": ["read:accounts"]}, headers={"Cookie": cookie, **origin})
    secret = json.loads(raw)["secret"]
    req("whoami", "GET", "/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"})
    req("whoami bad", "GET", "/api/v1/whoami", headers={"Authorization": "Bearer pfn_test_nope"})
    req("whoami basic", "GET", "/api/v1/whoami", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    req("whoami + cookie", "GET", "/api/v1/whoami", headers={"Authorization": f"Bearer {secret}", "Cookie": "pfn_session=garbage"})
    req("me, key", "GET", "/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
    req("malformed cookie", "GET", "/api/v1/auth/me", headers={"Cookie": "pfn_session=garbage"})
    req("unknown cookie", "GET", "/api/v1/auth/me", headers={"Cookie": "pfn_session=AAAAAAAAAAAAAAAAAAAAAA"})
    req("healthz + cookie", "GET", "/healthz", headers={"Cookie": "pfn_session=AAAAAAAAAAAAAAAAAAAAAA"})
    req("mcp", "POST", "/mcp", body={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Authorization": f"Bearer {secret}", "Accept": "application/json, text/event-stream"})
    req("logout", "POST", "/api/v1/auth/logout", headers={"Cookie": cookie, **origin})
    req("me after logout", "GET", "/api/v1/auth/me", headers={"Cookie": cookie})
    req("metrics", "GET", "/metrics")
    p.terminate()
    p.wait()
    logs = [norm(line.rstrip()) for line in open(f"{d}/log") if line.strip()]
    shutil.rmtree(d, ignore_errors=True)
    return out, logs


def main():
    a_out, a_log = run(sys.argv[1])
    b_out, b_log = run(sys.argv[2])
    bad = 0
    for x, y in zip(a_out, b_out):
        if x != y:
            bad += 1
            print("=== differs\n--- before\n" + x + "\n--- after\n" + y)
    print(f"{len(a_out)} answers compared, {bad} differ")
    d = list(difflib.unified_diff(a_log, b_log, "before", "after", lineterm="", n=1))
    print(f"log lines: {len(a_log)} before, {len(b_log)} after; diff lines {len(d)}")
    print("\n".join(d[:200]))


if __name__ == "__main__":
    main()
