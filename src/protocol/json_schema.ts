/**
 * JSON Schema of every WebSocket message, generated from the zod schemas
 * (served at `GET /ws/schema`, checked in as `docs/schema.json`).
 */
import { z } from "zod";
import { InboundMessage, OutboundEvent } from "./messages.ts";

let cached: Record<string, unknown> | undefined;

export function wsJsonSchema(): Record<string, unknown> {
  cached ??= {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "yychat WebSocket protocol (/ws/chat)",
    inbound: z.toJSONSchema(InboundMessage, { io: "input", unrepresentable: "any" }),
    outbound: z.toJSONSchema(OutboundEvent, { io: "output", unrepresentable: "any" }),
  };
  return cached;
}

/** `deno task schema` regenerates the checked-in copy. */
if (import.meta.main) {
  await Deno.writeTextFile("docs/schema.json", JSON.stringify(wsJsonSchema(), null, 2) + "\n");
}
