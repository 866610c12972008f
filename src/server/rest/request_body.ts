/**
 * Request bodies: bounded in size (whatever `Content-Length` claims), JSON
 * only, validated with zod. Every failure is an {@linkcode HttpError} in
 * OpenAI's shape, with `param` naming the offending field.
 */
import type { z } from "zod";
import { HttpError } from "./errors.ts";
import { errorMessage } from "../../core/spawn.ts";

/**
 * Reads at most `maxBytes` of `req`'s body. A declared `Content-Length` over
 * the limit is refused before reading; a body that turns out longer than
 * declared (or has no length, chunked) is cut off as soon as it passes the
 * limit, so a lying client never makes the server buffer more than
 * `maxBytes`.
 *
 * @throws {HttpError} 413 when the body is too large
 */
export async function readBodyBytes(req: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await req.body?.cancel().catch(() => {});
    throw tooLarge(maxBytes);
  }
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/**
 * The body as text, at most `maxBytes`. A body with a declared length within
 * the limit is read in one step (HTTP framing stops it at that length);
 * otherwise it is read chunk by chunk and cut off past the limit.
 *
 * @throws {HttpError} 413 when the body is too large
 */
async function readBodyText(req: Request, maxBytes: number): Promise<string> {
  const declared = req.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) <= maxBytes) {
    return await req.text();
  }
  return new TextDecoder().decode(await readBodyBytes(req, maxBytes));
}

/**
 * Reads, parses and validates a JSON body. `Content-Type` must be JSON
 * (`application/json` or `…+json`): anything else, or none, is refused with
 * 415, so a cross-site "simple request" (form or text/plain post) cannot
 * reach a route.
 *
 * @throws {HttpError} 413 too large, 415 not JSON, 400 invalid JSON or invalid fields
 */
export async function readJsonBody<S extends z.ZodType>(
  req: Request,
  schema: S,
  maxBytes: number,
): Promise<z.infer<S>> {
  const type = req.headers.get("content-type");
  if (type === null || !isJsonType(type)) {
    await req.body?.cancel().catch(() => {});
    throw new HttpError(
      415,
      type === null
        ? "Missing Content-Type: send the body as application/json"
        : `Unsupported content type "${type.slice(0, 100)}": send application/json`,
      { code: "unsupported_media_type" },
    );
  }
  const text = await readBodyText(req, maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpError(
      400,
      `The request body is not valid JSON: ${errorMessage(err)}`,
      { code: "invalid_json" },
    );
  }
  return validate(schema, value);
}

/**
 * Validates `value`; the first issue becomes a 400 whose `param` is the
 * field path (`messages[0].content`).
 *
 * @throws {HttpError} 400 naming the first invalid field
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const param = issuePath(issue.path);
  throw new HttpError(
    400,
    param ? `Invalid "${param}": ${issue.message}` : `Invalid request body: ${issue.message}`,
    { param: param || null, code: "invalid_request" },
  );
}

/** `["messages", 0, "content"]` → `messages[0].content` */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out;
}

function isJsonType(type: string): boolean {
  const mime = type.split(";")[0]!.trim().toLowerCase();
  return mime === "application/json" || mime.endsWith("+json");
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, `Request body too large: the limit is ${maxBytes} bytes`, {
    code: "request_too_large",
  });
}
