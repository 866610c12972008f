/**
 * The generation parameters both doors accept — the WebSocket
 * `text_message` and the REST chat completion — as one zod shape, so they
 * are validated once, the same way, under their OpenAI names. The result is
 * the core {@linkcode GenerationParams} (null means absent).
 */
import { z } from "zod";
import type { GenerationParams } from "../core/chat.ts";

/**
 * `response_format`: `{type: "text"}`, `{type: "json_object"}` (JSON mode)
 * or `{type: "json_schema", json_schema: {name, schema, strict}}` (structured
 * outputs). Other types a provider knows pass unchanged, and so do extra
 * fields; only the shape OpenAI requires is checked.
 */
export const ResponseFormat = z.looseObject({
  type: z.string().min(1).max(64),
  json_schema: z.looseObject({
    name: z.string().min(1).max(64),
    schema: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }).optional(),
}).refine((f) => f.type !== "json_schema" || f.json_schema !== undefined, {
  message: 'type "json_schema" needs a json_schema object: {name, schema}',
  path: ["json_schema"],
});

/** The fields, to spread into a message or body schema. */
export const generationParamsShape = {
  /** The model to ask (passed to an OpenAI-compatible provider; the offline one has one model). */
  model: z.string().max(256).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_tokens: z.int().positive().nullish(),
  max_completion_tokens: z.int().positive().nullish(),
  /** Up to 4 sequences where the model stops. */
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  /** Best-effort determinism: the same seed and parameters should give the same reply. */
  seed: z.int().nullish(),
  response_format: ResponseFormat.nullish(),
};

/** The generation parameters as one object (for documentation and tests). */
export const GenerationParamsSchema = z.object(generationParamsShape);

const KEYS = Object.keys(generationParamsShape) as (keyof typeof generationParamsShape)[];

/**
 * The generation parameters of a validated message or body: the shared
 * fields that are set (null and `""` for `model` mean absent).
 */
export function pickGenerationParams(value: Record<string, unknown>): GenerationParams {
  const params: GenerationParams = {};
  for (const key of KEYS) {
    const v = value[key];
    if (v === null || v === undefined || (key === "model" && v === "")) continue;
    (params as Record<string, unknown>)[key] = v;
  }
  return params;
}
