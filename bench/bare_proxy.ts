/**
 * The runtime's limit for any gateway written on Deno: `Deno.serve` +
 * `fetch` to the upstream + the upstream's body piped back untouched. No
 * parsing, no validation, no state. `bench/completions_bench.ts` measures
 * yychat's overhead against it.
 *
 * `UPSTREAM_URL=http://127.0.0.1:PORT deno run --allow-net --allow-env bench/bare_proxy.ts`
 * (listens on `SERVER_PORT`, default 9811).
 */

/** Request headers not forwarded: hop-by-hop ones, and those `fetch` sets itself. */
const DROP = new Set(["host", "connection", "keep-alive", "content-length", "transfer-encoding"]);

/** A handler forwarding every request to `upstream` (an origin, no path). */
export function bareProxy(upstream: string): (req: Request) => Promise<Response> {
  return async (req) => {
    const url = new URL(req.url);
    const headers = new Headers();
    req.headers.forEach((value, name) => {
      if (!DROP.has(name)) headers.set(name, value);
    });
    const res = await fetch(upstream + url.pathname + url.search, {
      method: req.method,
      headers,
      body: req.body,
    });
    return new Response(res.body, { status: res.status, headers: res.headers });
  };
}

if (import.meta.main) {
  const upstream = Deno.env.get("UPSTREAM_URL");
  if (!upstream) throw new TypeError("Set UPSTREAM_URL (e.g. http://127.0.0.1:9810)");
  const port = Number(Deno.env.get("SERVER_PORT") ?? 9811);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, onListen() {} },
    bareProxy(upstream.replace(/\/+$/, "")),
  );
  const stop = () => server.shutdown();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  await server.finished;
}
