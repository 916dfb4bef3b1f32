// The client against a fake fetch: what it sends, and what it makes of each answer.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  AuthenticationError,
  Dumont,
  DumontClient,
  DumontError,
  InvalidStateError,
  NotFoundError,
  RateLimitError,
  ValidationError,
} from "../dist/esm/index.js";

/** A fetch that answers from `answers` in turn and keeps every request it was sent. */
function fakeFetch(...answers) {
  const sent = [];
  const fetch = async (url, init) => {
    sent.push({ url: new URL(url), init, body: init.body === undefined ? undefined : JSON.parse(init.body) });
    const [status, body, headers = {}] = answers[Math.min(sent.length - 1, answers.length - 1)];
    return new Response(body === undefined ? null : JSON.stringify(body), { status, headers });
  };
  return { fetch, sent };
}

const KEY = "dumont_sk_0123456789abcdef";
const client = (fetch, options = {}) => new DumontClient({ apiKey: KEY, baseUrl: "http://api.test", fetch, ...options });
const refusal = (code, message, details = {}) => ({ success: false, error: { code, message, details } });

test("Dumont and DumontClient are one class", () => {
  assert.equal(Dumont, DumontClient);
});

test("a create sends camelCase inputs in the API's spelling, the key, and an idempotency key", async () => {
  const { fetch, sent } = fakeFetch([201, { success: true, data: { id: "inst_1", status: "starting" } }]);
  const created = await client(fetch).instances.create({ gpuType: "RTX 4090", region: "US-East", diskGb: 100 });
  assert.equal(created.id, "inst_1");
  const [request] = sent;
  assert.equal(request.url.href, "http://api.test/api/v1/instances");
  assert.equal(request.init.method, "POST");
  assert.deepEqual(request.body, { gpu_type: "RTX 4090", region: "US-East", disk_gb: 100 });
  assert.equal(request.init.headers["X-API-Key"], KEY);
  assert.equal(request.init.headers["Content-Type"], "application/json");
  assert.match(request.init.headers["Idempotency-Key"], /^[0-9a-f-]{36}$/);
});

test("an access token goes in the Authorization header", async () => {
  const { fetch, sent } = fakeFetch([200, { success: true, data: [], meta: { page: 1, per_page: 20, total: 0 } }]);
  await new DumontClient({ apiKey: "eyJhbGciOi.x.y", baseUrl: "http://api.test", fetch }).instances.list();
  assert.equal(sent[0].init.headers.Authorization, "Bearer eyJhbGciOi.x.y");
  assert.equal(sent[0].init.headers["X-API-Key"], undefined);
});

test("each refusal is its typed error, with the envelope's code, message and details", async () => {
  const cases = [
    [400, refusal("VALIDATION_ERROR", "unknown GPU type", { fields: { gpu_type: "unknown" } }), ValidationError],
    [401, refusal("UNAUTHENTICATED", "unknown key"), AuthenticationError],
    [404, refusal("INSTANCE_NOT_FOUND", "no instance inst_x"), NotFoundError],
    [409, refusal("INVALID_STATE", "not running", { current_state: "stopped" }), InvalidStateError],
  ];
  for (const [status, body, Class] of cases) {
    const { fetch } = fakeFetch([status, body]);
    const error = await client(fetch).instances.get("inst_x").catch((caught) => caught);
    assert.ok(error instanceof Class, `${status} gave ${error.name}`);
    assert.ok(error instanceof DumontError);
    assert.equal(error.status, status);
    assert.equal(error.code, body.error.code);
    assert.equal(error.message, body.error.message);
    assert.deepEqual(error.details, body.error.details);
  }
});

test("an answer that is not the envelope still gives a DumontError with its status", async () => {
  const fetch = async () => new Response("<html>bad gateway</html>", { status: 502 });
  const error = await client(fetch).instances.get("inst_x").catch((caught) => caught);
  assert.ok(error instanceof DumontError);
  assert.equal(error.status, 502);
  assert.equal(error.code, "HTTP_502");
});

test("a 429 is a RateLimitError with Retry-After's seconds, and is not retried unless asked", async () => {
  const { fetch, sent } = fakeFetch([429, refusal("RATE_LIMITED", "slow down"), { "Retry-After": "7" }]);
  const error = await client(fetch).instances.get("inst_x").catch((caught) => caught);
  assert.ok(error instanceof RateLimitError);
  assert.equal(error.retryAfter, 7);
  assert.equal(sent.length, 1);
});

test("with maxRetries, a 429 is retried after Retry-After with the same idempotency key", async () => {
  const { fetch, sent } = fakeFetch(
    [429, refusal("RATE_LIMITED", "slow down"), { "Retry-After": "0" }],
    [201, { success: true, data: { id: "inst_1", status: "starting" } }],
  );
  const created = await client(fetch, { maxRetries: 2 }).instances.create({ gpu: "A100" });
  assert.equal(created.id, "inst_1");
  assert.equal(sent.length, 2);
  assert.equal(sent[0].init.headers["Idempotency-Key"], sent[1].init.headers["Idempotency-Key"]);
});

