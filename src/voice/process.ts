/**
 * Engine child processes: started without a shell (arguments are passed as
 * a list, never parsed) and without the server's environment (no keys),
 * killed on abort or timeout, stderr kept only as a bounded tail, and always
 * reaped (`close()` waits for the exit status and releases every pipe, so
 * no zombie and no leaked resource is left).
 */
import { ChatError } from "../core/errors.ts";
import { errorMessage } from "../core/spawn.ts";

export interface EngineProcessOptions {
  args: string[];
  /** Whether the caller writes to stdin (otherwise it is closed). */
  stdin?: boolean;
  /** Killing the child (SIGKILL) when aborted. */
  signal?: AbortSignal;
  /** Killed after this long, whatever it is doing. */
  timeoutMs?: number;
  /** Bytes of stderr kept (the newest), default 8 KiB. */
  maxStderrBytes?: number;
  /** Only stderr lines passing this filter are kept (e.g. `ERROR` lines of a chatty program). */
  stderrFilter?: (line: string) => boolean;
  /** How to install the program, for the `audio_engine_unavailable` message. */
  installHint?: string;
}

/** Why a process was killed by yychat. */
export type KillReason = "abort" | "timeout" | "done";

/** One running engine program; see the module doc. */
export class EngineProcess {
  readonly name: string;
  readonly #child: Deno.ChildProcess;
  readonly #maxStderr: number;
  readonly #filter: ((line: string) => boolean) | undefined;
  readonly #status: Promise<Deno.CommandStatus>;
  readonly #stderrDone: Promise<void>;
  readonly #signal: AbortSignal | undefined;
  readonly #hasStdin: boolean;
  #stderr = "";
  #exited = false;
  #killed: KillReason | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #onAbort: (() => void) | undefined;

  /**
   * @throws {ChatError} `audio_engine_unavailable` when the program is not installed
   */
  constructor(command: string, options: EngineProcessOptions) {
    this.name = command;
    this.#maxStderr = options.maxStderrBytes ?? 8192;
    this.#filter = options.stderrFilter;
    this.#signal = options.signal;
    this.#hasStdin = options.stdin === true;
    options.signal?.throwIfAborted();
    try {
      this.#child = new Deno.Command(command, {
        args: options.args,
        stdin: options.stdin ? "piped" : "null",
        stdout: "piped",
        stderr: "piped",
        // The engines need no secrets: they get the PATH and a UTF-8 locale, nothing else.
        clearEnv: true,
        env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", LANG: "C.UTF-8" },
      }).spawn();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new ChatError(
          "audio_engine_unavailable",
          `The speech engine program "${command}" is not installed` +
            (options.installHint ? `: ${options.installHint}` : ""),
          { cause: err },
        );
      }
      throw new ChatError(
        "audio_engine_error",
        `Could not start "${command}": ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
    }
    this.#status = this.#child.status.then((s) => {
      this.#exited = true;
      return s;
    });
    this.#stderrDone = this.#readStderr();
    if (options.timeoutMs !== undefined) {
      this.#timer = setTimeout(() => this.kill("timeout"), options.timeoutMs);
    }
    if (options.signal) {
      this.#onAbort = () => this.kill("abort");
      options.signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  get pid(): number {
    return this.#child.pid;
  }

  get stdin(): WritableStream<Uint8Array> {
    return this.#child.stdin;
  }

  get stdout(): ReadableStream<Uint8Array> {
    return this.#child.stdout;
  }

  /** Set when yychat killed the process, and why. */
  get killed(): KillReason | undefined {
    return this.#killed;
  }

  /** The kept stderr (tail, filtered). */
  get stderr(): string {
    return this.#stderr.trim();
  }

  /** Kills the process (SIGKILL) unless it already exited; idempotent. */
  kill(reason: KillReason): void {
    if (this.#exited || this.#killed !== undefined) return;
    this.#killed = reason;
    try {
      this.#child.kill("SIGKILL");
    } catch { /* exited meanwhile */ }
  }

  /** Waits for the exit; the stdout must have been read to the end or cancelled. */
  async wait(): Promise<Deno.CommandStatus> {
    const status = await this.#status;
    await this.#stderrDone;
    this.#release();
    return status;
  }

  /**
   * Kills the process if it still runs, cancels its unread stdout and waits
   * for the exit: after this nothing of the process is left.
   */
  async close(): Promise<Deno.CommandStatus> {
    this.kill("done");
    await this.#child.stdout.cancel().catch(() => {});
    if (this.#hasStdin && !this.#child.stdin.locked) {
      await this.#child.stdin.abort().catch(() => {});
    }
    return await this.wait();
  }

  /** Writes `data` to stdin and closes it; a child that exits early is not an error here. */
  async writeAndClose(data: Uint8Array): Promise<void> {
    const writer = this.#child.stdin.getWriter();
    try {
      await writer.write(data);
      await writer.close();
    } catch {
      // Broken pipe: the child exited (or was killed); its status tells the caller why.
      await writer.abort().catch(() => {});
    } finally {
      writer.releaseLock();
    }
  }

  #release(): void {
    clearTimeout(this.#timer);
    if (this.#onAbort) this.#signal?.removeEventListener("abort", this.#onAbort);
  }

  async #readStderr(): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    const keep = (line: string) => {
      if (this.#filter && !this.#filter(line)) return;
      this.#stderr = (this.#stderr + line + "\n").slice(-this.#maxStderr);
    };
    try {
      for await (const chunk of this.#child.stderr) {
        partial += decoder.decode(chunk, { stream: true });
        const lines = partial.split("\n");
        partial = lines.pop()!;
        for (const line of lines) keep(line);
        // A line longer than the bound is cut, never buffered without limit.
        if (partial.length > this.#maxStderr) {
          keep(partial.slice(0, this.#maxStderr));
          partial = "";
        }
      }
      if (partial) keep(partial);
    } catch { /* killed */ }
  }
}

/** Runs a short command to completion, collecting at most `maxStdoutBytes` of stdout. */
export async function runToCompletion(
  command: string,
  options: EngineProcessOptions & { input?: Uint8Array; maxStdoutBytes?: number },
): Promise<{ code: number; stdout: string; stderr: string; killed: KillReason | undefined }> {
  const proc = new EngineProcess(command, { ...options, stdin: options.input !== undefined });
  const max = options.maxStdoutBytes ?? 1024 * 1024;
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const writing = options.input !== undefined ? proc.writeAndClose(options.input) : undefined;
    for await (const chunk of proc.stdout) {
      total += chunk.length;
      if (total > max) {
        proc.kill("done");
        break;
      }
      chunks.push(chunk);
    }
    await writing;
  } catch (err) {
    await proc.close();
    throw err;
  }
  // Stdout ended: wait for the exit itself (killing now could cut a clean exit short).
  const status = await proc.wait();
  return {
    code: status.code,
    stdout: new TextDecoder().decode(concatBytes(chunks)),
    stderr: proc.stderr,
    killed: proc.killed,
  };
}

/** One buffer of `chunks`. */
export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The first line of an engine's stderr, for an error message. */
export function firstLine(s: string): string {
  return s.split("\n")[0]!.slice(0, 300);
}
