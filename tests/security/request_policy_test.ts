import assert from "node:assert/strict";
import { AddressSet, parseAddress } from "../../src/security/address_set.ts";
import { RequestPolicy } from "../../src/security/request_policy.ts";

Deno.test("AddressSet matches addresses and CIDRs of both families", async (t) => {
  const set = new AddressSet(["10.0.0.0/8", "192.0.2.7", "::1", "2001:db8::/32"]);
  const cases: [string, boolean][] = [
    ["10.1.2.3", true],
    ["11.0.0.1", false],
    ["192.0.2.7", true],
    ["192.0.2.8", false],
    ["::1", true],
    ["0:0:0:0:0:0:0:1", true],
    ["2001:db8:1::5", true],
    ["2001:db9::5", false],
    ["not an address", false],
  ];
  for (const [address, expected] of cases) {
    await t.step(address, () => assert.equal(set.has(address), expected));
  }
  assert.throws(() => new AddressSet(["10.0.0.0/33"]), RangeError);
  assert.throws(() => new AddressSet(["example.com"]), RangeError);
  assert.equal(parseAddress("::ffff:1.2.3.4")?.bits, 128);
  assert.equal(parseAddress("256.0.0.1"), undefined);
});

const req = (headers: Record<string, string>, url = "http://127.0.0.1:9800/v1/models") =>
  new Request(url, { headers });

Deno.test("RequestPolicy.client() believes forwarding headers only from trusted proxies", () => {
  const policy = new RequestPolicy({
    keysRequired: false,
    allowedHosts: [],
    allowedOrigins: [],
    trustedProxies: ["10.0.0.0/8"],
  });
  const forwarded = { "x-forwarded-for": "203.0.113.9, 10.0.0.3", "x-forwarded-proto": "https" };
  assert.deepEqual(policy.client(req(forwarded), "10.0.0.2"), {
    address: "203.0.113.9",
    secure: true,
  });
  assert.deepEqual(policy.client(req(forwarded), "198.51.100.1"), {
    address: "198.51.100.1",
    secure: false,
  });
  assert.deepEqual(
    policy.client(req({ forwarded: 'for="[2001:db8::1]:4711";proto=https' }), "10.9.9.9"),
    { address: "2001:db8::1", secure: true },
  );
  assert.equal(policy.client(req({}), "::ffff:10.0.0.2").address, "10.0.0.2");
});

Deno.test("RequestPolicy.refusal() compares Origin with the request's own scheme, host and port", () => {
  const policy = new RequestPolicy({
    keysRequired: true,
    allowedHosts: [],
    allowedOrigins: [],
    trustedProxies: ["127.0.0.1"],
  });
  const plain = { address: "127.0.0.1", secure: false };
  const tls = { address: "127.0.0.1", secure: true };
  const host = "chat.example.com";
  assert.equal(policy.refusal(req({ host, origin: "http://chat.example.com" }), plain), undefined);
  assert.equal(
    policy.refusal(req({ host, origin: "https://chat.example.com" }), plain)?.code,
    "origin_not_allowed",
    "scheme differs",
  );
  assert.equal(policy.refusal(req({ host, origin: "https://chat.example.com" }), tls), undefined);
  assert.equal(
    policy.refusal(req({ host: "chat.example.com:8443", origin: "https://chat.example.com" }), tls)
      ?.code,
    "origin_not_allowed",
    "port differs",
  );
});
