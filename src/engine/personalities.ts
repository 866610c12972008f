/**
 * Personalities: a system prompt with traits, examples and an optional tool
 * restriction, loaded from `personalities/*.json`. Invalid files are logged
 * and skipped so one bad file never stops the server.
 */
import { z } from "zod";
import { ChatError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";

const AllowedTool = z.looseObject({
  tool_name: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  description: z.string().optional(),
}).refine((t) => t.tool_name ?? t.name, "needs `tool_name` or `name`");

const Example = z.union([
  z.string(),
  z.looseObject({
    user: z.string().optional(),
    input: z.string().optional(),
    assistant: z.string().optional(),
    output: z.string().optional(),
  }),
]);

const PersonalityFile = z.looseObject({
  id: z.string().trim().min(1),
  name: z.string().trim().min(1),
  system_prompt: z.string().trim().min(1),
  traits: z.array(z.string()).optional().default([]),
  examples: z.array(Example).optional().default([]),
  allowed_tools: z.array(AllowedTool).optional().default([]),
  /** The voice replies are spoken in (`text_message{voice: true}`). */
  voice: z.string().trim().min(1).max(100).optional(),
});

/** A loaded personality (snake_case like the files, so REST can return it as is). */
export interface Personality {
  id: string;
  name: string;
  system_prompt: string;
  traits: string[];
  /** Normalised to user/assistant pairs (a plain string becomes an assistant line). */
  examples: { user?: string; assistant: string }[];
  /** Empty: every tool is allowed. */
  allowed_tools: { tool_name: string; description?: string }[];
  /** The voice its replies are spoken in, when asked to speak (else the server's default). */
  voice?: string;
}

/** Used when the directory holds no valid personality, so the server still starts. */
export const FALLBACK_PERSONALITY: Personality = {
  id: "assistant",
  name: "Assistant",
  system_prompt: "You are a helpful assistant.",
  traits: [],
  examples: [],
  allowed_tools: [],
};

/**
 * Validates one parsed JSON value.
 *
 * @throws {TypeError} naming the first bad field
 */
export function parsePersonality(value: unknown): Personality {
  const parsed = PersonalityFile.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TypeError(`Invalid personality: ${issue.path.join(".") || "file"} ${issue.message}`);
  }
  const p = parsed.data;
  return {
    id: p.id,
    name: p.name,
    system_prompt: p.system_prompt,
    traits: p.traits,
    examples: p.examples.flatMap((e) => {
      if (typeof e === "string") return [{ assistant: e }];
      const assistant = e.assistant ?? e.output;
      if (!assistant) return [];
      const user = e.user ?? e.input;
      return [user ? { user, assistant } : { assistant }];
    }),
    allowed_tools: p.allowed_tools.map((t) => ({
      tool_name: (t.tool_name ?? t.name)!,
      ...(t.description ? { description: t.description } : {}),
    })),
    ...(p.voice ? { voice: p.voice } : {}),
  };
}

/**
 * The system prompt text of a personality: its prompt, then traits and
 * examples rendered briefly.
 */
export function renderSystemPrompt(p: Personality): string {
  let text = RENDERED.get(p);
  if (text === undefined) {
    text = render(p);
    RENDERED.set(p, text);
  }
  return text;
}

/** Personalities are loaded once and never change: each is rendered once. */
const RENDERED = new WeakMap<Personality, string>();

function render(p: Personality): string {
  const parts = [p.system_prompt];
  if (p.traits.length > 0) parts.push(`Traits: ${p.traits.join(", ")}.`);
  if (p.examples.length > 0) {
    const lines = p.examples.map((e) =>
      e.user ? `User: ${e.user}\nAssistant: ${e.assistant}` : `Assistant: ${e.assistant}`
    );
    parts.push(`Examples of your style:\n${lines.join("\n\n")}`);
  }
  return parts.join("\n\n");
}

export interface LoadPersonalitiesOptions {
  defaultId: string;
  logger: Logger;
}

/** The loaded personalities, by id, with the configured default. */
export class Personalities {
  readonly #byId = new Map<string, Personality>();
  readonly #defaultId: string;

  /**
   * @param list personalities in display order; the first of a duplicated id wins
   * @param defaultId falls back to the first personality when unknown
   */
  constructor(list: Personality[], defaultId: string) {
    for (const p of list.length > 0 ? list : [FALLBACK_PERSONALITY]) {
      if (!this.#byId.has(p.id)) this.#byId.set(p.id, p);
    }
    this.#defaultId = this.#byId.has(defaultId) ? defaultId : this.#byId.keys().next().value!;
  }

  /** Loads every `*.json` in `dir` (sorted by file name); bad files are logged and skipped. */
  static async load(
    dir: string,
    { defaultId, logger }: LoadPersonalitiesOptions,
  ): Promise<Personalities> {
    const files: string[] = [];
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (entry.isFile && entry.name.endsWith(".json")) files.push(entry.name);
      }
    } catch (err) {
      logger.warn("personalities_dir_unreadable", { dir, error: String(err) });
    }
    files.sort();
    const list: Personality[] = [];
    for (const file of files) {
      const path = `${dir.replace(/\/+$/, "")}/${file}`;
      try {
        const p = parsePersonality(JSON.parse(await Deno.readTextFile(path)));
        if (list.some((q) => q.id === p.id)) {
          logger.warn("personality_duplicate", { file: path, id: p.id });
          continue;
        }
        list.push(p);
      } catch (err) {
        logger.warn("personality_invalid", {
          file: path,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
    const loaded = new Personalities(list, defaultId);
    if (loaded.default.id !== defaultId) {
      logger.warn("personality_default_missing", { wanted: defaultId, using: loaded.default.id });
    }
    return loaded;
  }

  /**
   * The personality `id`, or the default when `id` is absent.
   *
   * @throws {ChatError} `personality_not_found` for an unknown id
   */
  get(id?: string | null): Personality {
    if (id === undefined || id === null || id === "") return this.default;
    const p = this.#byId.get(id);
    if (!p) {
      throw new ChatError(
        "personality_not_found",
        `Unknown personality "${id}": available are ${[...this.#byId.keys()].join(", ")}`,
      );
    }
    return p;
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  list(): Personality[] {
    return [...this.#byId.values()];
  }

  get default(): Personality {
    return this.#byId.get(this.#defaultId)!;
  }
}
