import assert from "node:assert/strict";
import { textOfParts } from "../../src/core/content.ts";

Deno.test("textOfParts() joins text and puts a placeholder for every other part", async (t) => {
  const cases: [string, { type: string; [k: string]: unknown }[], string][] = [
    ["text parts join without separator", [{ type: "text", text: "Hello " }, {
      type: "text",
      text: "world",
    }], "Hello world"],
    ["image after text", [{ type: "text", text: "What is this?" }, {
      type: "image_url",
      image_url: { url: "data:image/png;base64,AAAA" },
    }], "What is this? [image]"],
    ["audio and file", [{ type: "input_audio", input_audio: { data: "x", format: "wav" } }, {
      type: "file",
      file: { file_id: "f1" },
    }], "[audio] [file]"],
    ["text after a placeholder gets a space", [{ type: "image_url", image_url: { url: "u" } }, {
      type: "text",
      text: "caption",
    }], "[image] caption"],
    ["an unknown type names itself", [{ type: "video_url", video_url: "v" }], "[video_url]"],
    ["refusal parts count as text", [{ type: "refusal", refusal: "No." }], "No."],
    ["nothing", [], ""],
  ];
  for (const [name, parts, expected] of cases) {
    await t.step(name, () => assert.equal(textOfParts(parts), expected));
  }
});
