"""pfn from Python, through a client generated from openapi/openapi.json.

Signs up through the API (the verification link comes from the server's mail outbox), signs in,
creates an API key with the session, then with the key alone: creates an account, pushes a batch
of transactions (idempotently), reads them back page by page, keeps a copy in step through the
change feed (and sees a deletion arrive as removed), is refused a route its scopes do not cover
(403) and runs into its rate limit (429), checking the typed error bodies.

    openapi-python-client generate --path openapi/openapi.json --output-path /tmp/pfn-python
    pip install /tmp/pfn-python
    PFN_URL=http://127.0.0.1:8080 PFN_OUTBOX_DIR=data/outbox python examples/python/quickstart.py

`scripts/clients` does all of this against a fresh server; CI runs it.
"""

import os
import re
import secrets
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from pfn_api_client import AuthenticatedClient, Client
from pfn_api_client.api.auth import login, signup, verify_email
from pfn_api_client.api.finance import (
    create_account,
    delete_transaction,
    list_budgets,
    list_transaction_changes,
    list_transactions,
    push_transactions,
)
from pfn_api_client.api.keys import create_key, whoami
from pfn_api_client.models import (
    CreateAccountRequest,
    CreateKeyRequest,
    ErrorBody,
    LoginRequest,
    Money,
    NewTransaction,
    PushTransactionsRequest,
    SignupRequest,
    TokenRequest,
)

URL = os.environ.get("PFN_URL", "http://127.0.0.1:8080").rstrip("/")
OUTBOX = Path(os.environ.get("PFN_OUTBOX_DIR", "data/outbox"))


def expect(response, status):
    """The parsed body of an answer that must have this status."""
    if response.status_code != status:
        sys.exit(f"expected {status}, got {response.status_code}: {response.content!r}")
    return response.parsed


def link_token(email, path, timeout=10.0):
    """The token of the newest `<URL><path>?token=` link mailed to `email` (the outbox is a
    directory of .eml files when pfn runs without SMTP)."""
    deadline = time.monotonic() + timeout
    pattern = re.compile(re.escape(f"{URL}{path}?token=") + r"(\S+)")
    while time.monotonic() < deadline:
        for mail in sorted(OUTBOX.glob("*.eml"), reverse=True):
            text = mail.read_text(errors="replace")
            if f"To: {email}" in text and (m := pattern.search(text)):
                return m.group(1)
        time.sleep(0.1)
    sys.exit(f"no {path} mail to {email} in {OUTBOX}")


def signed_in_session(prefix="py"):
    """Signs up a new user, verifies the address and signs in: a client with the session
    cookie, the address, and the cookie itself. Browsers send Origin on their own; a script
    says it."""
    public = Client(base_url=URL, headers={"Origin": URL})
    email = f"{prefix}-{secrets.token_hex(4)}@example.com"
    password = "correct horse battery staple"
    expect(signup.sync_detailed(client=public, body=SignupRequest(email=email, password=password, name="Py")), 202)
    token = link_token(email, "/verify-email")
    expect(verify_email.sync_detailed(client=public, body=TokenRequest(token=token)), 200)
    expect(login.sync_detailed(client=public, body=LoginRequest(email=email, password=password)), 200)
    cookie = public.get_httpx_client().cookies.get("pfn_session")
    session = AuthenticatedClient(
        base_url=URL, token=f"pfn_session={cookie}", auth_header_name="Cookie", prefix="", headers={"Origin": URL}
    )
    print(f"signed up and in as {email}")
    return session, email, cookie


