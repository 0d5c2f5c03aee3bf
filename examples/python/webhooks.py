"""A webhook receiver for pfn, verified by the Standard Webhooks library (`pip install
standardwebhooks`), set up through a client generated from openapi/openapi.json.

Starts a receiver on loopback, signs up, makes a key with the webhooks and finance scopes,
registers the receiver for every event type, then pushes transactions, edits one, deletes one,
connects the sandbox bank and lets it sync. Every message must verify with the endpoint's
secret; deduplicated by `webhook-id`, the events must be exactly what happened, in order for
each transaction.

    PFN_URL=http://127.0.0.1:8080 PFN_OUTBOX_DIR=data/outbox python examples/python/webhooks.py

pfn must allow loopback endpoints for this (`PFN_WEBHOOK_ALLOW_PRIVATE=1`): a real receiver is
on a public https:// address. `scripts/clients` runs it against a fresh server; CI runs that.
"""

import json
import os
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

from pfn_api_client import AuthenticatedClient
from pfn_api_client.api.finance import (
    create_account,
    delete_transaction,
    list_transactions,
    push_transactions,
    update_transaction,
)
from pfn_api_client.api.keys import create_key
from pfn_api_client.api.webhooks import create_webhook, list_webhook_deliveries
from pfn_api_client.models import (
    CreateAccountRequest,
    CreateKeyRequest,
    CreateWebhookRequest,
    Money,
    NewTransaction,
    PushTransactionsRequest,
    PatchTransactionRequest,
    WebhookDeliveryStatus,
    WebhookEventType,
)
from standardwebhooks.webhooks import Webhook

from quickstart import URL, expect, signed_in_session

EVENT_TYPES = [
    "transaction.created",
    "transaction.updated",
    "transaction.removed",
    "sync.completed",
    "sync.failed",
]


