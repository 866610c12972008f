import assert from "node:assert/strict";
import { EngineError } from "../../src/engine/types.ts";

/** The EngineError `p` rejects with; fails the test if it resolves or throws anything else. */
export async function engineFailure(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof EngineError, `expected EngineError, got ${err}`);
    return err;
  }
  assert.fail("expected a failure");
}
