/**
 * The configured API keys. Tokens are compared in constant time (SHA-256
 * digests of equal length, every key checked), and a key is never kept in
 * logs: callers see only its principal, a short digest used to keep memory
 * of different keys apart.
 */
import { createHash, timingSafeEqual } from "node:crypto";

export class ApiKeys {
  readonly #digests: Uint8Array[];
  readonly #principals: string[];

  constructor(keys: readonly string[]) {
    this.#digests = keys.map(digest);
    this.#principals = this.#digests.map((d) => "key_" + toHex(d).slice(0, 16));
  }

  /** Whether any key is configured (authentication on). */
  get required(): boolean {
    return this.#digests.length > 0;
  }

  /** The principal of `token`, or undefined when it matches no key. */
  verify(token: string | null | undefined): string | undefined {
    if (typeof token !== "string" || token.length === 0 || token.length > 4096) return undefined;
    const candidate = digest(token);
    let match = -1;
    for (let i = 0; i < this.#digests.length; i++) {
      if (timingSafeEqual(candidate, this.#digests[i]!)) match = i;
    }
    return match >= 0 ? this.#principals[match] : undefined;
  }
}

/** The token of an `Authorization: Bearer <token>` header, if any. */
export function bearerToken(header: string | null): string | undefined {
  if (header === null) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function digest(text: string): Uint8Array {
  return createHash("sha256").update(text).digest();
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
