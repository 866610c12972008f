/**
 * A cheap token estimator for context budgeting. The exact count depends on
 * the model's tokenizer, which the server does not have; what matters is
 * that the estimate is stable, fast and errs on the high side for CJK text,
 * where one character is roughly one token (Latin text is ~4 chars/token).
 */
import type { ChatMessage } from "../core/chat.ts";

/**
 * Whether a UTF-16 unit is "wide" (about one token per character): Hangul
 * Jamo, CJK radicals and punctuation, kana, Hangul compatibility Jamo, CJK
 * extension A, unified ideographs, Hangul syllables, compatibility
 * ideographs and full-width forms.
 */
function isWide(c: number): boolean {
  return (c >= 0x1100 && c <= 0x11ff) || (c >= 0x2e80 && c <= 0x2fdf) ||
    (c >= 0x3000 && c <= 0x30ff) || (c >= 0x3130 && c <= 0x318f) ||
    (c >= 0x31f0 && c <= 0x31ff) || (c >= 0x3400 && c <= 0x4dbf) ||
    (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af) ||
    (c >= 0xf900 && c <= 0xfaff) || (c >= 0xff00 && c <= 0xffef);
}

/** The first unit that may start a wide character. */
const MAYBE_WIDE = /[\u1100-\uffff]/;

/** Fixed per-message overhead (role, separators) that chat formats add. */
export const MESSAGE_OVERHEAD_TOKENS = 4;

/**
 * Estimated tokens of a text: one per CJK character, ~4 characters per token
 * otherwise. A plain loop over UTF-16 units from the first one that may be
 * wide (no regex match objects): about 1–2 ms for 1 MiB of Chinese, well
 * under 1 ms for 1 MiB of English, so even a huge message is cheap to estimate.
 */
export function estimateTokens(text: string | null | undefined): number {
  if (!text) return 0;
  const n = text.length;
  // Text without any unit from U+1100 up (most English) needs no loop: the
  // regular expression engine finds that out several times faster.
  const start = text.search(MAYBE_WIDE);
  if (start < 0) return Math.ceil(n / 4);
  let wide = 0;
  // Supplementary-plane Han characters (U+20000–U+3FFFF) are 2 UTF-16 units but one token.
  let wideUnits = 0;
  for (let i = start; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x1100) continue;
    if (isWide(c)) {
      wide++;
      wideUnits++;
    } else if (c >= 0xd840 && c <= 0xd87f && i + 1 < n) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        wide++;
        wideUnits += 2;
        i++;
      }
    }
  }
  return wide + Math.ceil((n - wideUnits) / 4);
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