test("iterating a list walks every page", async () => {
  const page = (n, ids) => [
    200,
    { success: true, data: ids.map((id) => ({ id })), meta: { page: n, per_page: 2, total: 5 } },
  ];
  const { fetch, sent } = fakeFetch(page(1, ["a", "b"]), page(2, ["c", "d"]), page(3, ["e"]));
  const ids = [];
  for await (const instance of client(fetch).instances.list({ perPage: 2, status: "running" })) {
    ids.push(instance.id);
  }
  assert.deepEqual(ids, ["a", "b", "c", "d", "e"]);
  assert.deepEqual(
    sent.map((request) => request.url.search),
    ["?per_page=2&status=running", "?per_page=2&status=running&page=2", "?per_page=2&status=running&page=3"],
  );
});

test("awaiting a list gives its first page, iterable, with its total", async () => {
  const body = { success: true, data: [{ id: "a" }], meta: { page: 1, per_page: 1, total: 3 } };
  const { fetch } = fakeFetch([200, body]);
  const page = await client(fetch).instances.list({ perPage: 1 });
  assert.deepEqual([...page].map((instance) => instance.id), ["a"]);
  assert.equal(page.total, 3);
  assert.equal(page.hasNextPage(), true);
});

test("a key not shaped like one (the documents' placeholders) stands for DUMONT_API_KEY; a real one is kept", async () => {
  const saved = process.env.DUMONT_API_KEY;
  process.env.DUMONT_API_KEY = KEY;
  try {
    for (const placeholder of ["your_key", "YOUR_API_KEY", "dumont_sk_...", "dumont_sk_…"]) {
      const { fetch, sent } = fakeFetch([200, { success: true, data: {} }]);
      await new DumontClient({ apiKey: placeholder, baseUrl: "http://api.test", fetch }).billing.balance();
      assert.equal(sent[0].init.headers["X-API-Key"], KEY, placeholder);
    }
    const { fetch, sent } = fakeFetch([200, { success: true, data: {} }]);
    await new DumontClient({ apiKey: "dumont_sk_0123456789other", baseUrl: "http://api.test", fetch }).billing.balance();
    assert.equal(sent[0].init.headers["X-API-Key"], "dumont_sk_0123456789other");
  } finally {
    if (saved === undefined) delete process.env.DUMONT_API_KEY;
    else process.env.DUMONT_API_KEY = saved;
  }
});

test("a base URL written with /api, as the documents write it, reaches the same routes", async () => {
  const { fetch, sent } = fakeFetch([200, { success: true, data: {} }]);
  await client(fetch, { baseUrl: "https://dumontcloud.com/api/" }).instances.get("inst_1");
  assert.equal(sent[0].url.href, "https://dumontcloud.com/api/v1/instances/inst_1");
});

test("no key at all is an error that says how to give one", () => {
  const saved = process.env.DUMONT_API_KEY;
  delete process.env.DUMONT_API_KEY;
  try {
    assert.throws(() => new DumontClient(), (error) => error.code === "MISSING_API_KEY" && /DUMONT_API_KEY/.test(error.message));
  } finally {
    if (saved !== undefined) process.env.DUMONT_API_KEY = saved;
  }
});

test("a network failure is a ConnectionError naming the address", async () => {
  const fetch = async () => {
    throw new TypeError("fetch failed");
  };
  const error = await client(fetch).instances.get("inst_x").catch((caught) => caught);
  assert.equal(error.code, "CONNECTION_ERROR");
  assert.match(error.message, /http:\/\/api\.test/);
});

test("the account's SSH keys, the market at a glance and the hibernation history reach their routes", async () => {
  const key = { id: "key_1", name: "laptop", fingerprint: "256 SHA256:abc", public_key: "ssh-ed25519 AAAA a@b" };
  const summary = { timestamp: "2026-12-02T10:00:00Z", total_gpus_available: 42, avg_price_change_24h: -3.5, trending_gpus: ["H100"] };
  const history = { events: [{ instance_id: "inst_1", reason: "idle", saved: 1.32 }], total_savings: 1.32 };
  const { fetch, sent } = fakeFetch(
    [201, { success: true, data: key }],
    [200, { success: true, data: [key] }],
    [200, { success: true, data: key }],
    [200, summary],
    [200, history],
  );
  const dumont = client(fetch);
  assert.equal((await dumont.sshKeys.add({ publicKey: "ssh-ed25519 AAAA a@b", name: "laptop" })).id, "key_1");
  assert.deepEqual((await dumont.sshKeys.list()).map((found) => found.fingerprint), ["256 SHA256:abc"]);
  await dumont.sshKeys.remove("key_1");
  assert.deepEqual((await dumont.market.summary()).trending_gpus, ["H100"]);
  const hibernations = await dumont.instances.hibernationHistory({ days: 30 });
  assert.equal(hibernations.total_savings, 1.32);
  assert.deepEqual(
    sent.map((request) => `${request.init.method} ${request.url.pathname}${request.url.search}`),
    [
      "POST /api/v1/ssh-keys",
      "GET /api/v1/ssh-keys",
      "DELETE /api/v1/ssh-keys/key_1",
      "GET /api/metrics/market",
      "GET /api/metrics/hibernation/events?days=30",
    ],
  );
  assert.deepEqual(sent[0].body, { public_key: "ssh-ed25519 AAAA a@b", name: "laptop" });
  assert.match(sent[0].init.headers["Idempotency-Key"], /^[0-9a-f-]{36}$/);
});
