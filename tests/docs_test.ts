/**
 * The docs say what the code does: every error code, close code, message
 * type and setting is documented, and the checked-in schema is current.
 */
import assert from "node:assert/strict";
import { ENV_VARS } from "../config/settings.ts";
import { CloseCode } from "../src/protocol/close_codes.ts";
import { ERROR_CODES } from "../src/core/errors.ts";
import { wsJsonSchema } from "../src/protocol/json_schema.ts";
import { INBOUND_SCHEMAS, OutboundEvent } from "../src/protocol/messages.ts";

const read = (path: string) => Deno.readTextFile(new URL(`../${path}`, import.meta.url));
/** Whether `doc` has a table row whose first cell is `` `name` `` (deno fmt pads cells). */
const hasRow = (doc: string, name: string | number) =>
  new RegExp(`^\\| \`${name}\` +\\|`, "m").test(doc);

Deno.test("docs/PROTOCOL.md lists every error code, close code and message type", async () => {
  const doc = await read("docs/PROTOCOL.md");
  for (const code of Object.keys(ERROR_CODES)) {
    assert.ok(hasRow(doc, code), `error code ${code}`);
  }
  for (const code of Object.values(CloseCode)) {
    assert.ok(hasRow(doc, code), `close code ${code}`);
  }
  for (const type of Object.keys(INBOUND_SCHEMAS)) {
    assert.ok(doc.includes(`\`${type}\``), `inbound ${type}`);
  }
  for (const option of OutboundEvent.options) {
    const type = option.shape.type.value;
    assert.ok(doc.includes(`\`${type}\``), `outbound ${type}`);
  }
});

Deno.test("docs/CONFIGURATION.md lists every environment variable", async () => {
  const doc = await read("docs/CONFIGURATION.md");
  for (const name of ENV_VARS) assert.ok(hasRow(doc, name), name);
});

Deno.test("docs/schema.json matches the zod schemas (run `deno task schema`)", async () => {
  assert.deepEqual(JSON.parse(await read("docs/schema.json")), wsJsonSchema());
});
