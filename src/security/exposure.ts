/**
 * Exposure policy: without an API key the server stays on loopback, and a
 * public bind without a key refuses to start unless explicitly allowed.
 */
import { isLoopbackName } from "./request_policy.ts";

/** Whether `host` only accepts connections from this machine (a bind address may be a bare `::1`). */
export function isLoopback(host: string): boolean {
  return host === "::1" || isLoopbackName(host);
}

/** Refuses configurations that would expose the server without a key. */
export function checkExposure(
  settings: { apiKeys: readonly string[]; host: string; allowPublicWithoutKey: boolean },
): string | undefined {
  if (settings.apiKeys.length > 0 || isLoopback(settings.host)) return undefined;
  if (settings.allowPublicWithoutKey) return undefined;
  return `Refusing to listen on ${settings.host} without YYCHAT_API_KEY: anyone who can reach it could use ` +
    `the model. Set YYCHAT_API_KEY, bind SERVER_HOST=127.0.0.1, or set YYCHAT_ALLOW_PUBLIC_WITHOUT_KEY=true`;
}
