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

// ---------------------------------------------------------------------------
// For the OpenAPI document (`src/server/openapi.ts`): the multipart upload as
// documented, and the JSON answers, strict so the OpenAPI test catches any
// undocumented field.

const binary = (description: string) =>
  z.string().meta({ description, contentMediaType: "application/octet-stream" });

/** The multipart form of `POST /v1/audio/transcriptions`, as documented. */
export const TranscriptionUpload = z.object({
  file: binary("The audio: WAV (16-bit PCM), MP3, FLAC, Ogg; WebM/MP4 with an upstream engine"),
  audio_file: binary("The original service's name for `file`").optional(),
  model: z.string().optional().meta({ description: "Also accepted as `?model=`" }),
  language: z.string().optional().meta({ description: "ISO-639-1, e.g. `en`" }),
  prompt: z.string().optional().meta({
    description: "Whisper's hint upstream; a JSGF grammar (`#JSGF …`) for the offline engine",
  }),
  response_format: z.enum(TRANSCRIPTION_FORMATS).optional(),
  stream: z.enum(["true", "false"]).optional(),
  temperature: z.string().optional(),
  "timestamp_granularities[]": z.array(z.enum(["word", "segment"])).optional(),
});

const DurationUsage = z.strictObject({ type: z.literal("duration"), seconds: z.number() });

/** `response_format: json` (and the `text` field of the others). */
export const TranscriptionJson = z.strictObject({
  text: z.string(),
  usage: DurationUsage.optional(),
});

/** `response_format: verbose_json`, Whisper's shape. */
export const TranscriptionVerboseJson = z.strictObject({
  task: z.literal("transcribe"),
  language: z.string(),
  duration: z.number(),
  text: z.string(),
  segments: z.array(z.strictObject({
    id: z.int(),
    seek: z.int(),
    start: z.number(),
    end: z.number(),
    text: z.string(),
    tokens: z.array(z.int()),
    temperature: z.number(),
    avg_logprob: z.number(),
    compression_ratio: z.number(),
    no_speech_prob: z.number(),
  })),
  words: z.array(z.strictObject({ word: z.string(), start: z.number(), end: z.number() }))
    .optional(),
  usage: DurationUsage,
});

export const Transcription = z.union([TranscriptionVerboseJson, TranscriptionJson]);

/** `GET /v1/audio/voices` */
export const VoiceList = z.strictObject({
  status: z.literal("success"),
  default_voice: z.string(),
  model: z.string(),
  data: z.record(z.string(), z.string()).meta({
    description: "voice id → description (the original service's shape)",
  }),
  voices: z.array(z.strictObject({
    id: z.string(),
    description: z.string(),
    language: z.string().optional(),
    gender: z.enum(["male", "female"]).optional(),
  })),
});

/** `GET /v1/audio/models` */
export const AudioModelList = z.strictObject({
  status: z.literal("success"),
  data: z.record(z.string(), z.string()).meta({ description: "model id → description" }),
  models: z.array(z.strictObject({
    id: z.string(),
    object: z.literal("model"),
    kind: z.enum(["stt", "tts"]),
    offline: z.boolean(),
    owned_by: z.string(),
    description: z.string(),
  })),
});
