"""pfn's MCP server driven by the official MCP Python SDK (`mcp` from PyPI).

Signs up through the REST API (the verification link comes from the server's mail outbox),
makes a read-only key and a read-write key, and then, as an MCP client of `/mcp` (Streamable
HTTP): initializes, lists the tools of each key (they differ as the scopes say), calls every tool
with valid and with invalid arguments (the SDK checks each structured result against the tool's
output schema), pushes a batch twice with one idempotency key (stored once), reads the
resources and the prompt, and is refused on its next call once the key is revoked. Writes the
read-write key to $PFN_MCP_KEY_OUT for the TypeScript client.

    PFN_URL=http://127.0.0.1:8080 PFN_OUTBOX_DIR=data/outbox python examples/mcp/python_client.py

`scripts/mcp-clients` runs it against a fresh server; CI runs that.
"""

import asyncio
import json
import os
import re
import secrets
import sys
import time
from pathlib import Path

import httpx2
from mcp import ClientSession, MCPError
from mcp.client.streamable_http import streamable_http_client

URL = os.environ.get("PFN_URL", "http://127.0.0.1:8080").rstrip("/")
OUTBOX = Path(os.environ.get("PFN_OUTBOX_DIR", "data/outbox"))

READ_SCOPES = ["read:accounts", "read:transactions", "read:budgets", "read:insights", "read:connections"]
WRITE_SCOPES = ["write:accounts", "write:transactions", "write:budgets", "read:insights", "write:connections"]
READ_TOOLS = {"whoami", "list_accounts", "list_transactions", "get_transaction", "list_budgets",
              "get_insights", "list_connections", "get_sync"}
WRITE_TOOLS = {"push_transactions", "update_transaction", "set_budget", "start_sync"}


def check(condition, what):
    if not condition:
        sys.exit(f"FAILED: {what}")


def link_token(email, path, timeout=10.0):
    deadline = time.monotonic() + timeout
    pattern = re.compile(re.escape(f"{URL}{path}?token=") + r"(\S+)")
    while time.monotonic() < deadline:
        for mail in sorted(OUTBOX.glob("*.eml"), reverse=True):
            text = mail.read_text(errors="replace")
            if f"To: {email}" in text and (m := pattern.search(text)):
                return m.group(1)
        time.sleep(0.1)
    sys.exit(f"no {path} mail to {email} in {OUTBOX}")


def rest_setup():
    """A signed-in session, a manual account, and the two keys: (session, account, keys)."""
    web = httpx2.Client(base_url=URL, headers={"Origin": URL})
    email = f"mcp-{secrets.token_hex(4)}@example.com"
    password = "correct horse battery staple"

    def ok(res, status):
        check(res.status_code == status, f"{res.request.url}: {res.status_code} {res.text}")
        return res.json() if res.content else None

    ok(web.post("/api/v1/auth/signup", json={"email": email, "password": password, "name": "Agent"}), 202)
    ok(web.post("/api/v1/auth/verify-email", json={"token": link_token(email, "/verify-email")}), 200)
    ok(web.post("/api/v1/auth/login", json={"email": email, "password": password}), 200)
    account = ok(web.post("/api/v1/accounts", json={"name": "Cash", "currency": "BHD", "kind": "cash"}), 201)
    keys = {}
    for name, scopes in [("reader", READ_SCOPES), ("writer", WRITE_SCOPES)]:
        created = ok(web.post("/api/v1/keys", json={"name": f"mcp {name}", "scopes": scopes}), 201)
        keys[name] = (created["key"]["id"], created["secret"])
    return web, account["account"]["id"], keys


class Agent:
    """One MCP client session with one key."""

    def __init__(self, key):
        self.key = key

    async def __aenter__(self):
        self.http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {self.key}"}, timeout=30)
        self.transport = streamable_http_client(f"{URL}/mcp", http_client=self.http)
        read, write = await self.transport.__aenter__()
        self.session = ClientSession(read, write)
        await self.session.__aenter__()
        self.info = await self.session.initialize()
        return self

    async def __aexit__(self, *exc):
        await self.session.__aexit__(*exc)
        await self.transport.__aexit__(*exc)
        await self.http.aclose()

    async def tools(self):
        listed = await self.session.list_tools()
        return {t.name: t for t in listed.tools}

    async def ok(self, tool, arguments):
        result = await self.session.call_tool(tool, arguments)
        check(not result.is_error, f"{tool}({arguments}) failed: {result.content}")
        check(json.loads(result.content[0].text) == result.structured_content, f"{tool}: text and structure differ")
        return result.structured_content

    async def refused(self, tool, arguments, says):
        result = await self.session.call_tool(tool, arguments)
        text = " ".join(getattr(c, "text", "") for c in result.content)
        check(result.is_error, f"{tool}({arguments}) should fail: {result.structured_content}")
        check(says in text, f"{tool}({arguments}): expected {says!r} in {text!r}")
        return text


