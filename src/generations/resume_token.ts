/**
 * Resume tokens: 256 random bits, base64url. Only their SHA-256 is kept
 * (in memory or Redis), and a presented token is compared in constant time.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** A new token and the hash to store. */
export function newResumeToken(): { token: string; hash: string } {
  const token = base64url(crypto.getRandomValues(new Uint8Array(32)));
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Whether `token` hashes to `hash`, in constant time. */
export function tokenMatches(token: string, hash: string): boolean {
  if (token.length === 0 || token.length > 256 || hash.length !== 64) return false;
  const a = new TextEncoder().encode(hashToken(token));
  const b = new TextEncoder().encode(hash);
  return timingSafeEqual(a, b);
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Unpadded base64url (RFC 4648 §5), without the string round trips of `btoa`. */
export function base64url(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! +
      ALPHABET[n & 63]!;
  }
  const left = bytes.length - i;
  if (left === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!;
  } else if (left === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!;
  }
  return out;
}
