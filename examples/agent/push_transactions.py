#!/usr/bin/env python3
"""An agent that pushes transactions to pfn with nothing but an API key: Python's standard
library, retries with backoff, and idempotency keys, so that running it twice, or retrying after
a timeout, never stores a transaction twice.

    export PFN_URL=http://127.0.0.1:8080
    export PFN_API_KEY=pfn_live_…        # scopes: read:accounts write:accounts write:transactions
    python examples/agent/push_transactions.py examples/agent/sample-transactions.json

The input is a JSON list of {"externalId", "amount", "description", "bookedAt", "category"?,
"merchant"?}: `externalId` is your id for the transaction (a bank reference, a row number);
pfn never stores the same (account, externalId) twice. The account (`--account`, default
"Agent", in `--currency`, default BHD) is created on first use. See docs/agent-guide.md.
"""

import argparse
import hashlib
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request

BATCH = 500  # pfn takes up to 1,000 per request
RETRIES = 8


class ApiError(Exception):
    def __init__(self, status, body):
        error = (body or {}).get("error", {})
        self.status, self.code, self.fields = status, error.get("code"), error.get("fields")
        super().__init__(f"{status} {self.code}: {error.get('message')}")


def call(method, path, body=None, headers=None):
    """One API call with retries: 429 waits `Retry-After`; 409 `idempotency_in_progress` (the
    same batch is still being stored), 5xx and network errors back off exponentially with
    jitter. Other errors are raised at once: retrying cannot fix them."""
    url = os.environ.get("PFN_URL", "http://127.0.0.1:8080").rstrip("/") + path
    key = os.environ.get("PFN_API_KEY") or sys.exit("set PFN_API_KEY to a pfn API key")
    data = None if body is None else json.dumps(body).encode()
    for attempt in range(RETRIES):
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", f"Bearer {key}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return (json.loads(raw) if raw else None), response.headers
        except urllib.error.HTTPError as e:
            try:
                error_body = json.loads(e.read() or b"{}")
            except ValueError:
                error_body = None
            code = ((error_body or {}).get("error") or {}).get("code")
            if e.code == 429:
                wait = int(e.headers.get("Retry-After", "1"))
            elif e.code >= 500 or code == "idempotency_in_progress":
                wait = min(30, 2**attempt) * random.uniform(0.5, 1.0)
            else:
                raise ApiError(e.code, error_body) from None
            print(f"  {method} {path}: {e.code}, retrying in {wait:.1f} s", file=sys.stderr)
        except (urllib.error.URLError, TimeoutError) as e:
            wait = min(30, 2**attempt) * random.uniform(0.5, 1.0)
            print(f"  {method} {path}: {e}, retrying in {wait:.1f} s", file=sys.stderr)
        time.sleep(wait)
    raise SystemExit(f"{method} {path}: gave up after {RETRIES} attempts")


def account_id(name, currency):
    """The id of the manual account with this name, created if missing."""
    cursor = None
    while True:
        page, _ = call("GET", "/api/v1/accounts?limit=200" + (f"&cursor={cursor}" if cursor else ""))
        for account in page["items"]:
            if account["name"] == name and account["currency"] == currency and account["source"] == "manual":
                return account["id"]
        cursor = page["nextCursor"]
        if not cursor:
            break
    created, _ = call("POST", "/api/v1/accounts", {"name": name, "currency": currency, "kind": "other"})
    return created["account"]["id"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", help="a JSON list of transactions")
    parser.add_argument("--account", default="Agent")
    parser.add_argument("--currency", default="BHD")
    args = parser.parse_args()
    with open(args.file, encoding="utf-8") as f:
        rows = json.load(f)

    account = account_id(args.account, args.currency)
    created = duplicates = batches = replayed = 0
    for start in range(0, len(rows), BATCH):
        batch = [
            {
                "accountId": account,
                "externalId": str(row["externalId"]),
                "amount": {"amount": str(row["amount"]), "currency": args.currency},
                "description": row["description"],
                "bookedAt": row["bookedAt"],
                **{k: row[k] for k in ("category", "merchant") if row.get(k)},
            }
            for row in rows[start : start + BATCH]
        ]
        body = {"transactions": batch}
        # The same batch always gets the same key: a retry after a lost answer replays the
        # first answer instead of pushing again.
        idem = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:48]
        try:
            result, headers = call("POST", "/api/v1/transactions", body, {"Idempotency-Key": idem})
        except ApiError as e:
            # 422 names each bad field by JSON path, e.g. transactions[3].amount.
            sys.exit(f"batch at row {start} refused: {e} {e.fields or ''}")
        # A replayed answer is the first push's answer: those counts are from back then.
        batches += 1
        replayed += headers.get("Idempotent-Replayed") == "true"
        created += len(result["created"])
        duplicates += len(result["duplicates"])
    print(
        f"{len(rows)} transactions: {created} new, {duplicates} already there; "
        f"{replayed} of {batches} batches pushed before (pfn replayed their answers)"
    )


if __name__ == "__main__":
    main()
