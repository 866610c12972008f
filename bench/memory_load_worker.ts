/**
 * Worker thread of `bench/memory_load_bench.ts`: runs the OpenAI mock and the
 * clients that send 1 MiB messages, so building, sending and answering those
 * messages never runs on the thread that times the pings.
 *
 * Protocol (postMessage):
 * - `{type:"start"}` → `{type:"ready", baseUrl}` (the mock is listening);
 * - `{type:"send", url, script, conversation, senders, durationMs, seed}` →
 *   `{type:"sent", messages, errors, firstError?}` once every sender stopped
 *   (each sends one message, waits for its `stream_end`, repeats until the
 *   deadline);
 * - `{type:"stop"}` → `{type:"stopped"}` (the mock is closed).
 */
/// <reference lib="deno.worker" />
import { WsChat } from "./stream_bench.ts";
import { StreamMock } from "./stream_mock.ts";
import { cjkText, latinText, ONE_MIB_CONTENT_BYTES } from "./big_text.ts";

export interface SendCommand {
  type: "send";
  url: string;
  script: "cjk" | "latin";
  /** Send a `conversation_id` (one per sender), so memory stores and recalls. */
  conversation: boolean;
  senders: number;
  durationMs: number;
  seed: number;
}

export type WorkerCommand = { type: "start" } | SendCommand | { type: "stop" };

export type WorkerReply =
  | { type: "ready"; baseUrl: string }
  | { type: "sent"; messages: number; errors: number; firstError?: string }
  | { type: "stopped" };

let mock: StreamMock | undefined;

function reply(message: WorkerReply): void {
  self.postMessage(message);
}

async function send(cmd: SendCommand): Promise<void> {
  const deadline = performance.now() + cmd.durationMs;
  let messages = 0;
  let errors = 0;
  let firstError: string | undefined;
  let seed = cmd.seed;
  const make = cmd.script === "cjk" ? cjkText : latinText;
  const sender = async (index: number) => {
    const chat = await WsChat.open(cmd.url);
    try {
      while (performance.now() < deadline) {
        const content = make(ONE_MIB_CONTENT_BYTES, seed++);
        try {
          await chat.run(
            cmd.conversation
              ? { content, conversation_id: `load-${cmd.seed}-${index}` }
              : { content },
            { timeoutMs: 120_000 },
          );
          messages++;
        } catch (err) {
          errors++;
          firstError ??= String(err);
          break;
        }
      }
    } finally {
      await chat.close();
    }
  };
  await Promise.all(Array.from({ length: cmd.senders }, (_, i) => sender(i)));
  reply({ type: "sent", messages, errors, ...(firstError ? { firstError } : {}) });
}

self.onmessage = async (ev: MessageEvent<WorkerCommand>) => {
  const cmd = ev.data;
  switch (cmd.type) {
    case "start":
      mock = new StreamMock();
      reply({ type: "ready", baseUrl: mock.baseUrl });
      return;
    case "send":
      await send(cmd);
      return;
    case "stop":
      await mock?.close();
      mock = undefined;
      reply({ type: "stopped" });
      return;
  }
};
