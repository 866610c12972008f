/**
 * `GET /openapi.json`: an OpenAPI 3.1 document of the REST API, generated
 * from the zod schemas the routes validate request bodies with
 * (`rest/schemas.ts`) and the schemas of their answers
 * (`rest/response_schemas.ts`), through zod's `z.toJSONSchema`.
 *
 * Every route of `REST_ROUTES` needs an entry in {@linkcode ROUTE_DOCS}; the
 * OpenAPI test fails (and says so) for a route without one.
 */
import { z } from "zod";
import { REST_ROUTES } from "./rest/mod.ts";
import {
  ChatCompletion,
  ChatCompletionChunk,
  ErrorResponse,
  Health,
  McpServerList,
  MemoryDeleted,
  MemoryList,
  Model,
  ModelList,
  Personality,
  PersonalityList,
  ToolCallResult,
  ToolList,
} from "./rest/response_schemas.ts";
import { ChatCompletionRequest, ToolCallRequest } from "./rest/schemas.ts";
import {
  AudioModelList,
  SpeechRequest,
  Transcription,
  TranscriptionUpload,
  VoiceList,
} from "./rest/audio_schemas.ts";

/** `info.version` of the document: yychat's version (deno.json; a test keeps them equal). */
export const API_VERSION = "0.1.0";

type Json = Record<string, unknown>;

/** Schemas listed under `components.schemas`, by name: `[schema, input or output side]`. */
const SCHEMAS: Record<string, [z.ZodType, "input" | "output"]> = {
  ChatCompletionRequest: [ChatCompletionRequest, "input"],
  ChatCompletion: [ChatCompletion, "output"],
  ChatCompletionChunk: [ChatCompletionChunk, "output"],
  ToolCallRequest: [ToolCallRequest, "input"],
  ToolCallResult: [ToolCallResult, "output"],
  ToolList: [ToolList, "output"],
  Model: [Model, "output"],
  ModelList: [ModelList, "output"],
  Personality: [Personality, "output"],
  PersonalityList: [PersonalityList, "output"],
  MemoryList: [MemoryList, "output"],
  MemoryDeleted: [MemoryDeleted, "output"],
  McpServerList: [McpServerList, "output"],
  Health: [Health, "output"],
  Error: [ErrorResponse, "output"],
  SpeechRequest: [SpeechRequest, "input"],
  TranscriptionUpload: [TranscriptionUpload, "input"],
  Transcription: [Transcription, "output"],
  VoiceList: [VoiceList, "output"],
  AudioModelList: [AudioModelList, "output"],
};
type SchemaName = keyof typeof SCHEMAS;

/** Error answers, by status (each has OpenAI's error body). */
const ERROR_RESPONSES: Record<string, string> = {
  "400": "Invalid request: the body, a field (`param` names it) or a path parameter",
  "401": "Missing or wrong API key (only when the server has YYCHAT_API_KEY set)",
  "404": "Unknown id",
  "405": "Method not allowed on this path (see the `Allow` header)",
  "413": "Request body over HTTP_MAX_REQUEST_BYTES (audio routes: audio over STT_MAX_AUDIO_BYTES)",
  "415": "Content-Type is not JSON (transcriptions: not multipart/form-data)",
  "429": "The model provider rate-limited the request",
  "499": "The request was cancelled (server shutting down)",
  "500": "Unexpected server fault (details in the server log under x-request-id)",
  "502": "The model provider failed",
  "503": "The server is shutting down (audio routes: no speech engine, `audio_engine_unavailable`)",
  "504": "The model provider or a tool did not answer in time",
};

/** How one route is documented. */
export interface RouteDoc {
  operationId: string;
  summary: string;
  description?: string;
  tag: "Chat" | "Models" | "Personalities" | "Memory" | "Tools" | "MCP" | "Audio";
  /** Meaning of each path parameter (`:id` → `{id}`). */
  params?: Record<string, string>;
  /** Query parameters. */
  query?: { name: string; description: string; schema: Json }[];
  /** The JSON request body, when the route reads one. */
  body?: SchemaName;
  /** The request body's media type when it is not JSON (`multipart/form-data`). */
  bodyMedia?: string;
  /** A typical request body (shown by the viewer instead of one built from the schema). */
  example?: unknown;
  /** The 200 answer: JSON of `schema`, and/or other media types (audio, text). */
  ok: { description: string; schema?: SchemaName; media?: Record<string, string> };
  /** Whether the 200 answer may be (`also`) or always is (`only`) an SSE stream of chunks. */
  sse?: "also" | "only";
  /** What the SSE events are, when they are not chat completion chunks. */
  sseEvents?: string;
  /** Error statuses beyond those of every route (401, 405, 500, 503). */
  errors: (keyof typeof ERROR_RESPONSES)[];
}

