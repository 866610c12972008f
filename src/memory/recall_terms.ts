/**
 * The text side of full-text recall, shared by every store: what part of a
 * message is indexed, and which terms of the new user message are searched.
 * Both are bounded, so a 1 MiB message costs the same small amount of work
 * as a 10 KiB one (SPEC §8, "Big inputs do not stall others"); the message
 * itself is always stored whole.
 *
 * Chinese and Japanese have no spaces between words, so each of their
 * characters is its own token in the index and the query matches pairs of
 * adjacent characters (bigrams): "烤鸭" finds "我最喜欢吃北京烤鸭".
 */
import type { ChatMessage } from "../core/chat.ts";

/** Characters indexed from the start of a message (text plus tool-call arguments). */
export const INDEX_HEAD_CHARS = 6144;
/** Characters indexed from the end of a message longer than head + tail. */
export const INDEX_TAIL_CHARS = 2048;
/** Characters of the user message the recall query is built from (its start). */
export const QUERY_SCAN_CHARS = 2048;
/** Most terms (words, single CJK characters or CJK bigrams) in one recall query. */
export const MAX_QUERY_TERMS = 32;

/**
 * Scripts without spaces between words: kana, CJK extension A, unified and
 * compatibility ideographs, and the supplementary ideograph planes.
 */
export const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u{20000}-\u{3134f}]/u;
const CJK_GLOBAL = new RegExp(CJK.source, "gu");
const WORD = /[\p{L}\p{N}]+/gu;
const DIGITS = /^\d+$/;
const STOP_WORDS = new Set(
  ("a an and are as at be but by can do does for from has have how i if in is it its me my " +
    "no not of on or our so that the their them then there they this to was we were what " +
    "when where which who why will with you your")
    .split(" "),
);

/**
 * One index token naming a (namespace, conversation) pair, so a full-text
 * query can be limited to one conversation's entries: two independent
 * 32-bit FNV-style hashes in base 36 (letters and digits only, one token for
 * every tokenizer). A collision only costs speed, since recall re-checks
 * namespace and conversation id against the table.
 */
export function scopeToken(namespace: string, conversationId: string): string {
  const key = `${namespace}\u0000${conversationId}`;
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 13);
  }
  return `s${(h1 >>> 0).toString(36)}x${(h2 >>> 0).toString(36)}`;
}

/** `text[start, end)` without cutting a surrogate pair in two. */
function slice(text: string, start: number, end: number): string {
  const isLow = (i: number) => {
    const c = text.charCodeAt(i);
    return c >= 0xdc00 && c <= 0xdfff;
  };
  if (start > 0 && start < text.length && isLow(start)) start++;
  if (end > 0 && end < text.length && isLow(end)) end--;
  return text.slice(start, end);
}

/**
 * At most `head` characters from the start and `tail` from the end of
 * `text` (joined by a line break), or all of it when it is not longer.
 */
export function headAndTail(text: string, head: number, tail: number): string {
  if (text.length <= head + tail) return text;
  return `${slice(text, 0, head)}\n${slice(text, text.length - tail, text.length)}`;
}

/**
 * The text of a message as the full-text index sees it: its content and
 * tool-call arguments, bounded to the first {@linkcode INDEX_HEAD_CHARS} and
 * last {@linkcode INDEX_TAIL_CHARS} characters. Empty when there is nothing
 * to index.
 */
export function indexedText(message: ChatMessage): string {
  const calls = message.tool_calls ?? [];
  const text = calls.length === 0
    ? message.content ?? ""
    : [message.content ?? "", ...calls.map((c) => c.arguments)].join(" ");
  if (text.trim() === "") return "";
  return headAndTail(text, INDEX_HEAD_CHARS, INDEX_TAIL_CHARS);
}

/** Text with every CJK character spaced out into its own token. */
export function spaceCjk(text: string): string {
  return text.replace(CJK_GLOBAL, " $& ");
}

/**
 * The search terms of a user message: lower-cased words of letters and
 * digits (English stop words and one-letter words dropped), and for CJK
 * runs their adjacent-character pairs (a lone CJK character stays a term).
 * Each term is a list of tokens: one for a word or a single character, two
 * for a bigram. Only the first {@linkcode QUERY_SCAN_CHARS} characters are
 * read and at most {@linkcode MAX_QUERY_TERMS} distinct terms are returned,
 * in order of first appearance. Nothing a query language could interpret
 * survives: every token is letters and digits only.
 */
export function recallTerms(text: string): string[][] {
  const scanned = slice(text, 0, QUERY_SCAN_CHARS).toLowerCase();
  const seen = new Set<string>();
  const terms: string[][] = [];
  const add = (tokens: string[]) => {
    const key = tokens.join(" ");
    if (terms.length >= MAX_QUERY_TERMS || seen.has(key)) return;
    seen.add(key);
    terms.push(tokens);
  };
  for (const [word] of scanned.matchAll(WORD)) {
    if (terms.length >= MAX_QUERY_TERMS) break;
    // Split a word into CJK runs and the rest ("ai模型" → "ai", "模型").
    let latin = "";
    let cjk: string[] = [];
    const flush = () => {
      if (latin.length >= 2 && !STOP_WORDS.has(latin) || DIGITS.test(latin)) add([latin]);
      latin = "";
      if (cjk.length === 1) add([cjk[0]!]);
      for (let i = 0; i + 1 < cjk.length; i++) add([cjk[i]!, cjk[i + 1]!]);
      cjk = [];
    };
    for (const ch of word) {
      if (CJK.test(ch)) {
        if (latin) flush();
        cjk.push(ch);
      } else {
        if (cjk.length) flush();
        latin += ch;
      }
    }
    flush();
  }
  return terms;
}