async def main():
    web, account, keys = rest_setup()
    reader_id, reader = keys["reader"]
    _, writer = keys["writer"]

    async with Agent(reader) as agent:
        check(agent.info.server_info.name == "pfn", f"server info {agent.info.server_info}")
        print(f"initialized: {agent.info.server_info.name} {agent.info.server_info.version}, protocol {agent.info.protocol_version}")
        tools = await agent.tools()
        check(set(tools) == READ_TOOLS, f"read-only key sees {sorted(tools)}")
        print(f"read-only key: {len(tools)} tools, {sorted(tools)}")
        for tool in tools.values():
            check(tool.annotations.read_only_hint is True, f"{tool.name} should be read-only")
        # Outside the scopes: a tool error that names the scope.
        await agent.refused("push_transactions", {"transactions": []}, "write:transactions")
        await agent.refused("set_budget", {"category": "x", "month": "2026-11", "limit": {"amount": "1", "currency": "BHD"}}, "write:budgets")

    async with Agent(writer) as agent:
        tools = await agent.tools()
        check(set(tools) == READ_TOOLS | WRITE_TOOLS, f"read-write key sees {sorted(tools)}")
        print(f"read-write key: {len(tools)} tools")
        check(tools["update_transaction"].annotations.destructive_hint is True, "update_transaction is destructive")
        check(tools["push_transactions"].annotations.idempotent_hint is True, "push_transactions is idempotent")
        check("dryRun" in tools["push_transactions"].input_schema["properties"], "push_transactions has dryRun")

        who = await agent.ok("whoami", {})
        check(who["auth"] == "key" and "write:transactions" in who["scopes"], f"whoami {who}")
        accounts = await agent.ok("list_accounts", {})
        check([a["id"] for a in accounts["items"]] == [account], f"list_accounts {accounts}")

        def item(external_id, amount, category):
            return {"accountId": account, "externalId": external_id, "description": "Al Osra",
                    "amount": {"amount": amount, "currency": "BHD"}, "bookedAt": "2026-11-20T09:30:00Z",
                    "category": category}
        batch = [item("r-1", "-12.500", "groceries"), item("r-2", "-4.250", "dining"), item("r-3", "950.000", "salary")]

        dry = await agent.ok("push_transactions", {"transactions": batch, "dryRun": True})
        check(len(dry["created"]) == 3, f"dry run {dry}")
        check((await agent.ok("list_transactions", {}))["items"] == [], "a dry run stored something")
        first = await agent.ok("push_transactions", {"transactions": batch, "idempotencyKey": "mcp-import-1"})
        again = await agent.ok("push_transactions", {"transactions": batch, "idempotencyKey": "mcp-import-1"})
        check(first == again and len(first["created"]) == 3, f"replay {first} {again}")
        listed = await agent.ok("list_transactions", {"limit": 2})
        check(len(listed["items"]) == 2 and listed["nextCursor"], f"page {listed}")
        rest = await agent.ok("list_transactions", {"limit": 2, "cursor": listed["nextCursor"]})
        check(len(rest["items"]) == 1 and rest["nextCursor"] is None, f"second page {rest}")
        print("pushed 3 transactions twice with one idempotency key: stored once")
        await agent.refused("push_transactions", {"transactions": [item("r-4", "-1.0001", "x")]}, "transactions[0].amount.amount")
        await agent.refused("push_transactions", {"transactions": batch, "idempotencyKey": "bad key"}, "idempotencyKey")

        groceries = next(t for t in listed["items"] + rest["items"] if t["externalId"] == "r-1")
        got = await agent.ok("get_transaction", {"id": groceries["id"]})
        check(got["transaction"]["amount"] == {"amount": "-12.500", "currency": "BHD"}, f"get_transaction {got}")
        await agent.refused("get_transaction", {"id": "0193b6f5-0000-7000-8000-000000000000"}, "not_found")
        await agent.refused("get_transaction", {}, "`id` is required")

        dry = await agent.ok("update_transaction", {"id": groceries["id"], "note": "weekly shop", "dryRun": True})
        check(dry["transaction"]["note"] == "weekly shop", f"update dry run {dry}")
        check((await agent.ok("get_transaction", {"id": groceries["id"]}))["transaction"]["note"] is None, "dry run stored a note")
        updated = await agent.ok("update_transaction", {"id": groceries["id"], "note": "weekly shop", "tags": ["home"]})
        check(updated["transaction"]["tags"] == ["home"], f"update {updated}")
        await agent.refused("update_transaction", {"id": groceries["id"], "tags": "home"}, "tags")

        budget = await agent.ok("set_budget", {"category": "groceries", "month": "2026-11", "limit": {"amount": "50", "currency": "BHD"}})
        check(budget["budget"]["spent"] == {"amount": "12.500", "currency": "BHD"}, f"set_budget {budget}")
        replaced = await agent.ok("set_budget", {"category": "groceries", "month": "2026-11", "limit": {"amount": "60", "currency": "BHD"}})
        check(replaced["budget"]["id"] == budget["budget"]["id"], "set_budget made a second budget")
        budgets = await agent.ok("list_budgets", {})
        check([b["limit"]["amount"] for b in budgets["items"]] == ["60.000"], f"list_budgets {budgets}")
        await agent.refused("set_budget", {"category": "groceries", "month": "November", "limit": {"amount": "60", "currency": "BHD"}}, "month")

        window = {"from": "2026-11-01", "to": "2026-12-01"}
        for kind in ["spending", "income", "balance-history"]:
            await agent.ok("get_insights", {"kind": kind, **window})
        spending = await agent.ok("get_insights", {"kind": "spending", **window})
        check("groceries" in json.dumps(spending), f"spending {spending}")
        await agent.refused("get_insights", {"kind": "weather"}, "`kind` must be one of")
        await agent.refused("get_insights", {"kind": "spending", "from": "2026-12-01", "to": "2026-11-01"}, "from")

        connections = await agent.ok("list_connections", {})
        check(connections["items"] == [], f"list_connections {connections}")
        await agent.refused("start_sync", {"id": "0193b6f6-0000-7000-8000-000000000000"}, "not_found")
        await agent.refused("get_sync", {"id": "0193b6f7-0000-7000-8000-000000000000"}, "not_found")
        await agent.refused("list_transactions", {"limit": "all"}, "`limit` must be an integer")
        await agent.refused("list_transactions", {"colour": "red"}, "is not an argument")
        try:
            await agent.session.call_tool("drop_everything", {})
            sys.exit("FAILED: an unknown tool was called")
        except MCPError as e:
            print(f"unknown tool: JSON-RPC error {e}")

        resources = await agent.session.list_resources()
        check({str(r.uri) for r in resources.resources} == {"pfn://accounts", "pfn://categories"}, f"resources {resources}")
        categories = await agent.session.read_resource("pfn://categories")
        names = json.loads(categories.contents[0].text)["categories"]
        check({"groceries", "dining", "salary"} <= set(names), f"categories {names}")
        prompts = await agent.session.list_prompts()
        check([p.name for p in prompts.prompts] == ["monthly-spending-review"], f"prompts {prompts}")
        prompt = await agent.session.get_prompt("monthly-spending-review", {"month": "2026-11"})
        check("2026-11" in prompt.messages[0].content.text, "prompt")
        print("every tool answered valid and invalid arguments as documented; resources and prompt read")

    # Revoke the read-only key with the session: its next call is refused.
    async with Agent(reader) as agent:
        await agent.ok("whoami", {})
        res = web.delete(f"/api/v1/keys/{reader_id}")
        check(res.status_code == 204, f"revoke: {res.status_code}")
        try:
            await agent.session.call_tool("whoami", {})
            sys.exit("FAILED: a revoked key was answered")
        except Exception as e:  # the SDK surfaces the 401
            print(f"revoked key refused: {type(e).__name__}")
    if out := os.environ.get("PFN_MCP_KEY_OUT"):
        Path(out).write_text(writer)
    print("MCP Python SDK: all checks passed")


if __name__ == "__main__":
    asyncio.run(main())
