/**
 * Runs a server as a child process — `main.ts` the way `deno task start`
 * does, the real `deno task start` command line itself, or another script
 * such as the benchmark's echo baseline — on a free port, for tests of the
 * real entry point (signals, exit codes, the independent Python client, the
 * working directory) and for benchmarks.
 */

/** `deno task start`'s permissions, with writes allowed anywhere (temp data dirs). */
export const START_PERMISSIONS = [
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-sys=hostname,osRelease",
];

const REPO_ROOT = new URL("../..", import.meta.url).pathname;
const DENO_CONFIG = new URL("../../deno.json", import.meta.url).pathname;
/** Stdout lines kept (the newest), so a long run cannot grow without bound. */
const MAX_LINES = 20_000;

export interface ServerProcessOptions {
  /** Script to run, relative to the repository root (default `main.ts`). */
  script?: string;
  /** Permission flags (default {@linkcode START_PERMISSIONS}). */
  permissions?: string[];
  /** Other `deno run` flags, e.g. `--cpu-prof`. */
  denoFlags?: string[];
  /**
   * Working directory of the child (default: the repository root). With
   * `cwd`, `script` is still found in the repository (passed as an absolute
   * path).
   */
  cwd?: string;
  /**
   * Runs `deno task --config <repo>/deno.json <task>` instead of `deno run`:
   * the task's own command line and permissions (`script`, `permissions`
   * and `denoFlags` are ignored). `deno task` forwards SIGTERM to the server.
   */
  task?: string;
  /** Run the script of another checkout (a benchmark's baseline); default this repository. */
  root?: string;
}

export interface ServerProcess {
  child: Deno.ChildProcess;
  pid: number;
  port: number;
  /** `http://127.0.0.1:PORT` */
  http: string;
  /** `ws://127.0.0.1:PORT/ws/chat` */
  ws: string;
  /** Stdout lines so far (the newest 20,000). */
  lines: string[];
  /** The last 4,000 characters of stderr. */
  stderrTail(): string;
  /** Sends `signal` (SIGKILL after `timeoutMs`) and returns the exit code. */
  stop(signal?: Deno.Signal, timeoutMs?: number): Promise<number>;
}

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Spawns the server with `SERVER_PORT` set to a free port (and, for
 * `main.ts`, a temporary `YYCHAT_DATA_DIR` unless `env` names one) and waits
 * until it accepts TCP connections.
 */
export async function startServerProcess(
  env: Record<string, string> = {},
  options: ServerProcessOptions = {},
): Promise<ServerProcess> {
  const port = freePort();
  const ownDataDir = env.YYCHAT_DATA_DIR === undefined
    ? await Deno.makeTempDir({ prefix: "yychat-proc-" })
    : undefined;
  const script = options.script ?? "main.ts";
  const args = options.task !== undefined
    ? ["task", "--quiet", "--config", DENO_CONFIG, options.task]
    : [
      "run",
      ...(options.denoFlags ?? []),
      ...(options.permissions ?? START_PERMISSIONS),
      options.cwd === undefined ? script : `${options.root ?? REPO_ROOT}${script}`,
    ];
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: options.cwd ?? options.root ?? REPO_ROOT,
    env: {
      SERVER_HOST: "127.0.0.1",
      SERVER_PORT: String(port),
      LOG_LEVEL: "info",
      ...(ownDataDir ? { YYCHAT_DATA_DIR: ownDataDir } : {}),
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();

  const lines: string[] = [];
  let stderr = "";
  const readers = Promise.all([
    readLines(child.stdout, (line) => {
      lines.push(line);
      if (lines.length > MAX_LINES) lines.splice(0, lines.length - MAX_LINES);
    }),
    readLines(child.stderr, (line) => stderr = (stderr + line + "\n").slice(-4000)),
  ]);
  let exited = false;
  const status = child.status.then((s) => (exited = true, s));
  const stop = async (signal: Deno.Signal = "SIGTERM", timeoutMs = 15_000) => {
    if (!exited) {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
    }
    const timer = setTimeout(() => {
      if (!exited) child.kill("SIGKILL");
    }, timeoutMs);
    const { code } = await status;
    clearTimeout(timer);
    await readers;
    if (ownDataDir) await Deno.remove(ownDataDir, { recursive: true }).catch(() => {});
    return code;
  };

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`Server exited before listening:\n${stderr}\n${lines.join("\n")}`);
    }
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop("SIGKILL");
        throw new Error(`Server did not listen on port ${port} within 20 s:\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return {
    child,
    pid: child.pid,
    port,
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/ws/chat`,
    lines,
    stderrTail: () => stderr,
    stop,
  };
}

/** Runs main.ts to completion (for start-up refusals) and returns its exit code and output. */
export async function runServerExpectingExit(
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...START_PERMISSIONS, "main.ts"],
    cwd: REPO_ROOT,
    env: { SERVER_PORT: String(freePort()), ...env },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    signal: AbortSignal.timeout(20_000),
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    const parts = buffer.split("\n");
    buffer = parts.pop()!;
    for (const part of parts) onLine(part);
  }
  if (buffer) onLine(buffer);
}
