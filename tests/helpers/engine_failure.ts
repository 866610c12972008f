import assert from "node:assert/strict";
import { ChatError } from "../../src/core/errors.ts";

/** The ChatError `p` rejects with; fails the test if it resolves or throws anything else. */
export async function engineFailure(p: Promise<unknown>): Promise<ChatError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ChatError, `expected ChatError, got ${err}`);
    return err;
  }
  assert.fail("expected a failure");
}
