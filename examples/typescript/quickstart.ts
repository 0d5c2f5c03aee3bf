// pfn from TypeScript: types generated from openapi/openapi.json by openapi-typescript, calls
// made with openapi-fetch. The same walk as examples/python/quickstart.py: sign up (the link
// comes from the server's mail outbox), sign in, create a key with the session, then with the
// key alone create an account, push a batch of transactions idempotently, page through them,
// and check the typed error bodies of a 403 (missing scope) and a 429 (rate limit).
//
//   npm ci && npm run generate && npm run build
//   PFN_URL=http://127.0.0.1:8080 PFN_OUTBOX_DIR=../../data/outbox npm start
//
// `scripts/clients` does all of this against a fresh server; CI runs it.

import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/pfn.js";

type ErrorBody = components["schemas"]["ErrorBody"];
type NewTransaction = components["schemas"]["NewTransaction"];

const URL = (process.env.PFN_URL ?? "http://127.0.0.1:8080").replace(/\/$/, "");
const OUTBOX = process.env.PFN_OUTBOX_DIR ?? "data/outbox";

function fail(message: string): never {
  console.error(`typescript quickstart: ${message}`);
  process.exit(1);
}

function check(ok: boolean, message: string): void {
  if (!ok) fail(message);
}

/** The token of the newest `<URL><path>?token=` link mailed to `email`. */
async function linkToken(email: string, path: string): Promise<string> {
  const pattern = new RegExp(`${(URL + path).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\?token=(\\S+)`);
  for (let i = 0; i < 100; i++) {
    const mails = readdirSync(OUTBOX).filter((f) => f.endsWith(".eml")).sort().reverse();
    for (const f of mails) {
      const text = readFileSync(join(OUTBOX, f), "utf8");
      const m = text.includes(`To: ${email}`) ? pattern.exec(text) : null;
      if (m?.[1]) return m[1];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`no ${path} mail to ${email} in ${OUTBOX}`);
}

async function main(): Promise<void> {
  // 1. Sign up, verify, sign in. Browsers send Origin on their own; a script says it.
  const pub = createClient<paths>({ baseUrl: URL, headers: { Origin: URL } });
  const email = `ts-${randomBytes(4).toString("hex")}@example.com`;
  const password = "correct horse battery staple";
  const signedUp = await pub.POST("/api/v1/auth/signup", { body: { email, password, name: "Ts" } });
  check(signedUp.response.status === 202, `signup: ${signedUp.response.status}`);
  const token = await linkToken(email, "/verify-email");
  const verified = await pub.POST("/api/v1/auth/verify-email", { body: { token } });
  check(verified.response.status === 200, `verify: ${verified.response.status}`);
  const login = await pub.POST("/api/v1/auth/login", { body: { email, password } });
  check(login.response.status === 200, `login: ${login.response.status}`);
  const cookie = login.response.headers
    .getSetCookie()
    .map((c) => c.split(";")[0] ?? "")
    .find((c) => c.startsWith("pfn_session="));
  if (!cookie) fail("login set no pfn_session cookie");
  const session = createClient<paths>({ baseUrl: URL, headers: { Origin: URL, Cookie: cookie } });
  console.log(`signed up and in as ${email}`);

  // 2. A key for an agent: accounts and transactions, nothing else.
  const created = await session.POST("/api/v1/keys", {
    body: {
      name: "quickstart (typescript)",
      scopes: ["read:accounts", "write:accounts", "read:transactions", "write:transactions"],
      expiresInDays: 1,
    },
  });
  if (!created.data) fail(`create key: ${created.response.status} ${JSON.stringify(created.error)}`);
  console.log(`created key ${created.data.key.hint}`);

  // 3. From here on, the key alone.
  const agent = createClient<paths>({
    baseUrl: URL,
    headers: { Authorization: `Bearer ${created.data.secret}` },
  });
  const me = await agent.GET("/api/v1/whoami");
  check(me.data?.auth === "key" && me.data.email === email, `whoami: ${JSON.stringify(me.data)}`);
  const account = await agent.POST("/api/v1/accounts", { body: { name: "Cash", currency: "BHD", kind: "cash" } });
  if (!account.data) fail(`create account: ${JSON.stringify(account.error)}`);
  const accountId = account.data.account.id;

  const batch: NewTransaction[] = Array.from({ length: 25 }, (_, k) => {
    const i = k + 1;
    return {
      accountId,
      externalId: `ts-${i}`,
      amount: { amount: `-${i}.250`, currency: "BHD" },
      description: `Coffee #${i}`,
      bookedAt: `2026-11-${String(1 + (i % 20)).padStart(2, "0")}T08:00:00Z`,
      category: "dining",
    };
  });
  const idem = `quickstart-${randomBytes(8).toString("hex")}`;
  const push = () =>
    agent.POST("/api/v1/transactions", {
      body: { transactions: batch },
      params: { header: { "Idempotency-Key": idem } },
    });
  const first = await push();
  if (!first.data) fail(`push: ${JSON.stringify(first.error)}`);
  check(first.data.created.length === 25 && first.data.duplicates.length === 0, "push: 25 created");
  // A retry with the same Idempotency-Key replays the first answer and stores nothing twice.
  const again = await push();
  check(isDeepStrictEqual(again.data, first.data), "the replay answers the same");
  check(again.response.headers.get("idempotent-replayed") === "true", "the replay says so");
  console.log("pushed 25 transactions (and replayed the push idempotently)");

  // 4. Read them back, 10 a page, following nextCursor.
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await agent.GET("/api/v1/transactions", {
      params: { query: { accountId, limit: 10, cursor } },
    });
    if (!page.data) fail(`list: ${JSON.stringify(page.error)}`);
    pages++;
    seen.push(...page.data.items.map((t) => t.externalId));
    cursor = page.data.nextCursor ?? undefined;
  } while (cursor);
  check(pages === 3 && new Set(seen).size === 25, `paging: ${pages} pages, ${seen.length} items`);
  console.log(`read ${seen.length} transactions back in ${pages} pages`);

  // 5. A route the key's scopes do not cover: 403 insufficient_scope, naming the scope.
  const denied = await agent.GET("/api/v1/budgets");
  const deniedError: ErrorBody | undefined = denied.error;
  check(denied.response.status === 403, `budgets: ${denied.response.status}`);
  check(deniedError?.error.code === "insufficient_scope", `403 code: ${JSON.stringify(deniedError)}`);
  check(deniedError?.error.fields?.scope === "read:budgets", "403 names the scope");
  console.log(`403 ${deniedError?.error.code}: ${deniedError?.error.message}`);

  // 6. The key's rate limit: 429 rate_limited with Retry-After.
  for (let i = 0; i < 2000; i++) {
    const answer = await agent.GET("/api/v1/whoami");
    if (answer.response.status === 429) {
      const limited: ErrorBody | undefined = answer.error;
      check(limited?.error.code === "rate_limited", `429 code: ${JSON.stringify(limited)}`);
      const retryAfter = Number(answer.response.headers.get("retry-after"));
      check(retryAfter >= 1, "429 carries Retry-After");
      console.log(`429 ${limited?.error.code}, Retry-After: ${retryAfter} s`);
      console.log("typescript quickstart: ok");
      return;
    }
    check(answer.response.status === 200, `whoami: ${answer.response.status}`);
    check(Number(answer.response.headers.get("ratelimit-remaining")) >= 0, "RateLimit-Remaining");
  }
  fail("no 429 after 2000 requests");
}

main().catch((e: unknown) => fail(String(e)));
