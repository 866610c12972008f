/**
 * The streaming sentence segmenter: text deltas in (as a model streams them),
 * speakable sentences out, each as soon as it is complete, so speech can start
 * with the first sentence.
 *
 * - Cuts after `.` `!` `?` `…` (Latin) and `。` `！` `？` `．` (CJK), with the
 *   closing quotes and brackets that follow them, and at line ends.
 * - Never inside decimals (`3.14`), abbreviations (`e.g.`, `Dr.`, `U.S.`),
 *   initials (`J. R. R. Tolkien`), URLs, e-mail addresses or file names
 *   (`config.json`): a `.` ends a sentence only when followed by a space,
 *   a line end or CJK text — or glued to a capitalised word (`done.Next`).
 * - Markdown is not read aloud (see `markdown_filter.ts`): code is dropped,
 *   links become their text, markup characters go.
 * - A sentence longer than `maxSentenceLength` is cut at the last comma-like
 *   mark (`，`, `、`, `；`, `,`, `;`, `:`) before the bound, else at the last
 *   space, else at the bound. CJK characters count double (they carry more
 *   speech each).
 *
 * A terminator is confirmed by the character after it, so a sentence is
 * released when the next delta starts (or at {@linkcode SentenceSegmenter.flush});
 * pushing text in one piece or character by character gives the same sentences.
 */
import { BlockFilter, InlineFilter } from "./markdown_filter.ts";

export interface SegmenterOptions {
  /** Longest sentence (CJK characters count 2) before it is cut; default 240. */
  maxSentenceLength?: number;
}

const DEFAULT_MAX = 240;
/** Sentence ends that need a space (or line end, or CJK) after them. */
const LATIN_END = new Set([".", "!", "?", "…"]);
/** Sentence ends that need nothing after them. */
const CJK_END = new Set(["。", "！", "？", "．", "｡"]);
/** Closing marks that stay with the sentence they end. */
const CLOSERS = new Set(['"', "'", "”", "’", ")", "]", "」", "』", "）", "】", "》", "〉", "»"]);
/** Clause marks a long sentence may be cut at. */
const COMMA_LIKE = new Set(["，", "、", "；", "：", ",", ";", ":"]);
const CJK =
  /[\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]/;
