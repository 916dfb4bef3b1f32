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
