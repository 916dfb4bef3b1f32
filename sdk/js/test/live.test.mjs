// The client against a running API: DUMONT_API_URL and DUMONT_API_KEY point at it (the local stack in
// the e2e tests). Skipped when they are not set.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";

import {
  AuthenticationError,
  DumontClient,
  InvalidStateError,
  NotFoundError,
  ValidationError,
} from "../dist/esm/index.js";

async function waitUntil(condition, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`still not so after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const live = Boolean(process.env.DUMONT_API_URL && process.env.DUMONT_API_KEY);

describe("against the API", { skip: !live && "DUMONT_API_URL and DUMONT_API_KEY are not set" }, () => {
  const client = live ? new DumontClient() : undefined;
  const made = [];
  after(async () => {
    for (const id of made) await client.instances.delete(id).catch(() => undefined);
  });

  test("an instance is created from camelCase inputs, runs, is listed and is destroyed", async () => {
    const created = await client.instances.create({ gpuType: "RTX 4090", region: "US-East", diskGb: 20 });
    made.push(created.id);
    assert.equal(created.status, "starting");
    const running = await client.instances.waitUntilReady(created.id, { timeoutMs: 60_000, intervalMs: 200 });
    assert.equal(running.gpu_type, "RTX_4090");
    assert.equal(running.region, "us-east");
    assert.equal(running.disk_gb, 20);
    const ids = (await client.instances.list({ status: "running" }).all()).map((instance) => instance.id);
    assert.ok(ids.includes(created.id));
    const deleting = await client.instances.delete(created.id);
    assert.ok(["deleting", "deleted"].includes(deleting.status));
  });

  test("a running instance is snapshotted, stopped and started again", async () => {
    const quick = { timeoutMs: 60_000, intervalMs: 200 };
    const { id } = await client.instances.create({ gpuType: "RTX 4090" });
    made.push(id);
    await client.instances.waitUntilReady(id, quick);
    const starting = await client.instances.start(id).catch((caught) => caught);
    assert.ok(starting instanceof InvalidStateError, String(starting));
    assert.equal(starting.details.current_state, "running");
    // The machine's agent takes the snapshot: wait until it has reported.
    await waitUntil(async () => (await client.serverless.status(id)).last_heartbeat !== null);
    const snapshot = await client.snapshots.create({ instanceId: id, name: "from the js sdk" });
    const completed = await client.snapshots.waitUntilComplete(snapshot.id, quick);
    assert.equal(completed.instance_id, id);
    assert.equal(typeof completed.size_gb, "number");
    assert.ok((await client.snapshots.list({ instanceId: id }).all()).some((found) => found.id === snapshot.id));
    await client.instances.stop(id);
    assert.equal((await client.instances.waitFor(id, ["stopped"], quick)).status, "stopped");
    await client.instances.start(id);
    assert.equal((await client.instances.waitUntilReady(id, quick)).status, "running");
  });

  test("a retried create with the same idempotency key rents one machine", async () => {
    const input = { gpu: "RTX_4090", idempotencyKey: `sdk-js-${Date.now()}` };
    const first = await client.instances.create(input);
    made.push(first.id);
    const second = await client.instances.create(input);
    assert.equal(second.id, first.id);
  });

  test("iterating instances walks every page", async () => {
    const mine = [];
    for (let n = 0; n < 3; n++) mine.push((await client.instances.create({ gpuType: "T4" })).id);
    made.push(...mine);
    const listed = (await client.instances.list({ gpuType: "T4", perPage: 1 }).all()).map((found) => found.id);
    assert.equal(new Set(listed).size, listed.length);
    for (const id of mine) assert.ok(listed.includes(id), `${id} not among ${listed}`);
  });

  test("an unknown GPU is a ValidationError naming the field", async () => {
    const error = await client.instances.create({ gpuType: "Voodoo 2" }).catch((caught) => caught);
    assert.ok(error instanceof ValidationError);
    assert.equal(error.status, 400);
    assert.equal(error.code, "VALIDATION_ERROR");
    assert.ok(error.details.fields.some((bad) => bad.field === "gpu_type"), JSON.stringify(error.details));
  });

  test("an unknown instance is a NotFoundError", async () => {
    const error = await client.instances.get("inst_0000000000000000").catch((caught) => caught);
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.code, "INSTANCE_NOT_FOUND");
    assert.equal(error.status, 404);
  });

  test("a wrong key is an AuthenticationError", async () => {
    const stranger = new DumontClient({ apiKey: `dumont_sk_${"0".repeat(88)}` });
    const error = await stranger.instances.list().catch((caught) => caught);
    assert.ok(error instanceof AuthenticationError);
    assert.equal(error.code, "UNAUTHENTICATED");
  });

  test("webhooks are created with their secret, listed and deleted", async () => {
    const webhook = await client.webhooks.create({ url: "https://example.com/hook", events: ["instance.created"] });
    assert.ok(webhook.secret.length > 0);
    assert.ok((await client.webhooks.list().all()).some((found) => found.id === webhook.id));
    await client.webhooks.delete(webhook.id);
    const error = await client.webhooks.get(webhook.id).catch((caught) => caught);
    assert.equal(error.code, "WEBHOOK_NOT_FOUND");
  });

  test("the balance, savings, API keys, teams, roles and offers answer", async () => {
    assert.equal(typeof (await client.billing.balance()).balance, "number");
    assert.equal(typeof (await client.savings.getDashboard()).total_saved_usd, "number");
    assert.ok(Array.isArray(await client.apiKeys.list()));
    assert.ok((await client.teams.list()).some((team) => team.current));
    assert.ok((await client.roles.list()).some((role) => role.name === "viewer"));
    const offers = await client.offers.list({ gpu: "RTX 4090", perPage: 5 });
    assert.ok(offers.length > 0 && offers.length <= 5);
  });
});
