// pfn's /mcp driven by the official MCP TypeScript SDK (@modelcontextprotocol/sdk):
// initialize, list the tools, call whoami and list_transactions, and a push as a dry run.
//
//   PFN_URL=http://127.0.0.1:8080 PFN_API_KEY=pfn_test_... node examples/mcp/client.mjs
//
// `scripts/mcp-clients` runs it (with the read-write key examples/mcp/python_client.py made).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = (process.env.PFN_URL ?? "http://127.0.0.1:8080").replace(/\/$/, "");
const key = process.env.PFN_API_KEY;
if (!key) throw new Error("set PFN_API_KEY");

function check(condition, what) {
  if (!condition) {
    console.error(`FAILED: ${what}`);
    process.exit(1);
  }
}

const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
  requestInit: { headers: { Authorization: `Bearer ${key}` } },
});
const client = new Client({ name: "pfn-example", version: "1.0.0" });
await client.connect(transport);
const server = client.getServerVersion();
check(server?.name === "pfn", `server ${JSON.stringify(server)}`);
console.log(`initialized: ${server.name} ${server.version}`);

const { tools } = await client.listTools();
const names = tools.map((t) => t.name);
check(names.includes("push_transactions") && names.includes("get_insights"), `tools ${names}`);
console.log(`${tools.length} tools: ${names.join(", ")}`);

const who = await client.callTool({ name: "whoami", arguments: {} });
check(!who.isError && who.structuredContent.auth === "key", `whoami ${JSON.stringify(who)}`);

const page = await client.callTool({ name: "list_transactions", arguments: { limit: 2 } });
check(!page.isError && page.structuredContent.items.length === 2, `list_transactions ${JSON.stringify(page)}`);
for (const t of page.structuredContent.items) {
  console.log(`  ${t.bookedAt}  ${t.amount.amount} ${t.amount.currency}  ${t.description}`);
}

const account = page.structuredContent.items[0].accountId;
const dry = await client.callTool({
  name: "push_transactions",
  arguments: {
    dryRun: true,
    transactions: [{
      accountId: account, externalId: "ts-1", description: "Coffee",
      amount: { amount: "-1.800", currency: "BHD" }, bookedAt: "2026-11-21T08:00:00Z",
    }],
  },
});
check(!dry.isError && dry.structuredContent.created.length === 1, `dry run ${JSON.stringify(dry)}`);
const after = await client.callTool({ name: "list_transactions", arguments: { limit: 200 } });
check(!after.structuredContent.items.some((t) => t.externalId === "ts-1"), "the dry run stored a transaction");

const bad = await client.callTool({ name: "get_transaction", arguments: { id: 42 } });
check(bad.isError === true, `a number as id should fail: ${JSON.stringify(bad)}`);
await client.close();
console.log("MCP TypeScript SDK: all checks passed");