const BODY_ERRORS = ["400", "413", "415"] as const;

/** The documentation of each REST route, keyed `"METHOD path"` exactly as in `REST_ROUTES`. */
export const ROUTE_DOCS: Record<string, RouteDoc> = {
  "POST /v1/chat/completions": {
    operationId: "createChatCompletion",
    summary: "Create a chat completion",
    description: "OpenAI's Chat Completions. With `stream: true` the answer is Server-Sent " +
      "Events: `data: <ChatCompletionChunk>` lines, then `data: [DONE]`; a failure after the " +
      'first chunk ends the stream with `data: {"error":{…}}` instead. Failures before any ' +
      "output get their real status, streaming or not.",
    tag: "Chat",
    body: "ChatCompletionRequest",
    example: {
      model: "yychat-offline",
      messages: [{ role: "user", content: "What is 6 * 7?" }],
      stream: false,
      conversation_id: "my-conversation",
    },
    ok: { description: "The completion (or, streaming, its chunks)", schema: "ChatCompletion" },
    sse: "also",
    errors: [...BODY_ERRORS, "429", "499", "502", "504"],
  },
  "GET /v1/chat/completions/:id/stream": {
    operationId: "resumeChatCompletionStream",
    summary: "Continue a streamed completion after a dropped connection",
    description: "Replays the SSE events of completion `id` after `Last-Event-ID` (or " +
      "`?starting_after=N`), then the live ones, given the `x-yychat-resume-token` header of " +
      "the original response. Works during the reply (started with `background: true` to " +
      "outlive a hang-up) and for STREAM_RESUME_WINDOW after it. When the events are no " +
      "longer kept, it starts with `event: yychat.snapshot` carrying the whole text so far.",
    tag: "Chat",
    params: { id: "The completion id (`x-yychat-request-id` of the original response)" },
    query: [{
      name: "starting_after",
      description: "The last event id the client saw (instead of the Last-Event-ID header)",
      schema: { type: "integer", minimum: 0 },
    }],
    ok: { description: "The rest of the stream", schema: "ChatCompletionChunk" },
    sse: "only",
    errors: ["400", "404"],
  },
  "GET /v1/models": {
    operationId: "listModels",
    summary: "List the model this server answers with",
    tag: "Models",
    ok: { description: "One model", schema: "ModelList" },
    errors: [],
  },
  "GET /v1/models/:id(.+)": {
    operationId: "retrieveModel",
    summary: "Retrieve a model",
    tag: "Models",
    params: { id: "Model id (may contain `/`)" },
    ok: { description: "The model", schema: "Model" },
    errors: ["404"],
  },
  "GET /v1/personalities": {
    operationId: "listPersonalities",
    summary: "List the personalities",
    tag: "Personalities",
    ok: { description: "Every personality and the default id", schema: "PersonalityList" },
    errors: [],
  },
  "GET /v1/personalities/:id": {
    operationId: "retrievePersonality",
    summary: "Retrieve a personality",
    tag: "Personalities",
    params: { id: "Personality id" },
    ok: { description: "The personality", schema: "Personality" },
    errors: ["404"],
  },
  "GET /v1/conversations/:id/memory": {
    operationId: "listConversationMemory",
    summary: "Read a conversation's memory",
    description: "The last `limit` stored messages of the conversation, in the caller's key's " +
      "memory, oldest first.",
    tag: "Memory",
    params: { id: "Conversation id (1–256 characters)" },
    query: [{
      name: "limit",
      description: "How many messages (1–1000, default 100)",
      schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
    }],
    ok: { description: "The messages", schema: "MemoryList" },
    errors: ["400"],
  },
  "DELETE /v1/conversations/:id/memory": {
    operationId: "deleteConversationMemory",
    summary: "Clear a conversation's memory",
    description: "Idempotent: `deleted` is false when the conversation held nothing.",
    tag: "Memory",
    params: { id: "Conversation id (1–256 characters)" },
    ok: { description: "What was deleted", schema: "MemoryDeleted" },
    errors: ["400"],
  },
  "GET /v1/tools": {
    operationId: "listTools",
    summary: "List the built-in tools",
    tag: "Tools",
    ok: { description: "Tools with their JSON Schemas", schema: "ToolList" },
    errors: [],
  },
  "POST /v1/tools/call": {
    operationId: "callTool",
    summary: "Call a built-in tool",
    description: "Bounded by TOOL_TIMEOUT. A tool that fails answers 400 `tool_error` with " +
      "the tool's message.",
    tag: "Tools",
    body: "ToolCallRequest",
    example: { tool_name: "calculator", params: { operation: "multiply", a: 6, b: 7 } },
    ok: { description: "The tool's result", schema: "ToolCallResult" },
    errors: [...BODY_ERRORS, "404", "504"],
  },
  "GET /v1/mcp/tools": {
    operationId: "listMcpTools",
    summary: "List the tools of the connected MCP servers",
    tag: "MCP",
    ok: { description: "Tools with their JSON Schemas", schema: "ToolList" },
    errors: [],
  },
  "POST /v1/mcp/call": {
    operationId: "callMcpTool",
    summary: "Call an MCP tool",
    tag: "MCP",
    body: "ToolCallRequest",
    ok: { description: "The tool's result", schema: "ToolCallResult" },
    errors: [...BODY_ERRORS, "404", "504"],
  },
  "GET /v1/mcp/servers": {
    operationId: "listMcpServers",
    summary: "List the MCP servers and their state",
    description: "Names, transports and states only: never URLs, headers or environment.",
    tag: "MCP",
    ok: { description: "Every configured server", schema: "McpServerList" },
    errors: [],
  },
  "POST /v1/audio/transcriptions": {
    operationId: "createTranscription",
    summary: "Transcribe audio (OpenAI's audio.transcriptions)",
    description: "Multipart upload of `file` (or `audio_file`). Bad audio is a 400 with a stable " +
      "code (`invalid_audio`, `empty_audio`, `unsupported_audio_format`, " +
      "`unsupported_sample_rate`); over STT_MAX_AUDIO_BYTES a 413 before the body is parsed. " +
      "With `stream=true`: SSE `transcript.text.delta` events, then `transcript.text.done`.",
    tag: "Audio",
    body: "TranscriptionUpload",
    bodyMedia: "multipart/form-data",
    ok: {
      description: "The transcript",
      schema: "Transcription",
      media: { "text/plain": "The text alone (`response_format: text`)" },
    },
    sse: "also",
    sseEvents: '`data: {"type":"transcript.text.delta","delta":…}` events, then ' +
      '`data: {"type":"transcript.text.done","text":…}`',
    errors: [...BODY_ERRORS, "429", "499", "502", "504"],
  },
  "POST /v1/audio/speech": {
    operationId: "createSpeech",
    summary: "Speak text (OpenAI's audio.speech)",
    description: "The audio is streamed as it is made (`stream_format: audio`, the default), or " +
      "sent as SSE `speech.audio.delta` events with base64 audio, then `speech.audio.done`. " +
      "Headers `x-yychat-sample-rate` and `x-yychat-voice` say what was made.",
    tag: "Audio",
    body: "SpeechRequest",
    ok: {
      description: "The audio",
      media: {
        "audio/mpeg": "`response_format: mp3` (the default)",
        "audio/wav": "`wav`",
        "audio/pcm": "`pcm`: 16-bit little-endian mono samples at 24 kHz, no header",
        "audio/flac": "`flac`",
        "audio/ogg": "`opus` (upstream engines only)",
        "audio/aac": "`aac` (upstream engines only)",
      },
    },
    sse: "also",
    sseEvents: '`data: {"type":"speech.audio.delta","audio":"<base64>"}` events, then ' +
      '`data: {"type":"speech.audio.done","usage":{…}}`',
    errors: [...BODY_ERRORS, "429", "499", "502", "504"],
  },
  "GET /v1/audio/voices": {
    operationId: "listVoices",
    summary: "List the voices of the speech engine",
    tag: "Audio",
    ok: { description: "Voices, and the default", schema: "VoiceList" },
    errors: [],
  },
  "GET /v1/audio/models": {
    operationId: "listAudioModels",
    summary: "List the speech models that can run here",
    tag: "Audio",
    ok: { description: "Speech-to-text and text-to-speech models", schema: "AudioModelList" },
    errors: [],
  },
};

