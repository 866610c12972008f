/**
 * Deterministic big texts for the memory benchmarks: Chinese (with some
 * Japanese kana) and English, sized in UTF-8 bytes so a message fills a
 * 1 MiB WebSocket frame. A seeded generator makes every run send the same
 * texts while consecutive messages still differ.
 */

/** Frame bytes left for the JSON envelope around `content`. */
export const ENVELOPE_BYTES = 256;
/** Content bytes of a "1 MiB message" that still fits a 1 MiB frame. */
export const ONE_MIB_CONTENT_BYTES = 1024 * 1024 - ENVELOPE_BYTES;

/** xorshift32: small, fast, seeded. */
function rng(seed: number): () => number {
  let s = (seed >>> 0) || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

const HAN_FIRST = 0x4e00;
/** The first 3,000 code points of the CJK block: a vocabulary small enough that bigrams repeat. */
const HAN_COUNT = 3000;
const KANA =
  "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん";
const WORDS = ("memory recall index query conversation context budget token model answer " +
  "question weather travel music football history recipe bread language server client " +
  "stream socket database postgres sqlite search ranking chinese japanese english")
  .split(" ");

/**
 * Chinese text of `bytes` UTF-8 bytes (every character here is 3 bytes):
 * Han characters with kana and `，。` sprinkled in.
 */
export function cjkText(bytes: number, seed = 1): string {
  const next = rng(seed);
  const chars = Math.floor(bytes / 3);
  const out: string[] = new Array(chars);
  for (let i = 0; i < chars; i++) {
    const r = next();
    if (i % 23 === 22) out[i] = r < 0.5 ? "，" : "。";
    else if (r < 0.1) out[i] = KANA[Math.floor(next() * KANA.length)]!;
    else out[i] = String.fromCharCode(HAN_FIRST + Math.floor(next() * HAN_COUNT));
  }
  return out.join("");
}

/** English-like text of `bytes` UTF-8 bytes (ASCII words and spaces). */
export function latinText(bytes: number, seed = 1): string {
  const next = rng(seed);
  let s = "";
  while (s.length < bytes) {
    s += WORDS[Math.floor(next() * WORDS.length)]! + (next() < 0.1 ? ". " : " ");
  }
  return s.slice(0, bytes);
}
