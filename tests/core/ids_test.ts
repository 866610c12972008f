import assert from "node:assert/strict";
import { ConversationId, idProblem, MAX_CONVERSATION_ID_LENGTH } from "../../src/core/ids.ts";

Deno.test("idProblem() accepts ordinary ids and refuses the ambiguous ones", async (t) => {
  const cases: [string, string | undefined][] = [
    ["abc", undefined],
    ["对话-1", undefined],
    ["a b", undefined],
    ["", "must not be empty"],
    ["abc ", "must not start or end with whitespace"],
    [" abc", "must not start or end with whitespace"],
    ["a\nb", "must not contain control characters"],
    ["a\u0000", "must not contain control characters"],
    ["x".repeat(MAX_CONVERSATION_ID_LENGTH), undefined],
    ["x".repeat(MAX_CONVERSATION_ID_LENGTH + 1), "must be at most 256 characters"],
  ];
  for (const [id, problem] of cases) {
    await t.step(JSON.stringify(id.slice(0, 20)), () => {
      assert.equal(idProblem(id, MAX_CONVERSATION_ID_LENGTH), problem);
      assert.equal(ConversationId.safeParse(id).success, problem === undefined);
    });
  }
});
