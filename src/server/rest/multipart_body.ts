/**
 * Multipart request bodies (`POST /v1/audio/transcriptions`), bounded like
 * JSON bodies: the size is checked before and while reading, never after.
 */
import { errorMessage } from "../../core/spawn.ts";
import { HttpError } from "./errors.ts";

/**
 * Parses the multipart body without ever holding more than `maxBytes` of it:
 * a declared `Content-Length` over the limit is refused before reading, and
 * a counting stream stops a body that turns out longer.
 */
export async function readFormBody(
  req: Request,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<FormData> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await req.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!req.body) {
    throw new HttpError(400, "The request has no body", { code: "invalid_request" });
  }
  let total = 0;
  let over = false;
  const counted = req.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        total += chunk.length;
        if (total > maxBytes) {
          over = true;
          controller.error(new RangeError("body over the limit"));
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
  try {
    return await new Response(counted, {
      headers: { "content-type": req.headers.get("content-type")! },
    }).formData();
  } catch (err) {
    if (over) throw tooLarge();
    throw new HttpError(400, `The body is not valid multipart/form-data: ${errorMessage(err)}`, {
      code: "invalid_request",
    });
  }
}

/** The text fields, as strings; `model` may also come as a query parameter (the original service's way). */
export function formFields(form: FormData, url: URL): Record<string, unknown> {
  const text = (name: string) => {
    const v = form.get(name);
    if (v === null) return undefined;
    if (typeof v !== "string") {
      throw new HttpError(400, `"${name}" must be a text field`, {
        param: name,
        code: "invalid_request",
      });
    }
    return v;
  };
  const granularities = [
    ...form.getAll("timestamp_granularities[]"),
    ...form.getAll("timestamp_granularities"),
  ].filter((v): v is string => typeof v === "string");
  return {
    model: text("model") ?? url.searchParams.get("model") ?? undefined,
    language: text("language"),
    prompt: text("prompt"),
    response_format: text("response_format"),
    stream: text("stream"),
    temperature: text("temperature"),
    ...(granularities.length > 0 ? { timestamp_granularities: granularities } : {}),
  };
}
