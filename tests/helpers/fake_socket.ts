/**
 * Just enough of a server-side WebSocket for actor unit tests: records what
 * is sent, lets the test deliver frames and close events synchronously.
 */
export class FakeSocket {
  readyState: number = WebSocket.CONNECTING;
  bufferedAmount = 0;
  readonly sent: string[] = [];
  closedWith: { code: number; reason: string } | undefined;
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;

  open(): void {
    this.readyState = WebSocket.OPEN;
    this.onopen?.(new Event("open"));
  }

  send(data: string): void {
    if (this.readyState !== WebSocket.OPEN) throw new TypeError("Cannot send: socket not open");
    this.sent.push(data);
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState >= WebSocket.CLOSING) return;
    this.readyState = WebSocket.CLOSING;
    this.closedWith = { code, reason };
  }

  /** The peer completes the close handshake. */
  finishClose(): void {
    const { code, reason } = this.closedWith ?? { code: 1005, reason: "" };
    this.readyState = WebSocket.CLOSED;
    this.onclose?.(new CloseEvent("close", { code, reason }));
  }

  /** Delivers an inbound frame. */
  receive(data: string | ArrayBuffer): void {
    this.onmessage?.(new MessageEvent("message", { data }));
  }

  /** Sent events, parsed. */
  events(): Record<string, unknown>[] {
    return this.sent.map((s) => JSON.parse(s));
  }

  /** Sent events' types. */
  types(): string[] {
    return this.events().map((e) => String(e.type));
  }

  asWebSocket(): WebSocket {
    return this as unknown as WebSocket;
  }
}
