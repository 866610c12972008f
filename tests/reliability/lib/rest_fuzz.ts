/**
 * Seeded malformed REST requests (bodies and headers) for the POST routes.
 * Every one must get a 4xx answer in OpenAI's error shape — never a 5xx,
 * never a dropped connection.
 */
import type { Rng } from "./rng.ts";

export interface RestFuzzRequest {
  category: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array<ArrayBuffer> | string;
}

const POST_PATHS = ["/v1/chat/completions", "/v1/tools/call", "/v1/mcp/call"];

const WRONG_CHAT_BODIES: unknown[] = [
  {},
  { messages: "hi" },
  { messages: [] },
  { messages: [{ role: "wizard", content: "hi" }] },
  { messages: [{ role: "user" }] },
  { messages: [{ role: "user", content: 5 }] },
  { messages: [{ role: "user", content: [{ type: "text" }] }] },
  { messages: [{ role: "user", content: [{ nope: 1 }] }] },
  { messages: [{ role: "user", content: "hi" }], temperature: "hot" },
  { messages: [{ role: "user", content: "hi" }], temperature: 99 },
  { messages: [{ role: "user", content: "hi" }], max_tokens: -1 },
  { messages: [{ role: "user", content: "hi" }], stream: "yes" },
  { messages: [{ role: "user", content: "hi" }], conversation_id: 7 },
  { messages: [{ role: "user", content: "hi" }], conversation_id: "c".repeat(300) },
  { messages: [{ role: "user", content: "hi" }], personality_id: "no-such-personality" },
  { messages: [{ role: "user", content: "hi" }], stop: 5 },
  { messages: [{ role: "user", content: "hi" }], top_p: [] },
  { messages: [{ role: "tool", content: "x" }], tools: "all" },
  [],
  null,
  "messages",
  1e400,
];

const WRONG_TOOL_BODIES: unknown[] = [
  {},
  { tool_name: 5 },
  { tool_name: "calculator", params: "1+1" },
  { tool_name: "", params: {} },
  { tool_name: "c".repeat(10_000), params: {} },
  [],
  null,
];

export function makeRestRequest(rng: Rng, opts: { maxRequestBytes: number }): RestFuzzRequest {
  const path = rng.pick(POST_PATHS);
  const json = { "content-type": "application/json" };
  const category = rng.pick([
    "random_bytes",
    "truncated_json",
    "deep_nesting",
    "wrong_fields",
    "huge_body",
    "wrong_content_type",
    "bad_headers",
    "unicode",
  ]);
  switch (category) {
    case "random_bytes":
      return { category, path, headers: json, body: rng.bytes(rng.int(1, 2048)) };
    case "truncated_json": {
      const text = JSON.stringify({
        model: "m",
        messages: [{ role: "user", content: "hello there" }],
        conversation_id: "c1",
      });
      return { category, path, headers: json, body: text.slice(0, rng.int(1, text.length - 1)) };
    }
    case "deep_nesting": {
      const depth = rng.int(1000, 100_000);
      return {
        category,
        path,
        headers: json,
        body: rng.next() < 0.5
          ? "[".repeat(depth)
          : `{"messages":${"[".repeat(depth)}${"]".repeat(depth)}}`,
      };
    }
    case "wrong_fields": {
      const pool = path === "/v1/chat/completions" ? WRONG_CHAT_BODIES : WRONG_TOOL_BODIES;
      return { category, path, headers: json, body: JSON.stringify(rng.pick(pool)) ?? "null" };
    }
    case "huge_body": {
      const size = opts.maxRequestBytes + rng.int(1, 4096);
      return {
        category,
        path,
        headers: json,
        body: `{"messages":[{"role":"user","content":"${"a".repeat(size)}"}]}`,
      };
    }
    case "wrong_content_type":
      return {
        category,
        path,
        headers: {
          "content-type": rng.pick([
            "text/plain",
            "application/xml",
            "multipart/form-data",
            "",
            "json",
          ]),
        },
        body: '{"messages":[{"role":"user","content":"hi"}]}',
      };
    case "bad_headers":
      return {
        category,
        path,
        headers: {
          ...json,
          [rng.pick(["x-custom", "authorization", "accept", "x-request-id"])]: rng.pick([
            "a".repeat(rng.int(1000, 8000)),
            "Bearer",
            "Bearer  ",
            "\u00e9\u00e8",
            "Bearer \u00ff\u00fe",
          ]),
        },
        body: JSON.stringify(rng.pick(WRONG_CHAT_BODIES)) ?? "null",
      };
    default: {
      const u = rng.pick(["\\ud800", "\\u0000", "\\u202e", "\\udfff\\ud800"]);
      return {
        category,
        path,
        headers: json,
        body: `{"messages":[{"role":"${u}","content":"${u}"}],"conversation_id":"${u}","model":5}`,
      };
    }
  }
}

export interface RestFuzzResult {
  requests: number;
  statuses: Record<string, number>;
  failures: { category: string; path: string; problem: string }[];
}

/** Sends `count` malformed requests, `concurrency` at a time. */
export async function runRestFuzz(
  base: string,
  rng: Rng,
  opts: { count: number; concurrency: number; maxRequestBytes: number },
): Promise<RestFuzzResult> {
  const result: RestFuzzResult = { requests: 0, statuses: {}, failures: [] };
  const requests = Array.from({ length: opts.count }, () => makeRestRequest(rng, opts));
  let next = 0;
  await Promise.all(Array.from({ length: opts.concurrency }, async () => {
    while (next < requests.length) {
      const req = requests[next++]!;
      result.requests++;
      const fail = (problem: string) =>
        result.failures.push({ category: req.category, path: req.path, problem });
      try {
        const res = await fetch(`${base}${req.path}`, {
          method: "POST",
          headers: req.headers,
          body: req.body,
        });
        const text = await res.text();
        result.statuses[res.status] = (result.statuses[res.status] ?? 0) + 1;
        if (res.status < 400 || res.status >= 500) {
          fail(`status ${res.status}: ${text.slice(0, 160)}`);
          continue;
        }
        let body: { error?: { message?: unknown; type?: unknown } };
        try {
          body = JSON.parse(text);
        } catch {
          fail(`status ${res.status} without a JSON body: ${text.slice(0, 160)}`);
          continue;
        }
        if (typeof body.error?.message !== "string" || typeof body.error?.type !== "string") {
          fail(`status ${res.status} without OpenAI's error shape: ${text.slice(0, 160)}`);
        }
      } catch (err) {
        fail(`request failed: ${err}`);
      }
    }
  }));
  return result;
}
