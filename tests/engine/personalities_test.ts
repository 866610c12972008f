import assert from "node:assert/strict";
import {
  parsePersonality,
  Personalities,
  renderSystemPrompt,
} from "../../src/engine/personalities.ts";
import { ChatError } from "../../src/core/errors.ts";
import { Logger } from "../../src/core/logger.ts";

function capture(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { logger: new Logger("debug", (l) => lines.push(JSON.parse(l))), lines };
}

Deno.test("Personalities.load() loads the shipped personalities", async () => {
  const { logger, lines } = capture();
  const p = await Personalities.load("personalities", { defaultId: "assistant", logger });
  const ids = p.list().map((x) => x.id);
  for (const id of ["assistant", "xiaoyu", "concise"]) assert.ok(ids.includes(id), id);
  assert.equal(p.default.id, "assistant");
  assert.match(p.get("xiaoyu").system_prompt, /[\u4e00-\u9fff]/);
  assert.deepEqual(p.get("concise").allowed_tools.map((t) => t.tool_name), ["calculator"]);
  assert.deepEqual(lines.filter((l) => l.level === "warn"), []);
});

Deno.test("Personalities.load() skips and reports invalid files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/a.json`,
      JSON.stringify({
        id: "a",
        name: "A",
        system_prompt: "Be A.",
        allowed_tools: [{ name: "gettime" }, { tool_name: "calculator", description: "math" }],
        mood: "extra fields are ignored",
      }),
    );
    await Deno.writeTextFile(`${dir}/broken.json`, "{ not json");
    await Deno.writeTextFile(`${dir}/no_prompt.json`, JSON.stringify({ id: "b", name: "B" }));
    await Deno.writeTextFile(
      `${dir}/dup.json`,
      JSON.stringify({ id: "a", name: "A2", system_prompt: "x" }),
    );
    await Deno.writeTextFile(`${dir}/notes.txt`, "not a personality");
    const { logger, lines } = capture();
    const p = await Personalities.load(dir, { defaultId: "a", logger });
    assert.deepEqual(p.list().map((x) => x.id), ["a"]);
    assert.deepEqual(p.get("a").allowed_tools, [
      { tool_name: "gettime" },
      { tool_name: "calculator", description: "math" },
    ]);
    assert.equal(p.get("a").name, "A");
    const warned = lines.filter((l) => l.level === "warn").map((l) =>
      [String(l.event), String(l.file)] as const
    );
    assert.deepEqual(warned.map(([e]) => e).sort(), [
      "personality_duplicate",
      "personality_invalid",
      "personality_invalid",
    ]);
    assert.ok(warned.some(([, f]) => f.endsWith("broken.json")));
    assert.ok(warned.some(([, f]) => f.endsWith("no_prompt.json")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Personalities.load() falls back when the default or the directory is missing", async () => {
  const { logger, lines } = capture();
  const p = await Personalities.load("/nonexistent/dir", { defaultId: "nobody", logger });
  assert.equal(p.default.id, "assistant");
  assert.ok(lines.some((l) => l.event === "personalities_dir_unreadable"));
  assert.ok(lines.some((l) => l.event === "personality_default_missing"));
});

Deno.test("Personalities.get() throws personality_not_found for an unknown id", () => {
  const p = new Personalities([parsePersonality({ id: "a", name: "A", system_prompt: "x" })], "a");
  assert.equal(p.get(undefined).id, "a");
  assert.equal(p.get(null).id, "a");
  assert.throws(() => p.get("ghost"), (err: unknown) => {
    assert.ok(err instanceof ChatError);
    assert.equal(err.code, "personality_not_found");
    assert.match(err.message, /^Unknown personality "ghost"/);
    return true;
  });
});

Deno.test("renderSystemPrompt() adds traits and examples after the prompt", () => {
  const text = renderSystemPrompt(parsePersonality({
    id: "a",
    name: "A",
    system_prompt: "You are A.",
    traits: ["kind", "brief"],
    examples: [{ user: "hi", assistant: "hello" }, "Just a line"],
  }));
  assert.equal(
    text,
    "You are A.\n\nTraits: kind, brief.\n\nExamples of your style:\nUser: hi\nAssistant: hello\n\nAssistant: Just a line",
  );
});
