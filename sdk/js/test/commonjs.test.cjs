// The CommonJS build: `require` answers the client class, which carries every export by name.
const assert = require("node:assert/strict");
const { test } = require("node:test");

const Dumont = require("../dist/cjs/commonjs.js");

test("require answers the client class, with every export on it", () => {
  const client = new Dumont({ apiKey: "dumont_sk_0123456789abcdef", baseUrl: "http://api.test" });
  assert.equal(typeof client.instances.list, "function");
  assert.equal(Dumont.DumontClient, Dumont);
  assert.equal(Dumont.Dumont, Dumont);
  assert.equal(typeof Dumont.RateLimitError, "function");
  assert.ok(new Dumont.NotFoundError("gone", "INSTANCE_NOT_FOUND", 404) instanceof Dumont.DumontError);
});

test("every type the ES module build exports is named for CommonJS TypeScript projects too", () => {
  const { readFileSync } = require("node:fs");
  const { join } = require("node:path");
  const source = (name) => readFileSync(join(__dirname, "..", "src", name), "utf8");
  const exported = [...source("types.ts").matchAll(/export (?:interface|type) (\w+)/g)].map((found) => found[1]);
  const index = source("index.ts");
  for (const found of index.matchAll(/type (\w+)(?=[,\s}])/g)) exported.push(found[1]);
  const commonjs = source("commonjs.ts");
  const missing = exported.filter((name) => !commonjs.includes(`export type ${name} = sdk.${name};`));
  assert.deepEqual(missing, []);
});
