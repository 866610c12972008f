/**
 * Resume tokens: 256 random bits, base64url. Only their SHA-256 is kept
 * (in memory or Redis), and a presented token is compared in constant time.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** A new token and the hash to store. */
export function newResumeToken(): { token: string; hash: string } {
  const token = crypto.getRandomValues(new Uint8Array(32))
    .toBase64({ alphabet: "base64url", omitPadding: true });
  return { token, hash: hashToken(token) };
}

function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Whether `token` hashes to `hash`, in constant time. */
export function tokenMatches(token: string, hash: string): boolean {
  if (token.length === 0 || token.length > 256 || hash.length !== 64) return false;
  const a = new TextEncoder().encode(hashToken(token));
  const b = new TextEncoder().encode(hash);
  return timingSafeEqual(a, b);
}
