import assert from "node:assert/strict";
import { concatLogprobs } from "../../src/core/chat.ts";

Deno.test("concatLogprobs() appends both lists in order", () => {
  assert.deepEqual(concatLogprobs(undefined, { content: [1] }), { content: [1] });
  assert.deepEqual(concatLogprobs({ content: [1] }, { content: [2], refusal: [3] }), {
    content: [1, 2],
    refusal: [3],
  });
});
