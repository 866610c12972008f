/**
 * Markdown that must not be read aloud, removed from streamed text before it
 * is cut into sentences. Two incremental stages, each holding back only what
 * it cannot decide yet (a line prefix, an unclosed link), bounded:
 *
 * - {@linkcode BlockFilter} (per line): fenced code blocks are dropped,
 *   heading `#`s, list bullets and numbers, blockquote `>`s and rules go,
 *   table rows become their cells joined by commas (separator rows go).
 *   Every line end becomes a `\n`, which ends a sentence.
 * - {@linkcode InlineFilter}: inline code is dropped, `[text](url)` and
 *   `![alt](url)` become their text, URLs their host name, HTML tags go,
 *   emphasis markers (`*`, `_`, `~`) go, backslash escapes are resolved.
 */

/** Longest construct held back while waiting for its end (then it is taken literally). */
const MAX_HOLD = 2000;

/** See the module doc. */
export class BlockFilter {
  #pending = "";
  #lineStart = true;
  #inFence = false;
  #fence = "";
  #skipLine = false;

  /** The text of `raw` that is decided, with line ends as `\n`. */
  push(raw: string): string {
    this.#pending += raw;
    return this.#run(false);
  }

  /** Everything still held. */
  flush(): string {
    return this.#run(true);
  }

  #run(final: boolean): string {
    let out = "";
    let s = this.#pending;
    while (s.length > 0) {
      const nl = s.indexOf("\n");
      if (this.#skipLine) {
        if (nl < 0) {
          s = "";
          break;
        }
        s = s.slice(nl + 1);
        this.#skipLine = false;
        this.#lineStart = true;
        continue;
      }
      if (!this.#lineStart) {
        if (nl < 0) {
          out += s;
          s = "";
          break;
        }
        out += s.slice(0, nl) + "\n";
        s = s.slice(nl + 1);
        this.#lineStart = true;
        continue;
      }
      const complete = nl >= 0 || final;
      const line = nl >= 0 ? s.slice(0, nl) : s;
      const decided = this.#lineKind(line, complete);
      if (decided === undefined) break; // wait for more of the line
      if (decided.kind === "drop") {
        s = nl >= 0 ? s.slice(nl + 1) : "";
        if (nl < 0) this.#skipLine = !final;
        continue;
      }
      if (decided.kind === "replace") {
        out += decided.text + "\n";
        s = nl >= 0 ? s.slice(nl + 1) : "";
        continue;
      }
      s = s.slice(decided.skip);
      this.#lineStart = false;
    }
    this.#pending = s;
    return out;
  }

  /**
   * What the start of a line is: undefined while undecidable, else how much
   * markup to skip, or that the line is dropped or replaced whole.
   */
  #lineKind(
    line: string,
    complete: boolean,
  ):
    | { kind: "text"; skip: number }
    | { kind: "drop" }
    | { kind: "replace"; text: string }
    | undefined {
    const indent = line.length - line.trimStart().length;
    let t = line.slice(indent);
    if (this.#inFence) {
      if (t.startsWith(this.#fence)) {
        this.#inFence = false;
        return { kind: "drop" };
      }
      if (!complete && this.#fence.startsWith(t)) return undefined;
      return { kind: "drop" };
    }
    if (t === "" && !complete) return undefined;
    if (t === "") return { kind: "replace", text: "" };
    let skip = indent;
    // Blockquote markers, possibly nested.
    while (t.startsWith(">")) {
      const n = t.startsWith("> ") ? 2 : 1;
      skip += n;
      t = t.slice(n);
    }
    const c = t[0];
    if (c === "`" || c === "~") {
      const fence = /^(`{3,}|~{3,})/.exec(t);
      if (fence) {
        this.#inFence = true;
        this.#fence = fence[1]![0]!.repeat(3);
        return { kind: "drop" };
      }
      if (!complete && /^(`{1,2}|~{1,2})$/.test(t)) return undefined;
    }
    if (c === "#") {
      const h = /^#{1,6}(?:\s+|$)/.exec(t);
      if (h && (complete || h[0].length < t.length || /\s$/.test(h[0]))) {
        return { kind: "text", skip: skip + h[0].length };
      }
      if (!complete && /^#{1,6}$/.test(t)) return undefined;
    }
    if (c === "-" || c === "*" || c === "+" || c === "_" || c === "=") {
      if (/^[-*_=\s]+$/.test(t)) {
        if (!complete && t.length < MAX_HOLD) return undefined;
        if (/^([-*_=])(\s*\1){2,}\s*$/.test(t)) return { kind: "drop" };
      }
      if (!complete && /^[-*+]\s*$/.test(t)) return undefined;
      const bullet = /^[-*+]\s+/.exec(t);
      if (bullet && (complete || bullet[0].length < t.length)) {
        return { kind: "text", skip: skip + bullet[0].length };
      }
    }
    if (c !== undefined && c >= "0" && c <= "9") {
      const item = /^\d{1,9}[.)](?:\s+|$)/.exec(t);
      if (item && (complete || item[0].length < t.length)) {
        return { kind: "text", skip: skip + item[0].length };
      }
      if (!complete && /^\d{1,9}(?:[.)]\s*)?$/.test(t)) return undefined;
    }
    if (c === "|") {
      if (!complete && line.length < MAX_HOLD) return undefined;
      if (/^\|?[\s:|-]+\|?\s*$/.test(t) && t.includes("-")) return { kind: "drop" };
      const cells = t.split(/(?<!\\)\|/).map((cell) => cell.trim()).filter((cell) => cell !== "");
      return { kind: "replace", text: cells.join(", ") };
    }
    return { kind: "text", skip };
  }
}

