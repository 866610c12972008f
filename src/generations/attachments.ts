/**
 * The generations one consumer (a WebSocket connection) is subscribed to,
 * by request id: what it may cancel, what counts against its stream limit,
 * and what a disconnect detaches.
 */
import type { Attachment } from "./registry.ts";
import type { DetachReason } from "./generation.ts";

export class Attachments {
  readonly #byId = new Map<string, Attachment>();

  /** Running generations this consumer is subscribed to. */
  get size(): number {
    return this.#byId.size;
  }

  has(requestId: string): boolean {
    return this.#byId.has(requestId);
  }

  get(requestId: string): Attachment | undefined {
    return this.#byId.get(requestId);
  }

  add(attachment: Attachment): void {
    this.#byId.get(attachment.requestId)?.detach("leave");
    this.#byId.set(attachment.requestId, attachment);
  }

  /** Forgets `attachment` (its generation finished); a newer one with the same id stays. */
  delete(attachment: Attachment): void {
    if (this.#byId.get(attachment.requestId) === attachment) {
      this.#byId.delete(attachment.requestId);
    }
  }

  /** Detaches from every generation (the consumer went away). */
  detachAll(reason: DetachReason): void {
    const all = [...this.#byId.values()];
    this.#byId.clear();
    for (const attachment of all) attachment.detach(reason);
  }
}
