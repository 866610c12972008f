/**
 * What both pages share: the remembered API key and same-origin fetches
 * that send it as a Bearer token. Errors come back as {@link ApiError}
 * carrying the server's stable code.
 * @module
 */

const KEY_STORAGE = "yychat.key";

/** An HTTP answer that was not 2xx, or a request that never got one. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 when the server was not reached)
   * @param {string} code the stable error code (`network_error` when unreached)
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** The remembered key, or `undefined`. @returns {string | undefined} */
export function loadKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Remembers `key` in this browser (`localStorage`); no key forgets the
 * remembered one.
 * @param {string | undefined} key
 */
export function saveKey(key) {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage disabled: the key lasts until the page is closed.
  }
}

/**
 * `fetch` on this page's origin with the key as `Authorization: Bearer`.
 * @param {string} path e.g. `/v1/personalities`
 * @param {{key?: string, method?: string, body?: unknown, accept?: string, timeoutMs?: number}} [options]
 * @returns {Promise<Response>} a 2xx response
 * @throws {ApiError}
 */
export async function apiFetch(path, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: options.accept ?? "application/json" };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  let res;
  try {
    res = await fetch(path, {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: "no-store",
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (err) {
    throw new ApiError(0, "network_error", String(err));
  }
  if (res.ok) return res;
  let code = `http_${res.status}`;
  let message = res.statusText;
  try {
    const body = await res.json();
    if (typeof body?.error?.code === "string") code = body.error.code;
    if (typeof body?.error?.message === "string") message = body.error.message;
  } catch {
    // not JSON
  }
  throw new ApiError(res.status, code, message);
}

/**
 * {@link apiFetch} and parse JSON.
 * @param {string} path
 * @param {Parameters<typeof apiFetch>[1]} [options]
 * @returns {Promise<any>}
 */
export async function apiJson(path, options) {
  return await (await apiFetch(path, options)).json();
}