def main():
    # 1. Sign up, verify, sign in.
    session, email, _ = signed_in_session()

    # 2. A key for an agent: accounts and transactions, nothing else.
    created = expect(
        create_key.sync_detailed(
            client=session,
            body=CreateKeyRequest(
                name="quickstart (python)",
                scopes=["read:accounts", "write:accounts", "read:transactions", "write:transactions"],
                expires_in_days=1,
            ),
        ),
        201,
    )
    secret = created.secret
    print(f"created key {created.key.hint}")

    # 3. From here on, the key alone.
    agent = AuthenticatedClient(base_url=URL, token=secret)
    me = expect(whoami.sync_detailed(client=agent), 200)
    assert me.auth == "key" and me.email == email, me
    account = expect(
        create_account.sync_detailed(
            client=agent, body=CreateAccountRequest(name="Cash", currency="BHD", kind="cash")
        ),
        201,
    ).account

    batch = [
        NewTransaction(
            account_id=account.id,
            external_id=f"py-{i}",
            amount=Money(amount=f"-{i}.250", currency="BHD"),
            description=f"Coffee #{i}",
            booked_at=datetime(2026, 11, 1 + i % 20, 8, 0, tzinfo=timezone.utc),
            category="dining",
        )
        for i in range(1, 26)
    ]
    idem = f"quickstart-{secrets.token_hex(8)}"
    first = push_transactions.sync_detailed(client=agent, body=PushTransactionsRequest(transactions=batch), idempotency_key=idem)
    result = expect(first, 200)
    assert len(result.created) == 25 and not result.duplicates, result
    # A retry with the same Idempotency-Key replays the first answer and stores nothing twice.
    again = push_transactions.sync_detailed(client=agent, body=PushTransactionsRequest(transactions=batch), idempotency_key=idem)
    assert expect(again, 200).to_dict() == result.to_dict()
    assert again.headers.get("idempotent-replayed") == "true"
    print("pushed 25 transactions (and replayed the push idempotently)")

    # 4. Read them back, 10 a page, following nextCursor.
    seen, cursor, pages = [], None, 0
    while True:
        page = expect(
            list_transactions.sync_detailed(client=agent, account_id=account.id, limit=10, **({"cursor": cursor} if cursor else {})),
            200,
        )
        pages += 1
        seen += [t.external_id for t in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert pages == 3 and sorted(seen) == sorted(t.external_id for t in batch), (pages, seen)
    print(f"read {len(seen)} transactions back in {pages} pages")

    # 5. Keep a copy in step through the change feed: from the start, 10 changes a page; then
    #    delete one and ask again from the stored cursor: it comes back as removed.
    copy, cursor = {}, None
    while True:
        changes = expect(
            list_transaction_changes.sync_detailed(client=agent, limit=10, **({"cursor": cursor} if cursor else {})),
            200,
        )
        for t in changes.added + changes.modified:
            copy[t.id] = t
        for gone in changes.removed:
            copy.pop(gone.id, None)
        cursor = changes.next_cursor
        if not changes.has_more:
            break
    assert sorted(t.external_id for t in copy.values()) == sorted(seen), copy
    first_id = next(iter(copy))
    expect(delete_transaction.sync_detailed(first_id, client=agent), 204)
    changes = expect(list_transaction_changes.sync_detailed(client=agent, cursor=cursor), 200)
    assert [g.id for g in changes.removed] == [first_id] and not changes.added, changes
    print(f"followed the change feed: {len(copy)} added, then 1 removed")

    # 6. A route the key's scopes do not cover: 403 insufficient_scope, naming the scope.
    denied = list_budgets.sync_detailed(client=agent)
    error = expect(denied, 403)
    assert isinstance(error, ErrorBody) and error.error.code == "insufficient_scope", error
    assert error.error.fields.additional_properties["scope"] == "read:budgets", error
    print(f"403 {error.error.code}: {error.error.message}")

    # 7. The key's rate limit: 429 rate_limited with Retry-After.
    for _ in range(2000):
        answer = whoami.sync_detailed(client=agent)
        if answer.status_code == 429:
            break
        assert answer.status_code == 200, answer
        assert int(answer.headers["ratelimit-remaining"]) >= 0
    else:
        sys.exit("no 429 after 2000 requests")
    error = answer.parsed
    assert isinstance(error, ErrorBody) and error.error.code == "rate_limited", error
    assert int(answer.headers["retry-after"]) >= 1
    print(f"429 {error.error.code}, Retry-After: {answer.headers['retry-after']} s")
    print("python quickstart: ok")
    # scripts/clients hands the key on to examples/agent (a file in the test server's data dir).
    if key_out := os.environ.get("PFN_KEY_OUT"):
        Path(key_out).write_text(secret)


if __name__ == "__main__":
    main()