const UPPER = /\p{Lu}/u;
const LOWER = /\p{Ll}/u;
const SPEAKABLE = /[\p{L}\p{N}]/u;
/** What a sentence may not start with: the closing marks and punctuation of the one before. */
const LEADING_JUNK = /^[\s"'”’)\]」』）】》〉».,!?;:。！？，、；：…．｡·\-–—]+/;

/** Titles and other abbreviations that never end a sentence. */
const NEVER_FINAL = new Set([
  "mr",
  "mrs",
  "ms",
  "mx",
  "dr",
  "prof",
  "sr",
  "jr",
  "st",
  "mt",
  "rev",
  "hon",
  "gov",
  "gen",
  "col",
  "lt",
  "sgt",
  "capt",
  "cmdr",
  "adm",
  "pres",
  "sen",
  "rep",
  "messrs",
  "mme",
  "mlle",
  "e.g",
  "i.e",
  "cf",
  "viz",
  "vs",
  "approx",
  "ca",
  "dept",
  "univ",
  "est",
  "fig",
  "figs",
  "ch",
  "sec",
  "eq",
  "eqs",
  "ref",
  "refs",
  "ed",
  "eds",
  "al",
]);
/** Abbreviations that do not end a sentence when a number follows (`No. 5`, `p. 12`). */
const BEFORE_NUMBER = new Set(["no", "nos", "p", "pp", "vol", "vols", "art", "op"]);
/** Abbreviations that end a sentence only when a capitalised word or CJK follows. */
const MAYBE_FINAL = new Set([
  "etc",
  "inc",
  "ltd",
  "co",
  "corp",
  "bros",
  "llc",
  "jan",
  "feb",
  "mar",
  "apr",
  "jun",
  "jul",
  "aug",
  "sep",
  "sept",
  "oct",
  "nov",
  "dec",
]);

/** See the module doc. */
export class SentenceSegmenter {
  readonly #blocks = new BlockFilter();
  readonly #inline = new InlineFilter();
  readonly #max: number;
  /** Clean text of the sentence being built (and what follows it, not yet scanned). */
  #buf = "";
  /** Where scanning resumes in `#buf`. */
  #scan = 0;

  constructor(options: SegmenterOptions = {}) {
    this.#max = options.maxSentenceLength ?? DEFAULT_MAX;
  }

  /** Adds a delta; returns the sentences it completed (often none). */
  push(delta: string): string[] {
    this.#buf += this.#inline.push(this.#blocks.push(delta));
    return this.#cut(false);
  }

  /** The end of the text: returns every sentence still held. */
  flush(): string[] {
    this.#buf += this.#inline.push(this.#blocks.flush());
    this.#buf += this.#inline.flush();
    return this.#cut(true);
  }

  #cut(final: boolean): string[] {
    const out: string[] = [];
    const emit = (end: number, next: number) => {
      const sentence = tidy(this.#buf.slice(0, end));
      if (sentence) out.push(sentence);
      this.#buf = this.#buf.slice(next);
      this.#scan = 0;
    };
    for (;;) {
      const cut = this.#findEnd(final);
      if (cut === "wait") break;
      if (cut !== undefined) {
        emit(cut.end, cut.next);
        continue;
      }
      const long = this.#longCut();
      if (long === undefined) break;
      emit(long, long);
    }
    if (final) {
      emit(this.#buf.length, this.#buf.length);
    }
    return out;
  }

  /** The next sentence end at or after `#scan`, "wait" when the text after it is still needed. */
  #findEnd(final: boolean): { end: number; next: number } | "wait" | undefined {
    const s = this.#buf;
    for (let i = this.#scan; i < s.length; i++) {
      const c = s[i]!;
      if (c === "\n") return { end: i, next: i + 1 };
      const cjk = CJK_END.has(c);
      if (!cjk && !LATIN_END.has(c)) continue;
      // The run of terminators and closing marks that ends here.
      let j = i + 1;
      while (j < s.length && (LATIN_END.has(s[j]!) || CJK_END.has(s[j]!) || CLOSERS.has(s[j]!))) {
        j++;
      }
      if (j >= s.length && !final) {
        this.#scan = i;
        return "wait";
      }
      if (j >= s.length) return { end: j, next: j };
      const after = s[j]!;
      if (cjk || CJK.test(after)) return { end: j, next: j };
      if (/\s/.test(after)) {
        const verdict = this.#latinEnd(i, j, final);
        if (verdict === "wait") {
          this.#scan = i;
          return "wait";
        }
        if (verdict) return { end: j, next: j };
        i = j - 1;
        continue;
      }
      // Glued sentences ("done.Next"): a lowercase word, then a capitalised one.
      if (c === ".") {
        if (j + 1 >= s.length && !final) {
          this.#scan = i;
          return "wait";
        }
        const word = tokenBefore(s, i);
        if (
          /^\p{L}*\p{Ll}$/u.test(word) && word.length >= 2 && !isAbbreviation(word) &&
          UPPER.test(after) && LOWER.test(s[j + 1] ?? "")
        ) {
          return { end: j, next: j };
        }
      }
      i = j - 1;
    }
    this.#scan = s.length;
    return undefined;
  }

  /**
   * Whether the Latin terminator run `s[i, j)`, followed by whitespace, ends
   * the sentence; "wait" when that depends on the next word, not here yet.
   */
  #latinEnd(i: number, j: number, final: boolean): boolean | "wait" {
    const s = this.#buf;
    const run = s.slice(i, j);
    if (s[i] !== "." && s[i] !== "…") return true;
    const nextWord = /^\s*(\S)/.exec(s.slice(j));
    const next = nextWord?.[1];
    if (next === undefined && !final) return "wait";
    const capital = next === undefined || UPPER.test(next) || CJK.test(next) || !LOWER.test(next);
    // An ellipsis continues the sentence when the text goes on in lowercase.
    if (run.startsWith("...") || run.startsWith("…")) return capital;
    if (run.length > 1 && !CLOSERS.has(run[1]!)) return true;
    const word = tokenBefore(s, i);
    const lower = word.toLowerCase();
    if (NEVER_FINAL.has(lower)) return false;
    if (BEFORE_NUMBER.has(lower)) return next === undefined || !/\d/.test(next);
    // Initials: "J. R. R. Tolkien".
    if (/^\p{Lu}$/u.test(word)) return false;
    if (MAYBE_FINAL.has(lower) || /^(?:\p{L}\.)+\p{L}$/u.test(word)) return capital;
    return true;
  }

  /** Where to cut a sentence that is over the bound, or undefined when it is not. */
  #longCut(): number | undefined {
    const s = this.#buf;
    let weight = 0;
    let bound = -1;
    for (let i = 0; i < s.length; i++) {
      weight += CJK.test(s[i]!) ? 2 : 1;
      if (weight > this.#max) {
        bound = i;
        break;
      }
    }
    if (bound < 0) return undefined;
    const min = Math.floor(bound / 3);
    for (let i = bound - 1; i > min; i--) if (COMMA_LIKE.has(s[i]!)) return i + 1;
    for (let i = bound - 1; i > min; i--) if (/\s/.test(s[i]!)) return i + 1;
    return bound;
  }
}

/** The word (letters and inner dots) just before index `i`. */
function tokenBefore(s: string, i: number): string {
  let k = i;
  while (k > 0 && /[\p{L}\p{N}.]/u.test(s[k - 1]!)) k--;
  return s.slice(k, i).replace(/^\.+/, "");
}

function isAbbreviation(word: string): boolean {
  const lower = word.toLowerCase();
  return NEVER_FINAL.has(lower) || MAYBE_FINAL.has(lower) || BEFORE_NUMBER.has(lower);
}

/** Whitespace collapsed, leading punctuation dropped; empty when nothing is speakable. */
function tidy(sentence: string): string {
  const s = sentence.replace(/\s+/g, " ").trim().replace(LEADING_JUNK, "");
  return SPEAKABLE.test(s) ? s : "";
}
