/**
 * zod schemas of the audio routes' inputs: the JSON body of `POST
 * /v1/audio/speech` and the text fields of the multipart `POST
 * /v1/audio/transcriptions`. Formats are checked against what the engine can
 * make in the route (`unsupported_response_format`), not here.
 */
import { z } from "zod";

/** `POST /v1/audio/speech` body (OpenAI's fields). */
export const SpeechRequest = z.object({
  model: z.string().trim().min(1).max(256).nullish(),
  input: z.string().refine((s) => s.trim() !== "", "must not be empty"),
  /** A voice id, or OpenAI's custom-voice object `{id}`. */
  voice: z.union([
    z.string().trim().min(1).max(256),
    z.object({ id: z.string().trim().min(1).max(256) }),
  ]).nullish(),
  response_format: z.string().trim().max(32).nullish(),
  speed: z.number().min(0.25).max(4).nullish(),
  stream_format: z.enum(["audio", "sse"]).nullish(),
  instructions: z.string().max(4096).nullish(),
});
export type SpeechRequest = z.infer<typeof SpeechRequest>;

/** Transcription response formats yychat makes. */
export const TRANSCRIPTION_FORMATS = ["json", "text", "verbose_json"] as const;

const formBool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

/** The text fields of `POST /v1/audio/transcriptions` (multipart values are strings). */
export const TranscriptionFields = z.object({
  model: z.string().trim().max(256).optional(),
  language: z.string().trim().regex(
    /^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$|^[A-Za-z]{4,20}$/,
    "must be an ISO-639-1 code such as en",
  ).optional(),
  prompt: z.string().max(64 * 1024).optional(),
  response_format: z.string().trim().max(32).optional(),
  stream: formBool.optional(),
  temperature: z.string().trim().optional().refine(
    (t) => t === undefined || t === "" || (Number(t) >= 0 && Number(t) <= 1),
    "must be a number from 0 to 1",
  ),
  timestamp_granularities: z.array(z.enum(["word", "segment"])).max(2).optional(),
});
export type TranscriptionFields = z.infer<typeof TranscriptionFields>;
