/**
 * A scripted OpenAI-compatible audio server on 127.0.0.1 (random port) for
 * the HTTP speech engines' tests: records every request (headers, JSON body
 * or multipart fields) and answers with what the test's handler returns.
 */

export interface RecordedAudioRequest {
  path: string;
  headers: Headers;
  /** JSON body (speech). */
  // deno-lint-ignore no-explicit-any
  json?: any;
  /** Multipart text fields (transcriptions), all values of each. */
  fields?: Record<string, string[]>;
  /** The uploaded file's bytes, name and type. */
  file?: { bytes: Uint8Array; name: string; type: string };
}

export interface AudioUpstreamMock {
  /** Base URL ending in `/v1`. */
  baseUrl: string;
  requests: RecordedAudioRequest[];
  close(): Promise<void>;
}

export function startAudioUpstream(
  handler: (req: RecordedAudioRequest, signal: AbortSignal) => Response | Promise<Response>,
): Promise<AudioUpstreamMock> {
  const requests: RecordedAudioRequest[] = [];
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      const recorded: RecordedAudioRequest = {
        path: new URL(req.url).pathname,
        headers: req.headers,
      };
      const type = req.headers.get("content-type") ?? "";
      if (type.startsWith("application/json")) recorded.json = await req.json();
      else if (type.startsWith("multipart/form-data")) {
        const form = await req.formData();
        recorded.fields = {};
        for (const [k, v] of form.entries()) {
          if (typeof v === "string") (recorded.fields[k] ??= []).push(v);
          else {recorded.file = {
              bytes: new Uint8Array(await v.arrayBuffer()),
              name: v.name,
              type: v.type,
            };}
        }
      }
      requests.push(recorded);
      return await handler(recorded, ac.signal);
    },
  );
  return Promise.resolve({
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
    requests,
    async close() {
      ac.abort();
      await server.finished;
    },
  });
}

/** A response that sends its headers and then nothing until `signal` aborts (a stalled upstream). */
export function stalledBody(signal: AbortSignal, first?: Uint8Array): Response {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      if (first) c.enqueue(first);
      signal.addEventListener("abort", () => {
        try {
          c.close();
        } catch { /* the client cancelled it already */ }
      }, { once: true });
    },
  });
  return new Response(body, { headers: { "content-type": "application/octet-stream" } });
}