class Inbox:
    """What the receiver accepted: (webhook-id, event), in arrival order."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []
        self.secret = None
        self.rejected = 0


def receiver(inbox):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["content-length"]))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                event = Webhook(inbox.secret).verify(body, headers)
            except Exception as e:  # a bad signature: refuse, pfn retries
                with inbox.lock:
                    inbox.rejected += 1
                print(f"refused a message: {e}", file=sys.stderr)
                self.send_response(400)
                self.end_headers()
                return
            with inbox.lock:
                inbox.messages.append((headers["webhook-id"], event))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def wait_until(what, check, timeout=60.0, poll=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(poll)
    sys.exit(f"timed out waiting for {what}")


def main():
    inbox = Inbox()
    server = receiver(inbox)
    hook_url = f"http://127.0.0.1:{server.server_address[1]}/pfn"

    session, _, cookie = signed_in_session("hooks")
    created = expect(
        create_key.sync_detailed(
            client=session,
            body=CreateKeyRequest(
                name="webhooks (python)",
                scopes=["write:webhooks", "write:accounts", "write:transactions", "write:connections"],
                expires_in_days=1,
            ),
        ),
        201,
    )
    agent = AuthenticatedClient(base_url=URL, token=created.secret)

    endpoint = expect(
        create_webhook.sync_detailed(
            client=agent,
            body=CreateWebhookRequest(
                url=hook_url, event_types=[WebhookEventType(t) for t in EVENT_TYPES], description="python receiver"
            ),
        ),
        201,
    )
    inbox.secret = endpoint.secret
    print(f"registered {hook_url} for {', '.join(EVENT_TYPES)}")

    # Push three, edit the first, delete the second.
    account = expect(
        create_account.sync_detailed(client=agent, body=CreateAccountRequest(name="Cash", currency="BHD", kind="cash")),
        201,
    ).account
    batch = [
        NewTransaction(
            account_id=account.id,
            external_id=f"hook-{i}",
            amount=Money(amount=f"-{i}.500", currency="BHD"),
            description=f"Lunch #{i}",
            booked_at=datetime(2026, 11, 10 + i, 12, 0, tzinfo=timezone.utc),
        )
        for i in range(3)
    ]
    pushed = expect(push_transactions.sync_detailed(client=agent, body=PushTransactionsRequest(transactions=batch)), 200)
    ids = [t.id for t in pushed.created]
    expect(update_transaction.sync_detailed(ids[0], client=agent, body=PatchTransactionRequest(note="team lunch")), 200)
    expect(delete_transaction.sync_detailed(ids[1], client=agent), 204)

    # Connect the sandbox bank and let its first sync run.
    connection = connect_sandbox(created.secret, cookie)
    synced = wait_for_sync(created.secret, connection)
    bank_ids = bank_transaction_ids(agent, connection)
    print(f"the sandbox connection synced {len(bank_ids)} transactions ({synced})")

    expected = {
        ids[0]: ["transaction.created", "transaction.updated"],
        ids[1]: ["transaction.created", "transaction.removed"],
        ids[2]: ["transaction.created"],
        connection: [f"sync.{synced}"],
    }
    for t in bank_ids:
        expected[t] = ["transaction.created"]
    total = sum(len(v) for v in expected.values())

    def unique():
        with inbox.lock:
            seen, out = set(), []
            for mid, event in inbox.messages:
                if mid not in seen:
                    seen.add(mid)
                    out.append(event)
            return out

    wait_until(f"{total} messages", lambda: len(unique()) >= total)
    got = {}
    for event in unique():
        data = event["data"]
        resource = data.get("transactionId") or data.get("connectionId")
        got.setdefault(resource, []).append(event["type"])
    if got != expected:
        sys.exit(f"the events differ from what happened:\n got {got}\nwant {expected}")
    assert inbox.rejected == 0, "a message did not verify"

    # The delivery log records each attempt once pfn has the receiver's answer.
    def all_delivered():
        log = expect(list_webhook_deliveries.sync_detailed(endpoint.webhook.id, client=agent, limit=200), 200)
        return all(d.status == WebhookDeliveryStatus.DELIVERED for d in log.items)

    wait_until("the delivery log to show every message delivered", all_delivered, poll=0.5)
    print(f"{total} events arrived, every signature verified by standardwebhooks, in order per resource")
    server.shutdown()


def call(method, path, key, body=None):
    """A plain JSON call with the key; waits out 429s (the key's rate limit)."""
    while True:
        req = urllib.request.Request(f"{URL}{path}", method=method, data=None if body is None else json.dumps(body).encode())
        req.add_header("Authorization", f"Bearer {key}")
        req.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(req) as res:
                return json.load(res) if res.status != 204 else None
        except urllib.error.HTTPError as e:
            if e.code != 429:
                raise
            time.sleep(int(e.headers.get("retry-after", "1")))


def connect_sandbox(key, cookie):
    """The Connect flow with the bundled sandbox: start it (the key), approve at the sandbox,
    come back (the callback completes only for the user who started it, signed in: the
    session's cookie). Returns the new connection's id."""
    providers = call("GET", "/api/v1/banks/providers", key)["providers"]
    started = call("POST", "/api/v1/banks/connect", key, {"providerId": providers[0]["id"]})
    sandbox = urlparse(started["connectUrl"])
    req = urllib.request.Request(
        f"{sandbox.scheme}://{sandbox.netloc}/__sandbox/intents/{started['intentId']}/complete",
        method="POST",
        data=json.dumps({"status": "SUCCESSFUL", "providerId": providers[0]["id"]}).encode(),
        headers={"content-type": "application/json"},
    )
    location = json.load(urllib.request.urlopen(req))["location"]

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(
            urllib.request.Request(location, headers={"Cookie": f"pfn_session={cookie}"})
        )
    except urllib.error.HTTPError as e:
        back = e.headers["location"]
    else:
        sys.exit("the callback did not redirect")
    prefix = "/connections?connected="
    if not back.startswith(prefix):
        sys.exit(f"connecting failed: {back}")
    return back[len(prefix):]


def wait_for_sync(key, connection):
    """Waits for the connection's first sync; its outcome, `completed` or `failed`."""
    state = {}

    def done():
        c = call("GET", f"/api/v1/banks/connections/{connection}", key)["connection"]
        state["c"] = c
        return c["currentSyncId"] is None and c["lastSyncStatus"] is not None

    wait_until("the sync", done, poll=0.5)
    return "completed" if state["c"]["lastSyncStatus"] == "succeeded" else "failed"


def bank_transaction_ids(agent, connection):
    accounts = call("GET", f"/api/v1/banks/connections/{connection}", agent.token)["connection"]["accounts"]
    out = []
    for a in accounts:
        cursor = None
        while True:
            page = expect(
                list_transactions.sync_detailed(
                    client=agent, account_id=a["accountId"], limit=200, from_="2000-01-01", **({"cursor": cursor} if cursor else {})
                ),
                200,
            )
            out += [t.id for t in page.items]
            cursor = page.next_cursor
            if not cursor:
                break
    return out


if __name__ == "__main__":
    main()