/** `/v1/models/:id(.+)` → `/v1/models/{id}` */
export function openApiPath(pattern: string): string {
  return pattern.replace(/:([A-Za-z_][A-Za-z0-9_]*)(\(([^()]|\([^()]*\))*\))?/g, "{$1}");
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Json;
  return rest;
}

function operation(path: string, doc: RouteDoc): Json {
  const parameters: Json[] = [];
  for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
    parameters.push({
      name,
      in: "path",
      required: true,
      description: doc.params?.[name!] ?? name,
      schema: { type: "string" },
    });
  }
  for (const q of doc.query ?? []) {
    parameters.push({
      name: q.name,
      in: "query",
      required: false,
      description: q.description,
      schema: q.schema,
    });
  }
  const okContent: Json = doc.sse === "only" || doc.ok.schema === undefined
    ? {}
    : { "application/json": { schema: ref(doc.ok.schema) } };
  for (const [media, description] of Object.entries(doc.ok.media ?? {})) {
    okContent[media] = { schema: { type: "string", description } };
  }
  if (doc.sse !== undefined) {
    okContent["text/event-stream"] = {
      schema: {
        type: "string",
        description: doc.sseEvents ??
          "`id: <seq>` + `data: <ChatCompletionChunk JSON>` events (see the " +
            "ChatCompletionChunk schema), ending `data: [DONE]`",
      },
    };
  }
  const responses: Json = { "200": { description: doc.ok.description, content: okContent } };
  const statuses = new Set<string>([...doc.errors, "401", "405", "500", "503"]);
  for (const status of [...statuses].sort()) {
    responses[status] = { $ref: `#/components/responses/E${status}` };
  }
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    tags: [doc.tag],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(doc.body
      ? {
        requestBody: {
          required: true,
          content: {
            [doc.bodyMedia ?? "application/json"]: {
              schema: ref(doc.body),
              ...(doc.example === undefined ? {} : { example: doc.example }),
            },
          },
        },
      }
      : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of the REST API (routes without a {@linkcode ROUTE_DOCS} entry are left out). */
export function openApiDocument(): Json {
  const paths: Record<string, Json> = {};
  for (const route of REST_ROUTES) {
    const doc = ROUTE_DOCS[`${route.method} ${route.path}`];
    if (doc === undefined) continue;
    const path = openApiPath(route.path);
    const item = (paths[path] ??= {}) as Json;
    item[route.method.toLowerCase()] = operation(path, doc);
  }
  paths["/health"] = {
    get: {
      operationId: "health",
      summary: "Liveness and readiness",
      description: 'Public. 503 with `status: "draining"` while the server shuts down.',
      tags: ["Operations"],
      security: [],
      responses: {
        "200": {
          description: "Serving",
          content: { "application/json": { schema: ref("Health") } },
        },
        "503": {
          description: "Shutting down",
          content: { "application/json": { schema: ref("Health") } },
        },
      },
    },
  };
  const schemas: Json = {};
  for (const [name, [schema, io]] of Object.entries(SCHEMAS)) {
    schemas[name] = jsonSchema(schema, io);
  }
  const responses: Json = {};
  for (const [status, description] of Object.entries(ERROR_RESPONSES)) {
    responses[`E${status}`] = {
      description,
      content: { "application/json": { schema: ref("Error") } },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "yychat REST API",
      version: API_VERSION,
      description: "OpenAI-compatible REST API of yychat. When the server has `YYCHAT_API_KEY` " +
        "set, every `/v1/*` request needs `Authorization: Bearer <key>`. Every answer carries " +
        '`x-request-id`. Errors use OpenAI\'s shape `{"error":{message,type,param,code}}`. The ' +
        "WebSocket protocol (`/ws/chat`) is described by `GET /ws/schema`; metrics are at " +
        "`GET /metrics`.",
    },
    tags: [
      { name: "Chat" },
      { name: "Models" },
      { name: "Personalities" },
      { name: "Memory" },
      { name: "Tools" },
      { name: "MCP" },
      { name: "Audio" },
      { name: "Operations" },
    ],
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description: "One of the keys of YYCHAT_API_KEY",
        },
      },
      schemas,
      responses,
    },
  };
}
