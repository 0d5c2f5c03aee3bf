#!/usr/bin/env python3
"""Makes a verified user on a running pfn and prints its credentials for scripts/schemathesis:
`KEY=<an API key with every scope>` and `COOKIE=<a session cookie value>`.

Usage: st_credentials.py URL OUTBOX_DIR   (standard library only)
"""

import http.cookiejar
import json
import re
import secrets
import sys
import time
import urllib.request
from pathlib import Path

url, outbox = sys.argv[1].rstrip("/"), Path(sys.argv[2])
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def post(path, body):
    req = urllib.request.Request(f"{url}{path}", data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    req.add_header("Origin", url)
    with opener.open(req, timeout=30) as res:
        raw = res.read()
        return json.loads(raw) if raw else None


email = f"st-{secrets.token_hex(4)}@example.com"
password = "correct horse battery staple"
post("/api/v1/auth/signup", {"email": email, "password": password, "name": "Schemathesis"})
pattern = re.compile(re.escape(f"{url}/verify-email?token=") + r"(\S+)")
for _ in range(100):
    found = [m.group(1) for f in outbox.glob("*.eml") if (m := pattern.search(f.read_text()))]
    if found:
        break
    time.sleep(0.1)
else:
    sys.exit(f"no verification mail in {outbox}")
post("/api/v1/auth/verify-email", {"token": found[0]})
post("/api/v1/auth/login", {"email": email, "password": password})
with opener.open(f"{url}/api/v1/scopes", timeout=30) as res:
    scopes = [s["name"] for s in json.load(res)["scopes"]]
key = post("/api/v1/keys", {"name": "schemathesis", "scopes": scopes, "expiresInDays": 1})["secret"]
cookie = next(c.value for c in jar if c.name.endswith("pfn_session"))
print(f"KEY={key}")
print(f"COOKIE={cookie}")
