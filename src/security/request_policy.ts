/**
 * Who may talk to the server, decided once per HTTP request before routing
 * (WebSocket upgrades included): the `Host` allowlist (DNS rebinding), the
 * `Origin` policy with CORS (cross-site pages in the operator's browser),
 * and the client's address and scheme, taken from `X-Forwarded-For` /
 * `Forwarded` only when the peer is a trusted proxy.
 */
import { AddressSet } from "./address_set.ts";

export interface RequestPolicyOptions {
  /** Whether API keys are configured (without, only loopback `Host`s pass). */
  keysRequired: boolean;
  /** `Host` values allowed besides the loopback names: `name`, `name:port` or `*`. */
  allowedHosts: readonly string[];
  /** Origins allowed besides the server's own: `scheme://host[:port]` or `*`. */
  allowedOrigins: readonly string[];
  /** Proxy addresses or CIDRs whose forwarding headers are believed. */
  trustedProxies: readonly string[];
}

/** The client of one request as far as the policy can tell. */
export interface ClientInfo {
  /** IP address of the client (the peer, or what a trusted proxy says). */
  address: string;
  /** Whether the client reached the server over TLS (a trusted proxy said so). */
  secure: boolean;
}

/** A request the policy turns away: always HTTP 403 with a stable code. */
export interface PolicyRefusal {
  code: "host_not_allowed" | "origin_not_allowed";
  message: string;
}

/** Request headers a cross-origin page may send (preflight answer). */
const ALLOW_HEADERS =
  "authorization, content-type, x-request-id, last-event-id, x-yychat-resume-token";
/** Response headers a cross-origin page may read. */
const EXPOSE_HEADERS = "x-request-id, x-yychat-request-id, x-yychat-resume-token, retry-after";
const ALLOW_METHODS = "GET, POST, DELETE, OPTIONS";

export class RequestPolicy {
  readonly #keysRequired: boolean;
  readonly #anyHost: boolean;
  readonly #hosts: Set<string>;
  readonly #anyOrigin: boolean;
  readonly #origins: Set<string>;
  readonly #proxies: AddressSet;

