/**
 * The text form of array content: what memory stores and recall searches
 * for a message whose parts go upstream unchanged.
 */
import type { ContentPart } from "./chat.ts";

/** The placeholder standing for a part that is not text, by part type. */
const PLACEHOLDERS: Record<string, string> = {
  image_url: "[image]",
  input_audio: "[audio]",
  file: "[file]",
};

/**
 * Text parts (and refusal parts) joined as OpenAI joins them (no
 * separator), every other part replaced by a placeholder — `[image]`,
 * `[audio]`, `[file]`, or `[<type>]` for a type yychat does not know —
 * separated from the text around it by a space.
 */
export function textOfParts(parts: readonly ContentPart[]): string {
  let out = "";
  let lastWasPlaceholder = false;
  for (const part of parts) {
    const text = part.type === "text"
      ? part.text
      : part.type === "refusal"
      ? part.refusal
      : undefined;
    if (typeof text === "string") {
      out += lastWasPlaceholder && text !== "" && !/^\s/.test(text) ? ` ${text}` : text;
      lastWasPlaceholder = false;
      continue;
    }
    const placeholder = PLACEHOLDERS[part.type] ?? `[${part.type}]`;
    out += out === "" || /\s$/.test(out) ? placeholder : ` ${placeholder}`;
    lastWasPlaceholder = true;
  }
  return out;
}
