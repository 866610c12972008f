/**
 * The benchmark baseline: the least a Deno server can do to speak yychat's
 * ping/pong protocol. A bare `Deno.serve` + `Deno.upgradeWebSocket` that
 * greets like yychat (`connection_established` with `client_id`, `timestamp`,
 * `message`) and answers `{"type":"ping"}` with a pong of the same shape
 * (JSON.parse + JSON.stringify, nothing else: no validation, no mailbox, no
 * router, no statistics). yychat's overhead is measured against this.
 *
 * Usage: `deno run --allow-net --allow-env bench/echo_server.ts [PORT]`
 * (or `SERVER_PORT`; default 9801). Stops on SIGINT/SIGTERM.
 */

/** Options of {@linkcode serveEcho}. */
export interface EchoServerOptions {
  hostname?: string;
  /** 0 picks a free port. */
  port: number;
  signal?: AbortSignal;
  /** Same protocol-level ping period yychat passes (`WS_HEARTBEAT_INTERVAL`). */
  idleTimeoutSeconds?: number;
  onListen?: (addr: Deno.NetAddr) => void;
}

/** Starts the baseline echo server; resolves `finished` when it stops. */
export function serveEcho(options: EchoServerOptions): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port,
    ...(options.signal ? { signal: options.signal } : {}),
    onListen: options.onListen ?? (() => {}),
  }, (req) => {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("baseline echo server: connect to /ws/chat\n", { status: 404 });
    }
    const { socket, response } = Deno.upgradeWebSocket(req, {
      idleTimeout: options.idleTimeoutSeconds ?? 30,
    });
    const clientId = crypto.randomUUID();
    socket.onopen = () => {
      socket.send(JSON.stringify({
        type: "connection_established",
        message: "Connected to yychat",
        timestamp: Date.now() / 1000,
        client_id: clientId,
      }));
    };
    socket.onmessage = (ev) => {
      const msg = JSON.parse(ev.data as string);
      if (msg.type !== "ping") return;
      const pong: Record<string, unknown> = { type: "pong" };
      if (msg.request_id !== undefined) pong.request_id = msg.request_id;
      pong.timestamp = Date.now() / 1000;
      pong.client_id = clientId;
      socket.send(JSON.stringify(pong));
    };
    return response;
  });
}

if (import.meta.main) {
  const port = Number(Deno.args[0] ?? Deno.env.get("SERVER_PORT") ?? 9801);
  const ac = new AbortController();
  const server = serveEcho({
    port,
    signal: ac.signal,
    onListen: ({ hostname, port }) => console.error(`echo server on ws://${hostname}:${port}/`),
  });
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, () => ac.abort());
  await server.finished;
  Deno.exit(0);
}
