/**
 * A WebSocket handshake over a raw TCP socket, for checking refusals (status
 * line, headers, body) that browser-style clients cannot see, and for
 * clients that vanish without a close frame.
 */
export interface RawUpgrade {
  status: number;
  head: string;
  body: string;
  conn: Deno.Conn;
}

export async function rawUpgrade(
  port: number,
  headers: Record<string, string> = {},
  path = "/ws/chat",
): Promise<RawUpgrade> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: ${headers.Host ?? `127.0.0.1:${port}`}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
    ...Object.entries(headers).filter(([k]) => k !== "Host").map(([k, v]) => `${k}: ${v}`),
  ];
  await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
  const buf = new Uint8Array(64 * 1024);
  let text = "";
  const decoder = new TextDecoder();
  while (!text.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += decoder.decode(buf.subarray(0, n));
  }
  const [head = "", rest = ""] = text.split("\r\n\r\n", 2);
  const status = Number(head.split(" ")[1]);
  let body = rest;
  const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
  while (status !== 101 && new TextEncoder().encode(body).length < length) {
    const n = await conn.read(buf);
    if (n === null) break;
    body += decoder.decode(buf.subarray(0, n));
  }
  return { status, head, body, conn };
}

/** One HTTP/1.1 request over a raw TCP socket, with any `Host` (fetch keeps its own). */
export async function rawRequest(
  port: number,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; head: string; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const headers = { host: `127.0.0.1:${port}`, connection: "close", ...options.headers };
    const body = options.body ?? "";
    if (body !== "") (headers as Record<string, string>)["content-length"] = String(body.length);
    const lines = [
      `${options.method ?? "GET"} ${options.path ?? "/"} HTTP/1.1`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n" + body));
    const chunks: Uint8Array<ArrayBuffer>[] = [];
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    const text = await new Blob(chunks).text();
    const [head = "", rest = ""] = text.split("\r\n\r\n", 2);
    return { status: Number(head.split(" ")[1]), head, body: rest };
  } finally {
    try {
      conn.close();
    } catch { /* closed by the server */ }
  }
}
