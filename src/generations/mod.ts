/**
 * The generation layer: replies owned by the server, subscribed to by the
 * WebSocket and REST doors, resumable from a bounded event log. See
 * `docs/ARCHITECTURE.md` ("Generations").
 */
export { Attachments } from "./attachments.ts";
export { chunkCharsFor, MAX_CHUNK_CHARS, splitText } from "./chunks.ts";
export type { EventLog, GenerationRecord, GenerationStatus, LogRead } from "./event_log.ts";
export type { EventBody, GenerationEvent } from "./events.ts";
export {
  type DetachReason,
  type DisconnectPolicy,
  type Door,
  Generation,
  type GenerationSpec,
  type Subscriber,
} from "./generation.ts";
export { MemoryEventLog, type MemoryEventLogOptions } from "./memory_event_log.ts";
export {
  type Attachment,
  GenerationRegistry,
  type GenerationRegistryOptions,
  type ResumeInfo,
  type ResumeRequest,
  type ResumeSubscriber,
  type Started,
} from "./registry.ts";