const URL_START = /^(?:https?:\/\/|www\.)/i;
/** A URL runs to whitespace, quotes, angle brackets or CJK text. */
const URL_BODY = /^(?:https?:\/\/|www\.)[^\s<>"'\u3000-\u303f\u3400-\u9fff\uff00-\uffef]*/i;
const URL_PREFIXES = ["http://", "https://", "www."];
const WORD = /[\p{L}\p{N}]/u;
const SPACE = /\s/;

/** See the module doc. */
export class InlineFilter {
  #held = "";
  #prev = " ";

  push(text: string): string {
    return this.#run(this.#held + text, false);
  }

  flush(): string {
    return this.#run(this.#held, true);
  }

  #run(s: string, final: boolean): string {
    this.#held = "";
    let out = "";
    let i = 0;
    const prev = () => (out.length > 0 ? out[out.length - 1]! : this.#prev);
    const hold = () => {
      // A construct that stays open too long is taken literally, so holding stays bounded.
      if (s.length - i > MAX_HOLD) return false;
      this.#held = s.slice(i);
      return true;
    };
    loop: while (i < s.length) {
      const c = s[i]!;
      switch (c) {
        case "\\": {
          if (i + 1 >= s.length && !final) {
            if (hold()) break loop;
          }
          const next = s[i + 1];
          out += next !== undefined && /[!-/:-@[-`{-~]/.test(next) ? next : c + (next ?? "");
          i += 2;
          continue;
        }
        case "`": {
          const run = /^`+/.exec(s.slice(i))![0];
          const end = s.indexOf(run, i + run.length);
          const nl = s.indexOf("\n", i);
          if (end >= 0 && (nl < 0 || end < nl)) {
            i = end + run.length; // inline code is not read aloud
            continue;
          }
          if (nl < 0 && !final && hold()) break loop;
          i += run.length; // an unclosed backtick is dropped, the text after it kept
          continue;
        }
        case "!":
        case "[": {
          if (c === "!" && s[i + 1] !== "[") {
            if (i + 1 >= s.length && !final && hold()) break loop;
            out += c;
            i++;
            continue;
          }
          const open = c === "!" ? i + 1 : i;
          const link = this.#link(s, open, final);
          if (link === "wait") {
            if (hold()) break loop;
            i++; // too long to be a link: the bracket is dropped, the text kept
            continue;
          }
          if (link === undefined) {
            i = open + 1; // a stray bracket
            continue;
          }
          out += link.text;
          i = link.end;
          continue;
        }
        case "<": {
          // Only "<letter", "</" or "<!" can start a tag or an autolink; "x < 5" is text.
          const next = s[i + 1];
          if (next === undefined && !final && hold()) break loop;
          if (next === undefined || !/[A-Za-z/!]/.test(next)) {
            out += c;
            i++;
            continue;
          }
          const close = s.indexOf(">", i);
          const nl = s.indexOf("\n", i);
          if (close < 0 || (nl >= 0 && nl < close) || close - i > 300) {
            if (close < 0 && nl < 0 && !final && s.length - i <= 300 && hold()) break loop;
            out += c;
            i++;
            continue;
          }
          const inner = s.slice(i + 1, close);
          if (URL_START.test(inner)) out += hostOf(inner);
          else if (/^\/?[A-Za-z][A-Za-z0-9-]*(?:\s[^>]*)?\/?$/.test(inner)) out += " ";
          else out += s.slice(i, close + 1);
          i = close + 1;
          continue;
        }
        case "]":
          i++; // the end of a bracket whose start was dropped
          continue;
        case "*":
        case "_":
        case "~": {
          let j = i;
          while (j < s.length && s[j] === c) j++;
          if (j >= s.length && !final && hold()) break loop;
          const before = prev();
          const after = s[j] ?? " ";
          const spaced = SPACE.test(before) && SPACE.test(after);
          const digits = /\d/.test(before) && /\d/.test(after);
          if (spaced || (c === "*" && digits)) out += s.slice(i, j);
          else if (c === "_" && WORD.test(before) && WORD.test(after)) out += " ";
          i = j;
          continue;
        }
      }
      // A URL starts after a space, punctuation or CJK text, never inside a Latin word.
      if ((c === "h" || c === "H" || c === "w" || c === "W") && !/[A-Za-z0-9_./@-]/.test(prev())) {
        const rest = s.slice(i);
        if (
          !final && rest.length < 8 && URL_PREFIXES.some((p) => p.startsWith(rest.toLowerCase()))
        ) {
          if (hold()) break;
        }
        const url = URL_BODY.exec(rest);
        if (url) {
          if (url[0].length === rest.length && !final && hold()) break;
          const body = url[0].replace(/[.,;:!?)\]'"]+$/, "");
          out += hostOf(body);
          i += body.length;
          continue;
        }
      }
      out += c;
      i++;
    }
    if (out.length > 0) this.#prev = out[out.length - 1]!;
    return out;
  }

  /** `[text](url)` or `[text]` at `open`: its text and where it ends; "wait" when incomplete. */
  #link(
    s: string,
    open: number,
    final: boolean,
  ): { text: string; end: number } | "wait" | undefined {
    const close = s.indexOf("]", open + 1);
    const nl = s.indexOf("\n", open);
    if (close < 0 || (nl >= 0 && nl < close)) {
      return close < 0 && nl < 0 && !final ? "wait" : undefined;
    }
    const inner = s.slice(open + 1, close);
    const text = inner.startsWith("^") ? "" : new InlineFilter().#run(inner, true);
    if (close + 1 >= s.length && !final) return "wait";
    if (s[close + 1] !== "(") return { text, end: close + 1 };
    const end = s.indexOf(")", close + 2);
    const nl2 = s.indexOf("\n", close);
    if (end < 0 || (nl2 >= 0 && nl2 < end)) {
      return end < 0 && nl2 < 0 && !final ? "wait" : { text, end: close + 1 };
    }
    return { text, end: end + 1 };
  }
}

/** `https://www.example.com/a?b` → `example.com`. */
function hostOf(url: string): string {
  const host = url.replace(/^https?:\/\//i, "").replace(/^www\./i, "").split(/[/?#:]/)[0] ?? "";
  return host;
}
