/**
 * Runs `main.ts` as a child process, the way `deno task start` does, on a
 * free port: for tests of the real entry point (signals, exit codes, the
 * independent Python client).
 */
import { waitFor } from "./wait.ts";

export const START_PERMISSIONS = [
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-sys=hostname,osRelease",
];

export interface ServerProcess {
  child: Deno.ChildProcess;
  port: number;
  http: string;
  ws: string;
  /** Stdout lines so far. */
  lines: string[];
  /** Sends SIGTERM and returns the exit code (kills after `timeoutMs`). */
  stop(signal?: Deno.Signal, timeoutMs?: number): Promise<number>;
}

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Spawns the server and waits for its `listening` log line. */
export async function startServerProcess(env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = freePort();
  const dataDir = await Deno.makeTempDir({ prefix: "yychat-proc-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...START_PERMISSIONS, "main.ts"],
    cwd: new URL("../..", import.meta.url).pathname,
    env: { SERVER_PORT: String(port), YYCHAT_DATA_DIR: dataDir, LOG_LEVEL: "info", ...env },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const lines: string[] = [];
  const stderr: string[] = [];
  const collect = async (stream: ReadableStream<Uint8Array>, into: string[]) => {
    let buffer = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      into.push(...parts);
    }
    if (buffer) into.push(buffer);
  };
  const readers = Promise.all([collect(child.stdout, lines), collect(child.stderr, stderr)]);
  let exited = false;
  const status = child.status.then((s) => (exited = true, s));
  await waitFor(
    () => exited || lines.some((l) => l.includes('"listening"')),
    20_000,
    "the server to listen",
  )
    .catch((err) => {
      child.kill("SIGKILL");
      throw err;
    });
  if (exited) {
    await readers;
    throw new Error(`Server exited early:\n${stderr.join("\n")}\n${lines.join("\n")}`);
  }
  return {
    child,
    port,
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/ws/chat`,
    lines,
    async stop(signal: Deno.Signal = "SIGTERM", timeoutMs = 15_000) {
      if (!exited) child.kill(signal);
      const timer = setTimeout(() => !exited && child.kill("SIGKILL"), timeoutMs);
      const { code } = await status;
      clearTimeout(timer);
      await readers;
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      return code;
    },
  };
}

/** Runs main.ts to completion (for start-up refusals) and returns its exit code and output. */
export async function runServerExpectingExit(
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...START_PERMISSIONS, "main.ts"],
    cwd: new URL("../..", import.meta.url).pathname,
    env: { SERVER_PORT: String(freePort()), ...env },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    signal: AbortSignal.timeout(20_000),
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}
