/**
 * A scripted ChatRunner for unit tests of the WebSocket handlers: yields the
 * given events (with optional pauses), honours the abort signal like the
 * real engine, and records the requests it saw.
 */
import type { ChatRunner, EngineEvent, EngineRequest } from "../../src/core/chat.ts";
import { ChatError } from "../../src/core/errors.ts";

export type Step = EngineEvent | { type: "pause"; ms: number } | { type: "fail"; error: Error };

export class ScriptedEngine implements ChatRunner {
  readonly requests: EngineRequest[] = [];
  /** Signals of runs, to check that cancellation reached the engine. */
  readonly signals: AbortSignal[] = [];
  #script: (req: EngineRequest) => Step[];

  constructor(script: Step[] | ((req: EngineRequest) => Step[]) = []) {
    this.#script = typeof script === "function" ? script : () => script;
  }

  async *run(
    request: EngineRequest,
    { signal }: { signal: AbortSignal },
  ): AsyncGenerator<EngineEvent> {
    this.requests.push(request);
    this.signals.push(signal);
    for (const step of this.#script(request)) {
      if (signal.aborted) throw new ChatError("cancelled", "Request cancelled");
      if (step.type === "pause") {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, step.ms);
          signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
        });
        continue;
      }
      if (step.type === "fail") throw step.error;
      yield step;
    }
    if (signal.aborted) throw new ChatError("cancelled", "Request cancelled");
  }
}
