/**
 * A cheap token estimator for context budgeting. The exact count depends on
 * the model's tokenizer, which the server does not have; what matters is
 * that the estimate is stable, fast and errs on the high side for CJK text,
 * where one character is roughly one token (Latin text is ~4 chars/token).
 */
import type { ChatMessage } from "../core/chat.ts";

/** Han, Hiragana, Katakana, Hangul and CJK punctuation / full-width forms. */
const WIDE =
  /[\u1100-\u11ff\u2e80-\u2fdf\u3000-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]|[\ud840-\ud87f][\udc00-\udfff]/g;

/** Fixed per-message overhead (role, separators) that chat formats add. */
export const MESSAGE_OVERHEAD_TOKENS = 4;

/** Estimated tokens of a text: one per CJK character, ~4 characters per token otherwise. */
export function estimateTokens(text: string | null | undefined): number {
  if (!text) return 0;
  let wide = 0;
  // Supplementary-plane Han characters are 2 UTF-16 units but one token.
  let wideUnits = 0;
  for (const m of text.matchAll(WIDE)) {
    wide++;
    wideUnits += m[0].length;
  }
  const rest = text.length - wideUnits;
  return wide + Math.ceil(rest / 4);
}

/** Estimated tokens of one chat message including tool-call payloads. */
export function estimateMessageTokens(message: ChatMessage): number {
  let n = MESSAGE_OVERHEAD_TOKENS + estimateTokens(message.content);
  for (const call of message.tool_calls ?? []) {
    n += MESSAGE_OVERHEAD_TOKENS + estimateTokens(call.name) + estimateTokens(call.arguments);
  }
  if (message.name) n += estimateTokens(message.name);
  return n;
}
