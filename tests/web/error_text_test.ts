/** Every stable error code has a sentence a person understands (`web/error_text.js`). */
import assert from "node:assert/strict";
import { ERROR_CODES } from "../../src/core/errors.ts";
import { describeError, ERROR_SENTENCES } from "../../web/error_text.js";

Deno.test("every code of src/core/errors.ts has a sentence on the page", () => {
  const missing = Object.keys(ERROR_CODES).filter((code) => !Object.hasOwn(ERROR_SENTENCES, code));
  assert.deepEqual(missing, []);
});

Deno.test("every code in docs/PROTOCOL.md's error table has a sentence on the page", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/PROTOCOL.md", import.meta.url));
  const table = doc.slice(doc.indexOf("## Error codes"), doc.indexOf("## Close codes"));
  const codes = [...table.matchAll(/^\| `([a-z_]+)`/gm)].map((m) => m[1]!);
  assert.ok(codes.length > 10);
  assert.deepEqual(codes.filter((code) => !Object.hasOwn(ERROR_SENTENCES, code)), []);
});

Deno.test("describeError() falls back to the server's message and names close codes", () => {
  assert.match(describeError("invalid_api_key"), /did not accept your API key/);
  assert.equal(describeError("brand_new_code", "Disk on fire"), "Error: Disk on fire");
  assert.match(
    describeError("close_4001", "slow consumer"),
    /closed the connection \(4001\): slow/,
  );
  assert.equal(describeError(undefined), "Something went wrong.");
});