  constructor(options: RequestPolicyOptions) {
    this.#keysRequired = options.keysRequired;
    this.#anyHost = options.allowedHosts.includes("*");
    this.#hosts = new Set(options.allowedHosts.map((h) => h.toLowerCase()));
    this.#anyOrigin = options.allowedOrigins.includes("*");
    this.#origins = new Set(
      options.allowedOrigins.filter((o) => o !== "*").map((o) => normalizeOrigin(o) ?? o),
    );
    this.#proxies = new AddressSet(options.trustedProxies);
  }

  /** The client of `req`, whose TCP peer is `peer` (undefined when unknown, e.g. in tests). */
  client(req: Request, peer: string | undefined): ClientInfo {
    const address = normalizeAddress(peer ?? "");
    if (address === "" || !this.#proxies.has(address)) return { address, secure: false };
    return {
      address: this.#forwardedFor(req.headers) ?? address,
      secure: forwardedProto(req.headers) === "https",
    };
  }

  /** Why `req` is refused (Host first, then Origin), or undefined when it may proceed. */
  refusal(req: Request, client: ClientInfo): PolicyRefusal | undefined {
    // Without a Host header (HTTP/1.0; handlers called in-process) the URL's host stands in.
    const host = (req.headers.get("host") ?? new URL(req.url).host).toLowerCase();
    if (!this.#hostAllowed(host)) {
      return {
        code: "host_not_allowed",
        message: `Host not allowed: ${JSON.stringify(host.slice(0, 128))}` +
          " (add it to YYCHAT_ALLOWED_HOSTS)",
      };
    }
    const origin = req.headers.get("origin");
    if (origin !== null && !this.#originAllowed(origin, host, client)) {
      return {
        code: "origin_not_allowed",
        message: `Origin not allowed: ${JSON.stringify(origin.slice(0, 128))}` +
          " (add it to YYCHAT_ALLOWED_ORIGINS)",
      };
    }
    return undefined;
  }

  /**
   * Headers for the response to an allowed request that carried `Origin`
   * (call only after {@linkcode refusal} passed).
   */
  corsHeaders(req: Request): Record<string, string> | undefined {
    const origin = req.headers.get("origin");
    if (origin === null) return undefined;
    return {
      "access-control-allow-origin": origin,
      "access-control-expose-headers": EXPOSE_HEADERS,
      "vary": "Origin",
    };
  }

  /** The answer to an `OPTIONS` request that passed {@linkcode refusal}. */
  preflight(req: Request): Response {
    const headers: Record<string, string> = { allow: ALLOW_METHODS };
    if (req.headers.has("origin")) {
      Object.assign(headers, this.corsHeaders(req), {
        "access-control-allow-methods": ALLOW_METHODS,
        "access-control-allow-headers": ALLOW_HEADERS,
        "access-control-max-age": "600",
      });
    }
    return new Response(null, { status: 204, headers });
  }

  #hostAllowed(host: string): boolean {
    if (this.#anyHost) return true;
    const name = hostName(host);
    if (this.#hosts.size > 0 && (this.#hosts.has(host) || this.#hosts.has(name))) return true;
    // With a key and no allowlist any Host is fine: the key is the wall.
    if (this.#keysRequired && this.#hosts.size === 0) return true;
    return isLoopbackName(name);
  }

  #originAllowed(origin: string, host: string, client: ClientInfo): boolean {
    if (this.#anyOrigin) return true;
    const normalized = normalizeOrigin(origin);
    if (normalized === undefined) return this.#origins.has(origin); // "null" only when listed
    if (this.#origins.has(normalized)) return true;
    const own = normalizeOrigin(`${client.secure ? "https" : "http"}://${host}`);
    return own !== undefined && own === normalized;
  }

  /** The client named by the forwarding headers: the nearest address that is not a trusted proxy. */
  #forwardedFor(headers: Headers): string | undefined {
    const chain = [
      ...(headers.get("forwarded") ?? "").split(",").flatMap((part) =>
        part.split(";").map((p) => p.trim()).filter((p) => /^for=/i.test(p))
          .map((p) => p.slice(4).replace(/^"|"$/g, ""))
      ),
      ...(headers.get("x-forwarded-for") ?? "").split(","),
    ].map((a) => normalizeAddress(a.trim())).filter((a) => a !== "");
    for (let i = chain.length - 1; i >= 0; i--) {
      if (!this.#proxies.has(chain[i]!)) return chain[i];
    }
    return chain[0];
  }
}

/** Whether `name` (a host name without port) is a loopback name. */
export function isLoopbackName(name: string): boolean {
  return name === "localhost" || name === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** `host[:port]` → `host` (IPv6 literals keep their brackets). */
function hostName(host: string): string {
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  const colon = host.lastIndexOf(":");
  return colon < 0 ? host : host.slice(0, colon);
}

/** `scheme://host[:port]` in its canonical form (default ports dropped), or undefined. */
function normalizeOrigin(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
    return url.origin.toLowerCase();
  } catch {
    return undefined;
  }
}

function forwardedProto(headers: Headers): string | undefined {
  const forwarded = /(?:^|[;,\s])proto=("?)(https?)\1/i.exec(headers.get("forwarded") ?? "");
  if (forwarded) return forwarded[2]!.toLowerCase();
  return headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase();
}

/** An address without brackets, port or IPv4-mapped IPv6 prefix. */
export function normalizeAddress(address: string): string {
  let a = address.trim().toLowerCase();
  if (a.startsWith("[")) a = a.slice(1, a.indexOf("]") < 0 ? undefined : a.indexOf("]"));
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(":"));
  if (a.startsWith("::ffff:") && a.includes(".")) a = a.slice(7);
  return a;
}
