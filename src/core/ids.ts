/**
 * One rule for the ids clients choose (`conversation_id`, `request_id`), on
 * the WebSocket and the REST door alike: 1 to N characters, no control
 * characters, no leading or trailing whitespace. Ids are refused, never
 * trimmed, so one id always names one conversation whichever door it came
 * through.
 */
import { z } from "zod";

export const MAX_CONVERSATION_ID_LENGTH = 256;
export const MAX_REQUEST_ID_LENGTH = 128;

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** What is wrong with `id` as a client-chosen id, or undefined when it is valid. */
export function idProblem(id: string, maxLength: number): string | undefined {
  if (id.length === 0) return "must not be empty";
  if (id.length > maxLength) return `must be at most ${maxLength} characters`;
  if (CONTROL.test(id)) return "must not contain control characters";
  if (id.trim() !== id) return "must not start or end with whitespace";
  return undefined;
}

function idSchema(maxLength: number) {
  // min/max also describe the rule in the JSON Schema; the check gives the message.
  return z.string().min(1).max(maxLength).check((ctx) => {
    const problem = idProblem(ctx.value, maxLength);
    if (problem !== undefined) {
      ctx.issues.push({ code: "custom", message: problem, input: ctx.value });
    }
  });
}

/** A `conversation_id` (memory key). */
export const ConversationId = idSchema(MAX_CONVERSATION_ID_LENGTH);
/** A `request_id` (names one reply). */
export const RequestId = idSchema(MAX_REQUEST_ID_LENGTH);
